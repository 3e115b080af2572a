"""Output files stay inside the output folder whatever a name contains."""

from pathlib import Path

import pytest

from fulfilment.config import load_settings
from fulfilment.pipeline import Context
from fulfilment.rules import load_rules
from tests.conftest import ROOT


@pytest.mark.parametrize(
    "name",
    ["../etc", "a/b", "/abs", "..", ".hidden", "", "x" * 101, "a\\b", "ok/../..", "a\x00b", "b\n", "\u2024\u2024"],
)
def test_names_that_escape_the_output_folder_are_refused(tmp_path: Path, name: str) -> None:
    ctx = Context(load_settings({"FULFILMENT_OUTPUT_DIR": str(tmp_path)}), load_rules(ROOT / "rules"))
    with pytest.raises(ValueError, match="cannot name a folder"):
        ctx.batch_dir(name)
    assert list(tmp_path.iterdir()) == []


def test_batch_ids_are_accepted(tmp_path: Path) -> None:
    ctx = Context(load_settings({"FULFILMENT_OUTPUT_DIR": str(tmp_path)}), load_rules(ROOT / "rules"))
    assert ctx.batch_dir("B20261122-042304-d693") == tmp_path / "B20261122-042304-d693"

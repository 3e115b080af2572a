"""Writing a document whole or not at all: a reader never sees part of a file, and a failed write keeps the old one."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from fulfilment.labels.atomic import TEMPORARY_NAME, write_atomically


def _writer(out: Path, fail: bool = False) -> Callable[[Path], int]:
    """Writes half of b"new content", checks the old `out` is untouched meanwhile, then fails or writes the rest."""

    def write(path: Path) -> int:
        assert TEMPORARY_NAME.fullmatch(path.name), "a name the leftover removal knows (labels/scratch.py)"
        path.write_bytes(b"new ")
        assert out.read_bytes() == b"old", "a reader still sees the whole old file while the new one is written"
        if fail:
            raise OSError("disk full")
        path.write_bytes(b"new content")
        return 11

    return write


def test_the_new_file_replaces_the_old_only_when_complete(tmp_path: Path) -> None:
    out = tmp_path / "out.pdf"
    out.write_bytes(b"old")
    assert write_atomically(out, _writer(out)) == 11
    assert out.read_bytes() == b"new content"
    assert [p.name for p in tmp_path.iterdir()] == ["out.pdf"], "no temporary file is left"


def test_a_failed_write_keeps_the_old_file_and_leaves_no_temporary_file(tmp_path: Path) -> None:
    out = tmp_path / "out.pdf"
    out.write_bytes(b"old")
    with pytest.raises(OSError, match="disk full"):
        write_atomically(out, _writer(out, fail=True))
    assert out.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["out.pdf"]

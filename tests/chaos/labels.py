"""Label providers the harness can run against, as plug-ins: each says how the workers reach it, what faults it
injected and what its own ledger shows (a label bought twice). ``--labels local`` now; a Shippo stand-in plugs in
by adding a class to LABELS."""

from __future__ import annotations

from collections import Counter
from typing import Protocol

from sqlalchemy import Engine


class LabelBackend(Protocol):
    """One label provider under test."""

    name: str

    def start(self, fault_rate: float, seed: int) -> dict[str, str]:
        """Start the provider (and its stand-in); returns the environment the workers need."""

    def faults(self) -> Counter[str]:
        """Faults injected so far, by kind."""

    def violations(self, engine: Engine, batch_id: str) -> list[str]:
        """What the provider's own ledger shows against the database (e.g. a label bought twice)."""

    def stop(self) -> None:
        """Stop the stand-in, if any."""


class LocalLabels:
    """The local renderer: labels are made in-process, so there is no provider ledger and nothing to fail."""

    name = "local"

    def start(self, fault_rate: float, seed: int) -> dict[str, str]:
        return {"FULFILMENT_LABEL_PROVIDER": "local"}

    def faults(self) -> Counter[str]:
        return Counter()

    def violations(self, engine: Engine, batch_id: str) -> list[str]:
        return []

    def stop(self) -> None:
        pass


LABELS: dict[str, type[LabelBackend]] = {"local": LocalLabels}
"""The providers `--labels` accepts."""

"""The document options a batch was started with, kept in its `outputs` under ``options`` (so resume and
reprint print the same way)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from fulfilment.domain.documents import DocumentOptions
from fulfilment.store.models import Batch

OPTIONS_KEY = "options"


def with_options(outputs: dict[str, Any] | None, options: DocumentOptions) -> dict[str, Any]:
    """`outputs` with `options` recorded."""
    return {**(outputs or {}), OPTIONS_KEY: options.as_dict()}


def batch_options(session: Session, batch_id: str, default: DocumentOptions) -> DocumentOptions:
    """The options stored with the batch (missing ones, and a batch from before options existed: `default`)."""
    outputs = session.scalar(select(Batch.outputs).where(Batch.id == batch_id)) or {}
    return DocumentOptions.from_dict(outputs.get(OPTIONS_KEY), default)


def file_outputs(outputs: dict[str, Any] | None) -> dict[str, str]:
    """Only the files a batch recorded (name → path), without its options."""
    return {k: v for k, v in (outputs or {}).items() if k != OPTIONS_KEY and isinstance(v, str) and v}

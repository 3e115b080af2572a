"""Label file formats: the content type stored with each label file, and the local renderer for each."""

from __future__ import annotations

from collections.abc import Sequence

from fulfilment.domain.shipments import LabelSpec
from fulfilment.labels.local import labels_pdf_bytes
from fulfilment.labels.zpl import render_zpl

CONTENT_TYPES = {"pdf": "application/pdf", "zpl": "application/zpl"}
"""`LabelFile.content_type` per label format (``zpl`` also for labels bought as Shippo ``ZPLII``)."""
FORMATS = {content_type: label_format for label_format, content_type in CONTENT_TYPES.items()}


def local_label_file(specs: Sequence[LabelSpec], label_format: str) -> tuple[str, bytes]:
    """The content type and bytes of the local labels of `specs`, one page (ZPL: one format) per spec."""
    content = render_zpl(specs) if label_format == "zpl" else labels_pdf_bytes(specs)
    return CONTENT_TYPES[label_format], content

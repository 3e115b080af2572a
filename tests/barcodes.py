"""Test helper: rasterise PDF pages with pypdfium2 and decode their barcodes with zxing-cpp."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pypdfium2 as pdfium
import zxingcpp

THERMAL_DPI = 203


@dataclass(frozen=True)
class Decoded:
    """One barcode found on a page: zxing format name (``Code128``, ...) and text."""

    format: str
    text: str


def decode_page(page: pdfium.PdfPage, dpi: int = THERMAL_DPI) -> list[Decoded]:
    """Barcodes of one pypdfium2 page rendered in grey at `dpi`, top to bottom."""
    image = page.render(scale=dpi / 72, grayscale=True).to_pil()
    found = zxingcpp.read_barcodes(image)
    found.sort(key=lambda r: (r.position.top_left.y, r.position.top_left.x))
    return [Decoded(r.format.name, r.text) for r in found]


def decode_pdf(path: Path | bytes, dpi: int = THERMAL_DPI) -> Iterator[list[Decoded]]:
    """Barcodes of every page of a PDF file (or PDF bytes), one list per page, in page order."""
    pdf = pdfium.PdfDocument(str(path) if isinstance(path, Path) else path)
    try:
        for i in range(len(pdf)):
            page = pdf[i]
            try:
                yield decode_page(page, dpi)
            finally:
                page.close()
    finally:
        pdf.close()


def code128_texts(path: Path | bytes, dpi: int = THERMAL_DPI) -> list[list[str]]:
    """Texts of the Code128 barcodes on each page of a PDF."""
    return [[d.text for d in page if d.format == "Code128"] for page in decode_pdf(path, dpi)]

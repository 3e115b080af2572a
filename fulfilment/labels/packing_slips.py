"""Packing slips: one letter-size page per parcel, in picking order, listing its orders and every line.

The pages are plain text and one rule, so their operators are written directly (one text object per page,
zlib-compressed) into a :class:`PdfFile` rather than through a reportlab canvas, whose per-string and per-page
object formatting cost several times the drawing itself. Text is folded to what the base-14 fonts show and
measured with reportlab's font metrics.
"""

from __future__ import annotations

import encodings.cp1252  # noqa: F401  (here, not first in the forked side job that draws the slips)
import re
import zlib
from collections.abc import Sequence
from pathlib import Path

from reportlab.lib.pagesizes import letter
from reportlab.pdfbase.pdfmetrics import stringWidth

from fulfilment.domain.orders import Address
from fulfilment.domain.shipments import PackingSlip
from fulfilment.labels.content import latin_text
from fulfilment.labels.pdf_file import PAGES, PdfFile

MARGIN = 54
LINE = 15
ROWS_PER_PAGE = 34
WIDTH, HEIGHT = letter

_FONTS = {"Helvetica": "/F1", "Helvetica-Bold": "/F2"}
_RESOURCES = b"<< /Font << %s >> >>" % b" ".join(
    f"{key} << /Type /Font /Subtype /Type1 /BaseFont /{name} /Encoding /WinAnsiEncoding >>".encode()
    for name, key in _FONTS.items()
)
_ESCAPES = str.maketrans({"\\": "\\\\", "(": "\\(", ")": "\\)", "\r": "\\r", "\n": "\\n"})
_SPECIAL = re.compile(r"[\\()\r\n]")


class _Page:
    """The operators of one page, in drawing order."""

    def __init__(self) -> None:
        self.ops: list[str] = ["BT"]
        self.font = ("", 0.0)

    def set_font(self, name: str, size: float) -> None:
        if self.font != (name, size):
            self.font = (name, size)
            self.ops.append(f"{_FONTS[name]} {size:g} Tf")

    def text(self, x: float, y: float, text: str) -> None:
        """`text` (already folded to cp1252) with its baseline starting at (x, y)."""
        if _SPECIAL.search(text):
            text = text.translate(_ESCAPES)
        self.ops.append(f"1 0 0 1 {x:.2f} {y:.2f} Tm ({text}) Tj")

    def right_text(self, x: float, y: float, text: str) -> None:
        """`text` ending at x."""
        self.text(x - stringWidth(text, *self.font), y, text)

    def content(self, rule_y: float) -> bytes:
        """The page's content stream: the text, then the rule under the table header."""
        self.ops.append(f"ET {MARGIN} {rule_y:.2f} m {WIDTH - MARGIN:g} {rule_y:.2f} l S")
        return "\n".join(self.ops).encode("cp1252")


def _address(page: _Page, x: float, y: float, title: str, a: Address) -> None:
    page.set_font("Helvetica-Bold", 10)
    page.text(x, y, title)
    page.set_font("Helvetica", 10)
    lines = [a.name, a.street1, a.street2, f"{a.city}, {a.state} {a.zip}"]
    for i, text in enumerate(t for t in lines if t):
        page.text(x, y - LINE * (i + 1), latin_text(text))


def _header(page: _Page, slip: PackingSlip, part: int, parts: int) -> float:
    """Title, warehouse and tracking, orders, both addresses and the table header; returns the first row's y."""
    top = HEIGHT - MARGIN
    page.set_font("Helvetica-Bold", 18)
    page.text(MARGIN, top, "Packing slip")
    page.set_font("Helvetica", 10)
    more = f" (page {part} of {parts})" if parts > 1 else ""
    tracking = f"{latin_text(slip.warehouse)} \u00b7 tracking {latin_text(slip.tracking_number)}{more}"
    page.right_text(WIDTH - MARGIN, top, tracking)
    page.text(MARGIN, top - 20, latin_text("Orders: " + ", ".join(slip.order_ids)))
    _address(page, MARGIN, top - 50, "Ship to", slip.ship_to)
    _address(page, WIDTH / 2, top - 50, "From", slip.ship_from)
    y = top - 140
    page.set_font("Helvetica-Bold", 10)
    for x, text in ((MARGIN, "SKU"), (MARGIN + 130, "Item"), (WIDTH - MARGIN - 40, "Qty")):
        page.text(x, y, text)
    return y


def _page(slip: PackingSlip, part: int, parts: int, rows: Sequence[tuple[str, str, int]]) -> bytes:
    """The content stream of one page of a slip: header, then up to ``ROWS_PER_PAGE`` lines."""
    page = _Page()
    rule_y = _header(page, slip, part, parts) - 4
    y = rule_y - LINE
    page.set_font("Helvetica", 10)
    for sku, name, units in rows:
        page.text(MARGIN, y, latin_text(sku)[:24])
        page.text(MARGIN + 130, y, latin_text(name)[:60])
        page.right_text(WIDTH - MARGIN - 20, y, str(units))
        y -= LINE
    return page.content(rule_y)


def render_packing_slips(slips: Sequence[PackingSlip], path: Path) -> list[int]:
    """Write one page per slip (more when a parcel has many lines), in the given order; returns each slip's
    page count."""
    counts = []
    kids = []
    with path.open("wb") as fh:
        pdf = PdfFile(fh)
        page = b"<< /Type /Page /Parent %d 0 R /MediaBox [0 0 %d %d] /Resources %d 0 R /Contents %%d 0 R >>" % (
            PAGES,
            WIDTH,
            HEIGHT,
            pdf.add(_RESOURCES),
        )
        for slip in slips:
            parts = [slip.lines[i : i + ROWS_PER_PAGE] for i in range(0, len(slip.lines), ROWS_PER_PAGE)] or [()]
            counts.append(len(parts))
            for number, rows in enumerate(parts, 1):
                content = zlib.compress(_page(slip, number, len(parts), rows), 1)
                kids.append(pdf.add(page % pdf.add_stream(content, b" /Filter /FlateDecode")))
        pdf.finish(kids)
    return counts

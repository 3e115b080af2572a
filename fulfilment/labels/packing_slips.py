"""Packing slips: one letter-size page per parcel, in picking order, listing its orders and every line."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from reportlab.lib.pagesizes import letter
from reportlab.pdfgen.canvas import Canvas

from fulfilment.domain.orders import Address
from fulfilment.domain.shipments import PackingSlip
from fulfilment.labels.content import latin_text

MARGIN = 54
LINE = 15
ROWS_PER_PAGE = 34


def _address(c: Canvas, x: float, y: float, title: str, a: Address) -> None:
    c.setFont("Helvetica-Bold", 10)
    c.drawString(x, y, title)
    c.setFont("Helvetica", 10)
    lines = [a.name, a.street1, a.street2, f"{a.city}, {a.state} {a.zip}"]
    for i, text in enumerate(t for t in lines if t):
        c.drawString(x, y - LINE * (i + 1), latin_text(text))


def _header(c: Canvas, slip: PackingSlip, part: int, parts: int) -> float:
    width, height = letter
    c.setFont("Helvetica-Bold", 18)
    c.drawString(MARGIN, height - MARGIN, "Packing slip")
    c.setFont("Helvetica", 10)
    more = f" (page {part} of {parts})" if parts > 1 else ""
    c.drawRightString(width - MARGIN, height - MARGIN, f"{slip.warehouse} · tracking {slip.tracking_number}{more}")
    c.drawString(MARGIN, height - MARGIN - 20, "Orders: " + ", ".join(slip.order_ids))
    _address(c, MARGIN, height - MARGIN - 50, "Ship to", slip.ship_to)
    _address(c, width / 2, height - MARGIN - 50, "From", slip.ship_from)
    y = height - MARGIN - 140
    c.setFont("Helvetica-Bold", 10)
    for x, text in ((MARGIN, "SKU"), (MARGIN + 130, "Item"), (width - MARGIN - 40, "Qty")):
        c.drawString(x, y, text)
    c.line(MARGIN, y - 4, width - MARGIN, y - 4)
    return y - LINE - 4


def render_packing_slips(slips: Sequence[PackingSlip], path: Path) -> list[int]:
    """Write one page per slip (more when a parcel has many lines), in the given order; returns each slip's
    page count."""
    canvas = Canvas(str(path), pagesize=letter, pageCompression=1)
    width, _ = letter
    counts = []
    for slip in slips:
        pages = [slip.lines[i : i + ROWS_PER_PAGE] for i in range(0, len(slip.lines), ROWS_PER_PAGE)] or [()]
        counts.append(len(pages))
        for number, rows in enumerate(pages, 1):
            y = _header(canvas, slip, number, len(pages))
            canvas.setFont("Helvetica", 10)
            for sku, name, units in rows:
                canvas.drawString(MARGIN, y, latin_text(sku)[:24])
                canvas.drawString(MARGIN + 130, y, latin_text(name)[:60])
                canvas.drawRightString(width - MARGIN - 20, y, str(units))
                y -= LINE
            canvas.showPage()
    canvas.save()
    return counts

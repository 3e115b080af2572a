"""Separator pages: one before each warehouse's labels in the merged print file, so a stack splits by warehouse."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from reportlab.pdfgen.canvas import Canvas

from fulfilment.labels import zpl
from fulfilment.labels.content import latin_text
from fulfilment.labels.local import PAGE_H, PAGE_W


@dataclass(frozen=True, slots=True)
class Separator:
    """What a separator says: the warehouse, how many parcels and units follow, and the batch."""

    warehouse: str
    name: str
    parcels: int
    units: int
    batch_id: str

    def lines(self) -> tuple[str, str, str, str]:
        """Title, warehouse name, counts, batch: the text of both renderings."""
        plural = "s" if self.parcels != 1 else ""
        counts = f"{self.parcels} parcel{plural} \u00b7 {self.units} units"
        return latin_text(self.warehouse), latin_text(self.name), counts, f"batch {self.batch_id}"


def render_separators_pdf(separators: Sequence[Separator], path: Path) -> None:
    """One 4x6 page per separator: a black band with the warehouse code, its name, counts and the batch."""
    c = Canvas(str(path), pagesize=(PAGE_W, PAGE_H), pageCompression=1, invariant=1)
    for separator in separators:
        code, name, counts, batch = separator.lines()
        c.setFillGray(0)
        c.rect(0, PAGE_H - 200, PAGE_W, 120, stroke=0, fill=1)
        c.setFillGray(1)
        c.setFont("Helvetica-Bold", 40 if len(code) <= 10 else 24)
        c.drawCentredString(PAGE_W / 2, PAGE_H - 155, code)
        c.setFillGray(0)
        c.setFont("Helvetica-Bold", 14)
        c.drawCentredString(PAGE_W / 2, PAGE_H - 240, name[:40])
        c.setFont("Helvetica", 12)
        c.drawCentredString(PAGE_W / 2, PAGE_H - 265, counts)
        c.drawCentredString(PAGE_W / 2, PAGE_H - 285, batch)
        c.showPage()
    c.save()


def separators_zpl(separators: Sequence[Separator]) -> bytes:
    """One ZPL format per separator, with the text of the PDF page."""
    formats = []
    for separator in separators:
        code, name, counts, batch = separator.lines()
        formats.append(
            "\n".join(
                [
                    "^XA^CI28^PW812^LL1218^LH0,0",
                    f"^FO0,180^GB{zpl.DOTS_W},300,300^FS",
                    zpl.text_field(0, 280, code, 110, zpl.DOTS_W, "C", reverse=True),
                    zpl.text_field(0, 560, name, 40, zpl.DOTS_W, "C"),
                    zpl.text_field(0, 630, counts, 34, zpl.DOTS_W, "C"),
                    zpl.text_field(0, 680, batch, 34, zpl.DOTS_W, "C"),
                    "^XZ\n",
                ]
            )
        )
    return "".join(formats).encode()

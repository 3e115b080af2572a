"""Pick list PDF: one section per warehouse, a table of what to pick, page numbers."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

from reportlab.lib import colors
from reportlab.lib.pagesizes import letter
from reportlab.lib.styles import ParagraphStyle
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import Flowable, PageBreak, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from fulfilment.domain.shipments import PickLine
from fulfilment.labels.content import latin_text

MARGIN = 36.0
COL_WIDTHS = (100.0, 150.0, 50.0, 36.0, 36.0, 168.0)  # sum = 540 = letter width - 2 margins
HEADER = ("SKU", "Name", "Bin", "Qty", "Picks", "Order IDs")
MAX_IDS_SHOWN = 4

_BODY = ParagraphStyle("pick-body", fontName="Helvetica", fontSize=8.5, leading=10)
_IDS = ParagraphStyle("pick-ids", fontName="Helvetica", fontSize=7, leading=8.5)
_H1 = ParagraphStyle("pick-h1", fontName="Helvetica-Bold", fontSize=15, leading=19, spaceAfter=2)
_H2 = ParagraphStyle("pick-h2", fontName="Helvetica", fontSize=9, leading=12, spaceAfter=8)
_TABLE_STYLE = TableStyle(
    [
        ("FONT", (0, 0), (-1, 0), "Helvetica-Bold", 8.5),
        ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#DDDDDD")),
        ("LINEBELOW", (0, 0), (-1, 0), 0.8, colors.black),
        ("LINEBELOW", (0, 1), (-1, -1), 0.25, colors.grey),
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("ALIGN", (3, 0), (4, -1), "RIGHT"),
        ("FONT", (3, 1), (4, -1), "Helvetica-Bold", 10),
        ("FONT", (0, -1), (-1, -1), "Helvetica-Bold", 8.5),
        ("LINEABOVE", (0, -1), (-1, -1), 0.8, colors.black),
        ("LEFTPADDING", (0, 0), (-1, -1), 3),
        ("RIGHTPADDING", (0, 0), (-1, -1), 3),
    ]
)


def _p(text: str, style: ParagraphStyle = _BODY) -> Paragraph:
    """A paragraph of plain text (escaped, folded to what the base fonts show)."""
    return Paragraph(escape(latin_text(text)), style)


def compact_ids(order_ids: Sequence[str], limit: int = MAX_IDS_SHOWN) -> str:
    """The first `limit` order ids, comma-separated, then ``+N more``."""
    shown = ", ".join(order_ids[:limit])
    rest = len(order_ids) - limit
    return f"{shown} +{rest} more" if rest > 0 else shown


def _section_table(lines: Sequence[PickLine]) -> Table:
    """The pick table of one warehouse with a totals row."""
    rows: list[list[Any]] = [list(HEADER)]
    for line in lines:
        rows.append(
            [
                _p(line.sku),
                _p(line.name),
                _p(line.bin),
                str(line.quantity),
                str(len(line.order_ids)),
                Paragraph(escape(compact_ids(line.order_ids)).replace(" more", "&nbsp;more"), _IDS),
            ]
        )
    units = sum(line.quantity for line in lines)
    picks = len({o for line in lines for o in line.order_ids})
    rows.append([f"Total: {len(lines)} SKUs", "", "", str(units), str(picks), "distinct picks"])
    return Table(rows, colWidths=COL_WIDTHS, repeatRows=1, style=_TABLE_STYLE)


def _section(warehouse: str, lines: Sequence[PickLine], title: str) -> list[Flowable]:
    """Heading, summary line and table of one warehouse."""
    units = sum(line.quantity for line in lines)
    picks = len({o for line in lines for o in line.order_ids})
    summary = f"{title} \u00b7 {len(lines)} SKUs \u00b7 {units} units \u00b7 {picks} picks"
    flow: list[Flowable] = [_p(warehouse, _H1), _p(summary, _H2)]
    flow.append(_section_table(lines) if lines else _p("Nothing to pick."))
    return flow


class _NumberedCanvas(Canvas):
    """Canvas that writes ``title · Page n of N`` at the foot of every page once the total is known."""

    title_text = ""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._saved: list[dict[str, Any]] = []

    def showPage(self) -> None:  # noqa: N802 (reportlab name)
        self._saved.append(dict(self.__dict__))
        self._startPage()

    def save(self) -> None:
        total = len(self._saved)
        for state in self._saved:
            self.__dict__.update(state)
            self.setFont("Helvetica", 8)
            footer = f"{self.title_text} \u00b7 Page {self._pageNumber} of {total}"
            self.drawRightString(letter[0] - MARGIN, MARGIN / 2, latin_text(footer))
            super().showPage()
        super().save()


def render_pick_list(sections: Mapping[str, Sequence[PickLine]], path: Path, title: str) -> None:
    """Write a letter-size pick list: per warehouse (key = its label) a heading and a table, new page each.

    Lines are listed in the given order; the table shows SKU, name, bin, total quantity, the number of picks
    (parcels) and up to four of their order ids (``+N more``), with a totals row. Every page carries
    ``title · Page n of N``.
    """
    flow: list[Flowable] = []
    for i, (warehouse, lines) in enumerate(sections.items()):
        if i:
            flow.append(PageBreak())
        flow.extend(_section(warehouse, lines, title))
    if not flow:
        flow = [_p(title, _H1), Spacer(1, 6), _p("Nothing to pick.")]
    doc = SimpleDocTemplate(
        str(path),
        pagesize=letter,
        leftMargin=MARGIN,
        rightMargin=MARGIN,
        topMargin=MARGIN,
        bottomMargin=MARGIN,
        title=latin_text(title),
    )
    canvas_class = type("PickListCanvas", (_NumberedCanvas,), {"title_text": title})
    doc.build(flow, canvasmaker=canvas_class)

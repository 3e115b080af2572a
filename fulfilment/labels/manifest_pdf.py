"""The manifest PDF: per carrier, every parcel (tracking number, service, weight, orders) and the totals."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any
from xml.sax.saxutils import escape

from reportlab.lib import colors
from reportlab.lib.pagesizes import letter
from reportlab.lib.styles import ParagraphStyle
from reportlab.platypus import Flowable, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from fulfilment.labels.content import CARRIER_TITLES, format_weight, latin_text

if TYPE_CHECKING:
    from fulfilment.manifests import CarrierManifest

MARGIN = 36.0
COL_WIDTHS = (160.0, 150.0, 70.0, 160.0)  # sum = 540
_BODY = ParagraphStyle("manifest-body", fontName="Helvetica", fontSize=8, leading=9.5)
_H1 = ParagraphStyle("manifest-h1", fontName="Helvetica-Bold", fontSize=14, leading=18, spaceAfter=6)
_H2 = ParagraphStyle("manifest-h2", fontName="Helvetica-Bold", fontSize=11, leading=14, spaceBefore=10, spaceAfter=4)
_STYLE = TableStyle(
    [
        ("FONT", (0, 0), (-1, 0), "Helvetica-Bold", 8),
        ("FONT", (0, 1), (-1, -1), "Helvetica", 8),
        ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#DDDDDD")),
        ("LINEBELOW", (0, 0), (-1, -1), 0.25, colors.grey),
        ("FONT", (0, -1), (-1, -1), "Helvetica-Bold", 8),
        ("LINEABOVE", (0, -1), (-1, -1), 0.8, colors.black),
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
    ]
)


def _p(text: str, style: ParagraphStyle = _BODY) -> Paragraph:
    return Paragraph(escape(latin_text(text)), style)


def carrier_total(manifest: CarrierManifest) -> str:
    """``12 parcels, 9 lb 4.0 oz``."""
    n = len(manifest.parcels)
    weight = format_weight(sum(p.weight_oz for p in manifest.parcels))
    return f"{n} parcel{'s' if n != 1 else ''}, {weight}"


def render_manifest(manifests: Sequence[CarrierManifest], path: Path, title: str) -> None:
    """Write the manifest: a title, the total per carrier, then per carrier a table of its parcels."""
    flow: list[Flowable] = [_p(title, _H1)]
    if not manifests:
        flow.append(_p("No parcels."))
    for m in manifests:
        name = CARRIER_TITLES.get(m.carrier, m.carrier.upper())
        flow.append(_p(f"{name}: {carrier_total(m)}" + (f" \u00b7 {m.reference}" if m.reference else "")))
    for m in manifests:
        name = CARRIER_TITLES.get(m.carrier, m.carrier.upper())
        flow.append(_p(name, _H2))
        rows: list[list[Any]] = [["Tracking", "Service", "Weight", "Orders"]]
        rows += [
            [p.tracking_number, _p(p.service), format_weight(p.weight_oz), _p(", ".join(p.order_ids))]
            for p in m.parcels
        ]
        rows.append([f"Total {name}", "", "", carrier_total(m)])
        flow += [Table(rows, colWidths=COL_WIDTHS, repeatRows=1, style=_STYLE), Spacer(1, 6)]
    doc = SimpleDocTemplate(
        str(path), pagesize=letter, leftMargin=MARGIN, rightMargin=MARGIN, topMargin=MARGIN, bottomMargin=MARGIN
    )
    doc.build(flow)

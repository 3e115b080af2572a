"""Local 4x6 test labels: one reportlab canvas, one 288x432 pt page per LabelSpec.

These labels are NOT postage. Every page says so in two banners; the tracking number is drawn as Code128
with a module of at least 13 mil (``BAR_MIN``) so it decodes at 203 dpi, then the human-readable number.
Only the base-14 fonts are used (no embedding), and bars are drawn as one filled path per label.
"""

from __future__ import annotations

import io
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import BinaryIO

from reportlab import rl_config
from reportlab.lib.rl_accel import escapePDF, fp_str
from reportlab.pdfbase.pdfmetrics import getFont, stringWidth, unicode2T1
from reportlab.pdfgen.canvas import Canvas

from fulfilment.domain.shipments import LabelSpec
from fulfilment.domain.tracking import local_tracking_number
from fulfilment.labels.content import (
    TEST_MARK,
    LabelContent,
    code128_pattern,
    label_content,
    latin_text,
    pattern_modules,
)
from fulfilment.labels.provider import CONTENT_TYPES, BoughtLabel, LabelRequest, PurchaseJournal, Settled
from fulfilment.labels.zpl import render_zpl

PAGE_W, PAGE_H = 288.0, 432.0  # 4 x 6 in
MARGIN = 10.0
INNER_W = PAGE_W - 2 * MARGIN
BAR_MIN = 0.936  # 13 mil in points
BAR_MAX = 1.6  # wider modules decode more easily; cap so common numbers stay well inside the page
BAR_QUIET = 10  # quiet zone in modules on each side
BAR_HEIGHT = 68.0
COMPRESS = True  # zlib page streams: faster overall than none (less to write) and ~1/3 of the size

FONT = "Helvetica"
BOLD = "Helvetica-Bold"
MONO = "Courier-Bold"

LABEL_COL = 50.0  # x offset of the values after ORDERS / ITEMS


def _text(c: Canvas, x: float, y: float, text: str, font: str, size: float, align: float = 0.0) -> None:
    """Draw `text` in `font` at `size` with its start (`align` 0), centre (0.5) or end (1) at `x`, baseline `y`.

    Writes the text operators directly, encoded as reportlab's own ``drawString`` encodes them: that builds a
    text object per string, which was ~40% of a label.
    """
    if align:
        x -= stringWidth(text, font, size) * align
    face = getFont(font)
    ops = [f"BT 1 0 0 1 {fp_str(x)} {fp_str(y)} Tm"]
    for used, encoded in unicode2T1(text, [face, *face.substitutionFonts]):
        ops.append(f"{c._doc.getInternalFontName(used.fontName)} {fp_str(size)} Tf ({escapePDF(encoded)}) Tj")  # noqa: SLF001
    ops.append("ET")
    c.addLiteral(" ".join(ops))


def _fit(text: str, font: str, size: float, width: float, min_size: float) -> tuple[str, float]:
    """Shrink `size` down to `min_size` to fit `width`; past that, cut the text and end it with "…"."""
    text = latin_text(text)
    w = stringWidth(text, font, size)
    if w <= width:
        return text, size
    size = max(min_size, size * width / w)
    if stringWidth(text, font, size) <= width:
        return text, size
    while text and stringWidth(text + "\u2026", font, size) > width:
        text = text[:-1]
    return text.rstrip() + "\u2026", size


def _draw_fitted(c: Canvas, x: float, y: float, text: str, font: str, size: float, width: float) -> None:
    """Draw one line at (x, y), shrunk or cut to `width`."""
    text, size = _fit(text, font, size, width, min(size, 6.0))
    _text(c, x, y, text, font, size)


def _draw_code128(c: Canvas, value: str, y: float, height: float) -> float:
    """Draw `value` as Code128 centred across the page with its bottom at `y`; returns the module width.

    The module is as wide as fits with 10-module quiet zones, up to ``BAR_MAX``; ValueError when that is under
    13 mil (about 22 alphanumeric or 40 numeric characters fit).
    The bars go into the page as one raw ``re``/``f`` path (reportlab's per-rect float formatting is the
    slowest part of a label otherwise). The current fill colour must be black.
    """
    pattern = code128_pattern(value)
    modules = pattern_modules(pattern)
    bar = min(BAR_MAX, PAGE_W / (modules + 2 * BAR_QUIET))
    if bar < BAR_MIN:
        raise ValueError(f"tracking number {value!r} is too long for a 13 mil Code128 on a 4 in label")
    x = (PAGE_W - modules * bar) / 2
    tail = f" {y:.2f} "
    tail2 = f" {height:.2f} re"
    ops = []
    for ch in pattern:
        w = (ord(ch) & 31) * bar
        if ch < "a":
            ops.append(f"{x:.3f}{tail}{w:.3f}{tail2}")
        x += w
    ops.append("f")
    c.addLiteral("\n".join(ops))
    return bar


def _banner(c: Canvas, y: float, height: float, size: float) -> None:
    """A black bar across the page with the white TEST mark, bottom at `y`."""
    c.setFillGray(0)
    c.rect(MARGIN, y, INNER_W, height, stroke=0, fill=1)
    c.setFillGray(1)
    _text(c, PAGE_W / 2, y + (height - size * 0.7) / 2, TEST_MARK, BOLD, size, align=0.5)
    c.setFillGray(0)


def _draw_header(c: Canvas, label: LabelContent, top: float) -> float:
    """Ship-from block (left) and carrier / service / weight (right); returns the y below it."""
    left_w = INNER_W * 0.58
    y = top - 7
    _text(c, MARGIN, y, "FROM", BOLD, 6.5)
    for line in label.from_lines:
        y -= 8
        _draw_fitted(c, MARGIN, y, line, FONT, 7, left_w)
    right_x = MARGIN + left_w + 6
    right_w = PAGE_W - MARGIN - right_x
    rx = PAGE_W - MARGIN
    text, size = _fit(label.carrier, BOLD, 22, right_w, 10)
    _text(c, rx, top - 20, text, BOLD, size, align=1)
    text, size = _fit(label.service, BOLD, 8, right_w, 5)
    _text(c, rx, top - 31, text, BOLD, size, align=1)
    _text(c, rx, top - 41, label.weight, FONT, 8, align=1)
    return min(y, top - 41) - 6


def _draw_ship_to(c: Canvas, label: LabelContent, top: float) -> float:
    """The large ship-to block; the ZIP is never cut. Returns the y below it."""
    x = MARGIN + 6
    w = INNER_W - 6
    _text(c, MARGIN, top - 8, "SHIP TO:", BOLD, 7)
    y = top - 24
    _draw_fitted(c, x, y, label.to_name, BOLD, 14, w)
    for line in label.to_streets:
        y -= 15
        _draw_fitted(c, x, y, line, FONT, 13, w)
    y -= 18
    tail = f"  {label.to_state_zip}"
    tail_w = stringWidth(tail, BOLD, 15)
    city, size = _fit(label.to_city, BOLD, 15, w - tail_w, 9)
    _text(c, x, y, city, BOLD, size)
    _text(c, x + stringWidth(city, BOLD, size), y, tail, BOLD, 15)
    return y - 8


def _draw_tracking(c: Canvas, label: LabelContent, top: float) -> float:
    """Code128 of the tracking number and its human-readable text; returns the y below it."""
    _text(c, PAGE_W / 2, top - 8, label.tracking_title, BOLD, 7, align=0.5)
    bottom = top - 12 - BAR_HEIGHT
    _draw_code128(c, label.tracking, bottom, BAR_HEIGHT)
    text, size = _fit(label.tracking_grouped, MONO, 11, INNER_W, 7)
    _text(c, PAGE_W / 2, bottom - 12, text, MONO, size, align=0.5)
    return bottom - 18


def _draw_orders(c: Canvas, label: LabelContent, top: float) -> float:
    """All order ids in a grid (a combined shipment lists every one); returns the y below it.

    Up to 24 ids (TikTok combines at most 20) leave room for the items summary.
    """
    order_ids = label.order_ids
    n = len(order_ids)
    _text(c, MARGIN, top - 8, label.orders_title, BOLD, 7)
    size = 9.0 if n <= 3 else 7.0 if n <= 12 else 6.0
    widest = max((stringWidth(o, FONT, size) for o in order_ids), default=0.0)
    x0 = MARGIN + LABEL_COL
    avail = PAGE_W - MARGIN - x0
    cols = max(1, int((avail + 8) // (widest + 8)))
    step = size + 1.5
    y = top - 8
    for i, oid in enumerate(order_ids):
        row, col = divmod(i, cols)
        text, fsize = _fit(oid, FONT, size, avail, 4) if cols == 1 else (oid, size)
        _text(c, x0 + col * (widest + 8), y - row * step, text, FONT, fsize)
    rows = (n + cols - 1) // cols
    return top - 8 - max(rows - 1, 0) * step - 6


def _draw_items(c: Canvas, items: str, top: float, bottom: float) -> None:
    """Items summary wrapped over the lines that fit between `top` and `bottom`, ending ``…more`` when cut."""
    _text(c, MARGIN, top - 8, "ITEMS", BOLD, 7)
    size, step = 7.0, 8.5
    x0 = MARGIN + LABEL_COL
    width = PAGE_W - MARGIN - x0
    max_lines = max(1, int((top - bottom - 2) // step))
    lines: list[str] = []
    current = ""
    for word in items.split(" "):
        candidate = f"{current} {word}" if current else word
        if stringWidth(candidate, FONT, size) <= width or not current:
            current = candidate
        else:
            lines.append(current)
            current = word
    if current:
        lines.append(current)
    if len(lines) > max_lines:
        lines = lines[:max_lines]
        lines[-1], _ = _fit(lines[-1] + " \u2026more", FONT, size, width, size)
    y = top - 8
    for line in lines:
        _text(c, x0, y, line, FONT, size)
        y -= step


def _rule(c: Canvas, y: float) -> None:
    """A thin horizontal line across the label."""
    c.line(MARGIN, y, PAGE_W - MARGIN, y)


def draw_label(c: Canvas, spec: LabelSpec) -> None:
    """Draw one label on the current page of `c` (does not call showPage)."""
    label = label_content(spec)
    top = PAGE_H - MARGIN
    y = _draw_header(c, label, top)
    _rule(c, y)
    _banner(c, y - 16, 14, 9)
    y = _draw_ship_to(c, label, y - 18)
    _rule(c, y)
    y = _draw_tracking(c, label, y - 2)
    _rule(c, y)
    y = _draw_orders(c, label, y - 2)
    _rule(c, y)
    footer = MARGIN + 24
    _draw_items(c, label.items, y - 2, footer + 10)
    _text(c, MARGIN, footer + 2, label.reference, FONT, 6.5)
    _banner(c, MARGIN, 18, 11)


@contextmanager
def _binary_streams() -> Iterator[None]:
    """Turn off reportlab's ASCII85 stream filter while rendering (pure-Python A85 costs ~20% of a label).

    ``rl_config`` is process-global: do not render other reportlab documents from another thread meanwhile
    (they would only come out without A85 too, which is still valid PDF).
    """
    saved = rl_config.useA85
    rl_config.useA85 = 0
    try:
        yield
    finally:
        rl_config.useA85 = saved


def _render(specs: Sequence[LabelSpec], target: str | BinaryIO, compress: bool = COMPRESS) -> None:
    """Render every spec, in order, to one PDF at `target` (path or binary file)."""
    with _binary_streams():
        c = Canvas(target, pagesize=(PAGE_W, PAGE_H), pageCompression=int(compress), invariant=1)
        c.setTitle("Test labels (not postage)")
        for spec in specs:
            c.setLineWidth(0.8)
            draw_label(c, spec)
            c.showPage()
        c.save()


def render_labels(specs: Sequence[LabelSpec], path: Path) -> None:
    """Write one PDF with one 4x6 in page per spec, in the given order (an empty sequence gives 0 pages).

    Output is deterministic (reportlab invariant mode). Raises ValueError for a tracking number that cannot be
    drawn as a 13 mil Code128 within the label width.
    """
    _render(specs, str(path))


def labels_pdf_bytes(specs: Sequence[LabelSpec]) -> bytes:
    """The PDF of :func:`render_labels` as bytes."""
    buf = io.BytesIO()
    _render(specs, buf)
    return buf.getvalue()


class LocalProvider:
    """Test labels drawn locally: a chunk's labels in one file, PDF pages or ZPL II formats by the requests'
    format (tracking numbers are derived from the shipment ids, so nothing is bought and nothing needs
    reconciling)."""

    name = "local"
    late_s = 0.0

    def obtain(self, requests: Sequence[LabelRequest], journal: PurchaseJournal) -> None:
        """Draw every request's label into one file in the (chunk-wide) format of the first request."""
        specs = [
            replace(r.spec, tracking_number=local_tracking_number(r.spec.carrier, r.spec.shipment_id)) for r in requests
        ]
        if specs:
            label_format = requests[0].label_format
            labels = [BoughtLabel(s.shipment_id, s.tracking_number, page=i) for i, s in enumerate(specs)]
            content = render_zpl(specs) if label_format == "zpl" else labels_pdf_bytes(specs)
            journal.bought(labels, content, CONTENT_TYPES[label_format])

    def sweep(self, settled: Sequence[Settled], journal: PurchaseJournal) -> None:
        """Nothing is bought locally, so nothing can be bought twice."""

    def refund(self, due: Sequence[Settled], journal: PurchaseJournal) -> None:
        """Nothing was paid for: each label is simply recorded as voided."""
        for purchase in due:
            journal.refunded(purchase.shipment_id, purchase.transaction_id)

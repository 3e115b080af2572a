"""Local 4x6 test labels: one reportlab canvas, one 288x432 pt page per LabelSpec.

These labels are NOT postage. Every page says so in two banners; the tracking number is drawn as Code128
with a module of at least 13 mil (``BAR_MIN``) so it decodes at 203 dpi, then the human-readable number.
Only the base-14 fonts are used (no embedding), and bars are drawn as one filled path per label.
"""

from __future__ import annotations

import io
import unicodedata
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import replace
from functools import lru_cache
from pathlib import Path
from typing import BinaryIO

from reportlab import rl_config
from reportlab.graphics.barcode.code128 import Code128
from reportlab.pdfbase.pdfmetrics import stringWidth
from reportlab.pdfgen.canvas import Canvas

from fulfilment.domain.orders import Address
from fulfilment.domain.shipments import LabelSpec
from fulfilment.domain.tracking import local_tracking_number
from fulfilment.labels.provider import CONTENT_TYPES, BoughtLabel, LabelRequest, PurchaseJournal, Settled

PAGE_W, PAGE_H = 288.0, 432.0  # 4 x 6 in
MARGIN = 10.0
INNER_W = PAGE_W - 2 * MARGIN
BAR_MIN = 0.936  # 13 mil in points
BAR_MAX = 1.6  # wider modules decode more easily; cap so common numbers stay well inside the page
BAR_QUIET = 10  # quiet zone in modules on each side
BAR_HEIGHT = 68.0
COMPRESS = True  # zlib page streams: faster overall than none (less to write) and ~1/3 of the size
TEST_MARK = "NOT POSTAGE \u2014 TEST LABEL"

FONT = "Helvetica"
BOLD = "Helvetica-Bold"
MONO = "Courier-Bold"

LABEL_COL = 50.0  # x offset of the values after ORDERS / ITEMS
_FOLD = str.maketrans("ŁłØøĐđĦħıŀĿ", "LlOoDdHhilL")

CARRIER_TITLES = {"usps": "USPS", "ups": "UPS", "fedex": "FedEx"}


@lru_cache(maxsize=4096)
def latin_text(text: str) -> str:
    """`text` restricted to what the base-14 fonts can show (cp1252): accents folded, the rest as ``?``."""
    if text.isascii():
        return text
    out = []
    for ch in text:
        try:
            ch.encode("cp1252")
            out.append(ch)
            continue
        except UnicodeEncodeError:
            pass
        folded = unicodedata.normalize("NFKD", ch.translate(_FOLD))
        base = "".join(c for c in folded if not unicodedata.combining(c))
        try:
            base.encode("cp1252")
            out.append(base or "?")
        except UnicodeEncodeError:
            out.append("?")
    return "".join(out)


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
    c.setFont(font, size)
    c.drawString(x, y, text)


def _bar_pattern(value: str) -> str:
    """Code128 module pattern of `value` (upper-case letters are bars, lower-case spaces; letter = width)."""
    bc = Code128(value, quiet=0)
    bc.validate()
    if not bc.valid or not value:
        raise ValueError(f"tracking number {value!r} cannot be drawn as Code128 (empty or not ASCII)")
    bc.encode()
    return bc.decompose()


def _pattern_modules(pattern: str) -> int:
    """Width of a Code128 pattern in modules."""
    return sum((ord(ch) & 31) for ch in pattern)


def _draw_code128(c: Canvas, value: str, y: float, height: float) -> float:
    """Draw `value` as Code128 centred across the page with its bottom at `y`; returns the module width.

    The module is as wide as fits with 10-module quiet zones, up to ``BAR_MAX``; ValueError when that is under
    13 mil (about 22 alphanumeric or 40 numeric characters fit).
    The bars go into the page as one raw ``re``/``f`` path (reportlab's per-rect float formatting is the
    slowest part of a label otherwise). The current fill colour must be black.
    """
    pattern = _bar_pattern(value)
    modules = _pattern_modules(pattern)
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


def _address_lines(a: Address) -> list[str]:
    """Street lines of an address (without name and city line)."""
    return [s for s in (a.street1, a.street2) if s]


def _format_weight(oz: float) -> str:
    """``2 lb 3.5 oz`` or ``11.2 oz``."""
    lb, rest = divmod(round(max(oz, 0.0), 1), 16.0)
    if lb:
        return f"{int(lb)} lb {rest:.1f} oz"
    return f"{rest:.1f} oz"


def _group(number: str) -> str:
    """Tracking number in groups of four for reading aloud."""
    return " ".join(number[i : i + 4] for i in range(0, len(number), 4))


def _banner(c: Canvas, y: float, height: float, size: float) -> None:
    """A black bar across the page with the white TEST mark, bottom at `y`."""
    c.setFillGray(0)
    c.rect(MARGIN, y, INNER_W, height, stroke=0, fill=1)
    c.setFillGray(1)
    c.setFont(BOLD, size)
    c.drawCentredString(PAGE_W / 2, y + (height - size * 0.7) / 2, TEST_MARK)
    c.setFillGray(0)


def _draw_header(c: Canvas, spec: LabelSpec, top: float) -> float:
    """Ship-from block (left) and carrier / service / weight (right); returns the y below it."""
    left_w = INNER_W * 0.58
    y = top - 7
    c.setFont(BOLD, 6.5)
    c.drawString(MARGIN, y, "FROM")
    a = spec.ship_from
    lines = [a.name, *_address_lines(a), f"{a.city}, {a.state} {a.zip}"]
    for line in lines[:4]:
        y -= 8
        _draw_fitted(c, MARGIN, y, line, FONT, 7, left_w)
    right_x = MARGIN + left_w + 6
    right_w = PAGE_W - MARGIN - right_x
    carrier = CARRIER_TITLES.get(spec.carrier, spec.carrier.upper())
    rx = PAGE_W - MARGIN
    text, size = _fit(carrier, BOLD, 22, right_w, 10)
    c.setFont(BOLD, size)
    c.drawRightString(rx, top - 20, text)
    text, size = _fit(spec.service_name, BOLD, 8, right_w, 5)
    c.setFont(BOLD, size)
    c.drawRightString(rx, top - 31, text)
    c.setFont(FONT, 8)
    c.drawRightString(rx, top - 41, f"WT {_format_weight(spec.weight_oz)}")
    return min(y, top - 41) - 6


def _draw_ship_to(c: Canvas, a: Address, top: float) -> float:
    """The large ship-to block; the ZIP is never cut. Returns the y below it."""
    x = MARGIN + 6
    w = INNER_W - 6
    c.setFont(BOLD, 7)
    c.drawString(MARGIN, top - 8, "SHIP TO:")
    y = top - 24
    _draw_fitted(c, x, y, a.name, BOLD, 14, w)
    for line in _address_lines(a):
        y -= 15
        _draw_fitted(c, x, y, line, FONT, 13, w)
    y -= 18
    tail = latin_text(f"  {a.state} {a.zip}")
    tail_w = stringWidth(tail, BOLD, 15)
    city, size = _fit(a.city, BOLD, 15, w - tail_w, 9)
    c.setFont(BOLD, size)
    c.drawString(x, y, city)
    c.setFont(BOLD, 15)
    c.drawString(x + stringWidth(city, BOLD, size), y, tail)
    return y - 8


def _draw_tracking(c: Canvas, spec: LabelSpec, top: float) -> float:
    """Code128 of the tracking number and its human-readable text; returns the y below it."""
    c.setFont(BOLD, 7)
    carrier = CARRIER_TITLES.get(spec.carrier, spec.carrier.upper())
    c.drawCentredString(PAGE_W / 2, top - 8, f"{carrier} TRACKING #")
    bottom = top - 12 - BAR_HEIGHT
    _draw_code128(c, spec.tracking_number, bottom, BAR_HEIGHT)
    text, size = _fit(_group(spec.tracking_number), MONO, 11, INNER_W, 7)
    c.setFont(MONO, size)
    c.drawCentredString(PAGE_W / 2, bottom - 12, text)
    return bottom - 18


def _draw_orders(c: Canvas, order_ids: Sequence[str], top: float) -> float:
    """All order ids in a grid (a combined shipment lists every one); returns the y below it.

    Up to 24 ids (TikTok combines at most 20) leave room for the items summary.
    """
    n = len(order_ids)
    c.setFont(BOLD, 7)
    c.drawString(MARGIN, top - 8, "ORDER" if n == 1 else f"ORDERS ({n})")
    size = 9.0 if n <= 3 else 7.0 if n <= 12 else 6.0
    widest = max((stringWidth(latin_text(o), FONT, size) for o in order_ids), default=0.0)
    x0 = MARGIN + LABEL_COL
    avail = PAGE_W - MARGIN - x0
    cols = max(1, int((avail + 8) // (widest + 8)))
    step = size + 1.5
    c.setFont(FONT, size)
    y = top - 8
    for i, oid in enumerate(order_ids):
        row, col = divmod(i, cols)
        text, fsize = _fit(oid, FONT, size, avail, 4) if cols == 1 else (latin_text(oid), size)
        if fsize != size:
            c.setFont(FONT, fsize)
        c.drawString(x0 + col * (widest + 8), y - row * step, text)
        if fsize != size:
            c.setFont(FONT, size)
    rows = (n + cols - 1) // cols
    return top - 8 - max(rows - 1, 0) * step - 6


def _items_text(items: Sequence[tuple[str, int]]) -> str:
    """``SKU-A x2, SKU-B x1`` with the total unit count first."""
    units = sum(q for _, q in items)
    body = ", ".join(f"{sku} \u00d7{q}" for sku, q in items)
    return f"{units} unit{'s' if units != 1 else ''}: {body}"


def _draw_items(c: Canvas, items: Sequence[tuple[str, int]], top: float, bottom: float) -> None:
    """Items summary wrapped over the lines that fit between `top` and `bottom`, ending ``…more`` when cut."""
    c.setFont(BOLD, 7)
    c.drawString(MARGIN, top - 8, "ITEMS")
    size, step = 7.0, 8.5
    x0 = MARGIN + LABEL_COL
    width = PAGE_W - MARGIN - x0
    max_lines = max(1, int((top - bottom - 2) // step))
    lines: list[str] = []
    current = ""
    parts = latin_text(_items_text(items)).split(" ")
    for word in parts:
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
    c.setFont(FONT, size)
    y = top - 8
    for line in lines:
        c.drawString(x0, y, line)
        y -= step


def _rule(c: Canvas, y: float) -> None:
    """A thin horizontal line across the label."""
    c.line(MARGIN, y, PAGE_W - MARGIN, y)


def draw_label(c: Canvas, spec: LabelSpec) -> None:
    """Draw one label on the current page of `c` (does not call showPage)."""
    top = PAGE_H - MARGIN
    y = _draw_header(c, spec, top)
    _rule(c, y)
    _banner(c, y - 16, 14, 9)
    y = _draw_ship_to(c, spec.ship_to, y - 18)
    _rule(c, y)
    y = _draw_tracking(c, spec, y - 2)
    _rule(c, y)
    y = _draw_orders(c, spec.order_ids, y - 2)
    _rule(c, y)
    footer = MARGIN + 24
    _draw_items(c, spec.items, y - 2, footer + 10)
    c.setFont(FONT, 6.5)
    ref = latin_text(f"Shipment {spec.shipment_id} \u00b7 {spec.warehouse} \u00b7 {spec.service}")
    c.drawString(MARGIN, footer + 2, ref)
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
    """Test labels drawn locally: a chunk's labels on one canvas, stored as one PDF whatever the requests' format
    (tracking numbers are derived from the shipment ids, so nothing is bought and nothing needs reconciling)."""

    name = "local"

    def obtain(self, requests: Sequence[LabelRequest], journal: PurchaseJournal) -> None:
        specs = [
            replace(r.spec, tracking_number=local_tracking_number(r.spec.carrier, r.spec.shipment_id)) for r in requests
        ]
        if specs:
            labels = [BoughtLabel(s.shipment_id, s.tracking_number, page=i) for i, s in enumerate(specs)]
            journal.bought(labels, labels_pdf_bytes(specs), CONTENT_TYPES["pdf"])

    def sweep(self, settled: Sequence[Settled], journal: PurchaseJournal) -> None:
        """Nothing is bought locally, so nothing can be bought twice."""

    def refund(self, due: Sequence[Settled], journal: PurchaseJournal) -> None:
        """Nothing was paid for: each label is simply recorded as voided."""
        for purchase in due:
            journal.refunded(purchase.shipment_id, purchase.transaction_id)

r"""Local 4x6 test labels in ZPL II for thermal printers (203 dpi: 812 x 1218 dots), and ZPL label files.

A label is one format, ``^XA`` … ``^XZ``, with the same text as the PDF label (:mod:`fulfilment.labels.content`).
Every field goes through ``^FH`` so ``^``, ``~``, ``_`` and non-ASCII characters (UTF-8, ``^CI28``) are sent
as hex escapes and can never end a field or start a command; text fields are field blocks (``^FB``), in which a
backslash is doubled so ``\&`` in an address cannot break the line. The tracking number is a Code128 ``^BC`` with a
module of 3 dots (14.8 mil) or more.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from pathlib import Path

from fulfilment.domain.shipments import LabelSpec
from fulfilment.labels.content import LabelContent, code128_pattern, label_content, pattern_modules

DOTS_W, DOTS_H = 812, 1218
MARGIN = 20
INNER = DOTS_W - 2 * MARGIN
BAR_DOTS_MIN = 3  # 3 dots at 203 dpi = 14.8 mil, over the 13 mil minimum
BAR_DOTS_MAX = 4
BAR_QUIET = 10
BAR_HEIGHT = 170
CHAR_W = 0.56  # average width of a font 0 character, as a fraction of its height (to clip lines)
_PLAIN = re.compile(r"[ !-\]`-}]")  # printable ASCII except ^ ~ _ (and DEL)
_FORMAT_END = re.compile(rb"\^XZ", re.IGNORECASE)


def field_data(text: str) -> str:
    """`text` for a ``^FH^FD`` field: ``^``, ``~``, ``_``, control and non-ASCII characters as ``_XX`` UTF-8 hex."""
    return "".join(ch if _PLAIN.fullmatch(ch) else "".join(f"_{b:02X}" for b in ch.encode()) for ch in text)


def _clip(text: str, width: int, height: int) -> str:
    """`text` cut (ending with "…") to about what fits in `width` dots at font height `height`."""
    room = max(1, int(width / (height * CHAR_W)))
    return text if len(text) <= room else text[: room - 1].rstrip() + "\u2026"


def text_field(
    x: int, y: int, text: str, height: int, width: int = INNER, align: str = "L", reverse: bool = False
) -> str:
    """One line of font 0 text at (x, y), clipped to `width`, aligned L/C/R inside a one-line field block."""
    swap = "^FR" if reverse else ""
    data = field_data(_clip(text, width, height).replace("\\", "\\\\"))
    return f"^FO{x},{y}^A0N,{height},{height}{swap}^FB{width},1,0,{align}^FH^FD{data}^FS"


def _block(x: int, y: int, text: str, height: int, lines: int, width: int) -> str:
    """Wrapped text over at most `lines` lines (clipped so it never overprints the last line)."""
    data = field_data(_clip(text, width * lines, height).replace("\\", "\\\\"))
    return f"^FO{x},{y}^A0N,{height},{height}^FB{width},{lines},2,L^FH^FD{data}^FS"


def _rule(y: int) -> str:
    return f"^FO{MARGIN},{y}^GB{INNER},3,3^FS"


def _banner(y: int, height: int, text: str, size: int) -> str:
    """A black bar across the label with `text` in white."""
    return f"^FO{MARGIN},{y}^GB{INNER},{height},{height}^FS" + text_field(
        MARGIN, y + (height - size) // 2, text, size, align="C", reverse=True
    )


def _barcode(value: str, y: int) -> str:
    """Code128 of `value` centred across the label; ValueError when it does not fit with 3-dot modules."""
    modules = pattern_modules(code128_pattern(value)) + 2 * BAR_QUIET
    dots = min(BAR_DOTS_MAX, DOTS_W // modules)
    if dots < BAR_DOTS_MIN:
        raise ValueError(f"tracking number {value!r} is too long for a 3-dot Code128 on a 4 in label")
    x = (DOTS_W - (modules - 2 * BAR_QUIET) * dots) // 2
    return f"^BY{dots},3,{BAR_HEIGHT}^FO{x},{y}^BCN,{BAR_HEIGHT},N,N,N,A^FH^FD{field_data(value)}^FS"


def zpl_label(label: LabelContent) -> str:
    """One ZPL II format (``^XA`` … ``^XZ``) drawing `label` on a 4x6 in label."""
    left = int(INNER * 0.58)
    right_x = MARGIN + left + 12
    right_w = DOTS_W - MARGIN - right_x
    parts = [f"^XA^CI28^PW{DOTS_W}^LL{DOTS_H}^LH0,0", text_field(MARGIN, 16, "FROM", 18, left)]
    y = 38
    for line in label.from_lines:
        parts.append(text_field(MARGIN, y, line, 20, left))
        y += 22
    parts += [
        text_field(right_x, 14, label.carrier, 60, right_w, "R"),
        text_field(right_x, 80, label.service, 22, right_w, "R"),
        text_field(right_x, 108, label.weight, 22, right_w, "R"),
        _rule(140),
        _banner(148, 36, label.mark, 26),
        text_field(MARGIN, 194, "SHIP TO:", 20),
        text_field(MARGIN + 16, 218, label.to_name, 42, INNER - 16),
    ]
    y = 264
    for line in label.to_streets:
        parts.append(text_field(MARGIN + 16, y, line, 36, INNER - 16))
        y += 40
    parts += [
        text_field(MARGIN + 16, y + 4, f"{label.to_city}  {label.to_state_zip}", 44, INNER - 16),
        _rule(y + 56),
        text_field(MARGIN, y + 66, label.tracking_title, 20, align="C"),
        _barcode(label.tracking, y + 92),
        text_field(MARGIN, y + 92 + BAR_HEIGHT + 8, label.tracking_grouped, 30, align="C"),
    ]
    y += 92 + BAR_HEIGHT + 48
    parts += [_rule(y), text_field(MARGIN, y + 10, label.orders_title, 20, 140)]
    parts.append(_block(MARGIN + 150, y + 10, ", ".join(label.order_ids), 22, 6, INNER - 150))
    y += 10 + 6 * 24 + 6
    parts += [_rule(y), text_field(MARGIN, y + 10, "ITEMS", 20, 140)]
    items_lines = max(1, (1110 - (y + 10)) // 24)
    parts.append(_block(MARGIN + 150, y + 10, label.items, 22, items_lines, INNER - 150))
    parts += [text_field(MARGIN, 1120, label.reference, 18), _banner(1150, 48, label.mark, 34), "^XZ"]
    return "\n".join(parts) + "\n"


def render_zpl(specs: Sequence[LabelSpec]) -> bytes:
    """The ZPL of one label per spec, in the given order (UTF-8; hex escapes keep it ASCII)."""
    return "".join(zpl_label(label_content(spec)) for spec in specs).encode()


def zpl_formats(data: bytes) -> list[tuple[int, int]]:
    """(start, end) byte offsets of each label in a ZPL file: a format up to its ``^XZ``, with any commands
    before it (graphics downloads) since the previous format. Trailing bytes after the last ``^XZ`` are ignored."""
    spans, start = [], 0
    for match in _FORMAT_END.finditer(data):
        spans.append((start, match.end()))
        start = match.end()
    return spans


def merge_zpl(labels: Iterable[tuple[Path, int]], out: Path) -> int:
    """Write `out` with the (ZPL file, 0-based label index) labels in exactly the given order; return count.

    Each source's label offsets are read once; labels are copied to disk one at a time. Raises IndexError for
    a label index outside its source and leaves `out` untouched then.
    """
    spans: dict[Path, list[tuple[int, int]]] = {}
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".part")
    count = 0
    try:
        with tmp.open("wb") as fh:
            for source, index in labels:
                path = Path(source)
                if path not in spans:
                    spans[path] = zpl_formats(path.read_bytes())
                if not 0 <= index < len(spans[path]):
                    raise IndexError(f"{path}: no label {index} (it has {len(spans[path])})")
                start, end = spans[path][index]
                with path.open("rb") as src:
                    src.seek(start)
                    chunk = src.read(end - start).strip()
                fh.write(chunk + b"\n")
                count += 1
        tmp.replace(out)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return count

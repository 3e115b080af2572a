"""What a local label says, as text, for both renderers (PDF with reportlab, ZPL II for thermal printers).

The renderers decide sizes and positions only; every word on a label comes from :func:`label_content`.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

from reportlab.graphics.barcode.code128 import Code128

from fulfilment.domain.orders import Address
from fulfilment.domain.shipments import LabelSpec

TEST_MARK = "NOT POSTAGE \u2014 TEST LABEL"
CARRIER_TITLES = {"usps": "USPS", "ups": "UPS", "fedex": "FedEx"}
_FOLD = str.maketrans("ŁłØøĐđĦħıŀĿ", "LlOoDdHhilL")


@lru_cache(maxsize=4096)
def latin_text(text: str) -> str:
    """`text` restricted to what the base-14 fonts can show (cp1252): accents folded, the rest as ``?``."""
    if text.isascii():
        return text
    try:
        text.encode("cp1252")
        return text  # the usual case: only a "×" or "·" to keep
    except UnicodeEncodeError:
        pass
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


def street_lines(a: Address) -> list[str]:
    """Street lines of an address (without name and city line)."""
    return [s for s in (a.street1, a.street2) if s]


def format_weight(oz: float) -> str:
    """``2 lb 3.5 oz`` or ``11.2 oz``."""
    lb, rest = divmod(round(max(oz, 0.0), 1), 16.0)
    if lb:
        return f"{int(lb)} lb {rest:.1f} oz"
    return f"{rest:.1f} oz"


def grouped(number: str) -> str:
    """Tracking number in groups of four for reading aloud."""
    return " ".join(number[i : i + 4] for i in range(0, len(number), 4))


def items_text(items: Sequence[tuple[str, int]]) -> str:
    """``3 units: SKU-A ×2, SKU-B ×1``: the total unit count, then each SKU."""
    units = sum(q for _, q in items)
    body = ", ".join(f"{sku} \u00d7{q}" for sku, q in items)
    return f"{units} unit{'s' if units != 1 else ''}: {body}"


def code128_pattern(value: str) -> str:
    """Code128 module pattern of `value` (upper-case letters are bars, lower-case spaces; letter = width)."""
    bc = Code128(value, quiet=0)
    bc.validate()
    if not bc.valid or not value:
        raise ValueError(f"tracking number {value!r} cannot be drawn as Code128 (empty or not ASCII)")
    bc.encode()
    return bc.decompose()


def pattern_modules(pattern: str) -> int:
    """Width of a Code128 pattern in modules."""
    return sum((ord(ch) & 31) for ch in pattern)


@dataclass(frozen=True, slots=True)
class LabelContent:
    """The text of one label, top to bottom, already folded to what label fonts can show."""

    from_lines: tuple[str, ...]
    carrier: str
    service: str
    weight: str
    to_name: str
    to_streets: tuple[str, ...]
    to_city: str
    to_state_zip: str
    tracking_title: str
    tracking: str
    tracking_grouped: str
    orders_title: str
    order_ids: tuple[str, ...]
    items: str
    reference: str
    mark: str = TEST_MARK


def label_content(spec: LabelSpec) -> LabelContent:
    """Everything a label of `spec` says: sender, carrier and service, recipient, tracking, orders, items."""
    a, to = spec.ship_from, spec.ship_to
    carrier = CARRIER_TITLES.get(spec.carrier, spec.carrier.upper())
    n = len(spec.order_ids)
    return LabelContent(
        from_lines=tuple(latin_text(s) for s in [a.name, *street_lines(a), f"{a.city}, {a.state} {a.zip}"][:4]),
        carrier=carrier,
        service=latin_text(spec.service_name),
        weight=f"WT {format_weight(spec.weight_oz)}",
        to_name=latin_text(to.name),
        to_streets=tuple(latin_text(s) for s in street_lines(to)),
        to_city=latin_text(to.city),
        to_state_zip=latin_text(f"{to.state} {to.zip}"),
        tracking_title=f"{carrier} TRACKING #",
        tracking=spec.tracking_number,
        tracking_grouped=grouped(spec.tracking_number),
        orders_title="ORDER" if n == 1 else f"ORDERS ({n})",
        order_ids=tuple(latin_text(o) for o in spec.order_ids),
        items=latin_text(items_text(spec.items)),
        reference=latin_text(f"Shipment {spec.shipment_id} \u00b7 {spec.warehouse} \u00b7 {spec.service}"),
    )

"""rules/rates/*.yaml: one dated rate card per file (carrier, service, effective_from, transit days, prices)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

from fulfilment.domain.rates import ZONES, RateCard
from fulfilment.rules.checker import Checker
from fulfilment.yamlfile import ConfigError, ConfigInvalid, load_yaml

CENT = Decimal("0.01")
FIELDS = {"note", "carrier", "service", "effective_from", "transit_days", "prices"}


def _load_card(path: Path) -> RateCard:
    c = Checker(path)
    doc = c.mapping(load_yaml(path), None, "", "(file)")
    if doc is None:
        raise ConfigInvalid(c.errors)
    c.unknown_keys(doc, FIELDS, "(file)")
    carrier, service = c.text(doc, "carrier", "(file)"), c.text(doc, "service", "(file)")
    start = doc.get("effective_from")
    if not isinstance(start, dt.date):
        c.error(doc, "effective_from", "effective_from", "expected a date", "write it as 2026-01-18")
    transit = doc.get("transit_days")
    if not isinstance(transit, int) or isinstance(transit, bool) or transit < 1:
        c.error(doc, "transit_days", "transit_days", f"expected whole days ≥ 1, got {transit!r}")
    bands: list[tuple[float, tuple[Decimal, ...]]] = []
    rows = doc.get("prices")
    if not isinstance(rows, list) or not rows:
        c.error(doc, "prices", "prices", "expected a list of weight bands", "- {up_to_lb: 1, zones: [9 prices]}")
        rows = []
    for i, row in enumerate(rows):
        field = f"prices[{i}]"
        m = c.mapping(row, doc, "prices", field)
        if m is None:
            continue
        c.unknown_keys(m, {"up_to_oz", "up_to_lb", "zones"}, field)
        oz, lb = c.number(m, "up_to_oz", field), c.number(m, "up_to_lb", field)
        if (oz is None) == (lb is None):
            c.error(m, "up_to_oz", field, "give exactly one of up_to_oz or up_to_lb")
            continue
        up_to = oz if oz is not None else lb * 16  # type: ignore[operator]
        if bands and up_to <= bands[-1][0]:
            c.error(
                m,
                "up_to_lb" if lb is not None else "up_to_oz",
                field,
                f"overlapping weight bands: {up_to:g} oz is not above the previous band's {bands[-1][0]:g} oz",
                "list the bands from lightest to heaviest",
            )
            continue
        prices = m.get("zones")
        if not isinstance(prices, list) or len(prices) != len(ZONES) or not all(_is_price(p) for p in prices):
            c.error(
                m, "zones", f"{field}.zones", f"expected {len(ZONES)} prices from 0 to {PRICE_MAX:,}, one per zone 1–9"
            )
            continue
        bands.append((up_to, tuple(Decimal(str(p)).quantize(CENT) for p in prices)))
    if c.errors:
        raise ConfigInvalid(c.errors)
    return RateCard(carrier, service, start, transit, tuple(bands), str(path))  # type: ignore[arg-type]


PRICE_MAX = 100_000
"""No label costs more; a larger number is a typing error (and one huge enough cannot even be rounded to cents)."""


def _is_price(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and 0 <= value <= PRICE_MAX


def load_rates(directory: Path) -> tuple[RateCard, ...]:
    """Every card under `directory` (none if it does not exist); two cards for one service and date are refused."""
    errors: list[ConfigError] = []
    cards: list[RateCard] = []
    seen: dict[tuple[str, str, dt.date], str] = {}
    for path in sorted(directory.glob("*.yaml")) if directory.is_dir() else []:
        try:
            card = _load_card(path)
        except ConfigInvalid as exc:
            errors.extend(exc.errors)
            continue
        key = (card.carrier, card.service, card.effective_from)
        if key in seen:
            message = f"a second {card.service} card from {card.effective_from}"
            errors.append(ConfigError(str(path), 0, "effective_from", message, f"the other is {seen[key]}"))
        seen[key] = str(path)
        cards.append(card)
    if errors:
        raise ConfigInvalid(errors)
    return tuple(cards)

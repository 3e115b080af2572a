"""Warehouse choice: where an order's stock comes from, by policy, with fallback, split or backorder (pure)."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from itertools import combinations

Available = Mapping[tuple[str, str], int]
"""Units available per (warehouse, sku)."""

Distance = Callable[[str, str], float | None]
"""Miles between two ZIP codes, or None when unknown."""


@dataclass(frozen=True, slots=True)
class Override:
    """Orders to one of `states`, or lines of one of `skus`, ship only from `warehouses`."""

    id: str
    warehouses: tuple[str, ...]
    skus: frozenset[str] = frozenset()
    states: frozenset[str] = frozenset()


@dataclass(frozen=True, slots=True)
class Policy:
    """How warehouses are preferred: ``ranked`` (file order) or ``closest`` (great-circle miles to the
    destination ZIP; with `tie_radius_miles` > 0, warehouses within that many miles of the closest count as
    tied and go in file order). `allow_split` ships an order no warehouse has whole from several, else it is
    backordered."""

    mode: str = "ranked"
    tie_radius_miles: float = 0.0
    allow_split: bool = False
    overrides: tuple[Override, ...] = ()


@dataclass(frozen=True, slots=True)
class Site:
    """An active warehouse as allocation sees it: its code and the ZIP it ships from."""

    code: str
    zip: str


@dataclass(frozen=True, slots=True)
class Allocation:
    """The decision for one order: parts (warehouse, {sku: units}) in preference order, and why.

    No parts means the order is backordered.
    """

    parts: tuple[tuple[str, dict[str, int]], ...]
    reason: str

    @property
    def backordered(self) -> bool:
        return not self.parts


def demand(lines: Sequence[tuple[str, int]]) -> dict[str, int]:
    """Units needed per SKU (lines of one SKU added up)."""
    needed: dict[str, int] = {}
    for sku, quantity in lines:
        needed[sku] = needed.get(sku, 0) + quantity
    return needed


def candidates(needed: Mapping[str, int], warehouses: Sequence[str], available: Available) -> list[str]:
    """The warehouses, in the given order, whose available stock covers every SKU of the order."""
    return [w for w in warehouses if all(available.get((w, sku), 0) >= q for sku, q in needed.items())]


def shortfall(needed: Mapping[str, int], warehouses: Sequence[str], available: Available) -> str:
    """A human reason why no warehouse can ship the order whole: per SKU, what is needed and the most on offer."""
    parts = []
    for sku, quantity in sorted(needed.items()):
        best = max(warehouses, key=lambda w: available.get((w, sku), 0), default=None)
        have = available.get((best, sku), 0) if best else 0
        if have < quantity:
            where = f"{have} available at best ({best})" if best and have else "none available"
            parts.append(f"{sku}: needs {quantity}, {where}")
    return "no warehouse can ship the whole order: " + "; ".join(parts)


def preference(
    sites: Sequence[Site], dest_zip: str, policy: Policy, distance: Distance
) -> list[tuple[str, float | None]]:
    """The warehouses in the order the policy prefers them, each with its distance (None under ``ranked``
    or for an unknown ZIP; unknown distances go last, in file order)."""
    if policy.mode == "ranked":
        return [(s.code, None) for s in sites]
    miles = [distance(s.zip, dest_zip) for s in sites]
    known = [m for m in miles if m is not None]
    nearest = min(known, default=0.0)

    def key(i: int) -> tuple[int, float, int]:
        m = miles[i]
        if m is None:
            return (2, 0.0, i)
        if policy.tie_radius_miles > 0 and m <= nearest + policy.tie_radius_miles:
            return (0, 0.0, i)
        return (1, m, i)

    return [(sites[i].code, miles[i]) for i in sorted(range(len(sites)), key=key)]


def allowed(policy: Policy, state: str, skus: Sequence[str]) -> tuple[dict[str, set[str] | None], list[str]]:
    """Per SKU, the warehouses the overrides allow (None: any), and the ids of the overrides that applied."""
    result: dict[str, set[str] | None] = {}
    used: list[str] = []
    for sku in skus:
        limit: set[str] | None = None
        for o in policy.overrides:
            if state in o.states or sku in o.skus:
                limit = set(o.warehouses) if limit is None else limit & set(o.warehouses)
                if o.id not in used:
                    used.append(o.id)
        result[sku] = limit
    return result, used


def _split(
    needed: Mapping[str, int], order: Sequence[str], limits: Mapping[str, set[str] | None], available: Available
) -> tuple[tuple[str, dict[str, int]], ...] | None:
    """The fewest warehouses (preferred ones first) that together cover every SKU, and what each ships."""
    for k in range(2, len(order) + 1):
        for combo in combinations(order, k):
            parts: dict[str, dict[str, int]] = {w: {} for w in combo}
            for sku, quantity in needed.items():
                left = quantity
                for w in combo:
                    limit = limits.get(sku)
                    if left and (limit is None or w in limit):
                        take = min(left, max(available.get((w, sku), 0), 0))
                        if take:
                            parts[w][sku] = take
                            left -= take
                if left:
                    break
            else:
                return tuple((w, p) for w, p in parts.items() if p)
    return None


def _ordinal(n: int) -> str:
    return f"{n}{'th' if 10 <= n % 100 <= 20 else {1: 'st', 2: 'nd', 3: 'rd'}.get(n % 10, 'th')}"


def _closeness(miles: Mapping[str, float | None], chosen: str, radius: float) -> str:
    """How near the chosen warehouse is: the closest, or tied with it within the radius and first by rank."""
    m = miles[chosen]
    if m is None:
        return "closest policy, distance unknown"
    nearest = min((d for d in miles.values() if d is not None), default=m)
    if m <= nearest:
        return f"closest, {m:.0f} mi"
    if m <= nearest + radius:
        return f"{m:.0f} mi, within {radius:g} mi of the closest, first by rank"
    return f"{m:.0f} mi, the nearest in stock"


def choose(
    needed: Mapping[str, int],
    state: str,
    dest_zip: str,
    sites: Sequence[Site],
    policy: Policy,
    available: Available,
    distance: Distance,
) -> Allocation:
    """Decide where an order ships from.

    The preferred warehouse (by policy, among those the overrides allow) that has every unit ships it whole;
    failing that, with `allow_split`, the fewest warehouses that together have it (each part its own
    shipment); otherwise the order is backordered. The reason names the policy, the distance, the overrides
    and the warehouses passed over.
    """
    ranked = preference(sites, dest_zip, policy, distance)
    limits, used = allowed(policy, state, list(needed))
    whole_ok = [w for w, _ in ranked if all(limit is None or w in limit for limit in limits.values())]
    why_override = f"; override {', '.join(used)}: only {', '.join(whole_ok) or 'no warehouse'}" if used else ""
    miles = dict(ranked)
    found = candidates(needed, whole_ok, available)
    if found:
        chosen = found[0]
        skipped = whole_ok[: whole_ok.index(chosen)]
        if policy.mode == "ranked":
            how = f"ranked {_ordinal(whole_ok.index(chosen) + 1)}"
        else:
            how = _closeness(miles, chosen, policy.tie_radius_miles)
        passed = f"; {', '.join(skipped)} short of stock" if skipped else ""
        return Allocation(((chosen, dict(needed)),), f"allocated from {chosen} ({how}{passed}{why_override})")
    short = shortfall(needed, whole_ok or [w for w, _ in ranked], available)
    if policy.allow_split:
        split_order = [w for w, _ in ranked if any(limit is None or w in limit for limit in limits.values())]
        parts = _split(needed, split_order, limits, available)
        if parts:
            where = " + ".join(f"{w} ({', '.join(f'{s}×{q}' for s, q in p.items())})" for w, p in parts)
            return Allocation(parts, f"split across {len(parts)} warehouses: {where}; {short}{why_override}")
        return Allocation((), f"backordered: {short}; not even split across warehouses{why_override}")
    return Allocation((), f"backordered: {short}; splitting is off (allow_split){why_override}")

"""USPS-style zones from the great-circle distance between ZIP3 centroids, or from a committed chart (pure).

A ZIP3 centroid is the average lat/long of its ZIP5s that have one, built once per process. Territories and
military destinations are zone 9 (carriers.md, Zones); a chart for the origin ZIP3 overrides the computed zone.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping

from fulfilment.domain.states import MILITARY, TERRITORIES
from fulfilment.domain.zips import all_zips, haversine_miles, lookup, zip5

ZONE_BANDS: tuple[tuple[float, int], ...] = (
    (50, 1),
    (150, 2),
    (300, 3),
    (600, 4),
    (1000, 5),
    (1400, 6),
    (1800, 7),
)
"""(up to miles, zone); beyond the last band, zone 8."""

FAR_ZONE = 9
"""Territories and APO/FPO/DPO."""

ZoneChart = Mapping[str, int]
"""Destination ZIP3 → zone for one origin ZIP3."""

_centroids: dict[str, tuple[float, float]] | None = None
_lock = threading.Lock()


def _build() -> dict[str, tuple[float, float]]:
    sums: dict[str, list[float]] = {}
    for info in all_zips():
        if info.lat is None or info.lon is None:
            continue
        acc = sums.setdefault(info.zip[:3], [0.0, 0.0, 0.0])
        acc[0] += info.lat
        acc[1] += info.lon
        acc[2] += 1
    return {z3: (lat / n, lon / n) for z3, (lat, lon, n) in sums.items()}


def zip3_centroid(zip3: str) -> tuple[float, float] | None:
    """The average lat/long of a ZIP3's ZIP5s; None when none has a centroid."""
    global _centroids
    if _centroids is None:
        with _lock:
            if _centroids is None:
                _centroids = _build()
    return _centroids.get(zip3)


def zone_for_miles(miles: float) -> int:
    """The USPS zone of a distance: 1 up to 50 miles … 8 from 1,801."""
    for limit, zone in ZONE_BANDS:
        if miles <= limit:
            return zone
    return 8


def zone(origin_zip: str, dest_zip: str, dest_state: str = "", chart: ZoneChart | None = None) -> tuple[int, str]:
    """The zone from origin to destination and how it was found; zone 9 for territories, military and unknowns."""
    origin, dest = zip5(origin_zip), zip5(dest_zip)
    if dest is None or origin is None:
        return FAR_ZONE, f"zone {FAR_ZONE}: ZIP {dest_zip or origin_zip!r} is not a ZIP code"
    if chart is not None and dest[:3] in chart:
        return chart[dest[:3]], f"zone {chart[dest[:3]]} from the zone chart of origin {origin[:3]}"
    info = lookup(dest)
    state = dest_state or (info.state if info else "")
    if state in TERRITORIES or state in MILITARY or (info is not None and info.type == "MILITARY"):
        return FAR_ZONE, f"zone {FAR_ZONE}: {state or 'military'} is a territory or military destination"
    a, b = zip3_centroid(origin[:3]), zip3_centroid(dest[:3])
    if a is None or b is None:
        return FAR_ZONE, f"zone {FAR_ZONE}: no centroid for ZIP3 {origin[:3] if a is None else dest[:3]}"
    miles = haversine_miles(a[0], a[1], b[0], b[1])
    z = zone_for_miles(miles)
    return z, f"zone {z}: {miles:,.0f} miles between ZIP3 {origin[:3]} and {dest[:3]}"

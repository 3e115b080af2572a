"""US ZIP facts from the `zipcodes` package: one dict per process, ZIP format checks, centroid distances.

The table is built once, on first use, from ``zipcodes.list_all()`` (about 0.5 s); ``zipcodes.matching()``
costs ~0.5 ms a call, too slow for a batch. Distances here use each ZIP5's own lat/long; zones, defined on ZIP3
areas, use ZIP3 centroids (`fulfilment.domain.zones`).
"""

from __future__ import annotations

import math
import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass

import zipcodes

EARTH_RADIUS_MILES = 3958.8

_ZIP_RE = re.compile(r"(\d{5})(?:-?\d{4})?")


@dataclass(frozen=True, slots=True)
class ZipInfo:
    """One ZIP5: state code, preferred city, centroid (None when the data has none), type and active flag.

    `type` is ``STANDARD``, ``PO BOX``, ``UNIQUE`` or ``MILITARY``.
    """

    zip: str
    state: str
    city: str
    lat: float | None
    lon: float | None
    type: str
    active: bool


_table: dict[str, ZipInfo] | None = None
_lock = threading.Lock()


def _coordinate(text: object) -> float | None:
    try:
        return float(str(text))
    except ValueError:
        return None


def _record(raw: dict[str, object]) -> ZipInfo:
    lat, lon = _coordinate(raw.get("lat")), _coordinate(raw.get("long"))
    if lat is None or lon is None or (lat == 0 and lon == 0):  # military ZIPs carry 0,0
        lat = lon = None
    return ZipInfo(
        zip=str(raw["zip_code"]),
        state=str(raw["state"]),
        city=str(raw["city"]),
        lat=lat,
        lon=lon,
        type=str(raw["zip_code_type"]),
        active=bool(raw["active"]),
    )


def _zips() -> dict[str, ZipInfo]:
    """The process-wide ZIP table, built on first call (a lock keeps concurrent first calls to one build)."""
    global _table
    table = _table
    if table is None:
        with _lock:
            if _table is None:
                _table = {info.zip: info for info in map(_record, zipcodes.list_all())}
            table = _table
    return table


def zip5(text: str) -> str | None:
    """The ZIP5 of ``02139``, ``02139-4307`` or ``021394307`` (spaces around ignored); None otherwise."""
    match = _ZIP_RE.fullmatch(text.strip()) if text else None
    return match.group(1) if match else None


def lookup(zip_code: str) -> ZipInfo | None:
    """The record of a ZIP5 (or ZIP+4 text); None if the text is not a ZIP or the ZIP is not in the data."""
    five = zip5(zip_code)
    return _zips().get(five) if five else None


def distance_miles(zip_a: str, zip_b: str) -> float | None:
    """Great-circle miles between two ZIP5 centroids; None if either ZIP is unknown or has no centroid."""
    a, b = lookup(zip_a), lookup(zip_b)
    if a is None or b is None or a.lat is None or b.lat is None or a.lon is None or b.lon is None:
        return None
    return haversine_miles(a.lat, a.lon, b.lat, b.lon)


def haversine_miles(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance in miles between two points given in decimal degrees."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    h = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_MILES * math.asin(min(1.0, math.sqrt(h)))


def all_zips() -> Iterator[ZipInfo]:
    """Every ZIP record, in ZIP order."""
    return iter(_zips().values())

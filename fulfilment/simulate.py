"""A TikTok LIVE session simulator for the demo, tests and benchmarks (deterministic for a seed, no I/O).

Addresses are real-shaped: real ZIP/city/state triples from the `zipcodes` data (states weighted by
population), a house number and a plausible street, some units, PO Boxes, APO/FPO/DPO, Alaska, Hawaii and
Puerto Rico.
A planted bad address carries its expected problem code in ``extra["planted_problem"]``.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from decimal import Decimal
from functools import lru_cache

from fulfilment.domain import address as checks
from fulfilment.domain.orders import Address, ImportedOrder, OrderLine
from fulfilment.domain.states import MILITARY, TERRITORIES
from fulfilment.domain.zips import ZipInfo, all_zips, lookup


@dataclass(frozen=True, slots=True)
class CatalogEntry:
    """A SKU as the seller lists it: packed weight (oz), box (in), category, price and relative popularity."""

    sku: str
    name: str
    weight_oz: float
    length_in: float
    width_in: float
    height_in: float
    category: str
    unit_price: Decimal
    popularity: float = 1.0


# Popularity is relative: how often buyers pick the SKU when it is not the product on screen.
SAMPLE_CATALOG: tuple[CatalogEntry, ...] = (
    CatalogEntry("TEE-BLK-S", "Everyday Cotton Tee - Black, S", 5.5, 10, 8, 1, "Tops", Decimal("19.99"), 7),
    CatalogEntry("TEE-BLK-M", "Everyday Cotton Tee - Black, M", 6.0, 10, 8, 1, "Tops", Decimal("19.99"), 11),
    CatalogEntry("TEE-BLK-L", "Everyday Cotton Tee - Black, L", 6.5, 10, 8, 1, "Tops", Decimal("19.99"), 9),
    CatalogEntry("TEE-WHT-M", "Everyday Cotton Tee - White, M", 6.0, 10, 8, 1, "Tops", Decimal("19.99"), 8),
    CatalogEntry("HOODIE-GRY-L", "Heavyweight Hoodie - Heather Grey, L", 22.0, 14, 12, 3, "Tops", Decimal("44.99"), 6),
    CatalogEntry("MUG-CRM-11", "Stoneware Mug 11 oz - Cream", 16.0, 6, 6, 5, "Kitchen", Decimal("16.99"), 5),
    CatalogEntry("TMB-40-SAGE", "Insulated Tumbler 40 oz - Sage", 21.0, 11, 5, 5, "Kitchen", Decimal("29.99"), 7),
    CatalogEntry(
        "CASE-IP15-CLR", "Clear MagSafe Case - iPhone 15", 2.5, 8, 4, 1, "Phone Accessories", Decimal("14.99"), 6
    ),
    CatalogEntry("CNDL-SOY-VAN", "Soy Candle 8 oz - Vanilla Amber", 14.0, 5, 5, 5, "Home", Decimal("18.00"), 5),
    CatalogEntry("PAN-CI-12", "Cast-Iron Skillet 12 in", 192.0, 20, 13, 4, "Kitchen", Decimal("39.99"), 2),
    CatalogEntry("MAT-YOGA-6", "Yoga Mat 6 mm - Plum", 40.0, 26, 7, 7, "Sports", Decimal("34.99"), 2),
    CatalogEntry("LAMP-ARC-BLK", "Arc Floor Lamp - Black (boxed)", 104.0, 62, 12, 10, "Home", Decimal("89.99"), 1),
)

# 2020 census populations in millions, to weight where buyers live (PR kept low: a few orders only).
STATE_WEIGHTS: dict[str, float] = {
    "CA": 39.5,
    "TX": 29.1,
    "FL": 21.5,
    "NY": 20.2,
    "PA": 13.0,
    "IL": 12.8,
    "OH": 11.8,
    "GA": 10.7,
    "NC": 10.4,
    "MI": 10.1,
    "NJ": 9.3,
    "VA": 8.6,
    "WA": 7.7,
    "AZ": 7.2,
    "MA": 7.0,
    "TN": 6.9,
    "IN": 6.8,
    "MD": 6.2,
    "MO": 6.2,
    "WI": 5.9,
    "CO": 5.8,
    "MN": 5.7,
    "SC": 5.1,
    "AL": 5.0,
    "LA": 4.7,
    "KY": 4.5,
    "OR": 4.2,
    "OK": 4.0,
    "CT": 3.6,
    "UT": 3.3,
    "IA": 3.2,
    "NV": 3.1,
    "AR": 3.0,
    "MS": 3.0,
    "KS": 2.9,
    "NM": 2.1,
    "NE": 2.0,
    "ID": 1.8,
    "WV": 1.8,
    "HI": 1.5,
    "NH": 1.4,
    "ME": 1.4,
    "RI": 1.1,
    "MT": 1.1,
    "DE": 1.0,
    "SD": 0.9,
    "ND": 0.8,
    "AK": 0.7,
    "DC": 0.7,
    "VT": 0.6,
    "WY": 0.6,
    "PR": 1.0,
}

FIRST_NAMES = (
    "Jessica",
    "Ashley",
    "Brittany",
    "Amanda",
    "Samantha",
    "Sarah",
    "Taylor",
    "Kayla",
    "Lauren",
    "Megan",
    "Emily",
    "Hannah",
    "Madison",
    "Olivia",
    "Emma",
    "Sophia",
    "Ava",
    "Mia",
    "Chloe",
    "Destiny",
    "Jasmine",
    "Maria",
    "Gabriela",
    "Daniela",
    "Aaliyah",
    "Brianna",
    "Alexis",
    "Jordan",
    "Tyler",
    "Michael",
    "Christopher",
    "Matthew",
    "Joshua",
    "David",
    "James",
    "Daniel",
    "Ryan",
    "Brandon",
    "Justin",
    "Anthony",
    "Jose",
    "Luis",
    "Carlos",
    "Kevin",
    "Marcus",
    "Andre",
    "Darius",
    "Nguyen",
    "Linh",
    "Priya",
    "Aisha",
    "Fatima",
    "Grace",
    "Lily",
    "Zoe",
    "Nicole",
    "Rachel",
    "Tiffany",
    "Crystal",
    "Monique",
)
LAST_NAMES = (
    "Smith",
    "Johnson",
    "Williams",
    "Brown",
    "Jones",
    "Garcia",
    "Miller",
    "Davis",
    "Rodriguez",
    "Martinez",
    "Hernandez",
    "Lopez",
    "Gonzalez",
    "Wilson",
    "Anderson",
    "Thomas",
    "Taylor",
    "Moore",
    "Jackson",
    "Martin",
    "Lee",
    "Perez",
    "Thompson",
    "White",
    "Harris",
    "Sanchez",
    "Clark",
    "Ramirez",
    "Lewis",
    "Robinson",
    "Walker",
    "Young",
    "Allen",
    "King",
    "Wright",
    "Scott",
    "Torres",
    "Nguyen",
    "Hill",
    "Flores",
    "Green",
    "Adams",
    "Nelson",
    "Baker",
    "Hall",
    "Rivera",
    "Campbell",
    "Mitchell",
    "Carter",
    "Roberts",
    "Patel",
    "Kim",
    "Chen",
    "Singh",
    "Okafor",
    "Washington",
    "Reyes",
    "Cruz",
    "Morales",
)
STREET_NAMES = (
    "Main",
    "Oak",
    "Pine",
    "Maple",
    "Cedar",
    "Elm",
    "Washington",
    "Lake",
    "Hill",
    "Park",
    "Walnut",
    "Sunset",
    "Lincoln",
    "Jackson",
    "Church",
    "River",
    "Willow",
    "Highland",
    "Meadow",
    "Forest",
    "Ridge",
    "Spring",
    "Center",
    "Franklin",
    "Madison",
    "Jefferson",
    "Cherry",
    "Chestnut",
    "Hickory",
    "Dogwood",
    "Magnolia",
    "Sycamore",
    "Birch",
    "Adams",
    "Mill",
    "Lakeview",
    "Greenwood",
    "Woodland",
    "Valley",
    "Prospect",
    "Railroad",
    "Sherwood",
    "Broad",
    "Locust",
    "Poplar",
    "Laurel",
    "Orchard",
    "Summit",
    "Fairway",
    "Cypress",
    "Juniper",
    "Aspen",
    "Bayview",
    "Harbor",
    "Heritage",
    "Liberty",
    "Pleasant",
    "Riverside",
    "Rosewood",
    "Sunrise",
    "Vine",
    "Westwood",
    "Lexington",
    "Kensington",
    "Mockingbird",
    "Bluebonnet",
    "Peachtree",
)
ORDINAL_STREETS = ("1st", "2nd", "3rd", "4th", "5th", "6th", "7th", "8th", "10th", "12th", "21st", "34th")
SUFFIXES = ("St", "Ave", "Rd", "Dr", "Ln", "Ct", "Blvd", "Way", "Pl", "Cir", "Ter", "Pkwy", "Trl", "Loop")
SUFFIX_WEIGHTS = (20, 16, 12, 14, 9, 8, 4, 5, 3, 3, 2, 1, 1, 1)
DIRECTIONS = ("N", "S", "E", "W", "NE", "NW", "SE", "SW")
PR_STREETS = ("Las Gladiolas", "Villa Carolina", "Santa Rosa", "Los Almendros", "El Paraiso", "Monte Verde")
PR_CALLES = ("Luna", "Sol", "Del Parque", "Palma Real", "Rosa", "Tabonuco")
MESSAGES = (
    "please ship fast!!",
    "gift, no receipt please",
    "love the live!",
    "leave at side door",
    "thank u",
)
USERNAME_TAILS = ("", "_", ".", "x", "_official", "_shop", "lovesdeals", "_tx", "_ny", "_la", "xo", "_ok")


# --- ZIP pools ----------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Pools:
    standard: dict[str, tuple[ZipInfo, ...]]
    po_box: dict[str, tuple[ZipInfo, ...]]
    military: tuple[ZipInfo, ...]


@lru_cache(maxsize=1)
def _pools() -> _Pools:
    """Active ZIPs by kind and state, in ZIP order (deterministic)."""
    standard: dict[str, list[ZipInfo]] = {}
    po_box: dict[str, list[ZipInfo]] = {}
    military: list[ZipInfo] = []
    for info in all_zips():
        if not info.active:
            continue
        if info.type == "STANDARD" and info.state not in MILITARY:
            standard.setdefault(info.state, []).append(info)
        elif info.type == "PO BOX":
            po_box.setdefault(info.state, []).append(info)
        elif info.type == "MILITARY" and info.state in MILITARY:
            military.append(info)
    return _Pools({k: tuple(v) for k, v in standard.items()}, {k: tuple(v) for k, v in po_box.items()}, tuple(military))


def _pick_state(rng: random.Random, weights: dict[str, float] = STATE_WEIGHTS) -> str:
    states = list(weights)
    return rng.choices(states, weights=[weights[s] for s in states])[0]


# --- address parts ------------------------------------------------------------------------------------------


def _house_number(rng: random.Random) -> str:
    roll = rng.random()
    if roll < 0.55:
        return str(rng.randint(100, 9999))
    if roll < 0.80:
        return str(rng.randint(10000, 29999))
    return str(rng.randint(1, 99))


def _street_name(rng: random.Random) -> str:
    name = rng.choice(ORDINAL_STREETS) if rng.random() < 0.12 else rng.choice(STREET_NAMES)
    suffix = rng.choices(SUFFIXES, weights=SUFFIX_WEIGHTS)[0]
    street = f"{name} {suffix}"
    if rng.random() < 0.12:
        street = f"{rng.choice(DIRECTIONS)} {street}"
    return street


def _unit(rng: random.Random) -> str:
    kind = rng.choices(("Apt", "Unit", "Ste", "#", "Apt", "Suite"), weights=(10, 4, 1, 3, 3, 1))[0]
    ident = str(rng.randint(1, 40)) if rng.random() < 0.7 else f"{rng.randint(1, 9)}{rng.choice('ABCD')}"
    if rng.random() < 0.1:
        ident = rng.choice("ABCDEF")
    return f"# {ident}" if kind == "#" else f"{kind} {ident}"


def _person(rng: random.Random) -> tuple[str, str]:
    """A recipient name and a username-style buyer handle."""
    first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
    style = rng.randrange(4)
    tail = rng.choice(USERNAME_TAILS)
    digits = str(rng.randint(1, 99)) if rng.random() < 0.6 else str(rng.randint(1985, 2006))
    handle = {
        0: f"{first}.{last[0]}{digits}",
        1: f"{first}_{last}{tail}",
        2: f"{first}{last}{digits}",
        3: f"{first[:4]}{tail}{digits}",
    }[style].casefold()
    return f"{first} {last}", handle


def _phone(rng: random.Random) -> str:
    area = f"{rng.randint(2, 9)}{rng.randint(0, 9)}{rng.randint(0, 9)}"
    return f"(+1){area}{rng.randint(200, 999)}{rng.randint(0, 9999):04d}"


def _mask(text: str) -> str:
    """TikTok-style mask: first character of each word, the rest starred (``J*** D**``)."""
    return " ".join(w[0] + "*" * (len(w) - 1) for w in text.split())


def _zip_text(rng: random.Random, info: ZipInfo) -> str:
    return f"{info.zip}-{rng.randint(1, 9999):04d}" if rng.random() < 0.15 else info.zip


def _standard_address(rng: random.Random, name: str, phone: str, state: str | None = None) -> Address:
    pools = _pools()
    state = state or _pick_state(rng)
    info = rng.choice(pools.standard[state])
    if state == "PR":
        street1, street2 = _pr_street(rng), ""
    else:
        street1 = f"{_house_number(rng)} {_street_name(rng)}"
        street2 = _unit(rng) if rng.random() < 0.22 else ""
    return Address(name, street1, info.city, info.state, _zip_text(rng, info), street2, phone=phone)


def _pr_street(rng: random.Random) -> str:
    form = rng.randrange(3)
    if form == 0:
        return f"Urb {rng.choice(PR_STREETS)} {rng.randint(1, 300)} Calle {rng.choice('ABCDEFGH')}"
    if form == 1:
        return f"Calle {rng.choice(PR_CALLES)} {rng.randint(1, 999)}"
    return f"{rng.randint(1, 2999)} Calle {rng.choice(PR_CALLES)}"


def _po_box_address(rng: random.Random, name: str, phone: str) -> Address:
    pools = _pools()
    state = _pick_state(rng)
    info = rng.choice(pools.po_box.get(state) or pools.standard[state])
    street = rng.choice(("PO Box {}", "P.O. Box {}", "PO BOX {}", "POB {}")).format(rng.randint(1, 9999))
    return Address(name, street, info.city, info.state, info.zip, phone=phone)


def _military_address(rng: random.Random, name: str, phone: str) -> Address:
    info = rng.choice(_pools().military)
    form = rng.randrange(3)
    if form == 0:
        street = f"PSC {rng.randint(1000, 9999)} Box {rng.randint(1, 9999)}"
    elif form == 1:
        street = f"Unit {rng.randint(2000, 9999)} Box {rng.randint(1, 9999)}"
    else:
        street = f"CMR {rng.randint(400, 499)} Box {rng.randint(1, 9999)}"
    return Address(name, street, info.city.upper(), info.state, info.zip, phone=phone)


def _rural_address(rng: random.Random, name: str, phone: str) -> Address:
    base = _standard_address(rng, name, phone, state=rng.choice(("KY", "WV", "MS", "AL", "TN", "AR", "MO")))
    kind = rng.choice(("RR", "HC", "Rural Route"))
    return replace(base, street1=f"{kind} {rng.randint(1, 9)} Box {rng.randint(1, 999)}", street2="")


def _valid_address(rng: random.Random, name: str, phone: str, mix: Sequence[float]) -> Address:
    """A valid address; `mix` is the chance of (PO Box, military, rural route); the rest are streets."""
    roll = rng.random()
    po_box, military, rural = mix
    if roll < po_box:
        return _po_box_address(rng, name, phone)
    if roll < po_box + military:
        return _military_address(rng, name, phone)
    if roll < po_box + military + rural:
        return _rural_address(rng, name, phone)
    return _standard_address(rng, name, phone)


# --- broken addresses ---------------------------------------------------------------------------------------


def _no_number(rng: random.Random, a: Address) -> Address:
    return replace(a, street1=_street_name(rng), street2=_unit(rng) if rng.random() < 0.4 else "")


def _state_mismatch(rng: random.Random, a: Address) -> Address:
    info = lookup(a.zip)
    states = [s for s in STATE_WEIGHTS if info is None or s != info.state]
    return replace(a, state=rng.choice(states))


def _unknown_zip(rng: random.Random, a: Address) -> Address:
    while True:
        candidate = f"{rng.randint(1, 99999):05d}"
        if lookup(candidate) is None:
            return replace(a, zip=candidate)


def _masked_street(rng: random.Random, a: Address) -> Address:
    return replace(a, street1=_mask(a.street1) if rng.random() < 0.7 else "****")


def _missing_city(rng: random.Random, a: Address) -> Address:
    return replace(a, city="" if rng.random() < 0.8 else "   ")


def _bad_zip_format(rng: random.Random, a: Address) -> Address:
    five = a.zip[:5]
    dropped = five[1:] if five.startswith("0") else five[:4]  # a spreadsheet ate a digit
    return replace(a, zip=rng.choice((dropped, f"{five}-{rng.randint(100, 999)}", five[:4] + "O")))


def _bad_state(rng: random.Random, a: Address) -> Address:
    return replace(a, state=rng.choice(("XX", "Cali", "ZZ", "")))


# Breakers used in live sessions (what buyers really get wrong), with the code check_address must report.
SESSION_BREAKERS: tuple[tuple[str, Callable[[random.Random, Address], Address]], ...] = (
    (checks.NO_STREET_NUMBER, _no_number),
    (checks.ZIP_STATE_MISMATCH, _state_mismatch),
    (checks.ZIP_UNKNOWN, _unknown_zip),
    (checks.STREET_MISSING, _masked_street),
    (checks.CITY_MISSING, _missing_city),
)
ALL_BREAKERS = SESSION_BREAKERS + ((checks.ZIP_FORMAT, _bad_zip_format), (checks.STATE_INVALID, _bad_state))


def _break(rng: random.Random, a: Address, breakers: Sequence[tuple[str, Callable]]) -> tuple[Address, str]:
    code, breaker = rng.choice(breakers)
    return breaker(rng, a), code


def realistic_addresses(n: int, seed: int = 7) -> list[Address]:
    """`n` valid addresses with more of the unusual forms than a session has: PO Boxes, APO/FPO/DPO, rural
    routes, AK/HI, territories (PR, VI, GU), unit lines, masked names and phones."""
    rng = random.Random(seed)
    pools = _pools()
    result = []
    for i in range(n):
        name, _ = _person(rng)
        phone = _phone(rng)
        if i % 10 == 0:
            name = _mask(name)
        if i % 12 == 0:
            phone = f"(+1){phone[4:7]}****{phone[-3:]}"
        if i % 9 == 4:
            state = rng.choice(("AK", "HI", "PR", "VI", "GU", "AK", "HI", "PR"))
            if state in TERRITORIES and state != "PR":
                info = rng.choice(pools.standard[state])
                street = f"{rng.randint(1, 999)} {_street_name(rng)}"
                result.append(Address(name, street, info.city, state, info.zip, phone=phone))
            else:
                result.append(_standard_address(rng, name, phone, state=state))
            continue
        result.append(_valid_address(rng, name, phone, mix=(0.06, 0.06, 0.04)))
    return result


def broken_addresses(n: int, seed: int = 7) -> list[tuple[Address, str]]:
    """`n` addresses each with one planted problem, cycling through every check code, with that code."""
    rng = random.Random(seed)
    valid = realistic_addresses(n, seed + 1)
    result = []
    for i, base in enumerate(valid):
        code, breaker = ALL_BREAKERS[i % len(ALL_BREAKERS)]
        if code == checks.NO_STREET_NUMBER and not base.street1[:1].isdigit():
            base = _standard_address(rng, base.name, base.phone, state="OH")
        result.append((breaker(rng, base), code))
    return result


# --- the session --------------------------------------------------------------------------------------------


def _session_times(rng: random.Random, n: int, start: datetime, minutes: int) -> list[datetime]:
    """Order times: a steady trickle plus flash-deal bursts that decay over a few minutes, sorted."""
    total = minutes * 60.0
    drops = sorted(rng.uniform(0.02, 0.9) * total for _ in range(max(3, minutes // 25)))
    times = []
    for _ in range(n):
        if rng.random() < 0.3:
            t = rng.uniform(0, total)
        else:
            t = rng.choice(drops) + rng.expovariate(1 / rng.uniform(60, 240))
        times.append(start + timedelta(seconds=min(t, total - 1)))
    return sorted(times)


def _buyer_slots(rng: random.Random, n: int) -> list[int]:
    """Which buyer places each order (shuffled): most buy once, some two or three times in the session."""
    slots: list[int] = []
    buyer = 0
    while len(slots) < n:
        count = rng.choices((1, 2, 3), weights=(85, 10, 5))[0]
        slots.extend([buyer] * min(count, n - len(slots)))
        buyer += 1
    rng.shuffle(slots)
    return slots


def _lines(rng: random.Random, catalog: Sequence[CatalogEntry], featured: CatalogEntry) -> list[OrderLine]:
    distinct = min(len(catalog), rng.choices((1, 2, 3, 4), weights=(65, 25, 8, 2))[0])
    picked = [featured] if rng.random() < 0.3 else []
    pool = [c for c in catalog if c not in picked]
    while len(picked) < distinct:
        entry = rng.choices(pool, weights=[c.popularity for c in pool])[0]
        picked.append(entry)
        pool.remove(entry)
    return [
        OrderLine(c.sku, rng.choices((1, 2, 3), weights=(75, 20, 5))[0], c.unit_price, c.name, c.weight_oz)
        for c in picked
    ]


def _shipping_fee(subtotal: Decimal) -> Decimal:
    return Decimal("0") if subtotal >= Decimal("35") else Decimal("5.99")


@dataclass(slots=True)
class _Buyer:
    handle: str
    address: Address
    planted: str = ""


def simulate_session(
    n_orders: int,
    *,
    seed: int = 7,
    start: datetime,
    session_minutes: int = 180,
    catalog: Sequence[CatalogEntry] = SAMPLE_CATALOG,
    bad_address_rate: float = 0.02,
    cancel_rate: float = 0.01,
) -> list[ImportedOrder]:
    """`n_orders` orders of one LIVE session starting at `start` (timezone-aware), in creation order.

    Same arguments, same orders. ``round(n × bad_address_rate)`` one-order buyers get a bad address (code
    in ``extra["planted_problem"]``); ``round(n × cancel_rate)`` other orders are ``cancelled``; the rest
    ``pending``.
    """
    if start.tzinfo is None:
        raise ValueError("start must be timezone-aware")
    if not catalog:
        raise ValueError("the catalog is empty")
    rng = random.Random(seed)
    room_id = str(7_300_000_000_000_000_000 + rng.randrange(10**17))
    times = _session_times(rng, n_orders, start, session_minutes)
    slots = _buyer_slots(rng, n_orders)
    buyers = _make_buyers(rng, slots, bad_address_rate)
    cancelled = _pick_cancelled(rng, slots, buyers, round(n_orders * cancel_rate))
    next_id = 577_100_000_000_000_000 + rng.randrange(10**14)
    first_featured = rng.randrange(len(catalog))  # the product on screen rotates every 15 minutes
    orders = []
    for i, (created, slot) in enumerate(zip(times, slots, strict=True)):
        next_id += rng.randint(1, 5000)
        featured = catalog[(first_featured + int((created - start).total_seconds() // 900)) % len(catalog)]
        orders.append(
            _order(
                rng,
                str(next_id),
                created,
                buyers[slot],
                _lines(rng, catalog, featured),
                room_id,
                i in cancelled,
            )
        )
    return orders


def _make_buyers(rng: random.Random, slots: list[int], bad_rate: float) -> dict[int, _Buyer]:
    counts: dict[int, int] = {}
    for slot in slots:
        counts[slot] = counts.get(slot, 0) + 1
    buyers: dict[int, _Buyer] = {}
    handles: set[str] = set()
    for slot in sorted(counts):
        name, handle = _person(rng)
        while handle in handles:  # usernames are unique on TikTok
            handle += str(rng.randint(0, 9))
        handles.add(handle)
        phone = _phone(rng)
        if rng.random() < 0.04:
            name, phone = _mask(name), f"(+1){phone[4:7]}****{phone[-3:]}"
        buyers[slot] = _Buyer(handle, _valid_address(rng, name, phone, mix=(0.01, 0.005, 0.003)))
    singles = [slot for slot in sorted(counts) if counts[slot] == 1]
    for slot in rng.sample(singles, min(len(singles), round(len(slots) * bad_rate))):
        buyer = buyers[slot]
        if not buyer.address.street1[:1].isdigit():  # keep breakers simple: start from a street address
            buyer.address = _standard_address(rng, buyer.address.name, buyer.address.phone, state="TX")
        buyer.address, buyer.planted = _break(rng, buyer.address, SESSION_BREAKERS)
    return buyers


def _pick_cancelled(rng: random.Random, slots: list[int], buyers: dict[int, _Buyer], count: int) -> set[int]:
    clean = [i for i, slot in enumerate(slots) if not buyers[slot].planted]
    return set(rng.sample(clean, min(count, len(clean))))


def _order(
    rng: random.Random,
    order_id: str,
    created: datetime,
    buyer: _Buyer,
    lines: list[OrderLine],
    room_id: str,
    cancelled: bool,
) -> ImportedOrder:
    subtotal = sum((line.unit_price * line.quantity for line in lines), Decimal("0"))
    extra = {"room_id": room_id}
    if buyer.planted:
        extra["planted_problem"] = buyer.planted
    return ImportedOrder(
        id=order_id,
        channel="tiktok",
        status="cancelled" if cancelled else "pending",
        buyer=buyer.handle,
        ship_to=buyer.address,
        lines=lines,
        created_at=created,
        paid_at=created + timedelta(seconds=rng.randint(2, 45)),
        amount=subtotal + _shipping_fee(subtotal),
        buyer_message=rng.choice(MESSAGES) if rng.random() < 0.03 else "",
        extra=extra,
    )


def catalog_csv(catalog: Sequence[CatalogEntry] = SAMPLE_CATALOG) -> str:
    """The catalog as ``fulfilment/samples/catalog.csv`` holds it."""
    rows = ["sku,name,weight_oz,length_in,width_in,height_in,category"]
    for c in catalog:
        name = f'"{c.name}"' if "," in c.name else c.name
        rows.append(f"{c.sku},{name},{c.weight_oz:g},{c.length_in:g},{c.width_in:g},{c.height_in:g},{c.category}")
    return "\n".join(rows) + "\n"


__all__ = [
    "SAMPLE_CATALOG",
    "CatalogEntry",
    "broken_addresses",
    "catalog_csv",
    "realistic_addresses",
    "simulate_session",
]

"""Offline address checks, routing flags and a normalised key (pure: no I/O besides the ZIP table).

What can be checked offline (carriers.md, "Addresses (offline)"): ZIP format, ZIP exists, ZIP matches the
state, state code valid, a street with a house/box number, a city. A missing apartment number cannot be
detected.
Street lines are read with ``usaddress``; the house number may sit in either street line.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

import usaddress

from fulfilment.domain import zips
from fulfilment.domain.orders import Address
from fulfilment.domain.states import MILITARY, NONCONTIGUOUS, TERRITORIES, state_code

ZIP_FORMAT = "ADDRESS_ZIP_FORMAT"
ZIP_UNKNOWN = "ADDRESS_ZIP_UNKNOWN"
ZIP_STATE_MISMATCH = "ADDRESS_ZIP_STATE_MISMATCH"
STATE_INVALID = "ADDRESS_STATE_INVALID"
NO_STREET_NUMBER = "ADDRESS_NO_STREET_NUMBER"
STREET_MISSING = "ADDRESS_STREET_MISSING"
CITY_MISSING = "ADDRESS_CITY_MISSING"

MILITARY_CITIES = frozenset({"APO", "FPO", "DPO"})

# ZIPs whose delivery area straddles a state line; the zipcodes data names one state only.
CROSS_STATE_ZIPS: dict[str, frozenset[str]] = {
    "42223": frozenset({"KY", "TN"}),  # Fort Campbell
    "71749": frozenset({"AR", "LA"}),  # Junction City
    "73949": frozenset({"OK", "TX"}),  # Texhoma
    "84536": frozenset({"UT", "AZ"}),  # Monument Valley
    "86514": frozenset({"AZ", "NM", "UT"}),  # Teec Nos Pos
    "86515": frozenset({"AZ", "NM"}),  # Window Rock
    "89439": frozenset({"NV", "CA"}),  # Verdi
    "97635": frozenset({"OR", "CA"}),  # New Pine Creek
}

_MASK = "*"
_NUMBER_WORDS = frozenset(
    {"one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven", "twelve"}
)
# Puerto Rico / Spanish-style first words: "Urb Las Gladiolas 150 Calle A", "Calle 5 #23".
_SPANISH_START = re.compile(
    r"(?:urb|urbanizaci[oó]n|cond|condominio|res|residencial|bo|barrio|bda|barriada|parc|parcelas|sector|"
    r"ext|extensi[oó]n|calle|avenida|carr|carretera|edif|edificio|paseo|km|apartado|jardines|reparto|"
    r"estancias|comunidad|blq|bloque)\b\.?",
    re.IGNORECASE,
)
# A named Puerto Rico condominium, building or public-housing complex needs no house number
# ("Cond Torre Del Mar", unit on the other line).
_PR_BUILDING = re.compile(r"(?:cond|condominio|edif|edificio|res|residencial)\b\.?\s+\w", re.IGNORECASE)
_UNIT_ONLY = re.compile(
    r"(?:apt|apartment|unit|ste|suite|no|rm|room|fl|floor|bldg|building|lot|trlr|trailer|spc|space|dept|"
    r"lowr|uppr|frnt|rear|ph|penthouse)(?![a-z])\.?\s*#?\s*[\w-]*|#\s*[\w-]+",
    re.IGNORECASE,
)
_UNIT_LABELS = frozenset(
    {"OccupancyType", "OccupancyIdentifier", "SubaddressType", "SubaddressIdentifier", "BuildingName"}
)
_BOX_LINE = re.compile(r"(?:p\.?\s*o\.?\s*box|pob|post\s+office\s+box|box)\s*#?\s*\w+", re.IGNORECASE)
_ROUTE_BOX = re.compile(r"(?:rr|rural\s+route|hc|hcr|star\s+route)\s*\d+", re.IGNORECASE)
_MILITARY_LINE = re.compile(r"(?:psc|cmr|unit|uss)\s+\w+", re.IGNORECASE)
_ORDINAL = re.compile(r"\d*(?:1st|2nd|3rd|[04-9]th|1[123]th)", re.IGNORECASE)
_GENERAL_DELIVERY = re.compile(r"general\s+delivery", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class AddressProblem:
    """Why an address cannot be shipped as is: a stable `code`, a human `reason`, the `field`, its `value`."""

    code: str
    reason: str
    field: str
    value: str


@dataclass(frozen=True, slots=True)
class AddressFlags:
    """Facts that restrict carriers: box delivery (PO Box, rural-route box, PO-Box-only ZIP), APO/FPO/DPO,
    US territory, Alaska/Hawaii."""

    is_po_box: bool = False
    is_military: bool = False
    is_territory: bool = False
    is_alaska_hawaii: bool = False

    @property
    def bits(self) -> int:
        """The flags as one small number (bit 0 PO Box … bit 3 Alaska/Hawaii), as the orders table stores them."""
        return self.is_po_box | self.is_military << 1 | self.is_territory << 2 | self.is_alaska_hawaii << 3

    @classmethod
    def from_bits(cls, bits: int) -> AddressFlags:
        """The flags that :attr:`bits` made."""
        return cls(bool(bits & 1), bool(bits & 2), bool(bits & 4), bool(bits & 8))


@dataclass(frozen=True, slots=True)
class _Line:
    """What one street line carries."""

    has_number: bool
    unit_only: bool = False
    po_box: bool = False
    route_box: bool = False
    military: bool = False


# --- street lines -------------------------------------------------------------------------------------------


def _labels(line: str) -> dict[str, list[str]] | None:
    """usaddress labels of a line (tag, else parse on a repeated label); None if usaddress fails otherwise."""
    try:
        tagged, _kind = usaddress.tag(line)
        return {label: [value] for label, value in tagged.items()}
    except usaddress.RepeatedLabelError:
        pass
    except Exception:  # usaddress raises assorted errors on odd input: fall back to a regex
        return None
    try:
        pairs = usaddress.parse(line)
    except Exception:
        return None
    labels: dict[str, list[str]] = {}
    for token, label in pairs:
        labels.setdefault(label, []).append(token)
    return labels


def _has_number_token(line: str) -> bool:
    """Whether a word of the line holds a digit, ordinals (``7th``) aside: those name streets."""
    return any(any(c.isdigit() for c in w) and not _ORDINAL.fullmatch(w) for w in line.split())


def _is_number(text: str) -> bool:
    """A house number: holds a digit and is not an ordinal (usaddress tags "2nd" in "2nd Blvd" as one), or a
    number word ("One Main St")."""
    return _has_number_token(text) or text.casefold() in _NUMBER_WORDS


@lru_cache(maxsize=32_768)
def _read_line(line: str) -> _Line:
    """Classify one non-empty, unmasked street line.

    Cached (bounded, a few MB at most): repeat buyers reuse lines, and the route stage reads the lines the screen
    read, so a worker that screened a chunk and then routes it parses none of its lines again; the cache holds
    the ~8,000 distinct lines of a 10,000-order batch."""
    if _UNIT_ONLY.fullmatch(line):
        return _Line(has_number=False, unit_only=True)
    if _GENERAL_DELIVERY.fullmatch(line):
        return _Line(has_number=True)
    has_digit = _has_number_token(line)
    if (_SPANISH_START.match(line) and has_digit) or _PR_BUILDING.match(line):
        return _Line(has_number=True)
    first, _, rest = line.partition(" ")
    if rest and first.casefold() in _NUMBER_WORDS:  # "One World Trade Center", "Three Bryant Park"
        return _Line(has_number=True)
    labels = _labels(line)
    if labels is None:
        return _regex_line(line)
    return _from_labels(line, labels, has_digit)


def _from_labels(line: str, labels: dict[str, list[str]], has_digit: bool) -> _Line:
    """Classify a line from its usaddress labels: military box, route box, PO Box, street, unit line."""
    box_type = " ".join(labels.get("USPSBoxType", [])).casefold()
    sub_type = " ".join(labels.get("SubaddressType", []) + labels.get("OccupancyType", [])).casefold()
    military = bool(re.search(r"\b(?:psc|cmr|unit|uss)\b", sub_type + " " + box_type)) and "USPSBoxID" in labels
    # usaddress sometimes labels the box number oddly ("POB 59" → OccupancyIdentifier): any number will do.
    box_id = has_digit or any(n.strip("#") for n in labels.get("USPSBoxID", []) + labels.get("USPSBoxGroupID", []))
    if military or re.fullmatch(r"(?:psc|cmr)\s+\S+.*", line, re.IGNORECASE):
        return _Line(has_number=box_id, military=True)
    if "USPSBoxGroupType" in labels:
        return _Line(has_number=box_id, route_box=True)
    if "USPSBoxID" in labels or box_type:
        return _Line(has_number=box_id, po_box=True)
    if any(_is_number(n) for n in labels.get("AddressNumber", [])):
        return _Line(has_number=True)
    street = {"StreetName", "StreetNamePreType", "StreetNamePostType", "AddressNumber"} & labels.keys()
    if street:
        return _Line(has_number=False)
    if labels and labels.keys() <= _UNIT_LABELS:
        return _Line(has_number=False, unit_only=True)
    # usaddress saw no street (e.g. a place name as "Recipient"): a number gets the benefit of the doubt.
    return _Line(has_number=has_digit)


def _regex_line(line: str) -> _Line:
    """Fallback when usaddress cannot read the line."""
    if _BOX_LINE.search(line):
        return _Line(has_number=True, po_box=True)
    if _ROUTE_BOX.match(line):
        return _Line(has_number=True, route_box=True)
    if _MILITARY_LINE.match(line):
        return _Line(has_number=True, military=True)
    return _Line(has_number=_has_number_token(line))


def _street_lines(addr: Address) -> list[str]:
    return [s for s in (" ".join(addr.street1.split()), " ".join(addr.street2.split())) if s]


# --- checks -------------------------------------------------------------------------------------------------


def check_address(addr: Address) -> list[AddressProblem]:
    """Every offline problem of the address, in field order (empty list: the address looks shippable).

    A masked name or phone is fine; a masked street or city is not.
    """
    problems = _check_street(addr)
    problems += _check_city(addr)
    state, state_problems = _check_state(addr)
    problems += state_problems
    problems += _check_zip(addr, state)
    return problems


def _check_street(addr: Address) -> list[AddressProblem]:
    lines = _street_lines(addr)
    if not lines:
        return [AddressProblem(STREET_MISSING, "the street address is empty", "street1", addr.street1)]
    for field, value in (("street1", addr.street1), ("street2", addr.street2)):
        if _MASK in value:
            reason = f"street {value.strip()!r} is masked: the full address is not available"
            return [AddressProblem(STREET_MISSING, reason, field, value)]
    if any(_read_line(line).has_number for line in lines):
        return []
    shown = ", ".join(lines)
    reason = f"street {shown!r} has no house or box number"
    return [AddressProblem(NO_STREET_NUMBER, reason, "street1", addr.street1)]


def _check_city(addr: Address) -> list[AddressProblem]:
    city = addr.city.strip()
    if not city:
        return [AddressProblem(CITY_MISSING, "the city is empty", "city", addr.city)]
    if _MASK in city:
        return [AddressProblem(CITY_MISSING, f"city {city!r} is masked", "city", addr.city)]
    return []


def _check_state(addr: Address) -> tuple[str | None, list[AddressProblem]]:
    """The state code (a full name is accepted too) and the problem if there is none."""
    text = addr.state.strip()
    code = state_code(text) if text else None
    if code:
        return code, []
    reason = f"state {text!r} is not a US state, territory or military code" if text else "the state is empty"
    return None, [AddressProblem(STATE_INVALID, reason, "state", addr.state)]


def _check_zip(addr: Address, state: str | None) -> list[AddressProblem]:
    text = addr.zip.strip()
    five = zips.zip5(text)
    if five is None:
        reason = f"ZIP {text!r} is not a 5-digit ZIP or ZIP+4" if text else "the ZIP code is empty"
        return [AddressProblem(ZIP_FORMAT, reason, "zip", addr.zip)]
    info = zips.lookup(five)
    if info is None:
        return [AddressProblem(ZIP_UNKNOWN, f"ZIP {five} does not exist", "zip", addr.zip)]
    if state and info.state != state and state not in CROSS_STATE_ZIPS.get(five, ()):
        reason = f"ZIP {five} is in {info.state}, not {state}"
        return [AddressProblem(ZIP_STATE_MISMATCH, reason, "zip", addr.zip)]
    return []


# --- routing flags ------------------------------------------------------------------------------------------


def classify(addr: Address) -> AddressFlags:
    """Routing flags: a box delivery (USPS only), military (state AA/AE/AP, APO/FPO/DPO city or ZIP),
    territory, Alaska/Hawaii. The state comes from the address, else from the ZIP."""
    info = zips.lookup(addr.zip)
    state = state_code(addr.state) if addr.state.strip() else None
    state = state or (info.state if info else "")
    lines = [_read_line(s) for s in _street_lines(addr) if _MASK not in s]
    military = (
        state in MILITARY
        or (info is not None and info.type == "MILITARY")
        or addr.city.strip().upper() in MILITARY_CITIES
    )
    box = any(line.po_box or line.route_box for line in lines) or (info is not None and info.type == "PO BOX")
    return AddressFlags(
        is_po_box=box and not military,
        is_military=military,
        is_territory=state in TERRITORIES,
        is_alaska_hawaii=state in NONCONTIGUOUS,
    )


# --- normalised key -----------------------------------------------------------------------------------------

# USPS Pub 28 (appendix C1/C2) abbreviations for the common suffixes, directions and unit words.
_ABBREVIATIONS = {
    "street": "st",
    "str": "st",
    "avenue": "ave",
    "av": "ave",
    "aven": "ave",
    "avn": "ave",
    "road": "rd",
    "boulevard": "blvd",
    "boul": "blvd",
    "drive": "dr",
    "drv": "dr",
    "lane": "ln",
    "court": "ct",
    "place": "pl",
    "terrace": "ter",
    "circle": "cir",
    "parkway": "pkwy",
    "pky": "pkwy",
    "highway": "hwy",
    "square": "sq",
    "trail": "trl",
    "expressway": "expy",
    "freeway": "fwy",
    "turnpike": "tpke",
    "crossing": "xing",
    "point": "pt",
    "heights": "hts",
    "mountain": "mtn",
    "center": "ctr",
    "centre": "ctr",
    "creek": "crk",
    "ridge": "rdg",
    "hill": "hl",
    "plaza": "plz",
    "alley": "aly",
    "route": "rte",
    "cove": "cv",
    "estates": "est",
    "grove": "grv",
    "harbor": "hbr",
    "junction": "jct",
    "meadows": "mdws",
    "park": "park",
    "pike": "pike",
    "ranch": "rnch",
    "run": "run",
    "valley": "vly",
    "view": "vw",
    "village": "vlg",
    "way": "way",
    "north": "n",
    "south": "s",
    "east": "e",
    "west": "w",
    "northeast": "ne",
    "northwest": "nw",
    "southeast": "se",
    "southwest": "sw",
    "apartment": "apt",
    "suite": "ste",
    "building": "bldg",
    "floor": "fl",
    "room": "rm",
    "department": "dept",
    "space": "spc",
    "trailer": "trlr",
    "penthouse": "ph",
}
# Interchangeable apartment designators collapse to "#" so "Apt 4", "Unit 4", "Ste 4" and "#4" give one key.
_UNIT_WORDS = frozenset({"apt", "unit", "ste", "#"})
_PO_BOX = re.compile(r"\b(?:p\s*\.?\s*o\s*\.?\s*b(?:ox)?|post\s+office\s+box|pob)\b\.?", re.IGNORECASE)
_TOKEN = re.compile(r"#|[^\W_]+(?:[/-][^\W_]+)*")


def _normalise_line(line: str) -> str:
    line = _PO_BOX.sub(" po box ", line.casefold())
    words = []
    for token in _TOKEN.findall(line):
        word = _ABBREVIATIONS.get(token, token)
        word = "#" if word in _UNIT_WORDS else word
        if not (word == "#" and words and words[-1] == "#"):
            words.append(word)
    return " ".join(words)


def normalise(addr: Address) -> str:
    """A key for "same address": street lines (house-number line first) and ZIP5, casefolded, punctuation
    removed, common words abbreviated per USPS Pub 28 — e.g. ``123 main st # 4 02139``."""
    lines = _street_lines(addr)
    if len(lines) == 2 and _UNIT_ONLY.fullmatch(lines[0]) and not _UNIT_ONLY.fullmatch(lines[1]):
        lines.reverse()
    street = " ".join(_normalise_line(line) for line in lines)
    zip_part = zips.zip5(addr.zip) or "".join(addr.zip.split()).casefold()
    return f"{street} {zip_part}".strip()


_BUSINESS = re.compile(r"\b(?:llc|inc|corp|corporation|co|company|ltd|lp|llp|pllc|gmbh)\b\.?", re.IGNORECASE)


def is_residential(addr: Address) -> bool:
    """Consumer orders go to homes: residential unless the recipient name carries a company form (LLC, Inc…)."""
    return not _BUSINESS.search(addr.name)

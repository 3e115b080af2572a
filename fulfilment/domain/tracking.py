"""Tracking-number check digits and locally generated test numbers (pure, no I/O).

Formats (US domestic, see ``carriers.md``):

- USPS IMpb, 22 digits starting ``91``-``95``: MOD 10, weights 3,1,3,1... from the right over the first
  21 digits.
- UPS ``1Z`` + 16 characters: letters map to ``(ord(c) - 3) % 10``; over the 15 characters after ``1Z``
  before the check, odd positions + 2 x even positions; check = ``(10 - sum % 10) % 10``.
- FedEx Express, 12 digits: weights 3,1,7 repeating from the left over the first 11 digits; check =
  ``(sum % 11) % 10``.

Local (test) numbers from :func:`local_tracking_number` are format-valid and carry a fixed all-9s segment
where a real number carries the mailer / shipper identity, so they cannot be mistaken for purchased ones; see
:func:`is_local_tracking_number`.
"""

from __future__ import annotations

import re

PROVIDER_NAMES: dict[str, str] = {"usps": "USPS", "ups": "UPS", "fedex": "FedEx"}
"""TikTok's Shipping Provider Name for each carrier token."""

CARRIERS: tuple[str, ...] = ("usps", "ups", "fedex")

_USPS_RE = re.compile(r"9[1-5]\d{20}")
_UPS_RE = re.compile(r"1Z[0-9A-Z]{15}\d")
_FEDEX_RE = re.compile(r"\d{12}")

_B36 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"

# Fixed prefixes of local numbers (before the serial part).
USPS_LOCAL_PREFIX = "94" + "999" + "999999"  # channel 94, service type 999, mailer id 999999
UPS_LOCAL_PREFIX = "1Z" + "999999"  # shipper account 999999
FEDEX_LOCAL_PREFIX = "99"  # for serials below 10**9

USPS_LOCAL_MAX = 10**10  # serials 0 .. 10**10 - 1
UPS_LOCAL_MAX = 36 * 10**8  # serials 0 .. 3.6e9 - 1
FEDEX_LOCAL_MAX = 10**10  # serials 0 .. 10**10 - 1 (recognisable ``99`` prefix below 10**9)


def _ups_value(c: str) -> int:
    """Numeric value of one UPS character: digits as is, letters ``(ord(c) - 3) % 10``."""
    return int(c) if c.isdigit() else (ord(c) - 3) % 10


def usps_check_digit(body: str) -> int:
    """Check digit for the first 21 digits of a USPS IMpb number (MOD 10, weights 3,1 from the right)."""
    total = sum(int(c) * (3 if i % 2 == 0 else 1) for i, c in enumerate(reversed(body)))
    return (10 - total % 10) % 10


def ups_check_digit(body: str) -> int:
    """Check digit for the 15 characters between ``1Z`` and the check (odd + 2 x even positions)."""
    values = [_ups_value(c) for c in body.upper()]
    total = sum(values[0::2]) + 2 * sum(values[1::2])
    return (10 - total % 10) % 10


def fedex_check_digit(body: str) -> int:
    """Check digit for the first 11 digits of a 12-digit FedEx (weights 3,1,7 from the left; mod 11)."""
    weights = (3, 1, 7)
    total = sum(int(c) * weights[i % 3] for i, c in enumerate(body))
    return total % 11 % 10


def normalise(number: str) -> str:
    """Tracking number without spaces, upper-case."""
    return "".join(number.split()).upper()


def is_valid(carrier: str, number: str) -> bool:
    """True when `number` has the format and check digit of `carrier` (``usps``, ``ups``, ``fedex``).

    Spaces are ignored and UPS letters may be lower-case; an unknown carrier gives False.
    """
    n = normalise(number)
    if carrier == "usps":
        return bool(_USPS_RE.fullmatch(n)) and usps_check_digit(n[:21]) == int(n[21])
    if carrier == "ups":
        return bool(_UPS_RE.fullmatch(n)) and ups_check_digit(n[2:17]) == int(n[17])
    if carrier == "fedex":
        return bool(_FEDEX_RE.fullmatch(n)) and fedex_check_digit(n[:11]) == int(n[11])
    return False


def _check_serial(serial: int, limit: int) -> None:
    """Raise ValueError unless ``0 <= serial < limit``."""
    if not 0 <= serial < limit:
        raise ValueError(f"serial {serial} outside 0..{limit - 1}")


def local_tracking_number(carrier: str, serial: int) -> str:
    """A deterministic, format-valid TEST tracking number for (`carrier`, `serial`); never a purchased one.

    - USPS: ``94`` + service type ``999`` + mailer id ``999999`` + the serial as 10 digits + check
      (``9499999999900000000427`` + check for serial 427); serials ``0 <= serial < 10**10``.
    - UPS: ``1Z`` + shipper account ``999999`` + 9 serial characters + check. The first serial character is
      ``serial // 10**8`` in base 36 (a digit below 10**9), the other 8 are ``serial % 10**8``;
      serials ``0 <= serial < 3.6e9``.
    - FedEx (12 digits have no account segment): ``9`` + ``(9 * 10**9 + serial) % 10**10`` as 10 digits
      + check, so every serial below 10**9 gives ``99`` + 9 digits; distinct for ``0 <= serial < 10**10``.

    Numbers differ for different serials of one carrier. Raises ValueError for an unknown carrier or a serial
    out of range.
    """
    if carrier == "usps":
        _check_serial(serial, USPS_LOCAL_MAX)
        body = f"{USPS_LOCAL_PREFIX}{serial:010d}"
        return body + str(usps_check_digit(body))
    if carrier == "ups":
        _check_serial(serial, UPS_LOCAL_MAX)
        head, tail = divmod(serial, 10**8)
        body = f"{UPS_LOCAL_PREFIX[2:]}{_B36[head]}{tail:08d}"
        return f"1Z{body}{ups_check_digit(body)}"
    if carrier == "fedex":
        _check_serial(serial, FEDEX_LOCAL_MAX)
        body = f"9{(9 * 10**9 + serial) % 10**10:010d}"
        return body + str(fedex_check_digit(body))
    raise ValueError(f"unknown carrier {carrier!r}")


def is_local_tracking_number(carrier: str, number: str) -> bool:
    """True when `number` is a valid number of `carrier` carrying the fixed test segment of local numbers.

    For FedEx this recognises the ``99`` prefix used by serials below 10**9 (12-digit FedEx numbers have no
    account segment, so a real number starting ``99`` cannot be told apart: treat FedEx as best effort).
    """
    if not is_valid(carrier, number):
        return False
    n = normalise(number)
    if carrier == "usps":
        return n.startswith(USPS_LOCAL_PREFIX)
    if carrier == "ups":
        return n.startswith(UPS_LOCAL_PREFIX)
    return n.startswith(FEDEX_LOCAL_PREFIX)

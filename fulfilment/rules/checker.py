"""Validation helpers shared by the rule-file loaders: collect every error with its file, line and field."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fulfilment.domain.orders import Address
from fulfilment.domain.states import state_code
from fulfilment.yamlfile import ConfigError, LineDict


class Checker:
    """Collects errors for one file so that a single run reports all of them."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.errors: list[ConfigError] = []

    def error(self, where: LineDict | None, key: str, field: str, message: str, hint: str = "") -> None:
        line = where.line_of(key) if isinstance(where, LineDict) else 0
        self.errors.append(ConfigError(str(self.path), line, field, message, hint))

    def mapping(self, value: Any, where: LineDict | None, key: str, field: str) -> LineDict | None:
        if isinstance(value, LineDict):
            return value
        self.error(where, key, field, f"expected a mapping of keys, got {kind(value)}")
        return None

    def text(self, m: LineDict, key: str, field: str, required: bool = True) -> str:
        value = m.get(key)
        if value is None or (isinstance(value, str) and not value.strip()):
            if required:
                self.error(m, key, f"{field}.{key}", "is missing")
            return ""
        if not isinstance(value, str | int):
            self.error(m, key, f"{field}.{key}", f"expected text, got {kind(value)}")
            return ""
        return str(value).strip()

    def number(self, m: LineDict, key: str, field: str) -> float | None:
        value = m.get(key)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
            self.error(m, key, f"{field}.{key}", f"expected a number ≥ 0, got {value!r}")
            return None
        return float(value)

    def flag(self, m: LineDict, key: str, field: str, default: bool = True) -> bool:
        value = m.get(key, default)
        if not isinstance(value, bool):
            self.error(m, key, f"{field}.{key}", f"expected true or false, got {value!r}")
            return default
        return value

    def whole(self, m: LineDict, key: str, field: str, default: int, minimum: int = 1) -> int:
        value = m.get(key, default)
        if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
            self.error(m, key, f"{field}.{key}", f"expected a whole number ≥ {minimum}, got {value!r}")
            return default
        return value

    def unknown_keys(self, m: LineDict, allowed: set[str], field: str) -> None:
        for key in m:
            if key not in allowed:
                self.error(m, key, f"{field}.{key}", "unknown field", f"allowed here: {', '.join(sorted(allowed))}")


def kind(value: Any) -> str:
    return {dict: "a mapping", LineDict: "a mapping", list: "a list", str: "text"}.get(type(value), repr(value))


def load_address(c: Checker, m: LineDict, field: str) -> Address | None:
    c.unknown_keys(m, {"name", "street1", "street2", "city", "state", "zip", "phone"}, field)
    values = {k: c.text(m, k, field, required=k not in {"street2", "phone"}) for k in ("name", "street1", "city")}
    state_text = c.text(m, "state", field)
    zip_text = c.text(m, "zip", field)
    state = state_code(state_text) if state_text else None
    if state_text and state is None:
        c.error(m, "state", f"{field}.state", f"{state_text!r} is not a US state", "use a code such as NJ")
    if zip_text and not (len(zip_text) in (5, 10) and zip_text[:5].isdigit()):
        c.error(
            m,
            "zip",
            f"{field}.zip",
            f"{zip_text!r} is not a ZIP code",
            "quote ZIPs with leading zeros: '08817'",
        )
    if not all(values.values()) or state is None or not zip_text:
        return None
    return Address(
        state=state,
        zip=zip_text,
        street2=c.text(m, "street2", field, required=False),
        phone=c.text(m, "phone", field, required=False),
        **values,
    )

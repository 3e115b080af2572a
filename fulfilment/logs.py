"""Logging for every entry point (the `fulfil` command, `fulfil worker` processes, the console): the level from
FULFILMENT_LOG_LEVEL, and every log record masked as it is made — phone numbers, street lines, secrets from the
environment and passwords in URLs never reach a handler, whichever library logs them (SQLAlchemy also keeps
statement parameters out of its messages: `store/db.py` sets hide_parameters)."""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Callable, Iterable
from typing import Any

LEVEL_VARIABLE = "FULFILMENT_LOG_LEVEL"
SECRET_SUFFIXES = ("_SECRET", "_TOKEN", "_PASSWORD", "_API_KEY")
"""Variables ending so (SHIPPO_API_TOKEN, TIKTOK_APP_SECRET, TIKTOK_ACCESS_TOKEN, webhook secrets…) have their
values masked wherever they appear; so has the password of every *_URL variable."""

MASK = "***"
_PHONE = re.compile(r"(?<![\w+])(?:\(?\+?1\)?[\s.-]?)?\(?\d{3}\)?[\s.-]?\d{3}[\s.-]?\d{4}(?!\w)")
_STREET_SUFFIX = (
    r"St|Street|Ave|Avenue|Rd|Road|Blvd|Boulevard|Dr|Drive|Ln|Lane|Way|Ct|Court|Pl|Place|Ter|Terrace|Pkwy|"
    r"Parkway|Hwy|Highway|Cir|Circle|Trl|Trail"
)
_STREET = re.compile(rf"(?<![\w-])\d{{1,6}}[A-Za-z]?\s+(?:[\w.'-]+\s+){{0,4}}(?:{_STREET_SUFFIX})\b\.?", re.IGNORECASE)
_SECONDARY = re.compile(r"\b(?:Apt|Apartment|Unit|Suite|Ste|Room|Rm|Fl|Floor)\.?\s*#?\s*[\w-]+", re.IGNORECASE)
_PO_BOX = re.compile(r"\bP\.?\s*O\.?\s*Box\s+\w+", re.IGNORECASE)
_FIELD = re.compile(
    r"""(?P<key>\b(?:ship_)?(?:street[12]|phone|address_line_?[12]|address|access_token|app_secret|secret|"""
    r"""password|token|sign|authorization)\b['"]?\s*[:=]\s*)(?P<quote>['"]?)(?P<value>[^'",}\s&][^'",}&\n]*)""",
    re.IGNORECASE,
)
_URL_PASSWORD = re.compile(r"(?P<head>\b[a-z][a-z0-9+.-]*://[^:/@\s]*:)[^@\s/]+(?=@)", re.IGNORECASE)


def _secrets(env: dict[str, str]) -> list[str]:
    values = [value for name, value in env.items() if name.endswith(SECRET_SUFFIXES) and len(value) >= 4]
    for name, value in env.items():
        if name.endswith("_URL"):
            match = re.search(r"://[^:/@\s]*:([^@\s/]+)@", value)
            if match and len(match[1]) >= 4:
                values.append(match[1])
    return sorted(set(values), key=len, reverse=True)


def mask(text: str, secrets: Iterable[str] = ()) -> str:
    """`text` with secrets, passwords in URLs, phone numbers and street lines replaced by ***."""
    for secret in secrets:
        text = text.replace(secret, MASK)
    text = _URL_PASSWORD.sub(rf"\g<head>{MASK}", text)
    text = _FIELD.sub(lambda m: f"{m['key']}{m['quote']}{MASK}", text)
    for pattern in (_PO_BOX, _STREET, _SECONDARY, _PHONE):
        text = pattern.sub(MASK, text)
    return text


def _masking_factory(make: Callable[..., logging.LogRecord], secrets: list[str]) -> Callable[..., logging.LogRecord]:
    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = make(*args, **kwargs)
        record.msg, record.args = mask(record.getMessage(), secrets), ()
        if record.exc_info and not record.exc_text:
            record.exc_text = mask(logging.Formatter().formatException(record.exc_info), secrets)
        if record.stack_info:
            record.stack_info = mask(record.stack_info, secrets)
        return record

    factory.masks_fulfilment_logs = True  # type: ignore[attr-defined]
    return factory


def install(env: dict[str, str] | None = None) -> None:
    """Mask every log record made in this process from now on, and apply FULFILMENT_LOG_LEVEL (default WARNING;
    DEBUG also logs SQL statements, without their parameters). Safe to call more than once."""
    env = dict(os.environ if env is None else env)
    current = logging.getLogRecordFactory()
    make = getattr(current, "wrapped", current)
    factory = _masking_factory(make, _secrets(env))
    factory.wrapped = make  # type: ignore[attr-defined]
    logging.setLogRecordFactory(factory)
    level_name = env.get(LEVEL_VARIABLE, "").strip().upper()
    level = logging.getLevelName(level_name) if level_name else None
    root = logging.getLogger()
    if not root.handlers:
        logging.basicConfig(format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if isinstance(level, int):
        root.setLevel(level)
        if level <= logging.DEBUG:
            logging.getLogger("sqlalchemy.engine").setLevel(logging.INFO)
    elif not level_name:
        root.setLevel(min(root.level, logging.WARNING) if root.level else logging.WARNING)

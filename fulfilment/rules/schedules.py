"""schedules.yaml (optional): what `fulfil scheduler` runs, and when.

::

    timezone: America/Los_Angeles      # optional; default FULFILMENT_SHOP_TIMEZONE; "UTC" works too
    schedules:
      - name: tiktok-pull
        run: pull                      # pull new orders from the TikTok API
        every: 10 min
      - name: nightly
        run: batch                     # pull (when configured), then a batch run
        cron: "30 2 * * *"             # minute hour day-of-month month day-of-week
        session: spring-drop           # optional: the batch takes this live session's orders only
        timezone: UTC                  # optional, per schedule

Each entry has exactly one of `every` or `cron`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from fulfilment.domain.cron import CronError, Timing, parse_cron, parse_every
from fulfilment.rules.checker import Checker
from fulfilment.yamlfile import ConfigInvalid, LineDict, load_yaml

RUNS = ("pull", "batch")
FIELDS = {"name", "run", "every", "cron", "session", "timezone"}


@dataclass(frozen=True, slots=True)
class Schedule:
    """One named schedule: what to run (``pull`` or ``batch``), when, in which zone (None: the shop's)."""

    name: str
    run: str
    timing: Timing
    session: str | None = None
    timezone: ZoneInfo | None = None


def _zone(c: Checker, m: LineDict, field: str) -> ZoneInfo | None:
    name = c.text(m, "timezone", field, required=False)
    if not name:
        return None
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        c.error(m, "timezone", f"{field}.timezone", f"{name!r} is not a known time zone", "e.g. America/New_York")
        return None


def _entry(c: Checker, m: LineDict, field: str, zone: ZoneInfo | None) -> Schedule | None:
    c.unknown_keys(m, FIELDS, field)
    name, run = c.text(m, "name", field), c.text(m, "run", field)
    if run and run not in RUNS:
        c.error(m, "run", f"{field}.run", f"unknown run {run!r}", f"use one of: {', '.join(RUNS)}")
    when = [key for key in ("every", "cron") if key in m]
    if len(when) != 1:
        c.error(
            m, "cron", f"{field}", "needs exactly one of every or cron", 'e.g. every: 10 min, or cron: "30 2 * * *"'
        )
        return None
    key = when[0]
    text = c.text(m, key, field)
    try:
        timing = parse_every(text) if key == "every" else parse_cron(text)
    except CronError as exc:
        hint = "minute hour day-of-month month day-of-week, e.g. '30 2 * * *'" if key == "cron" else ""
        c.error(m, key, f"{field}.{key}", str(exc), hint)
        return None
    session = c.text(m, "session", field, required=False) or None
    if session and run != "batch":
        c.error(m, "session", f"{field}.session", "only a batch run takes a session")
    entry_zone = _zone(c, m, field) if "timezone" in m else zone
    return Schedule(name, run, timing, session, entry_zone) if name and run in RUNS else None


def load_schedules(path: Path) -> tuple[Schedule, ...]:
    """Read schedules.yaml; no file means no schedules. Raises ConfigInvalid with every error."""
    if not path.exists():
        return ()
    c = Checker(path)
    doc = c.mapping(load_yaml(path), None, "", "(file)")
    if doc is None:
        raise ConfigInvalid(c.errors)
    c.unknown_keys(doc, {"timezone", "schedules"}, "(file)")
    zone = _zone(c, doc, "(file)")
    entries = doc.get("schedules") or []
    if not isinstance(entries, list):
        c.error(doc, "schedules", "schedules", "expected a list of schedules")
        entries = []
    found: list[Schedule] = []
    for i, value in enumerate(entries):
        field = f"schedules[{i}]"
        m = c.mapping(value, doc, "schedules", field)
        schedule = _entry(c, m, field, zone) if m is not None else None
        if schedule is None:
            continue
        if any(s.name == schedule.name for s in found):
            c.error(m, "name", f"{field}.name", f"{schedule.name!r} is used twice", "give each schedule its own name")
        found.append(schedule)
    if c.errors:
        raise ConfigInvalid(c.errors)
    return tuple(found)

"""When schedules fire (pure): 5-field cron expressions and fixed intervals, in a given time zone.

Cron fields are ``minute hour day-of-month month day-of-week``, each ``*``, a number, a range ``a-b``, a step
``*/n`` or ``a-b/n``, or a comma list of those; day-of-week runs 0-7 with 0 and 7 both Sunday. As in classic cron,
when both day fields are restricted a day matching either one fires. Times are wall-clock times in the schedule's
zone: a time skipped by a daylight-saving jump fires once, at the same offset as before the jump; a time that
happens twice fires the first time only.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

FIELDS = (("minute", 0, 59), ("hour", 0, 23), ("day-of-month", 1, 31), ("month", 1, 12), ("day-of-week", 0, 7))
SEARCH_DAYS = 28 * 366
"""How far a fire is looked for: the calendar repeats every 28 years, so no fire within this means never."""
_MONTH_DAYS = (31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)


class CronError(ValueError):
    """A schedule expression that cannot be used; `field` names the part that is wrong."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field, self.message = field, message


def _number(text: str, name: str, low: int, high: int) -> int:
    if not text.isdigit():
        raise CronError(name, f"{text!r} is not a number")
    value = int(text)
    if not low <= value <= high:
        raise CronError(name, f"{value} is outside {low}-{high}")
    return value


def _field(text: str, name: str, low: int, high: int) -> frozenset[int]:
    values: set[int] = set()
    for part in text.split(","):
        span, _, step_text = part.partition("/")
        step = _number(step_text, name, 1, high - low + 1) if step_text else 1
        if span == "*":
            start, end = low, high
        elif "-" in span:
            first, _, last = span.partition("-")
            start, end = _number(first, name, low, high), _number(last, name, low, high)
            if start > end:
                raise CronError(name, f"range {span!r} runs backwards")
        else:
            start = _number(span, name, low, high)
            end = high if step_text else start
        values.update(range(start, end + 1, step))
    return frozenset(values)


@dataclass(frozen=True, slots=True)
class Cron:
    """A parsed cron expression: the values each field allows."""

    text: str
    minutes: frozenset[int]
    hours: frozenset[int]
    days: frozenset[int]
    months: frozenset[int]
    weekdays: frozenset[int]
    any_day: bool
    any_weekday: bool

    def matches_day(self, day: date) -> bool:
        if day.month not in self.months:
            return False
        by_date, by_weekday = day.day in self.days, day.isoweekday() % 7 in self.weekdays
        if self.any_day or self.any_weekday:
            return by_date and by_weekday
        return by_date or by_weekday


def parse_cron(text: str) -> Cron:
    """Parse ``minute hour day-of-month month day-of-week``; raises CronError naming the wrong field."""
    parts = text.split()
    if len(parts) != len(FIELDS):
        raise CronError("expression", f"{text!r} has {len(parts)} fields; cron takes 5: minute hour day month weekday")
    minutes, hours, days, months, weekdays = (
        _field(part, name, low, high) for part, (name, low, high) in zip(parts, FIELDS, strict=True)
    )
    weekdays = frozenset(d % 7 for d in weekdays)
    if parts[4] == "*" and all(day > _MONTH_DAYS[month - 1] for day in days for month in months):
        raise CronError("day-of-month", f"{parts[2]!r} never falls in month {parts[3]!r}")
    return Cron(text, minutes, hours, days, months, weekdays, parts[2] == "*", parts[4] == "*")


@dataclass(frozen=True, slots=True)
class Every:
    """A fixed interval: fires at every multiple of `seconds` since the Unix epoch (so any process agrees)."""

    seconds: int


UNITS = {"s": 1, "sec": 1, "second": 1, "min": 60, "minute": 60, "h": 3600, "hour": 3600, "day": 86400}


def parse_every(text: str) -> Every:
    """Parse ``10 min``, ``2 hours``, ``1 day`` (units s, min, h, day, singular or plural); at least 1 minute."""
    number, _, unit = text.strip().partition(" ")
    unit = unit.strip().casefold()
    factor = UNITS.get(unit) or UNITS.get(unit.removesuffix("s"))
    if not number.isdigit() or factor is None:
        raise CronError("every", f"{text!r} is not an interval; write e.g. '10 min', '2 hours', '1 day'")
    seconds = int(number) * factor
    if seconds < 60:
        raise CronError("every", f"{text!r} is shorter than a minute")
    return Every(seconds)


Timing = Cron | Every


def _day_fires(cron: Cron, day: date, tz: ZoneInfo, backwards: bool) -> Iterator[datetime]:
    times = sorted((h, m) for h in cron.hours for m in cron.minutes)
    for hour, minute in reversed(times) if backwards else times:
        local = datetime.combine(day, time(hour, minute), tz)
        yield local.astimezone(UTC)


def _cron_fires(cron: Cron, start: datetime, tz: ZoneInfo, backwards: bool) -> Iterator[datetime]:
    """Fire times in UTC from the local day of `start` on, forwards or backwards, within SEARCH_DAYS."""
    day = start.astimezone(tz).date()
    step = timedelta(days=-1 if backwards else 1)
    for _ in range(SEARCH_DAYS):
        if cron.matches_day(day):
            yield from _day_fires(cron, day, tz, backwards)
        day += step


def next_fire(timing: Timing, after: datetime, tz: ZoneInfo) -> datetime | None:
    """The first fire strictly after `after` (aware), in UTC; None if it never fires again."""
    if isinstance(timing, Every):
        stamp = int(after.timestamp()) // timing.seconds * timing.seconds + timing.seconds
        return datetime.fromtimestamp(stamp, UTC)
    return next((t for t in _cron_fires(timing, after, tz, backwards=False) if t > after), None)


def last_fire(timing: Timing, now: datetime, tz: ZoneInfo) -> datetime | None:
    """The latest fire at or before `now` (aware), in UTC; None if it never fired."""
    if isinstance(timing, Every):
        return datetime.fromtimestamp(int(now.timestamp()) // timing.seconds * timing.seconds, UTC)
    return next((t for t in _cron_fires(timing, now, tz, backwards=True) if t <= now), None)

"""Cron parsing and next/last fire times (pure)."""

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from fulfilment.domain.cron import CronError, Every, last_fire, next_fire, parse_cron, parse_every

LA = ZoneInfo("America/Los_Angeles")


def at(text: str, tz=UTC) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=tz)


def test_fields_take_numbers_ranges_steps_and_lists() -> None:
    cron = parse_cron("*/15 9-17/4 1,15 * 1-5")
    assert cron.minutes == {0, 15, 30, 45}
    assert cron.hours == {9, 13, 17}
    assert cron.days == {1, 15} and cron.weekdays == {1, 2, 3, 4, 5}
    assert parse_cron("5/20 0 * * 7").minutes == {5, 25, 45} and parse_cron("0 0 * * 7").weekdays == {0}


@pytest.mark.parametrize(
    ("text", "field", "message"),
    [
        ("30 2 * *", "expression", "has 4 fields"),
        ("60 2 * * *", "minute", "60 is outside 0-59"),
        ("30 24 * * *", "hour", "24 is outside 0-23"),
        ("30 2 0 * *", "day-of-month", "0 is outside 1-31"),
        ("30 2 * 13 *", "month", "13 is outside 1-12"),
        ("30 2 * * 8", "day-of-week", "8 is outside 0-7"),
        ("30 2 * * mon", "day-of-week", "'mon' is not a number"),
        ("30 5-2 * * *", "hour", "runs backwards"),
        ("*/0 2 * * *", "minute", "0 is outside"),
        ("0 0 30 2 *", "day-of-month", "never falls in month"),
    ],
)
def test_a_wrong_expression_names_the_field(text: str, field: str, message: str) -> None:
    with pytest.raises(CronError) as caught:
        parse_cron(text)
    assert caught.value.field == field and message in caught.value.message


def test_next_fire_is_in_the_schedules_time_zone() -> None:
    nightly = parse_cron("30 2 * * *")
    assert next_fire(nightly, at("2026-11-02T09:00"), LA) == at("2026-11-02T10:30")  # 02:30 PST
    assert next_fire(nightly, at("2026-11-02T10:30"), LA) == at("2026-11-03T10:30")  # strictly after
    assert next_fire(nightly, at("2026-11-02T09:00"), ZoneInfo("UTC")) == at("2026-11-03T02:30")


def test_day_of_month_or_day_of_week_when_both_are_given() -> None:
    cron = parse_cron("0 12 13 * 5")  # the 13th, and every Friday
    assert next_fire(cron, at("2026-11-09T00:00"), ZoneInfo("UTC")) == at("2026-11-13T12:00")  # a Friday the 13th
    assert next_fire(cron, at("2026-11-13T12:00"), ZoneInfo("UTC")) == at("2026-11-20T12:00")  # the next Friday
    assert next_fire(parse_cron("0 0 29 2 *"), at("2026-03-01T00:00"), ZoneInfo("UTC")) == at("2028-02-29T00:00")


def test_daylight_saving_jumps_fire_once() -> None:
    nightly = parse_cron("30 2 * * *")
    # 2027-03-14 02:30 does not exist in Los Angeles: it fires once, at the pre-jump offset (10:30 UTC).
    assert next_fire(nightly, at("2027-03-14T00:00"), LA) == at("2027-03-14T10:30")
    assert next_fire(nightly, at("2027-03-14T10:30"), LA) == at("2027-03-15T09:30")
    # 2026-11-01 01:30 happens twice: only the first one fires.
    early = parse_cron("30 1 * * *")
    assert next_fire(early, at("2026-11-01T00:00"), LA) == at("2026-11-01T08:30")
    assert next_fire(early, at("2026-11-01T08:30"), LA) == at("2026-11-02T09:30")


def test_last_fire_is_the_latest_at_or_before_now() -> None:
    nightly = parse_cron("30 2 * * *")
    assert last_fire(nightly, at("2026-11-05T12:00"), LA) == at("2026-11-05T10:30")
    assert last_fire(nightly, at("2026-11-05T10:30"), LA) == at("2026-11-05T10:30")
    assert last_fire(nightly, at("2026-11-05T10:29"), LA) == at("2026-11-04T10:30")


def test_intervals_are_aligned_to_the_epoch() -> None:
    assert parse_every("10 min") == Every(600) and parse_every("2 hours") == Every(7200)
    assert parse_every("1 day") == Every(86400)
    assert next_fire(Every(600), at("2026-11-05T12:04:59"), LA) == at("2026-11-05T12:10")
    assert last_fire(Every(600), at("2026-11-05T12:04:59"), LA) == at("2026-11-05T12:00")
    for bad in ("ten min", "10 fortnights", "30 s", ""):
        with pytest.raises(CronError, match="every"):
            parse_every(bad)

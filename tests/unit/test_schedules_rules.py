"""schedules.yaml: a wrong schedule is named by file, line and field; the shipped file is valid."""

from pathlib import Path

from fulfilment.domain.cron import Cron, Every
from fulfilment.rules import load_rules
from fulfilment.rules.schedules import load_schedules
from tests.unit.test_rules_check import ROOT, errors_for, rules_with

GOOD = """timezone: America/New_York
schedules:
  - name: tiktok-pull
    run: pull
    every: 10 min
  - name: nightly
    run: batch
    cron: "30 2 * * *"
    session: spring-drop
    timezone: UTC
"""


def test_shipped_and_written_schedules_load(tmp_path: Path) -> None:
    assert [s.name for s in load_rules(ROOT / "rules").schedules] == ["tiktok-pull"]
    pull, nightly = load_rules(rules_with(tmp_path, schedules_yaml=GOOD)).schedules
    assert (pull.run, pull.timing, str(pull.timezone)) == ("pull", Every(600), "America/New_York")
    assert isinstance(nightly.timing, Cron) and nightly.timing.hours == {2} and nightly.session == "spring-drop"
    assert str(nightly.timezone) == "UTC"
    assert load_schedules(tmp_path / "absent.yaml") == ()


def test_a_wrong_cron_field_names_file_line_and_field(tmp_path: Path) -> None:
    [error] = errors_for(tmp_path, schedules_yaml=GOOD.replace('"30 2 * * *"', '"30 25 * * *"'))
    assert error.endswith("schedules.yaml:8: schedules[1].cron: hour: 25 is outside 0-23 (hint: minute hour "
                          "day-of-month month day-of-week, e.g. '30 2 * * *')")  # fmt: skip


def test_each_mistake_is_reported(tmp_path: Path) -> None:
    text = GOOD.replace("every: 10 min", "every: 10 fortnights").replace("run: batch", "run: batchh")
    text = text.replace("timezone: UTC", "timezone: Mars/Olympus") + "  - name: tiktok-pull\n    run: pull\n"
    errors = [e.split("schedules.yaml:", 1)[1] for e in errors_for(tmp_path, schedules_yaml=text)]
    assert errors == [
        "5: schedules[0].every: every: '10 fortnights' is not an interval; write e.g. '10 min', '2 hours', '1 day'",
        "7: schedules[1].run: unknown run 'batchh' (hint: use one of: pull, batch)",
        "9: schedules[1].session: only a batch run takes a session",
        "10: schedules[1].timezone: 'Mars/Olympus' is not a known time zone (hint: e.g. America/New_York)",
        '11: schedules[2]: needs exactly one of every or cron (hint: e.g. every: 10 min, or cron: "30 2 * * *")',
    ]

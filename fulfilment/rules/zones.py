"""rules/zones/<origin ZIP3>.csv: an optional committed zone chart (dest_zip3,zone) that overrides computed zones."""

from __future__ import annotations

from pathlib import Path

from fulfilment.domain.orders import NotAnExportError, RowError
from fulfilment.ingest.tables import Column, read_table, text, whole_number
from fulfilment.yamlfile import ConfigError, ConfigInvalid

COLUMNS = [Column("dest_zip3", text), Column("zone", whole_number)]


def _load_chart(path: Path, errors: list[ConfigError]) -> dict[str, int]:
    chart: dict[str, int] = {}
    hint = "each row is a 3-digit destination ZIP prefix and a zone 1–9, e.g. 100,4"
    try:
        rows = list(read_table(path, COLUMNS))
    except NotAnExportError as exc:
        errors.append(ConfigError(str(path), 1, "(header)", str(exc).removeprefix(f"{path}: "), "dest_zip3,zone"))
        return chart
    for row in rows:
        if isinstance(row, RowError):
            errors.append(ConfigError(str(path), row.line, row.column, row.reason, hint))
            continue
        line, values = row
        zip3, zone = values["dest_zip3"].zfill(3), values["zone"]
        if not (len(zip3) == 3 and zip3.isdigit()):
            errors.append(ConfigError(str(path), line, "dest_zip3", f"{values['dest_zip3']!r} is not a ZIP3", hint))
        elif not 1 <= zone <= 9:
            errors.append(ConfigError(str(path), line, "zone", f"zone {zone} is not 1–9", hint))
        elif zip3 in chart:
            errors.append(ConfigError(str(path), line, "dest_zip3", f"{zip3} is listed twice", hint))
        else:
            chart[zip3] = zone
    return chart


def load_zone_charts(directory: Path) -> dict[str, dict[str, int]]:
    """Origin ZIP3 → its chart, from files named <ZIP3>.csv (none if the folder does not exist)."""
    errors: list[ConfigError] = []
    charts: dict[str, dict[str, int]] = {}
    for path in sorted(directory.glob("*.csv")) if directory.is_dir() else []:
        if not (len(path.stem) == 3 and path.stem.isdigit()):
            errors.append(
                ConfigError(str(path), 0, "(file name)", "a zone chart is named for its origin ZIP3", "e.g. 088.csv")
            )
            continue
        charts[path.stem] = _load_chart(path, errors)
    if errors:
        raise ConfigInvalid(errors)
    return charts

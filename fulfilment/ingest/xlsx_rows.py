"""Stream the rows of one XLSX sheet with the values openpyxl gives, several times faster.

openpyxl (read-only mode) builds an XML element and a dictionary for every cell: ~110 s of CPU for a
200,000-row export. Here openpyxl still opens the workbook (sheet list, shared strings, date styles), but the
sheet's XML is inflated in blocks and its rows are cut out with regular expressions. A row in the usual form
(cells with an `r` reference, each holding a `<v>` value or a plain inline string) is read directly; any other
row (formulas, rich text, comments, cells without a reference, ...) is parsed by openpyxl's own row parser,
so every file reads as with `openpyxl.load_workbook(read_only=True, data_only=True)` and `iter_rows`.
"""

from __future__ import annotations

import codecs
import re
from collections.abc import Iterator, Sequence
from functools import cache
from typing import Any
from xml.etree.ElementTree import fromstring

from openpyxl.reader.excel import ExcelReader
from openpyxl.styles.stylesheet import apply_stylesheet
from openpyxl.utils import column_index_from_string
from openpyxl.utils.datetime import from_ISO8601
from openpyxl.worksheet._read_only import ReadOnlyWorksheet
from openpyxl.worksheet._reader import WorkSheetParser, _cast_number

BLOCK = 1 << 20
_ROOT = re.compile(r"<worksheet\b[^>]*>")
_ROW = re.compile(r"<row\b([^>]*?)(?:/>|>(.*?)</row>)", re.S)
_ROW_NUMBER = re.compile(r'\sr="(\d+)"')
_CELL = re.compile(
    r'<c r="([A-Z]{1,3})\d+"(?: s="(\d+)")?(?: t="(\w+)")?(?: s="(\d+)")?\s*'
    r'(?:/>|><v>([^<]*)</v></c>|>(<is><t(?: xml:space="preserve")?>([^<]*)</t></is>)</c>|></c>)'
)
_INLINE_CELL = re.compile(r'<c r="([A-Z]{1,3})\d+" t="inlineStr"><is><t(?: xml:space="preserve")?>([^<]*)</t></is></c>')
"""A cell holding a plain inline string, in the form `_CELL` reads it (twice as fast on a row of them)."""
_ENTITY = re.compile(r"&(?:#(\d+)|#x([0-9a-fA-F]+)|(amp|lt|gt|quot|apos));")
_NAMED = {"amp": "&", "lt": "<", "gt": ">", "quot": '"', "apos": "'"}


class _Sheet(ReadOnlyWorksheet):
    """A read-only sheet that does not scan its XML for a size when opened (rows are read to their end, as
    after `reset_dimensions()`): openpyxl parses the whole sheet when it has no `<dimension>` element."""

    def _get_size(self) -> None:
        return None


def open_sheet(path: Any, name: str) -> tuple[Any, ReadOnlyWorksheet]:
    """Open the workbook as `load_workbook(read_only=True, data_only=True)` does, without opening its sheets;
    return the archive (to close) and sheet `name` (any case), else the first worksheet."""
    reader = ExcelReader(path, read_only=True, data_only=True)
    try:
        reader.read_manifest()
        reader.read_strings()
        reader.read_workbook()
        apply_stylesheet(reader.archive, reader.wb)
        sheets = {
            sheet.name: rel.target
            for sheet, rel in reader.parser.find_sheets()
            if rel.target in reader.valid_files and "chartsheet" not in rel.Type
        }
        names = {sheet.casefold(): sheet for sheet in sheets}
        title = names.get(name.casefold()) or next(iter(sheets))
    except BaseException:
        reader.archive.close()
        raise
    return reader.archive, _Sheet(reader.wb, title, sheets[title], reader.shared_strings)


def sheet_values(sheet: ReadOnlyWorksheet) -> Iterator[Sequence[Any]]:
    """The values of every row, as `sheet.iter_rows(values_only=True)` after `reset_dimensions()` gives them:
    a missing row is an empty list and each row ends at its last cell."""
    reader = _RowReader(sheet)
    counter = 1
    for number, cells in reader.rows():
        while counter < number:  # rows the file leaves out
            counter += 1
            yield []
        if counter <= number:
            counter += 1
            yield _spread(cells)


def _split_rows(text: str) -> Iterator[tuple[str, str]]:
    """(attributes, inner XML) of the rows in `text`, which ends where a `</row>` begins: cut at `</row>`,
    each piece ending in one row's start tag and cells (the regular expression takes any other piece)."""
    for piece in text.split("</row>"):
        start = piece.find("<row")
        if start >= 0 and start == piece.rfind("<row") and piece[start + 4 : start + 5] in (" ", ">"):
            close = piece.find(">", start)
            if piece[close - 1] != "/":
                yield piece[start + 4 : close], piece[close + 1 :]
                continue
        for match in _ROW.finditer(piece + "</row>"):
            yield match[1], match[2] or ""


def _spread(cells: list[tuple[int, Any]]) -> tuple[Any, ...]:
    if not cells:
        return ()
    row: list[Any] = [None] * cells[-1][0]
    for column, value in cells:
        row[column - 1] = value
    return tuple(row)


@cache
def _column(letters: str) -> int:
    return column_index_from_string(letters)


def _unescape(text: str) -> str:
    """XML text as a parser gives it: line ends normalised to LF, character and entity references replaced."""
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    if "&" not in text:
        return text
    return _ENTITY.sub(
        lambda m: chr(int(m[1])) if m[1] else chr(int(m[2], 16)) if m[2] else _NAMED[m[3]],
        text,
    )


class _RowReader:
    """Rows of the sheet's XML as (row number, [(column, value), ...])."""

    def __init__(self, sheet: ReadOnlyWorksheet) -> None:
        book = sheet.parent
        self.sheet = sheet
        self.strings = sheet._shared_strings  # noqa: SLF001 — openpyxl's own loaded table
        self.dates = book._date_formats  # noqa: SLF001
        self.timedeltas = book._timedelta_formats  # noqa: SLF001
        self.epoch = book.epoch
        self.parser = WorkSheetParser(None, self.strings, True, book.epoch, self.dates, self.timedeltas)
        self.root = ""

    def rows(self) -> Iterator[tuple[int, list[tuple[int, Any]]]]:
        if not self._usual_form():
            yield from self._all_parsed()
            return
        number = 0
        for attributes, body in self._row_texts():
            found = _ROW_NUMBER.search(attributes)
            number = int(found[1]) if found else number + 1
            cells = self._fast_cells(body) if body else []
            if cells is None:
                number, cells = self._parsed_cells(attributes, body, number)
            yield number, cells

    def _usual_form(self) -> bool:
        """Whether the sheet is UTF-8 with an unprefixed root element (the form the fast reader cuts)."""
        with self.sheet._get_source() as source:  # noqa: SLF001 — the sheet's member in the archive
            head = source.read(4096)
        try:
            text = codecs.getincrementaldecoder("utf-8")().decode(head)
        except UnicodeDecodeError:
            return False
        return _ROOT.search(text) is not None

    def _all_parsed(self) -> Iterator[tuple[int, list[tuple[int, Any]]]]:
        """Every row by openpyxl's parser."""
        with self.sheet._get_source() as source:  # noqa: SLF001
            self.parser.source = source
            for number, cells in self.parser.parse():
                yield number, [(cell["column"], cell["value"]) for cell in cells]

    def _row_texts(self) -> Iterator[tuple[str, str]]:
        """(attributes, inner XML) of each `<row>` element, inflating the sheet a block at a time."""
        with self.sheet._get_source() as source:  # noqa: SLF001 — the sheet's member in the archive
            pending = ""
            decoder = codecs.getincrementaldecoder("utf-8")().decode
            while block := source.read(BLOCK):
                pending += decoder(block)
                if not self.root and (root := _ROOT.search(pending)):
                    self.root = root[0]
                end = pending.rfind("</row>")
                if end >= 0:
                    yield from _split_rows(pending[:end])
                    pending = pending[end + len("</row>") :]
            for match in _ROW.finditer(pending):
                yield match[1], match[2] or ""

    def _fast_cells(self, body: str) -> list[tuple[int, Any]] | None:
        """The row's cells when every cell is in the usual form; None otherwise."""
        count = body.count("<c")
        if body.count('t="inlineStr"') == count:  # only inline strings (an export's usual row): a simpler pattern
            texts = _INLINE_CELL.findall(body)
            if len(texts) == count:
                if "&" in body or "\r" in body:
                    return [(_column(letters), _unescape(text)) for letters, text in texts]
                return [(_column(letters), text) for letters, text in texts]
        found = _CELL.findall(body)
        if len(found) != count:
            return None
        cells: list[tuple[int, Any]] = []
        add, strings, dates = cells.append, self.strings, self.dates
        for letters, style, kind, style_after, value, inline, text in found:
            column = _column(letters)
            if kind == "inlineStr":
                add((column, (_unescape(text) if "&" in text or "\r" in text else text) if inline else None))
            elif inline:
                return None  # an inline string in a cell of another type
            elif not value:
                add((column, None))
            elif kind == "s":
                add((column, strings[int(value)]))
            elif kind in ("", "n"):
                if int(style or style_after or 0) in dates:
                    return None  # a date: openpyxl's parser converts it (and reports a bad one)
                add((column, _cast_number(value)))
            elif kind == "str" or kind == "e":
                add((column, _unescape(value)))
            elif kind == "b":
                add((column, bool(int(value))))
            elif kind == "d":
                add((column, from_ISO8601(value)))
            else:
                return None
        return cells

    def _parsed_cells(self, attributes: str, body: str, number: int) -> tuple[int, list[tuple[int, Any]]]:
        """The row parsed by openpyxl's own parser (within the sheet's root element, for its namespaces)."""
        element = fromstring(f"{self.root}<row{attributes}>{body}</row></worksheet>")[0]
        self.parser.row_counter = number - 1
        number, cells = self.parser.parse_row(element)
        return number, [(cell["column"], cell["value"]) for cell in cells]

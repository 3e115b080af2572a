"""Merge chosen pages of PDFs into one print file, in a given order, streaming every page to disk.

A batch of 50,000 labels must not be held in memory: each source is read once and its pages (with the objects
they use) written to the output as they are copied; only the page numbers stay in memory, and the page tree
written at the end gives the order. Objects in a PDF file may come in any order, so the sources are read in
their own order whatever the picking order is.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from pathlib import Path

from pypdf import PdfReader
from pypdf.generic import ArrayObject, DictionaryObject, IndirectObject, NameObject, PdfObject, StreamObject

from fulfilment.labels.pdf_file import PAGES, PdfFile

_SKIPPED_KEYS = {"/Parent", "/Length"}


class _PageCopier:
    """Copies pages with the objects they use into a :class:`PdfFile`, each object of a source once."""

    def __init__(self, pdf: PdfFile) -> None:
        self.pdf = pdf
        self.out = pdf.out
        self.numbers: dict[tuple[int, int], int] = {}  # (idnum, generation) in the current source → number

    def next_source(self) -> None:
        """Forget the object numbers of the source copied so far (its shared objects are written)."""
        self.numbers.clear()

    def add_page(self, reader: PdfReader, index: int) -> int:
        """Copy page `index` of `reader` with every object it uses not yet copied; returns the page's number."""
        page = reader.pages[index]
        number = self.pdf.reserve()  # a page of its own each time, even when a page repeats
        pending: list[tuple[int, PdfObject]] = [(number, page)]
        while pending:
            target, obj = pending.pop()
            self.pdf.begin(target)
            self._write(obj, reader, pending, page_number=number if obj is page else None)
            self.pdf.end()
        reader.resolved_objects.clear()
        return number

    def _ref(self, ref: IndirectObject, reader: PdfReader, pending: list[tuple[int, PdfObject]]) -> bytes:
        """The output reference for a source reference, queueing the object when first seen; page and page-tree
        objects become null (following them would copy the whole source)."""
        key = (ref.idnum, ref.generation)
        if key in self.numbers:
            return b"%d 0 R" % self.numbers[key]
        obj = reader.get_object(ref)
        if obj is None or (isinstance(obj, DictionaryObject) and obj.get("/Type") in ("/Page", "/Pages")):
            return b"null"
        number = self.numbers[key] = self.pdf.reserve()
        pending.append((number, obj))
        return b"%d 0 R" % number

    def _write(
        self, obj: PdfObject, reader: PdfReader, pending: list[tuple[int, PdfObject]], page_number: int | None = None
    ) -> None:
        out = self.out
        if isinstance(obj, IndirectObject):
            out.write(self._ref(obj, reader, pending))
        elif isinstance(obj, DictionaryObject):
            out.write(b"<<")
            for key, value in obj.items():
                if key in _SKIPPED_KEYS:
                    continue
                NameObject(key).write_to_stream(out)
                out.write(b" ")
                self._write(value, reader, pending)
                out.write(b"\n")
            if page_number is not None:
                out.write(b"/Parent %d 0 R\n" % PAGES)
            if isinstance(obj, StreamObject):
                data = obj._data  # the bytes as stored (still encoded), written back unchanged
                out.write(b"/Length %d>>\nstream\n" % len(data))
                out.write(data)
                out.write(b"\nendstream")
            else:
                out.write(b">>")
        elif isinstance(obj, ArrayObject):
            out.write(b"[")
            for item in obj:
                out.write(b" ")
                self._write(item, reader, pending)
            out.write(b" ]")
        else:
            obj.write_to_stream(out)


def merge_pages(pages: Iterable[tuple[Path, int]], out: Path) -> int:
    """Write `out` with the (source PDF, 0-based page index) pages in exactly the given order; return count.

    A page may repeat and sources may interleave. Each source is read once, start to end, its pages written
    to disk as they are copied (the objects its pages share, such as fonts, once); the page tree written last
    puts them in the requested order. Raises IndexError for a page index outside its source and leaves `out`
    untouched then; ValueError for an encrypted source.
    """
    wanted: dict[Path, list[tuple[int, int]]] = defaultdict(list)
    count = 0
    for position, (source, index) in enumerate(pages):
        wanted[Path(source)].append((index, position))
        count += 1
    kids = [0] * count
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".part")
    try:
        with tmp.open("wb") as fh:
            pdf = PdfFile(fh)
            copier = _PageCopier(pdf)
            for path, entries in wanted.items():
                with path.open("rb") as source:
                    reader = PdfReader(source)
                    if reader.is_encrypted:
                        raise ValueError(f"{path}: encrypted PDFs cannot be merged")
                    pages_in = len(reader.pages)
                    for index, position in sorted(entries):
                        if not 0 <= index < pages_in:
                            raise IndexError(f"{path}: no page {index} (it has {pages_in})")
                        kids[position] = copier.add_page(reader, index)
                copier.next_source()
            pdf.finish(kids)
        tmp.replace(out)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return count

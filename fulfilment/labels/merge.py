"""Merge chosen pages of PDFs into one print file, in a given order, streaming every page to disk.

A batch of 50,000 labels must not be held in memory: each source is read once and its pages (with the objects
they use) written to the output as they are copied; only the page numbers stay in memory, and the page tree
written at the end gives the order. Objects in a PDF file may come in any order, so the sources are read in
their own order whatever the picking order is.

pypdf reads each source's cross-reference table and trailer (every variant: tables, streams, updates, repairs);
the objects themselves are copied as their bytes in the file, only their references renumbered (parsing them
into pypdf objects and writing those out again cost ten times as much). An object that is not plainly at its
offset (inside an object stream, or where the table points elsewhere) is read by pypdf and copied from pypdf's
serialisation of it the same way.
"""

from __future__ import annotations

import io
import re
from collections import defaultdict
from collections.abc import Iterable
from pathlib import Path

from pypdf import PdfReader
from pypdf.generic import ArrayObject, DictionaryObject, IndirectObject, NullObject

from fulfilment.labels.pdf_file import PAGES, PdfFile

_REGULAR = rb"[^\s()<>\[\]{}/%]"  # a character that continues a number, keyword or name
_SCAN = re.compile(
    rb"(?<![\w.+\-])(\d+)\s+(\d+)\s+R(?!" + _REGULAR + rb")"  # a reference
    rb"|<<|<[^<>]*>|>>|\(|%[^\r\n]*"  # dictionary bounds, hex strings, literal strings, comments
    rb"|/(?:Parent|Length|Resources|MediaBox|CropBox|Rotate)(?!" + _REGULAR + rb")"  # keys acted on
    rb"|(?<!" + _REGULAR + rb")(?<!/)(?:stream|endobj)(?!" + _REGULAR + rb")"
)
_NUMBER_OR_REF = re.compile(rb"\s*(\d+)(?:\s+(\d+)\s+R(?!" + _REGULAR + rb"))?")
_HEADER = re.compile(rb"\s*(\d+)\s+(\d+)\s+obj(?!" + _REGULAR + rb")")
_STRING_PART = re.compile(rb"[()\\]")
_EOL = re.compile(rb"\r\n|\n|\r")
_ENDSTREAM = re.compile(rb"\s*endstream")
_TYPE = re.compile(rb"/Type\s*/Page(s?)(?!" + _REGULAR + rb")")
_INHERITED = ("/Resources", "/MediaBox", "/CropBox", "/Rotate")


def _string_end(buf: bytes, pos: int) -> int:
    """The offset after the literal string whose "(" is at `pos` (balanced parentheses, backslash escapes)."""
    depth = 0
    while m := _STRING_PART.search(buf, pos):
        pos = m.end()
        char = m.group()
        if char == b"\\":
            pos += 1
        elif char == b"(":
            depth += 1
        else:
            depth -= 1
            if depth == 0:
                return pos
    raise ValueError("unterminated string in a PDF object")


class _Source:
    """One source PDF in memory: where its objects are (from pypdf) and its page tree, leaves in order."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.data = path.read_bytes()
        self.reader = PdfReader(io.BytesIO(self.data))
        if self.reader.is_encrypted:
            raise ValueError(f"{path}: encrypted PDFs cannot be merged")
        self.pages: list[tuple[tuple[bytes, int], dict[bytes, bytes]]] = []  # (page's value, inheritable attributes)
        self.tree: set[tuple[int, int]] = set()  # every page and page-tree node: references to them become null
        pages = self.reader.trailer["/Root"].raw_get("/Pages")
        if isinstance(pages, IndirectObject):
            self._walk(pages, {})

    def value(self, idnum: int, generation: int) -> tuple[bytes, int] | None:
        """The object's bytes and where its value starts: the file itself when the object is there as the
        cross-reference table says, else pypdf's serialisation; None for a missing or free object."""
        reader = self.reader
        offset = None if idnum in reader.xref_objStm else reader.xref.get(generation, {}).get(idnum)
        free = reader.xref_free_entry.get(generation, {}).get(idnum, False)
        header = _HEADER.match(self.data, offset) if offset is not None and not free else None
        if header and (int(header.group(1)), int(header.group(2))) == (idnum, generation):
            return self.data, header.end()
        obj = reader.get_object(IndirectObject(idnum, generation, reader))
        if obj is None or isinstance(obj, NullObject):
            return None
        out = io.BytesIO()
        obj.write_to_stream(out)
        return out.getvalue(), 0

    def _walk(
        self, ref: IndirectObject, inherited: dict[bytes, bytes], above: frozenset[tuple[int, int]] = frozenset()
    ) -> None:
        """Collect the leaves under page-tree node `ref` in order, with the attributes they may inherit. A page
        or node listed twice counts twice, as readers count it; only a loop (a node among those `above`) stops."""
        key = (ref.idnum, ref.generation)
        if key in above:
            return
        self.tree.add(key)
        found = self.value(*key)
        if found is None:
            return
        buf, start = found
        end = buf.find(b"endobj", start)
        if (typed := _TYPE.search(buf, start, end if end >= 0 else len(buf))) and not typed.group(1):
            self.pages.append((found, inherited))  # the usual leaf, /Type /Page, taken without parsing it
            return
        node = self.reader.get_object(ref)
        if not isinstance(node, DictionaryObject) or not node:
            return  # not a page: readers skip it
        kind = node.get("/Type", "/Pages" if "/Kids" in node else "/Page")  # as readers take a node without /Type
        if kind == "/Page":
            self.pages.append((found, inherited))
        if kind != "/Pages":
            return
        here = dict(inherited)
        for name in _INHERITED:
            if name in node:
                serialised = io.BytesIO()
                node.raw_get(name).write_to_stream(serialised)
                here[name.encode()] = serialised.getvalue()
        for kid in node.get("/Kids", ArrayObject()).get_object():
            if isinstance(kid, IndirectObject):
                self._walk(kid, here, above | {key})

    def page(self, index: int) -> tuple[tuple[bytes, int], dict[bytes, bytes]]:
        """Page `index` (0-based) as :meth:`value` gives it, and the attributes it may inherit from the page
        tree; IndexError when there is no such page."""
        if not 0 <= index < len(self.pages):
            raise IndexError(f"{self.path}: no page {index} (it has {len(self.pages)})")
        return self.pages[index]


class _PageCopier:
    """Copies pages with the objects they use into a :class:`PdfFile`, each object of a source once."""

    def __init__(self, pdf: PdfFile) -> None:
        self.pdf = pdf
        self.numbers: dict[tuple[int, int], int] = {}  # (idnum, generation) in the current source → number
        self.pending: list[tuple[int, int, int]] = []  # (output number, idnum, generation) still to write

    def next_source(self) -> None:
        """Forget the object numbers of the source copied so far (its shared objects are written)."""
        self.numbers.clear()

    def add_page(self, source: _Source, index: int) -> int:
        """Copy page `index` of `source` with every object it uses not yet copied; returns the page's number."""
        number = self.pdf.reserve()  # a page of its own each time, even when a page repeats
        found, inherited = source.page(index)
        self._write(source, number, found, inherited)
        while self.pending:
            number_, idnum, generation = self.pending.pop()
            self._write(source, number_, source.value(idnum, generation))
        return number

    def _ref(self, source: _Source, idnum: int, generation: int) -> bytes:
        """The output reference for a source reference, queueing the object when first seen; page and page-tree
        objects become null (following them would copy the whole source)."""
        key = (idnum, generation)
        if key in self.numbers:
            return b"%d 0 R" % self.numbers[key]
        if key in source.tree:
            return b"null"
        number = self.numbers[key] = self.pdf.reserve()
        self.pending.append((number, idnum, generation))
        return b"%d 0 R" % number

    def _write(
        self, source: _Source, number: int, found: tuple[bytes, int] | None, page: dict[bytes, bytes] | None = None
    ) -> None:
        """Write object `number` with the value at `found` (null when None): references renumbered, /Parent
        references dropped, a stream's /Length set to its data. For a `page`, the given inherited attributes
        it lacks and the new page tree as its /Parent are added."""
        out = self.pdf.out
        self.pdf.begin(number)
        if found is None:
            out.write(b"null")
        else:
            parts: list[bytes] = []
            stream_at, length = self._scan(source, *found, parts, page)
            head = b"".join(parts).rstrip()
            if stream_at < 0:
                out.write(head)
            elif head.endswith(b">>"):
                data = _stream_data(source, found[0], stream_at, length)
                out.write(b"%s/Length %d>>\nstream\n%s\nendstream" % (head[:-2], len(data), data))
            else:
                raise ValueError(f"{source.path}: a stream whose dictionary does not end before 'stream'")
        self.pdf.end()

    def _scan(
        self, source: _Source, buf: bytes, pos: int, parts: list[bytes], page: dict[bytes, bytes] | None = None
    ) -> tuple[int, re.Match[bytes] | None]:
        """Append the value at `pos` to `parts` as :meth:`_write` writes it, up to "endobj", "stream" or the
        end of `buf`; returns where the stream data starts (-1 for none) and the /Length found."""
        depth = 0
        length = None
        present: set[bytes] = set()
        while m := _SCAN.search(buf, pos):
            token = m.group()
            parts.append(buf[pos : m.start()])
            pos = m.end()
            if m.group(1) is not None:
                parts.append(self._ref(source, int(m.group(1)), int(m.group(2))))
            elif token == b"<<":
                depth += 1
                parts.append(token)
            elif token == b">>":
                if depth == 1 and page is not None:
                    parts.append(b" /Parent %d 0 R" % PAGES)
                    for name, value in page.items():
                        if name not in present:
                            self._scan(source, b" %s %s " % (name, value), 0, parts)
                depth -= 1
                parts.append(token)
            elif token == b"(":
                pos = _string_end(buf, m.start())
                parts.append(buf[m.start() : pos])
            elif token == b"/Parent" and (ref := _NUMBER_OR_REF.match(buf, pos)) and ref.group(2) is not None:
                pos = ref.end()  # the page tree is rebuilt: a /Parent reference would drag the source's in
            elif token == b"/Length" and depth == 1 and (value := _NUMBER_OR_REF.match(buf, pos)):
                pos = value.end()  # set again from the data, when this is a stream
                length = value
            elif token == b"stream":
                return pos, length
            elif token == b"endobj":
                return -1, length
            else:
                if depth == 1:
                    present.add(token)
                parts.append(token)
        parts.append(buf[pos:])
        return -1, length


def _stream_data(source: _Source, buf: bytes, pos: int, length: re.Match[bytes] | None) -> bytes:
    """The stored bytes of the stream whose keyword ends at `pos`: as many as its /Length (resolved when a
    reference) when "endstream" follows them, else those up to "endstream" (a wrong /Length, as readers allow)."""
    if eol := _EOL.match(buf, pos):
        pos = eol.end()
    size = None
    if length is not None and length.group(2) is None:
        size = int(length.group(1))
    elif length is not None and (found := source.value(int(length.group(1)), int(length.group(2)))):
        number = _NUMBER_OR_REF.match(*found)
        size = int(number.group(1)) if number else None
    if size is not None and _ENDSTREAM.match(buf, pos + size):
        return buf[pos : pos + size]
    end = buf.find(b"endstream", pos)
    if end < 0:
        raise ValueError(f"{source.path}: a stream without endstream")
    data = buf[pos:end]
    return data[:-2] if data.endswith(b"\r\n") else data[:-1] if data.endswith((b"\n", b"\r")) else data


def merge_pages(pages: Iterable[tuple[Path, int]], out: Path) -> int:
    """Write `out` with the (source PDF, 0-based page index) pages in exactly the given order; return count.

    A page may repeat and sources may interleave. Each source is read once, its pages written to disk as they
    are copied (the objects its pages share, such as fonts, once); the page tree written last puts them in the
    requested order. Raises IndexError for a page index outside its source and leaves `out` untouched then;
    ValueError for an encrypted source.
    """
    wanted: dict[Path, list[tuple[int, int]]] = defaultdict(list)
    count = 0
    for position, (source, index) in enumerate(pages):
        wanted[source].append((index, position))
        count += 1
    kids = [0] * count
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".part")
    try:
        with tmp.open("wb") as fh:
            pdf = PdfFile(fh)
            copier = _PageCopier(pdf)
            for path, entries in wanted.items():
                source = _Source(Path(path))
                for index, position in sorted(entries):
                    kids[position] = copier.add_page(source, index)
                copier.next_source()
            pdf.finish(kids)
        tmp.replace(out)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return count

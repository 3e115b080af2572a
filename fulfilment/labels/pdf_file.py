"""A PDF written object by object straight to a binary file; the page tree, written last, puts the pages in order.

Used by the page merger (objects copied from other PDFs) and by renderers that write their pages' operators
themselves (a reportlab canvas formats every page object in pure Python, which costs more than drawing it).
"""

from __future__ import annotations

from typing import BinaryIO

HEADER = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n"
PAGES = 2
"""Object number of the page tree (1 is the catalog): a page's ``/Parent``."""


class PdfFile:
    """An output PDF: reserve numbers, write objects (whole or piecewise), then :meth:`finish` with the pages."""

    def __init__(self, out: BinaryIO) -> None:
        self.out = out
        self.offsets: list[int] = [0, 0, 0]  # index = object number; 1 and 2 are written last
        out.write(HEADER)

    def reserve(self) -> int:
        """A new object number, to be written later with :meth:`begin`."""
        self.offsets.append(0)
        return len(self.offsets) - 1

    def begin(self, number: int) -> None:
        """Start writing object `number`; the caller writes its value, then calls :meth:`end`."""
        self.offsets[number] = self.out.tell()
        self.out.write(b"%d 0 obj\n" % number)

    def end(self) -> None:
        """Close the object begun last."""
        self.out.write(b"\nendobj\n")

    def add(self, value: bytes) -> int:
        """Write one object with the (serialised) `value`; returns its number."""
        number = self.reserve()
        self.begin(number)
        self.out.write(value)
        self.end()
        return number

    def add_stream(self, data: bytes, entries: bytes = b"") -> int:
        """Write a stream object of `data` (as stored: `entries` name its /Filter, if any); returns its number."""
        return self.add(b"<<%s /Length %d>>\nstream\n%s\nendstream" % (entries, len(data), data))

    def finish(self, kids: list[int]) -> None:
        """Write the page tree (`kids` in order), the catalog, the cross-reference table and the trailer."""
        out = self.out
        self.begin(PAGES)
        refs = b" ".join(b"%d 0 R" % k for k in kids)
        out.write(b"<< /Type /Pages /Count %d /Kids [%s] >>" % (len(kids), refs))
        self.end()
        self.begin(1)
        out.write(b"<< /Type /Catalog /Pages %d 0 R >>" % PAGES)
        self.end()
        xref = out.tell()
        out.write(b"xref\n0 %d\n0000000000 65535 f \n" % len(self.offsets))
        out.write(b"".join(b"%010d 00000 n \n" % offset for offset in self.offsets[1:]))
        out.write(b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(self.offsets), xref))

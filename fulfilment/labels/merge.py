"""Merge chosen pages of label PDFs into one print file, in a given order."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from pypdf import PdfReader, PdfWriter


def merge_pages(pages: Iterable[tuple[Path, int]], out: Path) -> int:
    """Write `out` with the (source PDF, 0-based page index) pages in exactly the given order; return count.

    Each source file is opened once (readers are cached and closed at the end); a page may repeat and sources
    may interleave. Page objects are read lazily from the sources and the fonts a source's pages share are
    copied once per source. Raises IndexError for a page index outside its source and writes nothing then.
    """
    readers: dict[Path, PdfReader] = {}
    writer = PdfWriter()
    count = 0
    try:
        for source, index in pages:
            source = Path(source)
            reader = readers.get(source)
            if reader is None:
                reader = readers[source] = PdfReader(source)
            if not 0 <= index < len(reader.pages):
                raise IndexError(f"{source}: no page {index} (it has {len(reader.pages)})")
            writer.add_page(reader.pages[index])
            count += 1
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp = out.with_name(out.name + ".part")
        with tmp.open("wb") as fh:
            writer.write(fh)
        tmp.replace(out)
    finally:
        writer.close()
        for reader in readers.values():
            reader.close()
    return count

"""Page merging of PDFs not made by reportlab: a nested page tree with inherited attributes, strings and stream
data that look like PDF syntax, an indirect and a wrong /Length, and objects inside an object stream."""

from __future__ import annotations

import warnings
from pathlib import Path

import pytest
from pypdf import PdfReader
from pypdf.generic import NullObject

from fulfilment.labels.merge import merge_pages

STRING = rb"(a (nested) string: 9 0 R endobj stream \) /Parent 3 0 R)"
DATA = {7: b"BT /F1 9 Tf (indirect length) Tj ET", 8: b"BT (wrong 5 0 R length) Tj ET", 9: b"q 1 0 0 1 0 0 cm endobj Q"}
OBJECTS = {
    1: b"<< /Type /Catalog /Pages 2 0 R >>",
    2: b"<< /Type /Pages /Kids [3 0 R 4 0 R] /Count 3 /MediaBox [0 0 200 300] /Resources 10 0 R >>",
    3: b"<</Type/Pages/Parent 2 0 R/Kids[5 0 R 6 0 R]/Count 2/Rotate 90>>",
    4: b"<< /Type /Page /Parent 2 0 R /Contents 9 0 R /MediaBox [0 0 100 100] >>",
    5: b"<< /Type /Page /Parent 3 0 R /Contents 7 0 R /Annots [<< /Type /Annot /Subtype /Text /Rect [0 0 9 9]"
    b" /Contents " + STRING + b" /P 5 0 R /NM <48656C6C6F>>>] >>",
    6: b"<< /Type /Page /Parent 3 0 R /Contents 8 0 R /Resources << /Font << /F2 11 0 R >> >> % a comment\n>>",
    7: b"<< /Length 12 0 R >>\nstream\n" + DATA[7] + b"\nendstream",
    8: b"<< /Filter [] /Length 3 >>\nstream\r\n" + DATA[8] + b"\nendstream",
    9: b"<< /Length %d >>\nstream\n" % len(DATA[9]) + DATA[9] + b"\nendstream",
    10: b"<< /Font << /F1 11 0 R >> /ProcSet [/PDF /Text] >>",
    11: b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>",
    12: b"%d" % len(DATA[7]),
}
PACKED = (3, 10, 11, 12)  # objects put in an object stream by `_packed_pdf`


def _classic_pdf(objects: dict[int, bytes] = OBJECTS) -> bytes:
    out = bytearray(b"%PDF-1.4\n")
    offsets = {}
    for number, body in objects.items():
        offsets[number] = len(out)
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offsets[n] for n in sorted(offsets))
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)


def _packed_pdf() -> bytes:
    """The same objects with PACKED in an object stream (13) and a cross-reference stream (14)."""
    out = bytearray(b"%PDF-1.5\n")
    entries = {0: (0, 0, 65535)}
    for number, body in OBJECTS.items():
        if number not in PACKED:
            entries[number] = (1, len(out), 0)
            out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    bodies, index = b"", []
    for i, number in enumerate(PACKED):
        index.append(b"%d %d" % (number, len(bodies)))
        bodies += OBJECTS[number] + b"\n"
        entries[number] = (2, 13, i)
    header = b" ".join(index) + b"\n"
    entries[13] = (1, len(out), 0)
    out += b"13 0 obj\n<< /Type /ObjStm /N %d /First %d /Length %d >>\nstream\n%s%s\nendstream\nendobj\n" % (
        len(PACKED),
        len(header),
        len(header + bodies),
        header,
        bodies,
    )
    entries[14] = (1, len(out), 0)
    table = b"".join(bytes([kind]) + a.to_bytes(4, "big") + b.to_bytes(2, "big") for kind, a, b in entries.values())
    table = b"".join(
        bytes([entries[n][0]]) + entries[n][1].to_bytes(4, "big") + entries[n][2].to_bytes(2, "big") for n in range(15)
    )
    out += b"14 0 obj\n<< /Type /XRef /Size 15 /W [1 4 2] /Root 1 0 R /Length %d >>\nstream\n" % len(table)
    out += table + b"\nendstream\nendobj\nstartxref\n%d\n%%%%EOF\n" % entries[14][1]
    return bytes(out)


@pytest.mark.parametrize("make", [_classic_pdf, _packed_pdf])
def test_pages_keep_content_inherited_attributes_and_annotations(tmp_path: Path, make) -> None:  # noqa: ANN001
    src = tmp_path / "src.pdf"
    src.write_bytes(make())
    assert [p.get_contents().get_data() for p in PdfReader(src).pages] == [DATA[7], DATA[8], DATA[9]]
    out = tmp_path / "merged.pdf"
    assert merge_pages([(src, 2), (src, 0), (src, 1), (src, 0)], out) == 4

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        reader = PdfReader(out, strict=True)
        pages = list(reader.pages)
        assert [p.get_contents().get_data() for p in pages] == [DATA[9], DATA[7], DATA[8], DATA[7]]
    c, a, b, again = pages
    assert [list(map(float, p.mediabox)) for p in pages] == [[0, 0, 100, 100]] + [[0, 0, 200, 300]] * 3
    assert [p.get("/Rotate", 0) for p in pages] == [0, 90, 90, 90], "inherited from the inner page-tree node"
    assert c["/Resources"]["/Font"]["/F1"]["/BaseFont"] == "/Helvetica", "inherited from the root"
    assert a["/Resources"]["/Font"]["/F1"]["/BaseFont"] == "/Helvetica"
    assert list(b["/Resources"]["/Font"]) == ["/F2"], "a page's own resources win"
    annotation = a["/Annots"][0].get_object()
    assert annotation["/Contents"] == "a (nested) string: 9 0 R endobj stream ) /Parent 3 0 R"
    assert isinstance(annotation["/P"], NullObject), "references to pages become null"
    assert annotation["/NM"] == b"Hello" or annotation["/NM"] == "Hello"
    assert again.indirect_reference != a.indirect_reference, "a repeated page is a page of its own"
    assert a["/Resources"].indirect_reference == c["/Resources"].indirect_reference, "shared objects copied once"


def test_page_tree_entries_are_taken_as_readers_take_them(tmp_path: Path) -> None:
    """/Type is required on page-tree nodes, but readers (pypdf, pdfium) take a node with /Kids for one; they
    skip kids that are not page dictionaries (null, a number, an empty or other dictionary)."""
    src = tmp_path / "src.pdf"
    kids = b"[13 0 R 5 0 R 14 0 R 6 0 R 15 0 R 16 0 R]"
    junk = {13: b"null", 14: b"42", 15: b"<< >>", 16: b"<< /Type /Annot >>"}
    src.write_bytes(
        _classic_pdf({**OBJECTS, 3: OBJECTS[3].replace(b"/Type/Pages", b"").replace(b"[5 0 R 6 0 R]", kids), **junk})
    )
    assert len(PdfReader(src).pages) == 3
    out = tmp_path / "merged.pdf"
    assert merge_pages([(src, 1), (src, 2)], out) == 2
    pages = PdfReader(out, strict=True).pages
    assert [p.get_contents().get_data() for p in pages] == [DATA[8], DATA[9]]
    assert [p.get("/Rotate", 0) for p in pages] == [90, 0]


def test_a_page_listed_twice_in_the_page_tree_counts_twice_and_a_loop_stops(tmp_path: Path) -> None:
    """Page numbers must be the ones readers (pypdf, pdfium) give: a leaf listed twice is two pages."""
    twice, loop, out = tmp_path / "twice.pdf", tmp_path / "loop.pdf", tmp_path / "merged.pdf"
    twice.write_bytes(_classic_pdf({**OBJECTS, 3: OBJECTS[3].replace(b"[5 0 R 6 0 R]", b"[5 0 R 6 0 R 5 0 R]")}))
    loop.write_bytes(_classic_pdf({**OBJECTS, 3: OBJECTS[3].replace(b"[5 0 R 6 0 R]", b"[5 0 R 3 0 R 6 0 R]")}))
    assert len(PdfReader(twice).pages) == 4
    assert merge_pages([(twice, 3), (twice, 2), (loop, 2), (loop, 1)], out) == 4
    assert [p.get_contents().get_data() for p in PdfReader(out, strict=True).pages] == [
        DATA[9],
        DATA[7],
        DATA[9],
        DATA[8],
    ]

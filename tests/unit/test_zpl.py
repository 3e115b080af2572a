"""ZPL II labels: one ^XA…^XZ format per label, the tracking number as a ^BC Code128, every field escaped,
the same text as the PDF label; ZPL files merged label by label in a given order."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from fulfilment.domain.orders import Address
from fulfilment.labels.content import label_content
from fulfilment.labels.zpl import field_data, merge_zpl, render_zpl, zpl_formats, zpl_label
from tests.unit.test_labels import _spec, _specs

FIELD = re.compile(r"\^FH\^FD(.*?)\^FS", re.S)


def unhex(data: str) -> str:
    """What a printer prints for ^FH data: `_XX` hex escapes decoded as UTF-8 (^CI28)."""
    raw = re.sub(rb"_([0-9A-F]{2})", lambda m: bytes([int(m.group(1), 16)]), data.encode())
    return raw.decode()


def formats(zpl: bytes) -> list[str]:
    text = zpl.decode("ascii")
    return [text[a:b] for a, b in zpl_formats(zpl)]


def test_one_format_per_label_with_its_tracking_barcode() -> None:
    specs = _specs()
    zpl = render_zpl(specs)
    labels = formats(zpl)
    assert len(labels) == len(specs)
    assert zpl.decode().count("^XA") == zpl.decode().count("^XZ") == len(specs)
    for label, spec in zip(labels, specs, strict=True):
        body = label.strip()
        assert body.startswith("^XA") and body.endswith("^XZ")
        assert "^CI28" in body and "^PW812" in body and "^LL1218" in body
        barcodes = re.findall(r"\^BY(\d),3,\d+\^FO\d+,\d+\^BCN,\d+,N,N,N,A\^FH\^FD(.*?)\^FS", body)
        assert len(barcodes) == 1, body
        module, data = barcodes[0]
        assert unhex(data) == spec.tracking_number
        assert int(module) >= 3, "a module of 3 dots (14.8 mil) or more"


def test_fields_carry_the_label_content_text() -> None:
    spec = _specs()[4]  # three orders, many items
    content = label_content(spec)
    printed = [unhex(f) for f in FIELD.findall(zpl_label(content))]
    for text in (content.carrier, content.service, content.weight, content.to_name, content.tracking_title):
        assert text in printed
    assert content.tracking_grouped in printed
    assert any(content.order_ids[0] in f for f in printed)
    assert printed.count(content.mark) == 2, "the NOT POSTAGE mark, top and bottom"


def test_control_characters_in_data_are_escaped() -> None:
    hostile = Address("Eve ^XZ~JA_^FS", "1 Back\\&slash St", "Zürich^", "MA", "02139")
    spec = _spec(1, "usps", ship_to=hostile, order_ids=("A^B~C_D",))
    zpl = render_zpl([spec]).decode("ascii")  # hex escapes keep the file ASCII
    assert zpl.count("^XZ") == 1 and zpl.count("^XA") == 1
    assert "~JA" not in zpl and '^FS"' not in zpl
    for data in FIELD.findall(zpl):
        assert "^" not in data and "~" not in data
        assert not re.search(r"_(?![0-9A-F]{2})", data), "a bare _ would start a hex escape"
    printed = [unhex(f) for f in FIELD.findall(zpl)]
    assert "Eve ^XZ~JA_^FS" in printed
    assert "1 Back\\\\&slash St" in printed, "a backslash is doubled in a field block so \\& stays text"
    assert any(p.startswith("Zürich^") for p in printed)
    assert field_data("a_b^c~d é") == "a_5Fb_5Ec_7Ed _C3_A9"


def test_a_tracking_number_too_long_for_3_dot_modules_is_refused() -> None:
    with pytest.raises(ValueError, match="too long"):
        render_zpl([_spec(1, "ups", tracking_number="1Z" + "X9" * 20)])


def test_long_text_is_clipped_not_overprinted() -> None:
    spec = _specs()[7]  # very long name and street
    label = zpl_label(label_content(spec))
    name_field = next(unhex(f) for f in FIELD.findall(label) if unhex(f).startswith("Maximiliana"))
    assert name_field.endswith("\u2026") and len(name_field) < len(spec.ship_to.name)


def test_merge_keeps_the_requested_order_and_refuses_a_missing_label(tmp_path: Path) -> None:
    specs = _specs()
    first, second = tmp_path / "a.zpl", tmp_path / "b.zpl"
    first.write_bytes(b"~DGR:LOGO.GRF,4,1,FFFF\n" + render_zpl(specs[:3]))
    second.write_bytes(render_zpl(specs[3:6]))
    order = [(second, 2), (first, 0), (second, 0), (first, 2), (first, 0)]
    out = tmp_path / "out" / "labels.zpl"
    assert merge_zpl(order, out) == len(order)
    merged = formats(out.read_bytes())
    expected = [specs[3 + i] if p == second else specs[i] for p, i in order]
    tracking = [unhex(re.search(r"\^BC[^\^]*\^FH\^FD(.*?)\^FS", m).group(1)) for m in merged]
    assert tracking == [s.tracking_number for s in expected]
    assert merged[1].lstrip().startswith("~DGR:LOGO.GRF"), "a graphic download stays with the label that uses it"
    with pytest.raises(IndexError):
        merge_zpl([(first, 3)], tmp_path / "bad.zpl")
    assert not (tmp_path / "bad.zpl").exists()

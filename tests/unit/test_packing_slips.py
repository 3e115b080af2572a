"""Packing slips: one page per parcel (more for many lines), the text a packer reads, a strict PDF."""

from __future__ import annotations

import warnings
from pathlib import Path

from pypdf import PdfReader

from fulfilment.domain.orders import Address
from fulfilment.domain.shipments import PackingSlip
from fulfilment.labels.packing_slips import ROWS_PER_PAGE, render_packing_slips

FROM = Address("Acme Fulfilment WH-EAST", "100 Industrial Pkwy", "Edison", "NJ", "08817", street2="Dock 4")


def _slip(i: int, count: int, **changes: object) -> PackingSlip:
    fields: dict[str, object] = {
        "order_ids": (f"57665368813525{i:04d}",),
        "warehouse": "WH-EAST",
        "ship_from": FROM,
        "ship_to": Address(f"Buyer {i}", f"{i} Main St", "Cambridge", "MA", f"{2100 + i:05d}"),
        "tracking_number": f"94001112010808054830{i:02d}",
        "lines": tuple((f"SKU-{k:03d}", f"Widget {k}", k % 5 + 1) for k in range(count)),
    }
    fields.update(changes)
    return PackingSlip(**fields)  # type: ignore[arg-type]


def _texts(path: Path) -> list[str]:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        reader = PdfReader(path, strict=True)
        assert all((float(p.mediabox.width), float(p.mediabox.height)) == (612.0, 792.0) for p in reader.pages)
        return [page.extract_text() for page in reader.pages]


def test_one_page_per_slip_in_order_with_every_line(tmp_path: Path) -> None:
    slips = [_slip(i, i % 3 + 1) for i in range(5)]
    path = tmp_path / "slips.pdf"
    assert render_packing_slips(slips, path) == [1] * 5
    texts = _texts(path)
    for slip, text in zip(slips, texts, strict=True):
        assert text.startswith("Packing slip")
        assert f"WH-EAST \u00b7 tracking {slip.tracking_number}" in text
        assert f"Orders: {slip.order_ids[0]}" in text
        assert f"{slip.ship_to.name}\n{slip.ship_to.street1}\nCambridge, MA {slip.ship_to.zip}" in text
        assert "Acme Fulfilment WH-EAST\n100 Industrial Pkwy\nDock 4\nEdison, NJ 08817" in text
        for sku, name, units in slip.lines:
            assert f"{sku} {name} {units}" in text
        assert "page 1 of" not in text


def test_many_lines_continue_on_numbered_pages(tmp_path: Path) -> None:
    slips = [_slip(1, 1), _slip(2, ROWS_PER_PAGE + 3), _slip(3, 0)]
    path = tmp_path / "slips.pdf"
    assert render_packing_slips(slips, path) == [1, 2, 1]
    texts = _texts(path)
    assert "(page 1 of 2)" in texts[1] and "(page 2 of 2)" in texts[2]
    assert f"SKU-{ROWS_PER_PAGE - 1:03d}" in texts[1] and f"SKU-{ROWS_PER_PAGE:03d}" in texts[2]
    assert "SKU-000" not in texts[3] and "SKU Item Qty" in texts[3]


def test_text_is_escaped_and_folded_to_the_base_fonts(tmp_path: Path) -> None:
    slip = _slip(
        7,
        0,
        order_ids=("576653688135250007", "576653688135250008"),
        ship_to=Address("Łukasz Żółć 王 (front desk)", r"1 Rue \ Back", "Lowell", "MA", "01852"),
        lines=(("SKU-(1)", "Crème brûlée torch) \\ (set", 2),),
    )
    path = tmp_path / "slips.pdf"
    render_packing_slips([slip], path)
    (text,) = _texts(path)
    assert "Orders: 576653688135250007, 576653688135250008" in text
    assert "Lukasz Zólc ? (front desk)" in text
    assert r"1 Rue \ Back" in text
    assert "SKU-(1) Crème brûlée torch) \\ (set 2" in text


def test_no_slips_gives_an_empty_pdf(tmp_path: Path) -> None:
    path = tmp_path / "slips.pdf"
    assert render_packing_slips([], path) == []
    assert _texts(path) == []

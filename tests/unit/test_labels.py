"""Local 4x6 labels (rendered, rasterised at 203 dpi and decoded), page merging, and the pick list."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from pypdf import PdfReader

from fulfilment.domain.orders import Address
from fulfilment.domain.shipments import LabelSpec, PickLine
from fulfilment.domain.tracking import local_tracking_number
from fulfilment.labels.local import labels_pdf_bytes, render_labels
from fulfilment.labels.merge import merge_pages
from fulfilment.labels.picklist import render_pick_list
from tests.barcodes import code128_texts

WAREHOUSE = Address("Acme Fulfilment WH-EAST", "100 Industrial Pkwy", "Edison", "NJ", "08817", street2="Dock 4")
SERVICES = {
    "usps": ("usps_ground_advantage", "USPS Ground Advantage"),
    "ups": ("ups_ground", "UPS Ground"),
    "fedex": ("fedex_home_delivery", "FedEx Home Delivery"),
}
LONG_NAME = "Maximiliana Alexandra Wolfeschlegelsteinhausenbergerdorff-Montgomery-Featherstonehaugh"
LONG_STREET = "12345 North Saint Bartholomew Boulevard Extension Northwest, Building 7, Unit 1200"


def _spec(i: int, carrier: str, **changes: object) -> LabelSpec:
    service, service_name = SERVICES[carrier]
    fields: dict[str, object] = {
        "shipment_id": i,
        "order_ids": (f"5766536881352{i:05d}",),
        "warehouse": "WH-EAST",
        "ship_from": WAREHOUSE,
        "ship_to": Address(f"Buyer {i}", f"{i} Main St", "Cambridge", "MA", f"{2100 + i:05d}"),
        "carrier": carrier,
        "service": service,
        "service_name": service_name,
        "tracking_number": local_tracking_number(carrier, 1000 + i),
        "weight_oz": 7.5 + i,
        "items": ((f"SKU-{i}", 1), ("SKU-COMMON", i % 4 + 1)),
    }
    fields.update(changes)
    return LabelSpec(**fields)  # type: ignore[arg-type]


def _specs() -> list[LabelSpec]:
    carriers = ("usps", "ups", "fedex")
    specs = [_spec(i, carriers[i % 3]) for i in range(20)]
    specs[4] = _spec(
        4,
        "ups",
        order_ids=("576653688135258101", "576653688135258102", "576653688135258103"),
        items=tuple((f"SKU-LONG-VARIANT-NAME-{k}", k) for k in range(1, 15)),
    )
    specs[7] = _spec(
        7,
        "usps",
        ship_to=Address(LONG_NAME, LONG_STREET, "Rancho Santa Margarita Heights", "CA", "92688-1234", LONG_STREET),
    )
    specs[9] = _spec(9, "fedex", ship_to=Address("Łukasz Żółć 王", "1 Rue", "Lowell", "MA", "01852"))
    # purchased-style numbers too (letters in a UPS number, a real-shaped USPS one)
    specs[10] = _spec(10, "ups", tracking_number="1Z5R89390357567127")
    specs[11] = _spec(11, "usps", tracking_number="9400111201080805483016")
    specs[12] = _spec(12, "fedex", tracking_number="986578788855")
    specs[13] = _spec(13, "usps", order_ids=tuple(f"5766536881352581{k:02d}" for k in range(20)))
    return specs


@pytest.fixture(scope="module")
def specs() -> list[LabelSpec]:
    return _specs()


@pytest.fixture(scope="module")
def label_pdf(tmp_path_factory: pytest.TempPathFactory, specs: list[LabelSpec]) -> Path:
    path = tmp_path_factory.mktemp("labels") / "labels.pdf"
    render_labels(specs, path)
    return path


def test_one_4x6_page_per_spec(label_pdf: Path, specs: list[LabelSpec]) -> None:
    reader = PdfReader(label_pdf)
    assert len(reader.pages) == len(specs)
    for page in reader.pages:
        assert (float(page.mediabox.width), float(page.mediabox.height)) == (288.0, 432.0)


def test_barcode_decodes_at_203_dpi_on_every_page(label_pdf: Path, specs: list[LabelSpec]) -> None:
    decoded = code128_texts(label_pdf)
    assert decoded == [[s.tracking_number] for s in specs]


def test_page_text_has_mark_orders_zip_and_tracking(label_pdf: Path, specs: list[LabelSpec]) -> None:
    reader = PdfReader(label_pdf)
    for spec, page in zip(specs, reader.pages, strict=True):
        text = page.extract_text()
        assert "NOT POSTAGE" in text
        assert "TEST LABEL" in text
        for order_id in spec.order_ids:
            assert order_id in text
        assert spec.ship_to.zip in text
        assert spec.tracking_number in text.replace(" ", "")
        assert spec.service_name in text


def test_brackets_backslashes_and_accents_come_out_as_written() -> None:
    to = Address("Zoë (née Ångström) \\ Łódź", "12 Rue de l\u2019Église", "Montréal", "QC", "H2X 1Y4")
    spec = _spec(1, "usps", ship_to=to, order_ids=("A(1)", "B\\2)"))
    text = PdfReader(io.BytesIO(labels_pdf_bytes([spec]))).pages[0].extract_text()
    for written in ("Zoë (née Ångström) \\ Lódz", "12 Rue de l\u2019Église", "Montréal", "A(1)", "B\\2)"):
        assert written in text


def test_bytes_and_file_output_agree(label_pdf: Path, specs: list[LabelSpec]) -> None:
    assert labels_pdf_bytes(specs) == label_pdf.read_bytes()


def test_no_specs_gives_no_pages(tmp_path: Path) -> None:
    path = tmp_path / "none.pdf"
    render_labels([], path)
    assert len(PdfReader(path).pages) == 0


# --- merge ----------------------------------------------------------------------------------------------


def _tracking_on_pages(path: Path) -> list[str]:
    """The tracking number of each page, from the barcode."""
    return [texts[0] for texts in code128_texts(path)]


def test_merge_keeps_the_requested_order_across_files(tmp_path: Path, specs: list[LabelSpec]) -> None:
    chunks = [specs[0:5], specs[5:9], specs[9:14]]
    paths = []
    for k, chunk in enumerate(chunks):
        paths.append(tmp_path / f"chunk{k}.pdf")
        render_labels(chunk, paths[-1])
    order = [
        (paths[2], 4),
        (paths[0], 0),
        (paths[1], 3),
        (paths[0], 4),
        (paths[2], 0),
        (paths[0], 0),
        (paths[1], 1),
    ]
    out = tmp_path / "out" / "merged.pdf"
    assert merge_pages(order, out) == len(order)

    expected = [chunks[paths.index(p)][i].tracking_number for p, i in order]
    assert _tracking_on_pages(out) == expected
    reader = PdfReader(out)
    texts = [page.extract_text().replace(" ", "") for page in reader.pages]
    assert [t for t, text in zip(expected, texts, strict=True) if t in text] == expected
    assert all((float(p.mediabox.width), float(p.mediabox.height)) == (288.0, 432.0) for p in reader.pages)


def test_merge_of_nothing_and_a_bad_index(tmp_path: Path, specs: list[LabelSpec]) -> None:
    assert merge_pages([], tmp_path / "empty.pdf") == 0
    assert len(PdfReader(tmp_path / "empty.pdf").pages) == 0
    src = tmp_path / "one.pdf"
    src.write_bytes(labels_pdf_bytes(specs[:1]))
    with pytest.raises(IndexError):
        merge_pages([(src, 0), (src, 1)], tmp_path / "bad.pdf")
    assert not (tmp_path / "bad.pdf").exists()


# --- pick list ------------------------------------------------------------------------------------------


def test_pick_list_has_every_warehouse_sku_and_total(tmp_path: Path) -> None:
    east = [
        PickLine(
            f"SKU-E{i:03d}",
            f"Widget {i} & <friends>",
            2 * i + 1,
            tuple(f"57665368813525{k:04d}" for k in range(i % 9 + 1)),
            f"A-{i:02d}",
        )
        for i in range(70)
    ]
    west = [PickLine("SKU-W001", "Gadget", 5, ("576653688135250001", "576653688135250002"), "B-01")]
    sections = {"WH-EAST \u2014 East Coast DC": east, "WH-WEST \u2014 Reno": west}
    path = tmp_path / "pick.pdf"
    render_pick_list(sections, path, "Batch 7 pick list")

    reader = PdfReader(path)
    pages = [p.extract_text() for p in reader.pages]
    text = "\n".join(pages)
    for warehouse in sections:
        assert warehouse in text
    for line in east + west:
        assert line.sku in text
    assert "Widget 3 & <friends>" in text
    east_units = sum(line.quantity for line in east)
    assert f"{east_units} units" in text
    assert "5 units" in text
    assert "+5 more" in text.replace("\xa0", " ")  # 9 order ids, 4 shown
    # each warehouse starts on a new page; page numbers on every page
    west_page = next(i for i, t in enumerate(pages) if "WH-WEST" in t)
    assert "SKU-E" not in pages[west_page]
    for n, page_text in enumerate(pages, start=1):
        assert f"Page {n} of {len(pages)}" in page_text
    assert all((float(p.mediabox.width), float(p.mediabox.height)) == (612.0, 792.0) for p in reader.pages)


def test_empty_pick_list(tmp_path: Path) -> None:
    path = tmp_path / "pick.pdf"
    render_pick_list({}, path, "Nothing")
    assert "Nothing to pick" in PdfReader(io.BytesIO(path.read_bytes())).pages[0].extract_text()


def test_a_tracking_number_too_long_for_13_mil_is_refused(specs: list[LabelSpec]) -> None:
    too_long = LabelSpec(**{**{f: getattr(specs[0], f) for f in LabelSpec.__slots__}, "tracking_number": "AB" * 20})
    with pytest.raises(ValueError, match="too long"):
        labels_pdf_bytes([too_long])


def test_merged_file_is_strict_pdf_and_shares_a_sources_fonts(tmp_path: Path, specs: list[LabelSpec]) -> None:
    import warnings

    src = tmp_path / "src.pdf"
    render_labels(specs[:6], src)
    out = tmp_path / "merged.pdf"
    merge_pages([(src, i) for i in (5, 4, 3, 2, 1, 0)], out)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        reader = PdfReader(out, strict=True)
        assert len(reader.pages) == 6 and [p.mediabox.height for p in reader.pages] == [432] * 6
    assert len({p["/Resources"].raw_get("/Font").idnum for p in reader.pages}) == 1, "one font dictionary"
    assert reader.trailer["/Size"] < 6 * 2 + 10, "fonts copied once, not once per page"

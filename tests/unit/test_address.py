"""Offline address checks, ZIP table, routing flags and the normalised key."""

from __future__ import annotations

import pytest

from fulfilment.domain import address as checks
from fulfilment.domain import zips
from fulfilment.domain.address import AddressFlags, check_address, classify, is_residential, normalise
from fulfilment.domain.orders import Address
from fulfilment.simulate import broken_addresses, realistic_addresses


def addr(street1: str, city: str = "Cambridge", state: str = "MA", zip_: str = "02139", street2: str = "") -> Address:
    return Address("Jane Doe", street1, city, state, zip_, street2, phone="(+1)6175550101")


TRICKY_VALID = [
    addr("123 Main St", street2="Apt 4"),
    addr("123 Main St", street2="Unit B"),
    addr("123 Main St", street2="# 12"),
    addr("123 Main St #12"),
    addr("123 Main St", street2="Suite 300"),
    addr("123 Main Street Apartment 4B"),
    addr("Apt 5", street2="12 Oak St"),
    addr("Unit 3", street2="12 Oak St"),
    addr("12 Oak St Apt 4 Apt 5"),  # doubled unit: usaddress raises RepeatedLabelError
    addr("RR 2 Box 15", "Hindman", "KY", "41822"),
    addr("Rural Route 3 Box 22", "Hindman", "KY", "41822"),
    addr("HC 1 Box 4", "Hindman", "KY", "41822"),
    addr("HCR 65 Box 21", "Hindman", "KY", "41822"),
    addr("PO Box 123"),
    addr("P.O. Box 9"),
    addr("POB 7"),
    addr("Post Office Box 77"),
    addr("PO BOX 1452", "Anchorage", "AK", "99501"),
    addr("PSC 1234 Box 5678", "APO", "AE", "09012"),
    addr("Unit 2050 Box 4190", "APO", "AP", "96338"),
    addr("CMR 450 Box 12", "APO", "AE", "09005"),
    addr("PSC 817 Box 21", "FPO", "AE", "09622"),
    addr("Unit 8400 Box 100", "DPO", "AA", "34001"),
    addr("Urb Las Gladiolas 150 Calle A", "San Juan", "PR", "00926"),
    addr("Urb. Villa Carolina Calle 5 Blq 10 #3", "Carolina", "PR", "00985"),
    addr("Calle Luna 12", "San Juan", "PR", "00926"),
    addr("Cond Torre Del Mar", "San Juan", "PR", "00907", street2="Apt 5"),
    addr("123-45 Queens Blvd", "Kew Gardens", "NY", "11415"),
    addr("12 1/2 Main St"),
    addr("12B Main St"),
    addr("W1234 County Road K", "Campbellsport", "WI", "53010"),
    addr("N56W24790 Corporate Cir", "Sussex", "WI", "53089"),
    addr("1600 Pennsylvania Ave NW", "Washington", "DC", "20500"),
    addr("350 5th Ave", "New York", "NY", "10118"),
    addr("One Main St"),
    addr("One World Trade Center Suite 8500", "New York", "NY", "10007"),
    addr("POB 59"),  # usaddress labels this box number an OccupancyIdentifier
    addr("PO Box A"),
    addr("Apt 4, 123 Main St"),
    addr("100 N. Main St., Apt. 4"),
    addr("Acme Corp", street2="12 Oak St"),
    addr("4001 S 700 E", "Salt Lake City", "UT", "84107"),
    addr("1234 Highway 61", "Hindman", "KY", "41822"),
    addr("Bo Camarones Carr 2 Km 10.5", "Guaynabo", "PR", "00969"),
    addr("2 E 55th St", "New York", "NY", "10022"),
    addr("General Delivery"),
    addr("123 Main St", zip_="02139-4307"),
    addr("123 Main St", zip_=" 02139 "),
    addr("123 Main St", state="ma"),
    addr("123 Main St", state="Massachusetts"),
    addr("  123   Main St  "),
    addr("85 Kam Hwy", "Haleiwa", "HI", "96712"),
    addr("18 Kongens Gade", "St Thomas", "VI", "00802"),
    addr("123 Main St", "Fort Campbell", "TN", "42223"),  # ZIP straddles KY/TN
    Address("J*** D**", "123 Main St", "Cambridge", "MA", "02139", phone="(+1)555****101"),
]


@pytest.mark.parametrize("address", TRICKY_VALID, ids=lambda a: f"{a.street1}|{a.street2}|{a.state}")
def test_tricky_valid_addresses_pass(address: Address) -> None:
    assert check_address(address) == []


def test_realistic_addresses_pass() -> None:
    addresses = realistic_addresses(600, seed=11)
    flagged = [(a, check_address(a)) for a in addresses if check_address(a)]
    assert flagged == []
    assert len({a.state for a in addresses}) > 30


def test_broken_addresses_yield_their_code() -> None:
    broken = broken_addresses(350, seed=5)
    assert {code for _, code in broken} == {
        checks.ZIP_FORMAT,
        checks.ZIP_UNKNOWN,
        checks.ZIP_STATE_MISMATCH,
        checks.STATE_INVALID,
        checks.NO_STREET_NUMBER,
        checks.STREET_MISSING,
        checks.CITY_MISSING,
    }
    for address, code in broken:
        assert code in [p.code for p in check_address(address)], (address, code)


@pytest.mark.parametrize(
    ("good", "bad", "code"),
    [
        (addr("1 Main St", state="MA"), addr("1 Main St", state="NY"), checks.ZIP_STATE_MISMATCH),
        (addr("1 Main St", zip_="02139"), addr("1 Main St", zip_="00000"), checks.ZIP_UNKNOWN),
        (addr("1 Main St", zip_="02139-4307"), addr("1 Main St", zip_="12345-678"), checks.ZIP_FORMAT),
        (addr("1 Main St", zip_="02139"), addr("1 Main St", zip_="2139"), checks.ZIP_FORMAT),
        (addr("1 Main St", zip_="02139"), addr("1 Main St", zip_=""), checks.ZIP_FORMAT),
        (addr("1 Main St", state="MA"), addr("1 Main St", state="XX"), checks.STATE_INVALID),
        (addr("1 Main St", state="MA"), addr("1 Main St", state=""), checks.STATE_INVALID),
        (addr("1 Main St", street2="Apt 4"), addr("Main St", street2="Apt 4"), checks.NO_STREET_NUMBER),
        (addr("Apt 5", street2="12 Oak St"), addr("Apt 5", street2="Oak St"), checks.NO_STREET_NUMBER),
        (addr("350 5th Ave"), addr("5th Ave"), checks.NO_STREET_NUMBER),
        (addr("350 2nd Blvd"), addr("2nd Blvd"), checks.NO_STREET_NUMBER),  # usaddress: "2nd" AddressNumber
        (addr("PO Box 123"), addr("PO Box"), checks.NO_STREET_NUMBER),
        (addr("RR 2 Box 15"), addr("RR"), checks.NO_STREET_NUMBER),
        (addr("123 Main St"), addr("1** M*** St"), checks.STREET_MISSING),
        (addr("123 Main St"), addr("****"), checks.STREET_MISSING),
        (addr("123 Main St"), addr(""), checks.STREET_MISSING),
        (addr("123 Main St", street2="Apt 4"), addr("123 Main St", street2="A** *"), checks.STREET_MISSING),
        (addr("1 Main St", city="Cambridge"), addr("1 Main St", city=""), checks.CITY_MISSING),
        (addr("1 Main St", city="Cambridge"), addr("1 Main St", city="C********"), checks.CITY_MISSING),
        (
            addr("PSC 1234 Box 5678", "APO", "AE", "09012"),
            addr("PSC 1234 Box 5678", "APO", "AP", "09012"),
            checks.ZIP_STATE_MISMATCH,
        ),
        (
            addr("1 Main St", "Dpo", "AA", "34001"),
            addr("1 Main St", "Dpo", "AE", "34001"),
            checks.ZIP_STATE_MISMATCH,
        ),
    ],
)
def test_each_code_on_both_sides(good: Address, bad: Address, code: str) -> None:
    assert check_address(good) == []
    problems = check_address(bad)
    assert [p.code for p in problems] == [code]
    assert problems[0].reason


def test_reasons_name_the_value() -> None:
    (problem,) = check_address(addr("1 Main St", state="NY", zip_="90001"))
    assert problem.reason == "ZIP 90001 is in CA, not NY"
    assert (problem.field, problem.value) == ("zip", "90001")
    (problem,) = check_address(addr("1** M*** St"))
    assert "1** M*** St" in problem.reason and problem.field == "street1"
    (problem,) = check_address(addr("1 Main St", zip_="12345-678"))
    assert "12345-678" in problem.reason


def test_every_problem_is_reported() -> None:
    codes = [p.code for p in check_address(Address("x", "", "", "XX", "9999"))]
    assert codes == [checks.STREET_MISSING, checks.CITY_MISSING, checks.STATE_INVALID, checks.ZIP_FORMAT]


def test_masked_name_and_phone_are_fine() -> None:
    masked = Address("J*** D**", "482 Maple Ave", "Cambridge", "MA", "02139", phone="(+1)555****101")
    assert check_address(masked) == []


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("02139", "02139"),
        ("02139-4307", "02139"),
        ("021394307", "02139"),
        (" 90001\t", "90001"),
        ("12345-678", None),
        ("2139", None),
        ("0213A", None),
        ("ABCDE", None),
        ("02139-", None),
        ("", None),
        ("123456", None),
    ],
)
def test_zip5_format(text: str, expected: str | None) -> None:
    assert zips.zip5(text) == expected


def test_zip_lookup() -> None:
    info = zips.lookup("02139")
    assert info is not None and (info.state, info.city, info.type, info.active) == (
        "MA",
        "Cambridge",
        "STANDARD",
        True,
    )
    assert zips.lookup("02139-4307") == info
    assert zips.lookup("00000") is None and zips.lookup("nope") is None
    military = zips.lookup("09012")
    assert military is not None and military.state == "AE" and military.type == "MILITARY" and military.lat is None
    assert zips.lookup("34001").state == "AA" and zips.lookup("96338").state == "AP"  # type: ignore[union-attr]
    assert sum(1 for _ in zips.all_zips()) > 40_000


def test_distance_sanity() -> None:
    la_nyc = zips.distance_miles("90001", "10001")
    assert la_nyc is not None and abs(la_nyc - 2450) < 50
    assert zips.distance_miles("02139", "02139") == 0
    boston = zips.distance_miles("02139", "02108")
    assert boston is not None and boston < 5
    assert zips.distance_miles("02139", "00000") is None
    assert zips.distance_miles("02139", "09012") is None  # military ZIPs have no centroid


@pytest.mark.parametrize(
    ("address", "flags"),
    [
        (addr("123 Main St"), AddressFlags()),
        (addr("PO Box 123"), AddressFlags(is_po_box=True)),
        (addr("P.O. Box 9"), AddressFlags(is_po_box=True)),
        (addr("RR 2 Box 15", "Hindman", "KY", "41822"), AddressFlags(is_po_box=True)),
        (addr("PSC 1234 Box 5678", "APO", "AE", "09012"), AddressFlags(is_military=True)),
        (addr("Unit 2050 Box 4190", "APO", "AP", "96338"), AddressFlags(is_military=True)),
        (addr("CMR 450 Box 12", "APO", "AE", "09005"), AddressFlags(is_military=True)),
        (addr("Urb Las Gladiolas 150 Calle A", "San Juan", "PR", "00926"), AddressFlags(is_territory=True)),
        (addr("85 Kam Hwy", "Haleiwa", "HI", "96712"), AddressFlags(is_alaska_hawaii=True)),
        (
            addr("PO Box 1452", "Anchorage", "AK", "99501"),
            AddressFlags(is_po_box=True, is_alaska_hawaii=True),
        ),
        (addr("123 Main St", state="XX"), AddressFlags()),  # state from the ZIP
        (addr("123 Main St", state="", zip_="96712"), AddressFlags(is_alaska_hawaii=True)),
    ],
)
def test_classify(address: Address, flags: AddressFlags) -> None:
    assert classify(address) == flags


def test_classify_po_box_only_zip() -> None:
    po_zip = next(z for z in zips.all_zips() if z.type == "PO BOX" and z.active)
    assert classify(addr("12 Main St", po_zip.city, po_zip.state, po_zip.zip)).is_po_box


def test_normalise_same_address_same_key() -> None:
    key = normalise(addr("123 Main Street", street2="Apartment 4"))
    assert key == "123 main st # 4 02139"
    for variant in (
        addr("123 MAIN ST.", street2="Apt. 4", zip_="02139-4307"),
        addr("123 Main St #4"),
        addr("Apt 4", street2="123 Main St"),
        addr("  123  main   st ", street2="Unit 4"),
    ):
        assert normalise(variant) == key
    assert normalise(addr("123 Main St", street2="Apt 5")) != key
    assert normalise(addr("123 Main St", zip_="02138")) != normalise(addr("123 Main St"))
    assert normalise(addr("P.O. Box 9")) == normalise(addr("PO Box 9")) == normalise(addr("POB 9"))
    assert normalise(addr("12 North Boulevard")) == normalise(addr("12 N Blvd"))


def test_residential_unless_the_name_is_a_company() -> None:
    home = Address("Ann Lee", "1 Main St", "Austin", "TX", "78701")
    assert is_residential(home)
    assert not is_residential(Address("Acme Widgets LLC", "1 Main St", "Austin", "TX", "78701"))
    assert not is_residential(Address("Blue Sky Inc.", "1 Main St", "Austin", "TX", "78701"))
    assert is_residential(Address("Lincoln Cohen", "1 Main St", "Austin", "TX", "78701"))


def test_routing_flags_survive_storage_as_bits() -> None:
    every = [AddressFlags(*(bool(n >> i & 1) for i in range(4))) for n in range(16)]
    assert len({f.bits for f in every}) == 16
    assert all(AddressFlags.from_bits(f.bits) == f for f in every)

"""The review queue through the `fulfil` command: JSON import, buyer history, holds, decisions, audit trail."""

from __future__ import annotations

import csv
import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import fulfil_env
from tests.e2e.test_cli import FULFIL, ROOT, fulfil

CLEAN = {"name": "Ann Lee", "street1": "12 Oak St", "city": "Columbus", "state": "OH", "zip": "43215", "country": "US"}


def order(oid: str, buyer: str, minute: int, **ship_to: str) -> dict[str, Any]:
    return {
        "id": oid,
        "buyer": buyer,
        "created_at": f"2026-11-21T19:{minute:02d}:00-08:00",
        "ship_to": {**CLEAN, **ship_to},
        "lines": [{"sku": "MUG", "quantity": 1, "unit_price": "15"}],
    }


@pytest.fixture
def env(tmp_path: Path, sqlite_url: str) -> dict[str, str]:
    env = fulfil_env(tmp_path, sqlite_url)
    catalog, stock = tmp_path / "catalog.csv", tmp_path / "stock.csv"
    catalog.write_text("sku,weight_oz,length_in,width_in,height_in\nMUG,12,6,6,6\n")
    warehouses = ("WH-EAST", "WH-CENTRAL", "WH-WEST")
    stock.write_text("warehouse,sku,on_hand\n" + "".join(f"{w},MUG,100\n" for w in warehouses))
    assert fulfil(env, "catalog", "import", str(catalog)).returncode == 0
    assert fulfil(env, "stock", "import", str(stock)).returncode == 0
    return env


def queue(env: dict[str, str], *args: str) -> dict[str, list[str]]:
    result = fulfil(env, "review", "list", "--json", *args)
    assert result.returncode == 0, result.stderr
    return {item["order_id"]: [h["code"] for h in item["holds"]] for item in json.loads(result.stdout)}


def test_review_queue_end_to_end(env: dict[str, str], tmp_path: Path) -> None:
    orders = [
        order("OK1", "ann", 1),
        order("HI1", "kai", 2, street1="85 Kam Hwy", city="Haleiwa", state="HI", zip="96712"),
        order("HI2", "lani", 3, street1="1 Ala Moana Blvd", city="Honolulu", state="HI", zip="96814"),
        order("RET", "returner", 4, street1="7 Ash Ct"),
        order("ZIP", "typo", 5, street1="9 Elm St", zip="90001"),
        order("PARK", "later", 6, street1="PO Box", city="Columbus"),
    ]
    orders_file = tmp_path / "orders.jsonl"
    orders_file.write_text("\n".join(json.dumps(o) for o in orders) + "\n")
    imported = fulfil(env, "import", "json", str(orders_file), "--json")
    assert imported.returncode == 0, imported.stderr
    assert json.loads(imported.stdout)["created"] == 6
    history = tmp_path / "buyers.csv"
    history.write_text("buyer,orders,returns,last_return_at\nreturner,10,4,2026-10-01\nbad,2,3,\n")
    loaded = fulfil(env, "buyers", "import", str(history))
    assert loaded.returncode == 2 and "line 3" in loaded.stderr and "returns 3 is more than orders 2" in loaded.stderr

    run = json.loads(fulfil(env, "batch", "run", "--json").stdout)
    assert (run["counts"]["labelled"], run["counts"]["held"]) == (1, 5)
    assert queue(env) == {
        "HI1": ["REMOTE_DESTINATION"],
        "HI2": ["REMOTE_DESTINATION"],
        "RET": ["HIGH_RETURN_RATE"],
        "ZIP": ["ADDRESS_ZIP_STATE_MISMATCH"],
        "PARK": ["ADDRESS_NO_STREET_NUMBER"],
    }
    assert list(queue(env, "--code", "REMOTE_DESTINATION")) == ["HI1", "HI2"]

    # one approved and shipped at once; the rest by filter; a second reviewer deciding one is told who won
    now = fulfil(env, "review", "approve", "HI2", "--now", "--by", "ann")
    assert now.returncode == 0, now.stderr
    assert "approved" in now.stdout and "labels_pdf" in now.stdout
    approved = fulfil(env, "review", "approve", "--code", "REMOTE_DESTINATION", "--note", "island ok", "--by", "ann")
    assert approved.returncode == 0, approved.stderr
    assert "HI1 approved" in approved.stdout and "HI2" not in approved.stdout
    again = fulfil(env, "review", "approve", "HI1", "--by", "bob")
    assert again.returncode == 1 and "HI1 is not held: it was approved by reviewer:ann" in again.stderr

    rejected = fulfil(env, "review", "reject", "RET", "--reason", "serial returner", "--by", "ann")
    assert rejected.returncode == 0, rejected.stderr
    with (tmp_path / "out" / "cancellations.csv").open() as handle:
        [row] = list(csv.DictReader(handle))
    assert (row["order_id"], row["rejected_by"], row["reason"]) == ("RET", "reviewer:ann", "rejected: serial returner")

    parked = fulfil(env, "review", "park", "PARK", "--hold-until", "2099-01-01T09:00", "--note", "call buyer")
    assert parked.returncode == 0, parked.stderr
    assert "PARK" not in queue(env) and "PARK" in queue(env, "--all")

    edited = fulfil(env, "order", "edit-address", "ZIP", "--zip", "43215", "--by", "ann")
    assert edited.returncode == 0 and "zip '90001' → '43215'" in edited.stdout
    rescreened = fulfil(env, "review", "rescreen", "ZIP", "--by", "ann")
    assert rescreened.returncode == 0 and "passed the screen" in rescreened.stdout
    assert queue(env) == {}

    second = json.loads(fulfil(env, "batch", "run", "--json").stdout)
    assert second["counts"] == {"orders": 2, "labelled": 2, "held": 0, "backordered": 0, "failed": 0}
    assert json.loads(fulfil(env, "review", "show", "HI2", "--json").stdout)["status"] == "labelled"

    shown = json.loads(fulfil(env, "review", "show", "HI1", "--json").stdout)
    trail = [(a["from"], a["to"], a["by"], a["why"]) for a in shown["audit"]]
    assert ("held", "approved", "reviewer:ann", "approved: island ok") in trail
    assert [t[1] for t in trail] == [
        "pending",
        "claimed",
        "held",
        "approved",
        "screened",
        "allocated",
        "routed",
        "labelled",
    ]
    [returns] = json.loads(fulfil(env, "review", "show", "RET", "--json").stdout)["holds"]
    assert (returns["code"], returns["resolution"], returns["note"]) == (
        "HIGH_RETURN_RATE",
        "rejected",
        "serial returner",
    )
    assert returns["details"]["last_return_at"] == "2026-10-01T00:00:00+00:00" and returns["details"]["rate"] == 0.4
    zip_trail = json.loads(fulfil(env, "review", "show", "ZIP", "--json").stdout)["audit"]
    assert any(a["by"] == "reviewer:ann" and a["why"].startswith("address edited") for a in zip_trail)
    assert any(a["to"] == "approved" and a["why"] == "rescreened: passed the screen" for a in zip_trail)


def test_two_reviewers_deciding_at_once_one_wins(env: dict[str, str], tmp_path: Path) -> None:
    orders_file = tmp_path / "orders.json"
    orders_file.write_text(
        json.dumps([order("X1", "kai", 1, street1="85 Kam Hwy", city="Haleiwa", state="HI", zip="96712")])
    )
    assert fulfil(env, "import", "json", str(orders_file)).returncode == 0
    assert json.loads(fulfil(env, "batch", "run", "--json").stdout)["counts"]["held"] == 1
    base = {k: v for k, v in os.environ.items() if not k.startswith("FULFILMENT_")}
    commands = [
        [*FULFIL, "review", "approve", "X1", "--by", "ann"],
        [*FULFIL, "review", "reject", "X1", "--reason", "fraud", "--by", "bob"],
    ]
    running = [
        subprocess.Popen(c, env={**base, **env}, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for c in commands
    ]
    results = [(p.wait(timeout=120), *p.communicate()) for p in running]
    assert sorted(code for code, _, _ in results) == [0, 1]
    [(_, _, loser_err)] = [r for r in results if r[0] == 1]
    assert "X1 is not held: it was" in loser_err and "nothing changed" in loser_err
    shown = json.loads(fulfil(env, "review", "show", "X1", "--json").stdout)
    decisions = [a for a in shown["audit"] if a["from"] == "held"]
    assert len(decisions) == 1 and shown["status"] == decisions[0]["to"]


def test_bad_json_records_are_named_and_the_rest_import(env: dict[str, str], tmp_path: Path) -> None:
    bad = order("B2", "x", 2)
    bad["created_at"] = "2026-11-21 19:02"
    path = tmp_path / "orders.json"
    path.write_text(json.dumps([order("B1", "x", 1), bad]))
    result = fulfil(env, "import", "json", str(path))
    assert result.returncode == 2
    assert "line 2, column 'created_at' (order B2)" in result.stderr and "no UTC offset" in result.stderr
    assert "1 orders read — 1 new" in result.stdout
    (tmp_path / "notes.txt").write_text("hello")
    refused = fulfil(env, "import", "json", str(tmp_path / "notes.txt"))
    assert refused.returncode == 1 and "nothing imported" in refused.stderr


def test_rules_dir_without_risk_yaml_stops_with_the_file_named(env: dict[str, str], tmp_path: Path) -> None:
    rules = tmp_path / "rules"
    rules.mkdir()
    for name in ("carriers.yaml", "warehouses.yaml"):
        (rules / name).write_text((ROOT / "rules" / name).read_text())
    result = fulfil({**env, "FULFILMENT_RULES_DIR": str(rules)}, "review", "list")
    assert result.returncode == 1 and "risk.yaml:0: (file): file not found" in result.stderr

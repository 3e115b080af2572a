"""The `fulfil` command end to end, as a user runs it: separate processes, real files, exit codes."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from pypdf import PdfReader

from tests.barcodes import code128_texts
from tests.conftest import FIXTURES, ROOT, fulfil_env

FULFIL = [sys.executable, "-m", "fulfilment"]


def fulfil(
    env: dict[str, str], *args: str, cwd: Path | None = None, timeout: float = 600
) -> subprocess.CompletedProcess[str]:
    """Run `fulfil ARGS` in a child process with exactly the given FULFILMENT_* settings."""
    base = {k: v for k, v in os.environ.items() if not k.startswith("FULFILMENT_")}
    return subprocess.run(
        [*FULFIL, *args],
        env={**base, **env},
        cwd=cwd or ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


@pytest.fixture
def env(tmp_path: Path, sqlite_url: str) -> dict[str, str]:
    return fulfil_env(tmp_path, sqlite_url)


def test_demo_on_a_fresh_folder_prints_summary_and_writes_documents(tmp_path: Path) -> None:
    project = tmp_path / "clone"
    shutil.copytree(ROOT / "rules", project / "rules")
    result = fulfil({}, "demo", "--orders", "120", "--seed", "3", cwd=project)
    assert result.returncode == 0, result.stderr
    assert "labelled" in result.stdout and "labels_pdf" in result.stdout
    assert "low stock      LAMP-ARC-BLK: 5 available, under the threshold of 20" in result.stdout
    assert (project / "var" / "fulfilment.db").exists()
    [labels] = list((project / "var" / "out").glob("*/labels.pdf"))
    assert len(PdfReader(labels).pages) > 80
    assert (labels.parent / "pick-list.pdf").exists() and (labels.parent / "tracking-upload.xlsx").exists()


def test_demo_json_is_one_object_and_barcodes_match_upload(env: dict[str, str]) -> None:
    result = fulfil(env, "demo", "--orders", "80", "--seed", "9", "--json")
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    assert set(summary) == {"batch_id", "status", "counts", "outputs", "pushes", "elapsed_s"}
    assert summary["pushes"] == {"sent": summary["counts"]["labelled"]}
    assert set(summary["counts"]) == {"orders", "labelled", "held", "backordered", "failed"}
    csv_rows = Path(summary["outputs"]["tracking_csv"]).read_text().splitlines()[1:]
    tracking = {line.split(",")[1] for line in csv_rows}
    decoded = [texts[0] for texts in code128_texts(Path(summary["outputs"]["labels_pdf"])) if texts]
    assert sorted(decoded) == sorted(tracking), "one label page per tracking number (and separators)"
    assert len({line.split(",")[0] for line in csv_rows}) == summary["counts"]["labelled"]

    shown = fulfil(env, "batch", "show", summary["batch_id"], "--json")
    assert shown.returncode == 0 and json.loads(shown.stdout)["counts"] == summary["counts"]


def test_sample_export_imports_once(env: dict[str, str]) -> None:
    first = fulfil(env, "import", "tiktok", str(FIXTURES / "tiktok-export-sample.csv"), "--json")
    assert first.returncode == 0, first.stderr
    report = json.loads(first.stdout)
    assert (report["orders"], report["created"], report["rejected_rows"]) == (2, 2, [])
    again = json.loads(fulfil(env, "import", "tiktok", str(FIXTURES / "tiktok-export-sample.csv"), "--json").stdout)
    assert (again["created"], again["updated"], again["unchanged"]) == (0, 0, 2)


def test_broken_rows_are_named_and_good_rows_import(env: dict[str, str], tmp_path: Path) -> None:
    text = (FIXTURES / "tiktok-export-sample.csv").read_text(encoding="utf-8-sig")
    broken = tmp_path / "broken.csv"
    # the second order's only row gets a quantity of "two": that order is rejected, the first imports
    broken.write_text("\ufeff" + text.replace(",1,0,0,0,0,0,0,0,0,0,0,0,,0,0,0,", ",two,0,0,0,0,0,0,0,0,0,0,0,,0,0,0,"))
    result = fulfil(env, "import", "tiktok", str(broken))
    assert result.returncode == 2
    assert "line 12" in result.stderr and "Quantity" in result.stderr
    assert "1 orders read — 1 new" in result.stdout


def test_a_file_that_is_not_an_export_writes_nothing(env: dict[str, str], tmp_path: Path) -> None:
    other = tmp_path / "catalog.csv"
    other.write_text("sku,weight_oz,length_in,width_in,height_in\nA,1,1,1,1\n")
    result = fulfil(env, "import", "tiktok", str(other))
    assert result.returncode == 1 and "nothing imported" in result.stderr
    show = fulfil(env, "batch", "run", "--json")
    assert json.loads(show.stdout)["counts"]["orders"] == 0


def test_catalog_and_stock_rows_are_validated(env: dict[str, str], tmp_path: Path) -> None:
    catalog = tmp_path / "catalog.csv"
    catalog.write_text("sku,weight_oz,length_in,width_in,height_in\nA,12,10,8,2\nB,heavy,1,1,1\n")
    result = fulfil(env, "catalog", "import", str(catalog))
    assert result.returncode == 2 and "line 3" in result.stderr and "weight_oz" in result.stderr
    assert "1 rows applied" in result.stdout
    stock = tmp_path / "stock.csv"
    stock.write_text("warehouse,sku,on_hand\nWH-EAST,A,5\nWH-MOON,A,5\nWH-WEST,A,-1\n")
    result = fulfil(env, "stock", "import", str(stock))
    assert result.returncode == 2 and "unknown warehouse 'WH-MOON'" in result.stderr and "line 4" in result.stderr


def test_invalid_rules_stop_the_batch_with_the_message_of_rules_check(env: dict[str, str], tmp_path: Path) -> None:
    rules = tmp_path / "rules"
    shutil.copytree(ROOT / "rules", rules)
    text = (rules / "carriers.yaml").read_text()
    (rules / "carriers.yaml").write_text(text.replace("service: usps_ground_advantage}", "service: usps_nope}", 1))
    result = fulfil({**env, "FULFILMENT_RULES_DIR": str(rules)}, "batch", "run")
    assert result.returncode == 1
    assert "carriers.yaml:" in result.stderr and "usps offers no service 'usps_nope'" in result.stderr
    checked = fulfil(env, "rules", "check", str(rules))
    assert checked.returncode == 1 and checked.stderr == result.stderr
    assert fulfil(env, "rules", "check").returncode == 0


def test_rules_explain_and_test(env: dict[str, str], tmp_path: Path) -> None:
    summary = json.loads(fulfil(env, "demo", "--orders", "60", "--seed", "5", "--json").stdout)
    assert summary["counts"]["labelled"] > 40
    uploaded = Path(summary["outputs"]["tracking_csv"]).read_text().splitlines()[1:]
    order_id = uploaded[0].split(",")[0]
    result = fulfil(env, "rules", "explain", order_id, "--json")
    assert result.returncode == 0, result.stderr
    explained = json.loads(result.stdout)
    decision = explained["decision"]
    assert decision["rule_id"] == explained["stored"]["rule_id"] and decision["rules"][-1]["outcome"] == "matched"
    assert {"zone", "zone_how", "po_box", "region", "residential"} <= set(explained["facts"])
    assert "oz" in decision["billable_how"]
    facts = explained["facts"]
    assert facts["session"] == "demo-5" and facts["ship_by_hours"] is not None and facts["category"]
    text = fulfil(env, "rules", "explain", order_id)
    assert "Rules, in order:" in text.stdout and f"(rule {decision['rule_id']})" in text.stdout

    table = tmp_path / "parcels.csv"
    table.write_text("zip,weight_oz,length_in,width_in,height_in,po_box\n90001,7,10,8,1,\n60601,180,14,10,8,yes\n")
    tried = fulfil(env, "rules", "test", str(table))
    assert tried.returncode == 0, tried.stderr
    assert "light-usps" in tried.stdout and "po-box-usps" in tried.stdout
    table.write_text("zip,weight_oz,warehouse\n90001,heavy,\n90001,5,WH-MOON\n")
    rejected = fulfil(env, "rules", "test", str(table))
    assert rejected.returncode == 2
    assert "line 2, column 'weight_oz'" in rejected.stderr and "'WH-MOON' is not in warehouses.yaml" in rejected.stderr


def test_stock_import_delta_show_and_never_below_reserved(env: dict[str, str], tmp_path: Path) -> None:
    import sqlite3

    counts = tmp_path / "count.csv"
    counts.write_text("warehouse,sku,on_hand\nWH-EAST,A,5\nWH-WEST,A,7\nWH-WEST,B,1\n")
    assert fulfil(env, "stock", "import", str(counts)).returncode == 0
    sold = tmp_path / "sold-elsewhere.csv"
    sold.write_text("warehouse,sku,on_hand\nWH-EAST,A,2\nWH-WEST,A,-3\n")
    result = fulfil(env, "stock", "import", str(sold), "--delta")
    assert result.returncode == 0 and "2 rows applied" in result.stdout, result.stderr
    shown = json.loads(fulfil(env, "stock", "show", "A", "--json").stdout)
    assert [(r["warehouse"], r["on_hand"], r["available"]) for r in shown] == [("WH-EAST", 7, 7), ("WH-WEST", 4, 4)]

    with sqlite3.connect(env["FULFILMENT_DATABASE_URL"].removeprefix("sqlite:///")) as db:
        db.execute("UPDATE stock SET reserved = 3 WHERE warehouse_code = 'WH-WEST' AND sku = 'A'")
    below = tmp_path / "below.csv"
    below.write_text("warehouse,sku,on_hand\nWH-WEST,A,-2\n")
    result = fulfil(env, "stock", "import", str(below), "--delta")
    assert result.returncode == 2
    assert "line 2" in result.stderr and "below the 3 units reserved" in result.stderr
    table = fulfil(env, "stock", "show", "A")
    assert "WH-WEST" in table.stdout and " 4 " in table.stdout and " 1 " in table.stdout, table.stdout


def test_label_reprint_and_manifest_commands(env: dict[str, str]) -> None:
    ran = fulfil({**env, "FULFILMENT_LABEL_FORMAT": "zpl"}, "demo", "--orders", "30", "--seed", "4", "--json")
    assert ran.returncode == 0, ran.stderr
    summary = json.loads(ran.stdout)
    assert summary["outputs"]["labels_pdf"] is None and Path(summary["outputs"]["labels_zpl"]).is_file()
    csv_rows = Path(summary["outputs"]["tracking_csv"]).read_text().splitlines()[1:]
    tracking = {line.split(",")[1] for line in csv_rows}

    again = fulfil(env, "label", "reprint", summary["batch_id"], "--no-separators", "--json")
    assert again.returncode == 0, again.stderr
    reprinted = Path(json.loads(again.stdout)["outputs"]["labels_zpl"]).read_bytes()
    assert reprinted.count(b"^XA") == len(tracking), "the batch's own format, without separators this time"
    order_id = csv_rows[0].split(",")[0]
    one = fulfil(env, "label", "reprint", order_id)
    assert one.returncode == 0 and f"reprint-{order_id}.zpl" in one.stdout
    bad = fulfil(env, "label", "reprint", summary["batch_id"], "--packing-slips", "bogus")
    assert bad.returncode == 1 and "packing slips 'bogus'" in bad.stderr
    unknown = fulfil(env, "label", "reprint", "NOPE-1")
    assert unknown.returncode == 1 and "no batch or order 'NOPE-1'" in unknown.stderr

    listed = set()
    for warehouse in ("WH-EAST", "WH-CENTRAL", "WH-WEST"):
        made = fulfil(env, "manifest", "create", "--warehouse", warehouse, "--json")
        assert made.returncode == 0, made.stderr
        report = json.loads(made.stdout)
        assert Path(report["path"]).is_file()
        listed |= {t for carrier in report["carriers"] for t in carrier["tracking_numbers"]}
    assert listed == tracking, "today's manifests list every parcel of the batch once"
    wrong = fulfil(env, "manifest", "create", "--warehouse", "WH-EAST", "--date", "yesterday")
    assert wrong.returncode == 1 and "not a date" in wrong.stderr

"""One chaos run: services of its own, N orders pulled from the TikTok stand-in, `fulfil worker`s and a sweeper,
labels from the Shippo stand-in (or the local renderer), a batch run, and during it random worker SIGKILLs (each
restarted), one Redis restart and one drop of every database connection, spread over the run's phases, with the
stand-ins failing a share of calls; then the guarantees are checked."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, func, select
from sqlalchemy.exc import DBAPIError

from fulfilment.channels.tiktok_api import TikTokClient
from fulfilment.config import load_settings
from fulfilment.demo import load_samples
from fulfilment.ingest.tiktok_api import pull_orders
from fulfilment.pipeline import context
from fulfilment.store import outbox, stock
from fulfilment.store.db import dispose_engine
from fulfilment.store.inventory import set_stock
from fulfilment.store.models import Outbox
from tests.chaos.checks import Findings, StockLevels, check, stock_levels
from tests.chaos.labels import LABELS, LabelBackend
from tests.chaos.orders import session_orders
from tests.chaos.services import Database, PrivateRedis, free_port
from tests.standins.fixtures import tiktok_env
from tests.standins.tiktok import Faults, TikTokShop

ROOT = Path(__file__).resolve().parents[2]
PUSH_FAULTS = ("429", "5xx", "code", "slow", "lost")
"""What the TikTok stand-in does to a faulted call: every kind a real API shows that is worth retrying."""


@dataclass(frozen=True)
class Options:
    """How big and how rough a run is."""

    orders: int = 10_000
    workers: int = 4
    kills: int = 20
    labels: str = "shippo"
    seed: int = 1
    fault_rate: float = 0.2
    kill_every_s: float = 4.0
    redis_down_s: float = 3.0
    stale_after_s: float = 20.0
    push_lease_s: int = 30
    label_lease_s: int = 30
    chunk_size: int = 250
    timeout_s: float = 3600.0
    keep: bool = False
    workdir: Path | None = None


@dataclass
class Chaos:
    """What was done to the run."""

    kills: int = 0
    redis_restarts: int = 0
    db_drops: int = 0
    dropped_connections: int = 0
    worker_exits: int = 0
    by_phase: Counter[str] = field(default_factory=Counter)
    events: list[str] = field(default_factory=list)

    def note(self, started: float, what: str) -> None:
        self.events.append(f"{time.monotonic() - started:7.1f}s {what}")


@dataclass
class Result:
    """A finished run: what was done to it, what the checks found, and the evidence they read."""

    options: Options
    chaos: Chaos
    faults: Counter[str]
    findings: Findings
    batch_id: str
    elapsed_s: float
    database: Database | None
    ledger: list[dict[str, Any]]
    initial_stock: StockLevels
    workdir: Path
    label_ledger: list[dict[str, Any]] = field(default_factory=list)
    label_rows: list[tuple[str, str]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.findings.violations and self.chaos.kills >= self.options.kills


class Workers:
    """`fulfil worker` processes, each in a process group of its own so a SIGKILL takes its children too."""

    def __init__(self, env: dict[str, str], count: int, logs: Path) -> None:
        self.env, self.logs = env, logs
        self.generation = 0
        self.procs: list[subprocess.Popen[bytes]] = [self._start(i) for i in range(count)]

    def _start(self, index: int) -> subprocess.Popen[bytes]:
        self.generation += 1
        log = (self.logs / f"worker-{index}-{self.generation}.log").open("wb")
        command = [sys.executable, "-m", "fulfilment", "worker", "--processes", "1", "--threads", "2"]
        return subprocess.Popen(
            command, env=self.env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )

    def kill(self, index: int) -> None:
        """SIGKILL one worker (no chance to finish or release anything) and start a new one in its place."""
        proc = self.procs[index]
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
        self.procs[index] = self._start(index)

    def restart_exited(self) -> int:
        """Start again any worker that exited by itself (counted: it should not happen)."""
        exited = [i for i, proc in enumerate(self.procs) if proc.poll() is not None]
        for index in exited:
            self.procs[index] = self._start(index)
        return len(exited)

    def stop(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
        for proc in self.procs:
            proc.wait(timeout=30)


def _fulfil(env: dict[str, str], log: Path, *args: str, stdout: Any = None) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "fulfilment", *args],
        env=env,
        cwd=ROOT,
        stdout=stdout or log.open("wb"),
        stderr=log.open("ab") if stdout else subprocess.STDOUT,
        start_new_session=True,
    )


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def _open_pushes(engine: Any, batch_id: str) -> int:
    stmt = select(func.count()).where(Outbox.batch_id == batch_id, Outbox.status.in_(outbox.OPEN))
    with engine.connect() as conn:
        return int(conn.scalar(stmt) or 0)


PHASES = ("screen/allocate/route", "label", "documents/push")
"""The parts of a run, in order; the table counts the events fired in each."""
STAGE_SHARE = 0.6
"""The share of a run's progress its chunks' stages stand for; the tracking pushes are the rest."""


@dataclass(frozen=True)
class Progress:
    """Where the batch is: the share of its work done (0–1), its phase (an index into PHASES), the counts
    that show it, and whether a batch has claimed its orders (its chunks exist) at all."""

    done: float
    phase: int
    text: str
    claimed: bool


def progress(engine: Any) -> Progress:
    """The newest batch's progress: its chunks' stages (screen … done) stand for STAGE_SHARE of the work, the
    tracking pushes finished for the rest. The phase is the furthest the batch has got: pushes started (or its
    documents), some chunk at its label stage or past it, or neither."""
    from fulfilment.pipeline import CHUNK_STAGES
    from fulfilment.store.models import Batch, Chunk

    with engine.connect() as conn:
        newest = conn.execute(select(Batch.id, Batch.status).order_by(Batch.created_at.desc())).first()
        batch_id, status = newest or (None, None)
        stages = Counter(
            dict(
                conn.execute(
                    select(Chunk.stage, func.count()).where(Chunk.batch_id == batch_id).group_by(Chunk.stage)
                ).all()
            )
        )
        pushes = Counter(
            dict(
                conn.execute(
                    select(Outbox.status, func.count()).where(Outbox.batch_id == batch_id).group_by(Outbox.status)
                ).all()
            )
        )
    steps = (*CHUNK_STAGES, "done")
    chunks = sum(stages.values())
    staged = sum(steps.index(stage) * n for stage, n in stages.items()) / (len(CHUNK_STAGES) * chunks or 1)
    finished = sum(n for state, n in pushes.items() if state not in outbox.OPEN)
    done = STAGE_SHARE * staged + (1 - STAGE_SHARE) * finished / (sum(pushes.values()) or 1)
    if status in ("documenting", "pushing") or finished:
        phase = 2
    elif stages["label"] or stages["done"]:
        phase = 1
    else:
        phase = 0
    shown = ", ".join(f"{n} {stage}" for stage, n in sorted(stages.items())) or "none yet"
    text = f"{done:.0%} done: chunks {shown}; pushes {finished}/{sum(pushes.values())} finished"
    return Progress(done, phase, text, chunks > 0)


def plan_events(opts: Options, rng: random.Random) -> list[tuple[float, str]]:
    """The events (the kills, one Redis restart, one connection drop) in a random order, each with the share of
    the run's progress it waits for: the first as soon as the batch has claimed its orders (share 0: chunks are
    screened, allocated and routed within a second or two, so an event must not wait to land there), the rest
    spread evenly (with some jitter) over the first 90% of the run."""
    events = ["kill"] * opts.kills + ["redis", "db"]
    rng.shuffle(events)
    later = len(events) - 1
    return [(0.0, events[0])] + [
        (0.9 * (i + rng.uniform(0.2, 0.8)) / later, event) for i, event in enumerate(events[1:])
    ]


def _make_trouble(
    opts: Options,
    rng: random.Random,
    workers: Workers,
    redis: PrivateRedis,
    db: Database,
    chaos: Chaos,
    started: float,
    done: threading.Event,
) -> None:
    """Fire the planned events (:func:`plan_events`), each once the batch's progress has reached its share and
    (after the first) at least `kill_every_s` (0.5–1.5×, at random) after the last one, until all have fired or the
    run is over;
    restart workers that died by themselves. Each event is noted with the batch's progress at that moment."""
    engine = create_engine(_psycopg(db.url), pool_pre_ping=True, pool_size=1)
    try:
        for i, (share, event) in enumerate(plan_events(opts, rng)):
            if i and done.wait(rng.uniform(0.5, 1.5) * opts.kill_every_s):
                return
            now = _wait_for_progress(engine, share, done)
            if now is None:
                return
            chaos.worker_exits += workers.restart_exited()
            chaos.by_phase[PHASES[now.phase]] += 1
            if event == "kill":
                index = rng.randrange(len(workers.procs))
                workers.kill(index)
                chaos.kills += 1
                chaos.note(started, f"SIGKILL worker {index} ({now.text})")
            elif event == "redis":
                chaos.note(started, f"Redis shut down (nosave) ({now.text})")
                redis.restart(opts.redis_down_s)
                chaos.redis_restarts += 1
                chaos.note(started, "Redis up again, empty")
            else:
                dropped = db.drop_connections()
                chaos.db_drops += 1
                chaos.dropped_connections += dropped
                chaos.note(started, f"terminated {dropped} database connections ({now.text})")
    finally:
        engine.dispose()


def _wait_for_progress(engine: Any, share: float, done: threading.Event) -> Progress | None:
    """The batch's progress once it has claimed its orders and done `share` of its work (None if the run ended
    first); asked every 0.1 s."""
    while True:
        try:
            now = progress(engine)
        except DBAPIError:  # the connection was dropped on purpose: ask again
            now = Progress(-1.0, 0, "", False)
        if now.claimed and now.done >= share:
            return now
        if done.wait(0.1):
            return None


def run(opts: Options) -> Result:
    """Run one chaos batch end to end and check it; the database is dropped unless `opts.keep`."""
    rng = random.Random(opts.seed)
    workdir = opts.workdir or Path(tempfile.mkdtemp(prefix="fulfil-chaos-"))
    workdir.mkdir(parents=True, exist_ok=True)
    labels: LabelBackend = LABELS[opts.labels]()
    shop = TikTokShop()
    shop_url = shop.start()
    redis = PrivateRedis(free_port(), workdir / "redis.log")
    redis.start()
    db = Database()
    workers = None
    helpers: list[subprocess.Popen[bytes]] = []
    try:
        env = {
            **{k: v for k, v in os.environ.items() if not k.startswith(("FULFILMENT_", "TIKTOK_"))},
            "FULFILMENT_DATABASE_URL": db.url,
            "FULFILMENT_REDIS_URL": redis.url,
            "FULFILMENT_REDIS_NAMESPACE": "chaos",
            "FULFILMENT_RULES_DIR": str(ROOT / "rules"),
            "FULFILMENT_OUTPUT_DIR": str(workdir / "out"),
            "FULFILMENT_CHUNK_SIZE": str(opts.chunk_size),
            "FULFILMENT_PUSH_LEASE_S": str(opts.push_lease_s),
            "FULFILMENT_LABEL_LEASE_S": str(opts.label_lease_s),
            **tiktok_env(shop, shop_url, timeout_s=5),
            **labels.start(opts.fault_rate, opts.seed),
        }
        settings = load_settings(env)
        ctx = context(settings)
        load_samples(ctx)
        _scale_stock(ctx, opts.orders)
        shop.add_orders(session_orders(opts.orders, opts.seed))
        assert settings.tiktok is not None
        pulled = pull_orders(ctx, TikTokClient(settings.tiktok))
        initial_stock = stock_levels(create_engine(_psycopg(db.url)))
        dispose_engine(db.url)
        shop.faults = Faults(rate=opts.fault_rate, kinds=PUSH_FAULTS, seed=opts.seed)

        workers = Workers(env, opts.workers, workdir)
        helpers.append(
            _fulfil(env, workdir / "sweeper.log", "sweeper", "--every", "5", "--stale-after", str(opts.stale_after_s))
        )
        started = time.monotonic()
        batch = _fulfil(
            env,
            workdir / "batch.log",
            "batch",
            "run",
            "--json",
            "--timeout",
            str(opts.timeout_s),
            stdout=subprocess.PIPE,
        )
        helpers.append(batch)
        chaos = Chaos()
        chaos.note(started, f"batch run started: {pulled.counts.created} orders pulled")
        done = threading.Event()
        trouble = threading.Thread(
            target=_make_trouble, args=(opts, rng, workers, redis, db, chaos, started, done), daemon=True
        )
        trouble.start()
        out, _ = batch.communicate(timeout=opts.timeout_s + 60)
        summary = json.loads(out) if batch.returncode == 0 and out else {}
        batch_id = summary.get("batch_id") or _last_batch(db.url) or "(none)"
        chaos.note(started, f"batch run exited {batch.returncode}: {summary.get('status')}")
        engine = create_engine(_psycopg(db.url))
        deadline = time.monotonic() + opts.timeout_s
        while _open_pushes(engine, batch_id) and time.monotonic() < deadline:
            chaos.worker_exits += workers.restart_exited()
            time.sleep(1)
        elapsed = time.monotonic() - started
        done.set()
        trouble.join(timeout=opts.redis_down_s + 60)
        chaos.note(started, "every push finished")
        findings = check(engine, batch_id, list(shop.ledger), initial_stock)
        if pulled.counts.created != opts.orders:
            findings.fail(f"{pulled.counts.created} orders pulled of {opts.orders} in the shop")
        label_ledger = labels.ledger()
        ledger_report = labels.report(engine, batch_id, label_ledger)
        findings.violations.extend(ledger_report.violations)
        if batch.returncode != 0:
            last = (workdir / "batch.log").read_text().strip().splitlines()[-1:]
            findings.fail(f"`fulfil batch run` exited {batch.returncode}: {' '.join(last)} (see {workdir})")
        engine.dispose()
        return Result(
            opts,
            chaos,
            Counter({f"tiktok {k}": n for k, n in shop.faults.injected.items()}) + labels.faults(),
            findings,
            batch_id,
            elapsed,
            None if not opts.keep else db,
            list(shop.ledger),
            initial_stock,
            workdir,
            label_ledger,
            ledger_report.rows,
        )
    finally:
        for proc in helpers:
            _stop(proc)
        if workers is not None:
            workers.stop()
        redis.stop()
        shop.stop()
        labels.stop()
        if not opts.keep:
            db.drop()


SAMPLE_STOCK_ORDERS = 1500
"""About how many simulated orders the bundled sample stock covers before most are backordered."""


def _scale_stock(ctx: Any, orders: int) -> None:
    """Multiply the sample stock so most of `orders` can ship (a run of backorders would prove little)."""
    factor = -(-orders // SAMPLE_STOCK_ORDERS)
    with ctx.session() as session:
        rows = [{"warehouse": w, "sku": s, "on_hand": h * factor} for w, s, h, _ in stock.levels(session)]
        applied, errors = set_stock(session, enumerate(rows, 2))
    assert not errors, errors


def _psycopg(url: str) -> str:
    return url.replace("postgresql://", "postgresql+psycopg://", 1)


def _last_batch(url: str) -> str | None:
    """The newest batch (when `batch run` died before printing its id), or None if it made none."""
    from fulfilment.store.models import Batch

    engine = create_engine(_psycopg(url))
    with engine.connect() as conn:
        batch_id = conn.scalar(select(Batch.id).order_by(Batch.created_at.desc()).limit(1))
    engine.dispose()
    return None if batch_id is None else str(batch_id)

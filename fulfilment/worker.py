"""The broker and the dramatiq actors: one actor per stage, each carrying ids only and calling one step.

The broker is chosen at import from FULFILMENT_REDIS_URL: Redis for `fulfil worker` processes, or an
in-process stub broker for the embedded default. Actors bind to it, so import this module only after
the environment is set.
"""

from __future__ import annotations

import dramatiq
import redis
from dramatiq.brokers.redis import RedisBroker
from dramatiq.brokers.stub import StubBroker
from redis.backoff import ExponentialBackoff
from redis.retry import Retry

from fulfilment import batches, heap, logs
from fulfilment.batches import Next
from fulfilment.config import load_settings
from fulfilment.domain.address import check_address
from fulfilment.pipeline import CHUNK_STAGES, context
from fulfilment.stages import push

# The Redis broker's recovery settings, all here (the README's "Crashes and lost messages" explains them).
HEARTBEAT_TIMEOUT_MS = 15_000
"""A worker silent this long counts as dead and its unacked messages may be requeued (dramatiq's default: 60 s)."""

MAINTENANCE_CHANCE = 10_000
"""Per million Redis commands, how often a worker runs the dead-worker requeue (default 1,000: too rare)."""

DEAD_MESSAGE_TTL_MS = 7 * 24 * 3600 * 1000
"""How long dead-lettered messages stay in Redis for a person to look at (dramatiq's default, a week)."""

REDIS_RETRIES = 8
"""Attempts at each Redis command across a connection error, backing off 0.1 s doubling to 2 s: about 9 s in all,
so a worker rides out a brief Redis restart instead of failing the step it just finished."""

RETRY_OPTIONS = {"max_retries": 5, "min_backoff": 500, "max_backoff": 30_000, "time_limit": 15 * 60 * 1000}

SERIAL_STAGE = "allocate"
"""The chunk stage that runs one chunk at a time per batch (in ship-by order). Its steps have a queue of their own,
so a worker fetches each at once instead of behind every chunk's other steps, and dramatiq's highest priority (0;
the rest have 10), so it is the next step a free thread runs: each hand-off along the chain costs one step's wait,
not a whole queue's."""


def redis_pool(url: str) -> redis.ConnectionPool:
    """Connections to Redis that retry a command (after reconnecting) through a short outage."""
    return redis.ConnectionPool.from_url(
        url,
        socket_connect_timeout=2,
        socket_timeout=10,
        health_check_interval=15,
        retry=Retry(ExponentialBackoff(cap=2, base=0.1), REDIS_RETRIES),
        retry_on_error=[redis.ConnectionError, redis.TimeoutError],
    )


def _make_broker() -> dramatiq.Broker:
    settings = load_settings()
    if settings.redis_url:
        return RedisBroker(
            connection_pool=redis_pool(settings.redis_url),
            namespace=settings.redis_namespace,
            heartbeat_timeout=HEARTBEAT_TIMEOUT_MS,
            maintenance_chance=MAINTENANCE_CHANCE,
            dead_message_ttl=DEAD_MESSAGE_TTL_MS,
        )
    return StubBroker()


class WarmUp(dramatiq.Middleware):
    """When a worker starts, load what a stage would otherwise load during its first step: the settings and rules,
    the ZIP table and the street-address model (about a second, once per process)."""

    def after_worker_boot(self, broker: dramatiq.Broker, worker: dramatiq.Worker) -> None:
        ctx = context()
        for warehouse in ctx.rules.warehouses:
            check_address(warehouse.address)


logs.install()  # each `fulfil worker` process imports this module first
heap.tune()
broker = _make_broker()
broker.add_middleware(WarmUp())
dramatiq.set_broker(broker)


def dispatch(messages: list[Next]) -> None:
    """Send each next step to the actor for its stage."""
    for message in messages:
        ACTORS[message.stage].send(message.target)


def _chunk_actor(stage: str) -> dramatiq.Actor:
    def run(chunk_id: int) -> None:
        dispatch(batches.run_chunk_stage(context(), chunk_id, stage))

    run.__name__ = run.__qualname__ = f"{stage}_chunk"
    run.__doc__ = f"Run the {stage} stage over one chunk of a batch."
    return dramatiq.actor(
        run,
        actor_name=f"{stage}_chunk",
        queue_name=stage if stage == SERIAL_STAGE else "default",
        priority=0 if stage == SERIAL_STAGE else 10,
        on_retry_exhausted="stage_gave_up",
        **RETRY_OPTIONS,
    )


def _batch_actor(stage: str, name: str) -> dramatiq.Actor:
    def run(batch_id: str) -> None:
        dispatch(batches.run_batch_stage(context(), batch_id, stage))

    run.__name__ = run.__qualname__ = name
    run.__doc__ = f"Run the {stage} step of a whole batch."
    return dramatiq.actor(run, actor_name=name, on_retry_exhausted="stage_gave_up", **RETRY_OPTIONS)


ACTORS: dict[str, dramatiq.Actor] = {stage: _chunk_actor(stage) for stage in CHUNK_STAGES}
ACTORS["documenting"] = _batch_actor("documenting", "documents_batch")
ACTORS["pushing"] = _batch_actor("pushing", "push_batch")


class PushDeferred(Exception):
    """A push failed transiently; dramatiq delivers the message again after its backoff."""


@dramatiq.actor(
    max_retries=push.MAX_ATTEMPTS + 4, min_backoff=500, max_backoff=push.MAX_BACKOFF_S * 1000, time_limit=5 * 60 * 1000
)
def push_outbox(outbox_id: int) -> None:
    """Make one attempt at pushing one outbox row through its sales channel (TikTok API or a shop's webhook)."""
    if push.push_one(context(), outbox_id) == "retry":
        raise PushDeferred(f"outbox {outbox_id}: transient error, trying again")


ACTORS[batches.PUSH_STEP] = push_outbox
STAGE_OF_ACTOR = {actor.actor_name: stage for stage, actor in ACTORS.items()}


@dramatiq.actor(max_retries=10, min_backoff=1000, max_backoff=60_000)
def stage_gave_up(message: dict, details: dict) -> None:
    """A stage's message ran out of retries: end its orders or batch with the error, so nothing hangs."""
    stage = STAGE_OF_ACTOR[message["actor_name"]]
    target = message["args"][0]
    error = (message.get("options", {}).get("traceback") or "unknown error").strip().splitlines()[-1]
    ctx = context()
    if stage in CHUNK_STAGES:
        dispatch(batches.give_up_chunk(ctx, int(target), stage, error))
    else:
        batches.fail_batch(ctx, str(target), stage, error)

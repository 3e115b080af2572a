"""The broker and the messages that chain a batch's steps: each names the actor that runs the step, its queue, and
carries one id.

The broker is chosen at import from FULFILMENT_REDIS_URL: Redis for `fulfil worker` processes, or an in-process
stub broker for the embedded default. Sending a step needs only its route (:data:`ROUTES`), so a process that
starts or watches batches imports this module alone; the actors that run the steps are declared on the same broker
by `fulfilment.worker`, which `fulfil worker` and the embedded runner import.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import dramatiq
import redis
from dramatiq.brokers.redis import RedisBroker
from dramatiq.brokers.stub import StubBroker
from redis.backoff import ExponentialBackoff
from redis.retry import Retry

from fulfilment.batches import PUSH_STEP, Next
from fulfilment.config import load_settings
from fulfilment.pipeline import CHUNK_STAGES
from fulfilment.store.outbox import MAX_ATTEMPTS, MAX_BACKOFF_S

# The Redis broker's recovery settings and the steps' retries, all here (the README's "Crashes and lost messages"
# explains them).
HEARTBEAT_TIMEOUT_MS = 15_000
"""A worker silent this long counts as dead and its unacked messages may be requeued (dramatiq's default: 60 s)."""

MAINTENANCE_CHANCE = 10_000
"""Per million Redis commands, how often a worker runs the dead-worker requeue (default 1,000: too rare)."""

DEAD_MESSAGE_TTL_MS = 7 * 24 * 3600 * 1000
"""How long dead-lettered messages stay in Redis for a person to look at (dramatiq's default, a week)."""

REDIS_RETRIES = 8
"""Attempts at each Redis command across a connection error, backing off 0.1 s doubling to 2 s: about 9 s in all,
so a worker rides out a brief Redis restart instead of failing the step it just finished."""

SERIAL_STAGE = "allocate"
"""The chunk stage that runs one chunk at a time per batch (in ship-by order). Its steps have a queue of their own,
so a worker fetches each at once instead of behind every chunk's other steps, and dramatiq's highest priority (0;
the other chunk stages have 10), so it is the next step a free thread runs: each hand-off along the chain costs one
step's wait, not a whole queue's."""

GAVE_UP = "stage_gave_up"
"""The actor a chunk or batch step's message goes to once its retries are used up (it ends the orders or batch)."""

STEP_OPTIONS: dict[str, Any] = {
    "max_retries": 5,
    "min_backoff": 500,
    "max_backoff": 30_000,
    "time_limit": 15 * 60 * 1000,
    "on_retry_exhausted": GAVE_UP,
}
"""Retries of a chunk or batch step (milliseconds): 5, backing off 0.5-30 s; then :data:`GAVE_UP`."""

PUSH_OPTIONS: dict[str, Any] = {
    "max_retries": MAX_ATTEMPTS + 4,
    "min_backoff": 500,
    "max_backoff": MAX_BACKOFF_S * 1000,
    "time_limit": 5 * 60 * 1000,
}
"""Retries of one API push: past the attempts after which the outbox parks it, each at most MAX_BACKOFF_S apart."""


@dataclass(frozen=True, slots=True)
class Route:
    """Where a step's message goes and how it is handled: the actor that runs it, its queue, the priority a worker
    thread gives it among the messages it holds (0 first), and the actor's retry options."""

    actor_name: str
    queue_name: str
    priority: int
    options: dict[str, Any]


ROUTES: dict[str, Route] = {
    **{
        stage: Route(f"{stage}_chunk", *((SERIAL_STAGE, 0) if stage == SERIAL_STAGE else ("default", 10)), STEP_OPTIONS)
        for stage in CHUNK_STAGES
    },
    "documenting": Route("documents_batch", "default", 0, STEP_OPTIONS),
    "pushing": Route("push_batch", "default", 0, STEP_OPTIONS),
    PUSH_STEP: Route("push_outbox", "default", 0, PUSH_OPTIONS),
}
"""The route of every step, by the stage its :class:`Next` names (a chunk stage, a batch stage, or one API push)."""


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
    """The broker the settings ask for, with every step's queue declared (so a step can be sent, and its queue's
    depth read, before any actor is)."""
    settings = load_settings()
    broker: dramatiq.Broker = StubBroker()
    if settings.redis_url:
        broker = RedisBroker(
            connection_pool=redis_pool(settings.redis_url),
            namespace=settings.redis_namespace,
            heartbeat_timeout=HEARTBEAT_TIMEOUT_MS,
            maintenance_chance=MAINTENANCE_CHANCE,
            dead_message_ttl=DEAD_MESSAGE_TTL_MS,
        )
    for queue in sorted({route.queue_name for route in ROUTES.values()}):
        broker.declare_queue(queue)
    return broker


broker = _make_broker()
dramatiq.set_broker(broker)


def send(step: Next) -> None:
    """Send one step to the actor that runs it (a worker process, or the embedded runner's own worker)."""
    route = ROUTES[step.stage]
    broker.enqueue(
        dramatiq.Message(
            queue_name=route.queue_name, actor_name=route.actor_name, args=(step.target,), kwargs={}, options={}
        )
    )


def dispatch(steps: list[Next]) -> None:
    """Send each next step."""
    for step in steps:
        send(step)

"""The dramatiq actors that run a batch's steps (one per step, ids only), and the warm-up of a worker process.

`fulfil worker` runs `dramatiq fulfilment.worker`; the embedded runner imports this module before it starts its
in-process worker. Each actor is declared on the broker of `fulfilment.messages` under its step's route, so a
message sent by any process reaches it; the broker is chosen at import from the environment, so import this module
only after the environment is set.
"""

from __future__ import annotations

from collections.abc import Callable

import dramatiq

from fulfilment import heap, logs, steps
from fulfilment.batches import PUSH_STEP
from fulfilment.domain.address import check_address
from fulfilment.messages import GAVE_UP, ROUTES, broker, dispatch
from fulfilment.pipeline import CHUNK_STAGES, context
from fulfilment.stages import push


class WarmUp(dramatiq.Middleware):
    """When a worker starts, load what a stage would otherwise load during its first step: the settings and rules,
    the ZIP table and the street-address model (about a second, once per process)."""

    def after_worker_boot(self, broker: dramatiq.Broker, worker: dramatiq.Worker) -> None:
        ctx = context()
        for warehouse in ctx.rules.warehouses:
            check_address(warehouse.address)


logs.install()  # each `fulfil worker` process imports this module first
heap.tune()
broker.add_middleware(WarmUp())


def _actor(stage: str, run: Callable[..., None], doc: str) -> dramatiq.Actor:
    """Declare the actor of `stage`'s route, running `run`."""
    route = ROUTES[stage]
    run.__name__ = run.__qualname__ = route.actor_name
    run.__doc__ = doc
    return dramatiq.actor(
        run,
        actor_name=route.actor_name,
        queue_name=route.queue_name,
        priority=route.priority,
        broker=broker,
        **route.options,
    )


def _chunk_actor(stage: str) -> dramatiq.Actor:
    def run(chunk_id: int) -> None:
        dispatch(steps.run_chunk_stage(context(), chunk_id, stage))

    return _actor(stage, run, f"Run the {stage} stage over one chunk of a batch.")


def _batch_actor(stage: str) -> dramatiq.Actor:
    def run(batch_id: str) -> None:
        dispatch(steps.run_batch_stage(context(), batch_id, stage))

    return _actor(stage, run, f"Run the {stage} step of a whole batch.")


class PushDeferred(Exception):
    """A push failed transiently; dramatiq delivers the message again after its backoff."""


def _push(outbox_id: int) -> None:
    if push.push_one(context(), outbox_id) == "retry":
        raise PushDeferred(f"outbox {outbox_id}: transient error, trying again")


ACTORS: dict[str, dramatiq.Actor] = {stage: _chunk_actor(stage) for stage in CHUNK_STAGES}
ACTORS["documenting"] = _batch_actor("documenting")
ACTORS["pushing"] = _batch_actor("pushing")
ACTORS[PUSH_STEP] = _actor(
    PUSH_STEP,
    _push,
    "Make one attempt at pushing one outbox row through its sales channel (TikTok API or a shop's webhook).",
)
STAGE_OF_ACTOR = {actor.actor_name: stage for stage, actor in ACTORS.items()}


@dramatiq.actor(actor_name=GAVE_UP, broker=broker, max_retries=10, min_backoff=1000, max_backoff=60_000)
def stage_gave_up(message: dict, details: dict) -> None:
    """A stage's message ran out of retries: end its orders or batch with the error, so nothing hangs."""
    stage = STAGE_OF_ACTOR[message["actor_name"]]
    target = message["args"][0]
    error = (message.get("options", {}).get("traceback") or "unknown error").strip().splitlines()[-1]
    ctx = context()
    if stage in CHUNK_STAGES:
        dispatch(steps.give_up_chunk(ctx, int(target), stage, error))
    else:
        steps.fail_batch(ctx, str(target), stage, error)

"""`fulfil label reprint ORDER|BATCH` (print again from stored labels; nothing is bought) and `fulfil label void
ORDER` (take back a label bought or drawn for a parcel that has not left)."""

import json
from typing import Annotated

import typer


def void(
    order: Annotated[str, typer.Argument(help="the labelled order whose label to void")],
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Refund the order's label (Shippo) or drop it (local), put its units back and the order back to
    allocated for the next batch run; orders combined into the same parcel go with it."""
    from fulfilment.cli import _context, fail, out
    from fulfilment.stages.void import VoidRefused, void_order

    try:
        outcome = void_order(_context(), order, actor="cli")
    except VoidRefused as exc:
        raise fail(str(exc)) from None
    result = {
        "shipments": outcome.voided.shipments,
        "allocated": outcome.reallocated,
        "refunds_pending": outcome.refunds_pending,
        "tell_channel": [{"order": o, "tracking": t, "channel": c} for o, t, c in outcome.voided.pushed],
    }
    if as_json:
        print(json.dumps(result))
        return
    n = len(outcome.voided.shipments)
    out.print(
        f"{n} label{'s' if n != 1 else ''} voided; back to allocated: {', '.join(outcome.reallocated)}", highlight=False
    )
    if outcome.refunds_pending:
        out.print(f"{outcome.refunds_pending} refund(s) still due: tried again before the next batch's documents")
    for o, t, c in outcome.voided.pushed:
        out.print(f"tracking {t} of {o} was already sent to {c}: tell the channel by hand", highlight=False)


def register(app: typer.Typer) -> None:
    """Add the `label` command group."""
    from fulfilment.cli import ReverseOption, SeparatorsOption, SlipsOption, _context, document_overrides, fail, out

    label_app = typer.Typer(help="Labels already made: print them again, or void them.", no_args_is_help=True)
    app.add_typer(label_app, name="label")
    label_app.command("void")(void)

    @label_app.command("reprint")
    def reprint_command(
        target: Annotated[str, typer.Argument(help="A batch id (all its documents) or an order id (its labels).")],
        reverse: ReverseOption = None,
        separators: SeparatorsOption = None,
        packing_slips: SlipsOption = None,
        as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
    ) -> None:
        """Rebuild a batch's labels file, pick list and packing slips (with the options it was started with, or
        those given here), or write one order's label(s) to reprint-ORDER.pdf|zpl in its batch folder; from the
        stored labels, never buying one."""
        from fulfilment.reprint import ReprintError, reprint

        chosen = document_overrides(reverse=reverse, separators=separators, packing_slips=packing_slips)
        try:
            result = reprint(_context(), target, chosen)
        except ReprintError as exc:
            raise fail(str(exc)) from None
        except ValueError as exc:
            raise fail(f"{target}: {exc}") from None
        if as_json:
            print(json.dumps(result))
        elif "batch_id" in result:
            for key, path in result["outputs"].items():
                out.print(f"  {key:18} {path}", highlight=False)
        else:
            plural = "s" if result["labels"] != 1 else ""
            out.print(f"{result['labels']} label{plural} of order {target}: {result['path']}", highlight=False)

"""`fulfil label reprint ORDER|BATCH`: print again from stored labels; nothing is bought."""

import json
from typing import Annotated

import typer


def register(app: typer.Typer) -> None:
    """Add the `label` command group."""
    from fulfilment.cli import ReverseOption, SeparatorsOption, SlipsOption, _context, document_overrides, fail, out

    label_app = typer.Typer(help="Labels already made: print them again.", no_args_is_help=True)
    app.add_typer(label_app, name="label")

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

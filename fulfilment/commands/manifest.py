"""`fulfil manifest create --warehouse W --date D`: the end-of-day manifest per carrier."""

import json
from datetime import date, datetime
from typing import Annotated

import typer


def register(app: typer.Typer) -> None:
    """Add the `manifest` command group."""
    from fulfilment.cli import _context, fail, out

    manifest_app = typer.Typer(help="End-of-day manifests for the carriers' pick-up.", no_args_is_help=True)
    app.add_typer(manifest_app, name="manifest")

    @manifest_app.command("create")
    def create(
        warehouse: Annotated[str, typer.Option(help="The warehouse code (rules/warehouses.yaml).")],
        day: Annotated[
            str | None, typer.Option("--date", help="The shop day, YYYY-MM-DD (default: today in shop time).")
        ] = None,
        as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
    ) -> None:
        """List the parcels the warehouse labelled that day (voided ones left out) per carrier with totals, in
        manifests/WAREHOUSE-DATE.pdf under the output folder."""
        from fulfilment.labels.manifest_pdf import carrier_total
        from fulfilment.manifests import ManifestError, create_manifests

        ctx = _context()
        try:
            on = date.fromisoformat(day) if day else datetime.now(ctx.settings.shop_timezone).date()
        except ValueError:
            raise fail(f"--date {day!r} is not a date (YYYY-MM-DD)") from None
        try:
            path, manifests = create_manifests(ctx, warehouse, on)
        except ManifestError as exc:
            raise fail(str(exc)) from None
        if as_json:
            carriers = [
                {
                    "carrier": m.carrier,
                    "parcels": len(m.parcels),
                    "weight_oz": round(sum(p.weight_oz for p in m.parcels), 1),
                    "tracking_numbers": [p.tracking_number for p in m.parcels],
                    "reference": m.reference,
                    "documents": list(m.documents),
                }
                for m in manifests
            ]
            print(json.dumps({"warehouse": warehouse, "date": on.isoformat(), "path": str(path), "carriers": carriers}))
            return
        for m in manifests:
            out.print(f"  {m.carrier:8} {carrier_total(m)}", highlight=False)
        out.print(f"manifest: {path}" if manifests else f"no parcels that day; manifest: {path}", highlight=False)

"""The rules page: the warehouses, carriers and routing rules in use, and whether the files on disk are valid."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from fulfilment.rules import load_rules
from fulfilment.web.auth import Packer, context_of
from fulfilment.web.views import render
from fulfilment.yamlfile import ConfigInvalid

router = APIRouter()


@router.get("/rules")
def rules_page(request: Request, staff: Packer) -> Response:
    ctx = context_of(request)
    try:
        load_rules(ctx.settings.rules_dir)
        errors: list[str] = []
    except ConfigInvalid as exc:
        errors = [str(e) for e in exc.errors]
    return render(request, "rules.html", staff, rules=ctx.rules, rules_dir=ctx.settings.rules_dir, errors=errors)

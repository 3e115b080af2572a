"""Checking recorded requests against Shippo's OpenAPI spec (vendored here: ``shippo-public-api.yaml``)."""

from __future__ import annotations

from functools import cache
from pathlib import Path

import requests
from openapi_core import OpenAPI
from openapi_core.contrib.requests import RequestsOpenAPIRequest

from tests.standins.shippo import Recorded

SPEC = Path(__file__).with_name("shippo-public-api.yaml")
SERVER = "https://api.goshippo.com"


@cache
def shippo_spec() -> OpenAPI:
    """The vendored spec, loaded once per test run (about two seconds)."""
    return OpenAPI.from_file_path(str(SPEC))


def spec_problems(recorded: list[Recorded]) -> list[str]:
    """One line per request that does not validate: method, path and the validator's reason."""
    spec = shippo_spec()
    problems = []
    for r in recorded:
        prepared = requests.Request(r.method, SERVER + r.url, headers=r.headers, data=r.body or None).prepare()
        try:
            spec.validate_request(RequestsOpenAPIRequest(prepared))
        except Exception as exc:  # noqa: BLE001 - every validation error is reported the same way
            causes = getattr(exc, "__cause__", None)
            detail = f"{exc}" + (f" ({causes})" if causes else "")
            problems.append(f"{r.method} {r.url}: {detail}"[:600])
    return problems

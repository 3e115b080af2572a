"""Rendering pages: the Jinja2 templates with what every page needs (who is signed in, the CSRF token)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from fulfilment.store.users import Staff

HERE = Path(__file__).parent
templates = Jinja2Templates(directory=str(HERE / "templates"))


def render(request: Request, name: str, staff: Staff | None, status_code: int = 200, **values: Any) -> HTMLResponse:
    """Render a template with `staff` and `csrf_token` set (autoescaped, as every template is)."""
    values.update(staff=staff, csrf_token=staff.csrf_token if staff else "")
    return templates.TemplateResponse(request, name, values, status_code=status_code)

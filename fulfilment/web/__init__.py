"""The staff console: server-rendered pages over the same database and batch functions as the CLI."""

from fulfilment.web.app import create_app

__all__ = ["create_app"]

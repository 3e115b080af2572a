"""`python -m fulfilment` is the `fulfil` command."""

from fulfilment.cli import app

app()

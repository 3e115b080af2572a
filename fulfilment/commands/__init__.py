"""Command groups of the `fulfil` CLI, one module per area; each module defines `register(app)`.

Modules here are found and registered by :func:`fulfilment.cli.register_commands`, so adding an area of
commands needs no edit to cli.py.
"""

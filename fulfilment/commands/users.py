"""`fulfil users`: staff accounts of the console and API tokens for scripts."""

from __future__ import annotations

import sys
from typing import Annotated

import typer
from rich.table import Table

from fulfilment.store.users import ROLES, UserError, add_user, issue_token, list_users


def _read_password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    return typer.prompt("Password", hide_input=True, confirmation_prompt=True)


def register(app: typer.Typer) -> None:
    """Add the `users` command group."""
    from fulfilment.cli import _context, fail, out

    users_app = typer.Typer(help="Staff accounts of the console and API tokens.", no_args_is_help=True)
    app.add_typer(users_app, name="users")

    @users_app.command("add")
    def add(
        name: Annotated[str, typer.Argument(help="The name to sign in with.")],
        role: Annotated[str, typer.Option(help=f"One of: {', '.join(ROLES)}.")],
        password_stdin: Annotated[
            bool, typer.Option("--password-stdin", help="Read the password from the first line of stdin.")
        ] = False,
    ) -> None:
        """Add a staff account (the password is asked for, never shown, and stored only as an argon2 hash)."""
        if role not in ROLES:
            raise fail(f"--role {role!r} is not one of: {', '.join(ROLES)}")
        ctx = _context()
        password = _read_password(password_stdin)
        try:
            with ctx.session() as session:
                add_user(session, name, role, password)
        except UserError as exc:
            raise fail(str(exc)) from None
        out.print(f"added {name} ({role})", highlight=False)

    @users_app.command("token")
    def token(name: Annotated[str, typer.Argument(help="The user the token acts as.")]) -> None:
        """Print a new API token for the user, once (send it as `Authorization: Bearer TOKEN`)."""
        ctx = _context()
        try:
            with ctx.session() as session:
                value = issue_token(session, name)
        except UserError as exc:
            raise fail(str(exc)) from None
        print(value)

    @users_app.command("list")
    def list_() -> None:
        """List the staff accounts and their roles."""
        with _context().session() as session:
            users = list_users(session)
        table = Table("name", "role", "active", "since")
        for user in users:
            table.add_row(user.name, user.role, "yes" if user.active else "no", f"{user.created_at:%Y-%m-%d}")
        out.print(table)

"""`tallyclerk user ...` and `tallyclerk token ...`: who may use the service, and how."""

from __future__ import annotations

import os
import sys
from datetime import UTC, datetime, timedelta
from typing import Annotated

import typer
from rich.table import Table

from tallyclerk.access import (
    MIN_PASSWORD_LENGTH,
    ROLE_HELP,
    ROLES,
    add_user,
    create_token,
    disable_user,
    list_tokens,
    list_users,
    revoke_token,
    set_password,
)
from tallyclerk.cli._common import console, store_session, user_errors
from tallyclerk.errors import InputError

user_app = typer.Typer(
    help="Users of the service: brand admins and analysts, and each 3PL's provider users.",
    no_args_is_help=True,
)
token_app = typer.Typer(
    help="API tokens: create one per user or program, list them, revoke them.",
    no_args_is_help=True,
)

_PASSWORD_ENV = "TALLYCLERK_PASSWORD"


def _password(ask: bool, stdin: bool) -> str | None:
    if stdin:
        text = sys.stdin.readline().rstrip("\n")
        if not text:
            raise InputError("--password-stdin: nothing on standard input")
        return text
    from_env = os.environ.get(_PASSWORD_ENV)
    if from_env:
        return from_env
    if not ask:
        return None
    value: str = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    return value


def _when(value: datetime | None) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M") if value else ""


@user_app.command("add")
def user_add(
    user_id: Annotated[str, typer.Argument(help="Login name, e.g. an e-mail address.")],
    role: Annotated[
        str,
        typer.Option(
            "--role",
            "-r",
            help="; ".join(f"{r}: {h}" for r, h in ROLE_HELP.items()),
        ),
    ],
    provider: Annotated[
        str | None,
        typer.Option("--provider", "-p", help="The 3PL a provider user belongs to."),
    ] = None,
    name: Annotated[str | None, typer.Option("--name", help="Display name.")] = None,
    no_password: Annotated[
        bool,
        typer.Option(
            "--no-password", help="A user for programs: API tokens only, no dashboard login."
        ),
    ] = False,
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the password from standard input.")
    ] = False,
) -> None:
    """Add a user. The password is asked for (or read from TALLYCLERK_PASSWORD or stdin).

    Examples:

      tallyclerk user add ops@brand.example --role admin

      tallyclerk user add analyst@brand.example --role analyst

      tallyclerk user add sam@eastbridge.example --role provider --provider eastbridge

      tallyclerk user add erp-bot --role analyst --no-password
    """
    with user_errors():
        if role not in ROLES:
            raise InputError(f"--role must be one of {', '.join(ROLES)}")
        password = _password(True, password_stdin) if not no_password else None
    with store_session() as store, store.begin() as connection:
        user = add_user(
            connection,
            user_id,
            role,
            provider_id=provider,
            password=password,
            display_name=name,
        )
    where = f" of {user.provider_id}" if user.provider_id else ""
    login = "dashboard login and API tokens" if user.has_password else "API tokens only"
    console.print(f"Added {user.role} user [bold]{user.user_id}[/]{where} ({login}).")
    console.print(f"Create an API token with: tallyclerk token create {user.user_id}")


@user_app.command("list")
def user_list() -> None:
    """List the users, their roles and providers.

    Example:

      tallyclerk user list
    """
    with store_session() as store, store.connect() as connection:
        users = list_users(connection)
    table = Table(title="Users", title_justify="left")
    table.add_column("user", no_wrap=True)
    for column in ("role", "provider", "name", "password", "created", "disabled"):
        table.add_column(column)
    for u in users:
        table.add_row(
            u.user_id,
            u.role,
            u.provider_id or "",
            u.display_name or "",
            "yes" if u.has_password else "no",
            _when(u.created_at),
            _when(u.disabled_at),
        )
    console.print(table if users else "No users yet: tallyclerk user add NAME --role admin")


@user_app.command("password")
def user_password(
    user_id: Annotated[str, typer.Argument(help="The user.")],
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the password from standard input.")
    ] = False,
) -> None:
    """Set a user's password; its dashboard sessions end.

    Example:

      tallyclerk user password ops@brand.example
    """
    with user_errors():
        password = _password(True, password_stdin)
    assert password is not None
    with store_session() as store, store.begin() as connection:
        set_password(connection, user_id, password)
    console.print(f"Password of {user_id} changed (at least {MIN_PASSWORD_LENGTH} characters).")


@user_app.command("disable")
def user_disable(user_id: Annotated[str, typer.Argument(help="The user.")]) -> None:
    """Disable a user: its tokens and sessions stop working at once.

    Example:

      tallyclerk user disable sam@eastbridge.example
    """
    with store_session() as store, store.begin() as connection:
        disable_user(connection, user_id)
    console.print(f"Disabled {user_id}.")


@token_app.command("create")
def token_create(
    user_id: Annotated[str, typer.Argument(help="The user the token acts as.")],
    name: Annotated[
        str | None, typer.Option("--name", help="What the token is for, e.g. 'erp sync'.")
    ] = None,
    days: Annotated[
        int | None, typer.Option("--days", min=1, help="Expire after this many days.")
    ] = None,
) -> None:
    """Create an API token for a user; the secret is printed once and never stored.

    Send it as `Authorization: Bearer <token>`.

    Examples:

      tallyclerk token create ops@brand.example --name laptop

      tallyclerk token create erp-bot --name "erp sync" --days 90
    """
    expires = datetime.now(UTC) + timedelta(days=days) if days else None
    with store_session() as store, store.begin() as connection:
        token, secret = create_token(connection, user_id, name=name, expires_at=expires)
    console.print(f"Token {token.token_id} for {user_id}" + (f" ({name})" if name else ""))
    if expires:
        console.print(f"expires {_when(expires)} UTC")
    console.print("Keep it now; it is not shown again:")
    # Plain print: the secret must be copyable, without wrapping or markup.
    print(secret)


@token_app.command("list")
def token_list(
    user_id: Annotated[str | None, typer.Option("--user", help="Only this user's tokens.")] = None,
) -> None:
    """List API tokens (never their secrets).

    Examples:

      tallyclerk token list

      tallyclerk token list --user erp-bot
    """
    with store_session() as store, store.connect() as connection:
        tokens = list_tokens(connection, user_id)
    table = Table(title="API tokens", title_justify="left")
    table.add_column("token", no_wrap=True)
    for column in ("user", "name", "created", "expires", "last used", "revoked"):
        table.add_column(column)
    for t in tokens:
        table.add_row(
            t.token_id,
            t.user_id,
            t.name or "",
            _when(t.created_at),
            _when(t.expires_at),
            _when(t.last_used_at),
            _when(t.revoked_at),
        )
    console.print(table if tokens else "No tokens.")


@token_app.command("revoke")
def token_revoke(
    token_id: Annotated[str, typer.Argument(help="The token id (from list).")],
) -> None:
    """Revoke a token: it stops working at once.

    Example:

      tallyclerk token revoke 3f9a1c2b7d4e
    """
    with store_session() as store, store.begin() as connection:
        revoke_token(connection, token_id)
    console.print(f"Revoked token {token_id}.")

"""`tallyclerk user` and `tallyclerk token` end to end."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from tallyclerk.access import check_token
from tallyclerk.cli import app
from tallyclerk.store import open_store

runner = CliRunner()


@pytest.fixture
def db(tmp_path: Path) -> str:
    return f"duckdb:///{tmp_path / 'users.duckdb'}"


def test_users_and_tokens_from_the_command_line(db: str) -> None:
    added = runner.invoke(
        app,
        ["--db", db, "user", "add", "ops@brand.example", "--role", "admin", "--password-stdin"],
        input="a long password\n",
    )
    assert added.exit_code == 0, added.output
    assert "Added admin user ops@brand.example" in added.output
    bot = runner.invoke(
        app, ["--db", db, "user", "add", "erp-bot", "--role", "analyst", "--no-password"]
    )
    assert bot.exit_code == 0, bot.output
    created = runner.invoke(app, ["--db", db, "token", "create", "erp-bot", "--name", "erp"])
    assert created.exit_code == 0, created.output
    secret = created.output.strip().splitlines()[-1]
    assert secret.startswith("tc_")
    store = open_store(url=db)
    with store.begin() as connection:
        who = check_token(connection, secret)
    store.close()
    assert who is not None
    assert who.user_id == "erp-bot"
    assert who.role == "analyst"
    listed = runner.invoke(app, ["--db", db, "token", "list"])
    assert "erp-bot" in listed.output
    assert secret.split("_")[2] not in listed.output
    token_id = secret.split("_")[1]
    assert runner.invoke(app, ["--db", db, "token", "revoke", token_id]).exit_code == 0
    store = open_store(url=db)
    with store.begin() as connection:
        assert check_token(connection, secret) is None
    store.close()
    users = runner.invoke(app, ["--db", db, "user", "list"])
    assert "ops@brand.example" in users.output
    assert "analyst" in users.output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["user", "add", "x", "--role", "boss", "--no-password"], "--role must be one of"),
        (
            ["user", "add", "x", "--role", "provider", "--provider", "ghost", "--no-password"],
            "no provider 'ghost'",
        ),
        (["token", "create", "nobody"], "no user 'nobody'"),
        (["token", "revoke", "nope"], "no token 'nope'"),
        (["user", "disable", "nobody"], "no user 'nobody'"),
    ],
)
def test_mistakes_get_one_plain_line(db: str, args: list[str], message: str) -> None:
    result = runner.invoke(app, ["--db", db, *args])
    assert result.exit_code == 2
    assert message in result.output.replace("\n", " ")
    assert "Traceback" not in result.output

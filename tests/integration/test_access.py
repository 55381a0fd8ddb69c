"""Users, tokens and sessions in the store, on DuckDB and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from tallyclerk.access import (
    add_user,
    check_password,
    check_token,
    create_token,
    disable_user,
    end_session,
    list_tokens,
    list_users,
    load_session,
    purge_sessions,
    revoke_token,
    set_password,
    start_session,
)
from tallyclerk.errors import InputError
from tallyclerk.store import Store
from tallyclerk.store.schema import api_tokens, providers, users, web_sessions

T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


@pytest.fixture
def with_provider(store: Store) -> Store:
    with store.begin() as connection:
        connection.execute(sa.insert(providers).values(provider_id="eastbridge", name="East"))
    return store


def test_users_are_added_with_roles_and_checked_by_password(with_provider: Store) -> None:
    with with_provider.begin() as connection:
        add_user(connection, "ada", "admin", password="correct horse")
        add_user(connection, "sam", "provider", provider_id="eastbridge", password="battery st")
        add_user(connection, "bot", "analyst")
        stored = connection.execute(sa.select(users.c.password_hash)).scalars().all()
        assert not any(h and ("correct horse" in h or "battery st" in h) for h in stored)
        assert [u.user_id for u in list_users(connection)] == ["ada", "bot", "sam"]
        ada = check_password(connection, "ada", "correct horse")
        assert ada is not None
        assert ada.role == "admin"
        assert ada.provider_id is None
        sam = check_password(connection, "sam", "battery st")
        assert sam is not None
        assert sam.provider_id == "eastbridge"
        assert check_password(connection, "ada", "wrong horse") is None
        assert check_password(connection, "nobody", "correct horse") is None
        assert check_password(connection, "bot", "") is None  # token-only user


@pytest.mark.parametrize(
    ("user_id", "role", "provider", "message"),
    [
        ("x", "boss", None, "role"),
        ("x", "provider", None, "needs --provider"),
        ("x", "provider", "ghost", "no provider 'ghost'"),
        ("x", "admin", "eastbridge", "takes no provider"),
        ("bad name", "admin", None, "user name"),
    ],
)
def test_bad_users_are_refused_plainly(
    with_provider: Store, user_id: str, role: str, provider: str | None, message: str
) -> None:
    with with_provider.begin() as connection, pytest.raises(InputError, match=message):
        add_user(connection, user_id, role, provider_id=provider)


def test_short_passwords_and_duplicates_are_refused(with_provider: Store) -> None:
    with with_provider.begin() as connection:
        with pytest.raises(InputError, match="at least 8"):
            add_user(connection, "ada", "admin", password="short")
        add_user(connection, "ada", "admin", password="long enough")
        with pytest.raises(InputError, match="exists"):
            add_user(connection, "ada", "analyst")


def test_tokens_are_hashed_expire_and_can_be_revoked(with_provider: Store) -> None:
    with with_provider.begin() as connection:
        add_user(connection, "sam", "provider", provider_id="eastbridge")
        token, secret = create_token(
            connection, "sam", name="erp", expires_at=T0 + timedelta(days=1), now=T0
        )
        assert secret.startswith(f"tc_{token.token_id}_")
        stored = connection.execute(sa.select(api_tokens.c.token_hash)).scalar_one()
        assert secret.split("_", 2)[2] not in stored
        who = check_token(connection, secret, now=T0 + timedelta(hours=1))
        assert who is not None
        assert who.user_id == "sam"
        assert who.provider_id == "eastbridge"
        assert list_tokens(connection, "sam")[0].last_used_at is not None
        assert check_token(connection, secret, now=T0 + timedelta(days=2)) is None  # expired
        assert check_token(connection, secret[:-1] + "x", now=T0) is None  # tampered
        assert check_token(connection, "tc_nope_nope", now=T0) is None
        assert check_token(connection, "Bearer whatever", now=T0) is None
        revoke_token(connection, token.token_id, now=T0)
        assert check_token(connection, secret, now=T0) is None
        with pytest.raises(InputError):
            revoke_token(connection, "missing")


def test_disabling_a_user_stops_its_tokens_and_sessions(with_provider: Store) -> None:
    with with_provider.begin() as connection:
        ada = add_user(connection, "ada", "admin", password="long enough")
        _, secret = create_token(connection, "ada")
        session_id, _ = start_session(connection, ada.principal)
        disable_user(connection, "ada")
        assert check_token(connection, secret) is None
        assert load_session(connection, session_id) is None
        assert check_password(connection, "ada", "long enough") is None
        with pytest.raises(InputError, match="disabled"):
            create_token(connection, "ada")


def test_sessions_are_stored_hashed_expire_and_end(with_provider: Store) -> None:
    with with_provider.begin() as connection:
        ada = add_user(connection, "ada", "admin", password="long enough")
        first, session = start_session(connection, ada.principal, hours=1, now=T0)
        second, _ = start_session(connection, ada.principal, hours=1, now=T0)
        assert first != second  # a new id on every login
        hashes = connection.execute(sa.select(web_sessions.c.session_hash)).scalars().all()
        assert first not in hashes
        loaded = load_session(connection, first, now=T0 + timedelta(minutes=5))
        assert loaded is not None
        assert loaded.csrf_token == session.csrf_token
        assert load_session(connection, first, now=T0 + timedelta(hours=2)) is None
        end_session(connection, second)
        assert load_session(connection, second, now=T0) is None
        assert purge_sessions(connection, now=T0 + timedelta(hours=2)) == 1
        set_password(connection, "ada", "another password")
        assert check_password(connection, "ada", "another password") is not None

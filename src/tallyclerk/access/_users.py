"""Users, API tokens and dashboard sessions, kept in the store with their secrets hashed."""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

from tallyclerk.access._principal import ROLES, Principal, Role
from tallyclerk.access._secrets import (
    MIN_PASSWORD_LENGTH,
    digest,
    hash_password,
    new_secret,
    verify_password,
)
from tallyclerk.errors import InputError
from tallyclerk.store.schema import api_tokens, providers, users, web_sessions

TOKEN_PREFIX = "tc"
SESSION_HOURS = 12
_USER_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@+-]{0,63}$")
# A dummy hash checked when the user does not exist, so a login takes as long either way.
_DUMMY_HASH = hash_password(secrets.token_urlsafe(16))


@dataclass(frozen=True, slots=True)
class User:
    """A stored user (never with its password hash)."""

    user_id: str
    role: Role
    provider_id: str | None
    display_name: str | None
    created_at: datetime
    disabled_at: datetime | None
    has_password: bool

    @property
    def principal(self) -> Principal:
        """The user as an authenticated principal."""
        return Principal(self.user_id, self.role, self.provider_id)


@dataclass(frozen=True, slots=True)
class Token:
    """A stored API token (its secret is shown once, at creation, and never kept)."""

    token_id: str
    user_id: str
    name: str | None
    created_at: datetime
    expires_at: datetime | None
    last_used_at: datetime | None
    revoked_at: datetime | None


def _now(now: datetime | None) -> datetime:
    return (now or datetime.now(UTC)).astimezone(UTC)


def _user(row: sa.Row[tuple[object, ...]]) -> User:
    m = row._mapping
    return User(
        user_id=m["user_id"],
        role=m["role"],
        provider_id=m["provider_id"],
        display_name=m["display_name"],
        created_at=m["created_at"],
        disabled_at=m["disabled_at"],
        has_password=m["password_hash"] is not None,
    )


def _token(row: sa.Row[tuple[object, ...]]) -> Token:
    m = row._mapping
    return Token(
        token_id=m["token_id"],
        user_id=m["user_id"],
        name=m["name"],
        created_at=m["created_at"],
        expires_at=m["expires_at"],
        last_used_at=m["last_used_at"],
        revoked_at=m["revoked_at"],
    )


def add_user(
    connection: sa.Connection,
    user_id: str,
    role: str,
    *,
    provider_id: str | None = None,
    password: str | None = None,
    display_name: str | None = None,
    now: datetime | None = None,
) -> User:
    """Create a user; a provider user must name a provider the store knows."""
    if not _USER_ID.match(user_id):
        raise InputError(
            f"user name {user_id!r}: use letters, digits and . _ @ + - (at most 64 characters)"
        )
    if role not in ROLES:
        raise InputError(f"role {role!r} is not one of {', '.join(ROLES)}")
    if role == "provider":
        if not provider_id:
            raise InputError("a provider user needs --provider (the 3PL it belongs to)")
        known = connection.execute(
            sa.select(providers.c.provider_id).where(providers.c.provider_id == provider_id)
        ).first()
        if known is None:
            raise InputError(
                f"no provider {provider_id!r} in the store; add its contract first "
                "(tallyclerk contract add)"
            )
    elif provider_id:
        raise InputError(f"a {role} user is a brand user and takes no provider")
    if password is not None and len(password) < MIN_PASSWORD_LENGTH:
        raise InputError(f"the password must have at least {MIN_PASSWORD_LENGTH} characters")
    if get_user(connection, user_id) is not None:
        raise InputError(f"user {user_id!r} exists already")
    created = _now(now)
    connection.execute(
        sa.insert(users).values(
            user_id=user_id,
            role=role,
            provider_id=provider_id,
            display_name=display_name,
            password_hash=hash_password(password) if password is not None else None,
            created_at=created,
            disabled_at=None,
        )
    )
    found = get_user(connection, user_id)
    assert found is not None
    return found


def get_user(connection: sa.Connection, user_id: str) -> User | None:
    """The user by login name, or None."""
    row = connection.execute(sa.select(users).where(users.c.user_id == user_id)).first()
    return _user(row) if row is not None else None


def list_users(connection: sa.Connection) -> list[User]:
    """Every user, by name."""
    rows = connection.execute(sa.select(users).order_by(users.c.user_id))
    return [_user(r) for r in rows]


def set_password(connection: sa.Connection, user_id: str, password: str) -> None:
    """Replace a user's password (and end its dashboard sessions)."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise InputError(f"the password must have at least {MIN_PASSWORD_LENGTH} characters")
    if get_user(connection, user_id) is None:
        raise InputError(f"no user {user_id!r}")
    connection.execute(
        sa.update(users)
        .where(users.c.user_id == user_id)
        .values(password_hash=hash_password(password))
    )
    connection.execute(sa.delete(web_sessions).where(web_sessions.c.user_id == user_id))


def disable_user(connection: sa.Connection, user_id: str, *, now: datetime | None = None) -> None:
    """Disable a user: its tokens and sessions stop working at once."""
    if get_user(connection, user_id) is None:
        raise InputError(f"no user {user_id!r}")
    connection.execute(
        sa.update(users).where(users.c.user_id == user_id).values(disabled_at=_now(now))
    )
    connection.execute(sa.delete(web_sessions).where(web_sessions.c.user_id == user_id))


def check_password(connection: sa.Connection, user_id: str, password: str) -> Principal | None:
    """The principal when the user exists, is enabled and the password matches."""
    row = connection.execute(sa.select(users).where(users.c.user_id == user_id)).first()
    if row is None:
        verify_password(password, _DUMMY_HASH)
        return None
    if not verify_password(password, row._mapping["password_hash"]):
        return None
    user = _user(row)
    return None if user.disabled_at is not None else user.principal


def create_token(
    connection: sa.Connection,
    user_id: str,
    *,
    name: str | None = None,
    expires_at: datetime | None = None,
    now: datetime | None = None,
) -> tuple[Token, str]:
    """A new API token for the user: returns the record and the secret, shown only now.

    The secret reads `tc_<token id>_<random>`; the store keeps the SHA-256 of the random part.
    """
    user = get_user(connection, user_id)
    if user is None:
        raise InputError(f"no user {user_id!r}; add it first (tallyclerk user add)")
    if user.disabled_at is not None:
        raise InputError(f"user {user_id!r} is disabled")
    token_id = secrets.token_hex(6)
    secret = new_secret()
    created = _now(now)
    connection.execute(
        sa.insert(api_tokens).values(
            token_id=token_id,
            user_id=user_id,
            name=name,
            token_hash=digest(secret),
            created_at=created,
            expires_at=expires_at.astimezone(UTC) if expires_at else None,
            last_used_at=None,
            revoked_at=None,
        )
    )
    token = Token(token_id, user_id, name, created, expires_at, None, None)
    return token, f"{TOKEN_PREFIX}_{token_id}_{secret}"


def list_tokens(connection: sa.Connection, user_id: str | None = None) -> list[Token]:
    """Tokens, newest first; of one user when named."""
    query = sa.select(api_tokens).order_by(api_tokens.c.created_at.desc())
    if user_id is not None:
        query = query.where(api_tokens.c.user_id == user_id)
    return [_token(r) for r in connection.execute(query)]


def revoke_token(connection: sa.Connection, token_id: str, *, now: datetime | None = None) -> None:
    """Revoke a token: it stops working at once."""
    found = connection.execute(
        sa.select(api_tokens.c.token_id).where(api_tokens.c.token_id == token_id)
    ).first()
    if found is None:
        raise InputError(f"no token {token_id!r}")
    connection.execute(
        sa.update(api_tokens)
        .where(api_tokens.c.token_id == token_id, api_tokens.c.revoked_at.is_(None))
        .values(revoked_at=_now(now))
    )


def check_token(
    connection: sa.Connection, presented: str, *, now: datetime | None = None
) -> Principal | None:
    """The principal behind a presented API token, or None when it is not valid now."""
    parts = presented.split("_", 2)
    if len(parts) != 3 or parts[0] != TOKEN_PREFIX:
        return None
    _, token_id, secret = parts
    row = connection.execute(
        sa.select(api_tokens, users.c.role, users.c.provider_id, users.c.disabled_at)
        .join(users, users.c.user_id == api_tokens.c.user_id)
        .where(api_tokens.c.token_id == token_id)
    ).first()
    if row is None:
        return None
    m = row._mapping
    if not secrets.compare_digest(m["token_hash"], digest(secret)):
        return None
    at = _now(now)
    if m["revoked_at"] is not None or m["disabled_at"] is not None:
        return None
    if m["expires_at"] is not None and m["expires_at"] <= at:
        return None
    last = m["last_used_at"]
    if last is None or at - last > timedelta(minutes=1):  # spare a write on every request
        connection.execute(
            sa.update(api_tokens).where(api_tokens.c.token_id == token_id).values(last_used_at=at)
        )
    return Principal(m["user_id"], m["role"], m["provider_id"])


@dataclass(frozen=True, slots=True)
class Session:
    """A live dashboard session."""

    principal: Principal
    csrf_token: str
    expires_at: datetime


def start_session(
    connection: sa.Connection,
    principal: Principal,
    *,
    hours: float = SESSION_HOURS,
    now: datetime | None = None,
) -> tuple[str, Session]:
    """A new session (a fresh id on every login); returns the cookie value and the session."""
    session_id = new_secret()
    csrf = new_secret()
    at = _now(now)
    expires = at + timedelta(hours=hours)
    connection.execute(
        sa.insert(web_sessions).values(
            session_hash=digest(session_id),
            user_id=principal.user_id,
            csrf_token=csrf,
            created_at=at,
            expires_at=expires,
            last_seen_at=at,
        )
    )
    return session_id, Session(principal, csrf, expires)


def load_session(
    connection: sa.Connection, session_id: str, *, now: datetime | None = None
) -> Session | None:
    """The live session behind a cookie value, or None (unknown, expired, user disabled)."""
    row = connection.execute(
        sa.select(web_sessions, users.c.role, users.c.provider_id, users.c.disabled_at)
        .join(users, users.c.user_id == web_sessions.c.user_id)
        .where(web_sessions.c.session_hash == digest(session_id))
    ).first()
    if row is None:
        return None
    m = row._mapping
    if m["disabled_at"] is not None or m["expires_at"] <= _now(now):
        return None
    return Session(
        Principal(m["user_id"], m["role"], m["provider_id"]), m["csrf_token"], m["expires_at"]
    )


def end_session(connection: sa.Connection, session_id: str) -> None:
    """Log out: the session id stops working."""
    connection.execute(
        sa.delete(web_sessions).where(web_sessions.c.session_hash == digest(session_id))
    )


def purge_sessions(connection: sa.Connection, *, now: datetime | None = None) -> int:
    """Delete expired sessions; returns how many."""
    at = _now(now)
    count = connection.execute(
        sa.select(sa.func.count()).select_from(web_sessions).where(web_sessions.c.expires_at <= at)
    ).scalar_one()
    connection.execute(sa.delete(web_sessions).where(web_sessions.c.expires_at <= at))
    return int(count)

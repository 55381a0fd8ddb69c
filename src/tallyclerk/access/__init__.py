"""Users, roles, tokens, sessions and the provider scope every query goes through.

DESIGN section 8: admin and analyst are brand users; a provider user sees only its own
provider. `Scope` is where that is decided; the API and the dashboard take every provider
filter from it.
"""

from __future__ import annotations

from tallyclerk.access._ownership import check_own_records, foreign_records
from tallyclerk.access._principal import (
    ROLE_HELP,
    ROLES,
    SYSTEM,
    AccessError,
    NotAuthenticatedError,
    NotFoundError,
    Principal,
    Role,
    Scope,
)
from tallyclerk.access._secrets import MIN_PASSWORD_LENGTH, hash_password, verify_password
from tallyclerk.access._throttle import LoginThrottle
from tallyclerk.access._users import (
    SESSION_HOURS,
    TOKEN_PREFIX,
    Session,
    Token,
    User,
    add_user,
    check_password,
    check_token,
    create_token,
    disable_user,
    end_session,
    get_user,
    list_tokens,
    list_users,
    load_session,
    purge_sessions,
    revoke_token,
    set_password,
    start_session,
)

__all__ = [
    "MIN_PASSWORD_LENGTH",
    "ROLES",
    "ROLE_HELP",
    "SESSION_HOURS",
    "SYSTEM",
    "TOKEN_PREFIX",
    "AccessError",
    "LoginThrottle",
    "NotAuthenticatedError",
    "NotFoundError",
    "Principal",
    "Role",
    "Scope",
    "Session",
    "Token",
    "User",
    "add_user",
    "check_own_records",
    "check_password",
    "check_token",
    "create_token",
    "disable_user",
    "end_session",
    "foreign_records",
    "get_user",
    "hash_password",
    "list_tokens",
    "list_users",
    "load_session",
    "purge_sessions",
    "revoke_token",
    "set_password",
    "start_session",
    "verify_password",
]

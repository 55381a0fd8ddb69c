"""Users and API tokens (admin only): list, add, disable; issue and revoke tokens."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Path, Query
from pydantic import BaseModel, ConfigDict, Field

from tallyclerk.access import (
    MIN_PASSWORD_LENGTH,
    NotFoundError,
    Token,
    User,
    add_user,
    create_token,
    disable_user,
    get_user,
    list_tokens,
    list_users,
    revoke_token,
)
from tallyclerk.api._deps import PrincipalDep, ScopeDep, StoreDep
from tallyclerk.api._models import NAME_PATTERN, ShortText, errors, page_slice
from tallyclerk.api._pagination import Page, PageParams, page_params
from tallyclerk.errors import InputError

router = APIRouter(prefix="/api/v1", tags=["users"])

UserIdPath = Annotated[str, Path(pattern=NAME_PATTERN, description="The user's login name.")]
TokenIdPath = Annotated[str, Path(pattern=r"^[0-9a-f]{1,64}$", description="The token's id.")]
Paging = Annotated[PageParams, Depends(page_params)]
LATEST_EXPIRY = datetime(3000, 1, 1, tzinfo=UTC)


class UserOut(BaseModel):
    """A user (never its password)."""

    user_id: str
    role: str
    provider_id: str | None
    display_name: str | None
    created_at: datetime
    disabled_at: datetime | None
    has_password: bool

    @classmethod
    def of(cls, user: User) -> UserOut:
        """The API form of a stored user."""
        return cls(
            user_id=user.user_id,
            role=user.role,
            provider_id=user.provider_id,
            display_name=user.display_name,
            created_at=user.created_at,
            disabled_at=user.disabled_at,
            has_password=user.has_password,
        )


class NewUser(BaseModel):
    """A user to add: a brand admin or analyst, or a provider's user (with its provider)."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "user_id": "wes",
                    "role": "provider",
                    "provider_id": "westcoast",
                    "display_name": "Wes at WestCoast",
                },
                {"user_id": "otto", "role": "analyst", "password": "a long passphrase"},
            ]
        },
    )

    user_id: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._@+-]{0,63}$")
    role: Literal["admin", "analyst", "provider"]
    provider_id: str | None = Field(default=None, pattern=NAME_PATTERN)
    password: str | None = Field(default=None, min_length=MIN_PASSWORD_LENGTH, max_length=200)
    display_name: ShortText | None = None


class TokenOut(BaseModel):
    """An API token as listed (its secret is never shown again)."""

    token_id: str
    user_id: str
    name: str | None
    created_at: datetime
    expires_at: datetime | None
    last_used_at: datetime | None
    revoked_at: datetime | None

    @classmethod
    def of(cls, token: Token) -> TokenOut:
        """The API form of a stored token."""
        return cls(
            token_id=token.token_id,
            user_id=token.user_id,
            name=token.name,
            created_at=token.created_at,
            expires_at=token.expires_at,
            last_used_at=token.last_used_at,
            revoked_at=token.revoked_at,
        )


class NewToken(BaseModel):
    """A token to issue: a name to recognise it by, and when it stops working (optional)."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"name": "nightly export", "expires_at": "2027-01-01T00:00:00Z"},
                {"name": "dashboard kiosk"},
            ]
        },
    )

    name: ShortText | None = None
    expires_at: datetime | None = None


class IssuedToken(BaseModel):
    """A new token with its secret, shown this once: send it as `Authorization: Bearer`."""

    token: TokenOut
    secret: str


def _known_user(opened: StoreDep, user_id: str) -> User:
    with opened.connect() as connection:
        user = get_user(connection, user_id)
    if user is None:
        raise NotFoundError(f"no user {user_id!r}")
    return user


@router.get(
    "/users",
    response_model=Page[UserOut],
    summary="List users",
    description="Every user with its role and provider, by login name. Admin only.",
    responses=errors(403, 422),
)
def users(scope: ScopeDep, opened: StoreDep, paging: Paging) -> Page[UserOut]:
    """Every user, a page at a time."""
    scope.require_admin()
    with opened.connect() as connection:
        found = [UserOut.of(u) for u in list_users(connection)]
    return Page[UserOut].of(page_slice(found, paging.limit, paging.offset), len(found), paging)


@router.post(
    "/users",
    response_model=UserOut,
    status_code=201,
    summary="Add a user",
    description="Add a brand user (admin, analyst) or a provider's user (role provider, with "
    "provider_id). A password lets the user log in to the dashboard; API access needs a "
    "token (POST /users/{user_id}/tokens). Admin only.",
    responses=errors(400, 403, 422),
)
def new_user(body: NewUser, scope: ScopeDep, opened: StoreDep) -> UserOut:
    """Create the user."""
    scope.require_admin()
    with opened.begin() as connection:
        user = add_user(
            connection,
            body.user_id,
            body.role,
            provider_id=body.provider_id,
            password=body.password,
            display_name=body.display_name,
        )
    return UserOut.of(user)


@router.post(
    "/users/{user_id}/disable",
    response_model=UserOut,
    summary="Disable a user",
    description="The user's tokens and dashboard sessions stop working at once. An admin "
    "cannot disable itself. Admin only.",
    responses=errors(400, 403, 404, 422),
)
def disable(
    user_id: UserIdPath, principal: PrincipalDep, scope: ScopeDep, opened: StoreDep
) -> UserOut:
    """Disable the user."""
    scope.require_admin()
    _known_user(opened, user_id)
    if user_id == principal.user_id:
        raise InputError("you cannot disable yourself; ask another admin")
    with opened.begin() as connection:
        disable_user(connection, user_id)
        user = get_user(connection, user_id)
    assert user is not None
    return UserOut.of(user)


@router.get(
    "/tokens",
    response_model=Page[TokenOut],
    summary="List API tokens",
    description="Tokens, newest first (of one user with `user`); secrets are never shown. "
    "Admin only.",
    responses=errors(403, 422),
)
def tokens(
    scope: ScopeDep,
    opened: StoreDep,
    paging: Paging,
    user: Annotated[
        str | None, Query(pattern=NAME_PATTERN, description="Only this user's tokens.")
    ] = None,
) -> Page[TokenOut]:
    """The tokens, a page at a time."""
    scope.require_admin()
    with opened.connect() as connection:
        found = [TokenOut.of(t) for t in list_tokens(connection, user)]
    return Page[TokenOut].of(page_slice(found, paging.limit, paging.offset), len(found), paging)


@router.post(
    "/users/{user_id}/tokens",
    response_model=IssuedToken,
    status_code=201,
    summary="Issue an API token",
    description="A new token for the user. The secret is in this response only; the store "
    "keeps its hash. Admin only.",
    responses=errors(400, 403, 404, 422),
)
def issue_token(
    user_id: UserIdPath, scope: ScopeDep, opened: StoreDep, body: NewToken | None = None
) -> IssuedToken:
    """Issue a token and return its secret once."""
    scope.require_admin()
    _known_user(opened, user_id)
    body = body or NewToken()
    expires = body.expires_at
    if expires is not None:
        expires = expires if expires.tzinfo else expires.replace(tzinfo=UTC)
        if expires <= datetime.now(UTC):
            raise InputError("expires_at is in the past; the token would never work")
        if expires >= LATEST_EXPIRY:
            raise InputError(f"expires_at is too far ahead (before {LATEST_EXPIRY:%Y} please)")
    with opened.begin() as connection:
        token, secret = create_token(connection, user_id, name=body.name, expires_at=expires)
    return IssuedToken(token=TokenOut.of(token), secret=secret)


@router.delete(
    "/tokens/{token_id}",
    response_model=TokenOut,
    summary="Revoke an API token",
    description="The token stops working at once; it stays listed with its revocation time. "
    "Admin only.",
    responses=errors(403, 404, 422),
)
def revoke(token_id: TokenIdPath, scope: ScopeDep, opened: StoreDep) -> TokenOut:
    """Revoke the token."""
    scope.require_admin()
    with opened.begin() as connection:
        found = {t.token_id: t for t in list_tokens(connection)}
        if token_id not in found:
            raise NotFoundError(f"no token {token_id!r}")
        revoke_token(connection, token_id)
        token = next(t for t in list_tokens(connection) if t.token_id == token_id)
    return TokenOut.of(token)

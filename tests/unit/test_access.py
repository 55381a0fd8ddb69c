"""Roles, scope and secrets: who sees what, decided in one place."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from hypothesis import given, settings
from hypothesis import strategies as st

from tallyclerk.access import (
    AccessError,
    LoginThrottle,
    NotFoundError,
    Principal,
    Scope,
    hash_password,
    verify_password,
)
from tallyclerk.access._secrets import digest

ADMIN = Principal("ada", "admin")
ANALYST = Principal("ann", "analyst")
EAST = Principal("sam", "provider", "eastbridge")


def test_brand_users_see_every_provider_or_the_one_they_ask_for() -> None:
    for who in (ADMIN, ANALYST):
        scope = Scope(who)
        assert scope.providers() is None
        assert scope.providers("westcoast") == ["westcoast"]
        assert scope.allows("westcoast")
        assert scope.allows(None)


def test_a_provider_user_sees_only_its_own_provider() -> None:
    scope = Scope(EAST)
    assert scope.providers() == ["eastbridge"]
    assert scope.providers("eastbridge") == ["eastbridge"]
    with pytest.raises(NotFoundError):
        scope.providers("westcoast")
    with pytest.raises(NotFoundError):
        scope.providers(["eastbridge", "westcoast"])
    assert not scope.allows("westcoast")
    assert not scope.allows(None)  # brand-wide records are the brand's
    with pytest.raises(NotFoundError):
        scope.check("westcoast")
    with pytest.raises(AccessError):
        scope.require_brand()
    with pytest.raises(AccessError):
        scope.require_admin()


def test_only_admins_pass_require_admin() -> None:
    Scope(ADMIN).require_admin()
    with pytest.raises(AccessError):
        Scope(ANALYST).require_admin()
    Scope(ANALYST).require_brand()


def test_an_unbound_provider_user_sees_nothing() -> None:
    with pytest.raises(AccessError):
        Scope(Principal("lost", "provider", None)).providers()


def test_scope_filters_sql_by_provider() -> None:
    table = sa.table("findings", sa.column("provider_id"))
    rows = ["eastbridge", "westcoast", None]
    engine = sa.create_engine("duckdb:///:memory:")
    with engine.begin() as connection:
        connection.execute(sa.text("create table findings (provider_id varchar)"))
        for value in rows:
            connection.execute(sa.text("insert into findings values (:v)"), {"v": value})
        for who, expected in ((ADMIN, 3), (EAST, 1)):
            query = (
                sa.select(sa.func.count())
                .select_from(table)
                .where(Scope(who).where(table.c.provider_id))
            )
            assert connection.execute(query).scalar_one() == expected
        narrowed = sa.select(table.c.provider_id).where(
            Scope(ADMIN).filter(table.c.provider_id, "westcoast")
        )
        assert list(connection.execute(narrowed).scalars()) == ["westcoast"]
    engine.dispose()


@settings(max_examples=10, deadline=None)
@given(st.text(min_size=1, max_size=40), st.text(min_size=1, max_size=40))
def test_a_password_verifies_only_against_its_own_hash(password: str, other: str) -> None:
    stored = hash_password(password)
    assert verify_password(password, stored)
    assert verify_password(other, stored) == (other == password)


def test_hashes_are_salted_and_garbage_never_verifies() -> None:
    assert hash_password("same-password") != hash_password("same-password")
    for stored in (None, "", "plain", "scrypt$x$y$z$a$b", "md5$1$1$1$AA==$AA=="):
        assert not verify_password("anything", stored)
    assert len(digest("token")) == 64


def test_throttle_locks_after_the_limit_and_doubles_the_wait() -> None:
    now = [0.0]
    throttle = LoginThrottle(limit=3, window=60, lockout=10, clock=lambda: now[0])
    for _ in range(2):
        throttle.failed("user:ada", "ip:1")
    assert throttle.wait_seconds("user:ada") == 0
    throttle.failed("user:ada", "ip:1")
    assert throttle.wait_seconds("user:ada") == pytest.approx(10)
    assert throttle.wait_seconds("ip:1", "user:other") == pytest.approx(10)
    now[0] = 11
    assert throttle.wait_seconds("user:ada") == 0
    for _ in range(3):
        throttle.failed("user:ada")
    assert throttle.wait_seconds("user:ada") == pytest.approx(20)
    throttle.succeeded("user:ada")
    assert throttle.wait_seconds("user:ada") == 0


def test_failures_outside_the_window_do_not_count() -> None:
    now = [0.0]
    throttle = LoginThrottle(limit=3, window=60, lockout=10, clock=lambda: now[0])
    for step in range(6):
        now[0] = step * 40.0
        throttle.failed("k")
    assert throttle.wait_seconds("k") == 0

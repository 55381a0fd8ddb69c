"""Action items in the store (DuckDB and PostgreSQL): added, changed, carried from review to
review until closed, ordered, and refused with plain messages when they make no sense.

Weeks used (ISO 2026): W44 Mon 10-26..Sun 11-01, W45 11-02..11-08, W46 11-09..11-15,
W47 11-16..11-22, W48 11-23..11-29.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime

import pytest
import sqlalchemy as sa

from tallyclerk.access import AccessError, NotFoundError, Principal, Scope
from tallyclerk.errors import InputError
from tallyclerk.reports import ActionItem, IsoWeek
from tallyclerk.reports._actions import (
    actions_for_review,
    add_action,
    check_may_add,
    check_may_change,
    closed_in,
    count_actions,
    get_action,
    list_actions,
    mark_done,
    overdue_at_end,
    update_action,
)
from tallyclerk.store import Store
from tallyclerk.store.schema import providers

W44, W45, W46, W47, W48 = (IsoWeek(2026, n) for n in (44, 45, 46, 47, 48))


def at(day: str, clock: str = "10:00") -> datetime:
    """A UTC moment of 2026: at('11-11') is 2026-11-11 10:00 UTC."""
    return datetime.fromisoformat(f"2026-{day}T{clock}:00+00:00")


def on(day: str) -> date:
    return date.fromisoformat(f"2026-{day}")


@pytest.fixture
def db(store: Store) -> Iterator[sa.Connection]:
    """A connection to a fresh store that knows the providers eastbridge and westcoast."""
    with store.begin() as connection:
        connection.execute(
            sa.insert(providers),
            [
                {"provider_id": "eastbridge", "name": "EastBridge"},
                {"provider_id": "westcoast", "name": "WestCoast"},
            ],
        )
        yield connection


def _add(
    connection: sa.Connection,
    title: str,
    week: IsoWeek,
    due: str | None = None,
    provider: str = "eastbridge",
) -> ActionItem:
    return add_action(
        connection,
        provider_id=provider,
        title=title,
        owner="Dana (eastbridge)",
        due_on=on(due) if due else None,
        opened_week=week,
        by="ana",
        now=at("10-27") if week == W44 else datetime.combine(week.start, datetime.min.time(), UTC),
    )


def _titles(items: list[ActionItem]) -> list[str]:
    return [i.title for i in items]


def test_an_item_is_stored_as_given(db: sa.Connection) -> None:
    added = add_action(
        db,
        provider_id="eastbridge",
        title="  Re-slot the fast movers before Black Friday ",
        owner="Dana (eastbridge)",
        party="provider",
        due_on=on("11-20"),
        opened_week=W46,
        reference="finding:42",
        note="pick faces A1-A9",
        by="ana",
        now=at("11-11", "15:30"),
    )
    assert added.action_id >= 1
    assert added.title == "Re-slot the fast movers before Black Friday"
    assert (added.provider_id, added.owner, added.party) == (
        "eastbridge",
        "Dana (eastbridge)",
        "provider",
    )
    assert (added.status, added.opened_week, added.due_on) == ("open", "2026-W46", on("11-20"))
    assert (added.reference, added.note, added.created_by) == (
        "finding:42",
        "pick faces A1-A9",
        "ana",
    )
    assert added.created_at == at("11-11", "15:30")
    assert added.updated_at == added.created_at
    assert added.done_at is None
    assert get_action(db, added.action_id) == added
    second = _add(db, "second", W46)
    assert second.action_id > added.action_id


def test_the_week_defaults_to_the_week_of_now(db: sa.Connection) -> None:
    # 2026-11-26 is a Thursday of W48; 2027-01-01 (a Friday) is in 2026-W53.
    assert (
        add_action(db, provider_id="westcoast", title="t", owner="o", now=at("11-26")).opened_week
        == "2026-W48"
    )
    new_year = datetime(2027, 1, 1, 9, tzinfo=UTC)
    item = add_action(db, provider_id="westcoast", title="t", owner="o", now=new_year)
    assert item.opened_week == "2026-W53"
    assert item.party == "provider"


def test_done_stamps_and_reopening_clears(db: sa.Connection) -> None:
    item = _add(db, "count the cage", W45, "11-13")
    started = update_action(db, item.action_id, status="in_progress", by="dana", now=at("11-10"))
    assert (started.status, started.done_at) == ("in_progress", None)
    done = mark_done(db, item.action_id, by="dana", note="counted: 3 off", now=at("11-12"))
    assert (done.status, done.done_at, done.note) == ("done", at("11-12"), "counted: 3 off")
    assert done.updated_at == at("11-12")
    reopened = update_action(db, item.action_id, status="open", by="ana", now=at("11-13"))
    assert (reopened.status, reopened.done_at) == ("open", None)
    assert reopened.note == "counted: 3 off"  # untouched when not given
    dropped = update_action(db, item.action_id, status="dropped", now=at("11-14"))
    assert (dropped.status, dropped.done_at) == ("dropped", at("11-14"))
    moved = update_action(
        db, item.action_id, owner="  Lee  ", due_on=on("11-27"), note="", now=at("11-15")
    )
    assert (moved.owner, moved.due_on, moved.note, moved.status) == (
        "Lee",
        on("11-27"),
        None,  # an empty note clears it
        "dropped",
    )
    assert moved.done_at == at("11-14")  # a change that is not a status keeps the stamp


def test_carried_from_week_to_week_until_done(db: sa.Connection) -> None:
    a = _add(db, "A opened W44 done W46", W44, "11-06")
    c = _add(db, "C opened W44 dropped in W44", W44, "10-30")
    d = _add(db, "D opened W45 pending", W45)
    e = _add(db, "E opened W46 done at W47's first instant", W46)
    b = _add(db, "B opened W47 pending", W47)
    _add(db, "another provider's", W44, provider="westcoast")
    mark_done(db, a.action_id, now=at("11-11"))
    update_action(db, c.action_id, status="dropped", now=at("11-01", "23:59"))
    mark_done(db, e.action_id, now=datetime(2026, 11, 16, tzinfo=UTC))

    def review(week: IsoWeek) -> set[str]:
        return set(_titles(actions_for_review(db, "eastbridge", week)))

    assert review(IsoWeek(2026, 43)) == set()
    assert review(W44) == {a.title, c.title}
    assert review(W45) == {a.title, d.title}
    assert review(W46) == {a.title, d.title, e.title}
    assert review(W47) == {d.title, e.title, b.title}
    assert review(W48) == {d.title, b.title}
    # next year's week 2 is later than 2026-W47 though its text sorts before it
    assert review(IsoWeek(2027, 2)) == {d.title, b.title}
    assert b.title not in review(W46)
    assert closed_in(get_action(db, a.action_id)) == W46
    assert closed_in(get_action(db, e.action_id)) == W47
    assert closed_in(get_action(db, d.action_id)) is None


def test_a_week_opened_late_in_the_year_compares_as_a_week(db: sa.Connection) -> None:
    # '2026-W9' would sort after '2026-W10' as text; stored names are padded, and compared
    # as weeks: an item of 2026-W53 is not on the review of 2027-W01's predecessor weeks.
    late = add_action(
        db,
        provider_id="westcoast",
        title="year end",
        owner="o",
        opened_week=IsoWeek(2026, 53),
        now=at("12-30"),
    )
    assert late.opened_week == "2026-W53"
    assert _titles(actions_for_review(db, "westcoast", IsoWeek(2026, 52))) == []
    assert _titles(actions_for_review(db, "westcoast", IsoWeek(2027, 1))) == ["year end"]


def test_review_order_overdue_at_week_end_first(db: sa.Connection) -> None:
    x = _add(db, "X due 11-20", W46, "11-20")
    y = _add(db, "Y due 11-10", W46, "11-10")
    z = _add(db, "Z no due date", W46)
    w = _add(db, "W due 11-12 done 11-13", W46, "11-12")
    v = _add(db, "V due 11-14", W46, "11-14")
    late = _add(db, "L due 11-11 done in W47", W46, "11-11")
    mark_done(db, w.action_id, now=at("11-13"))
    mark_done(db, late.action_id, now=at("11-18"))
    found = actions_for_review(db, "eastbridge", W46)
    # Y, L and V were still to do at the end of W46 (Sunday 11-15) past their due dates;
    # W was done in the week, so not overdue although its date passed.
    assert _titles(found) == [y.title, late.title, v.title, w.title, x.title, z.title]
    assert [overdue_at_end(i, W46) for i in found] == [True, True, True, False, False, False]
    # the next week: W is gone, L was done in W47 and is no longer overdue at its end
    assert _titles(actions_for_review(db, "eastbridge", W47)) == [
        y.title,
        v.title,
        x.title,
        late.title,
        z.title,
    ]


def test_list_order_filters_and_pages(db: sa.Connection) -> None:
    x = _add(db, "X due 11-20", W46, "11-20")
    y = _add(db, "Y due 11-10", W46, "11-10")
    z = _add(db, "Z no due date", W46)
    w = _add(db, "W done", W46, "11-09")
    v = _add(db, "V due 11-14", W46, "11-14")
    q = _add(db, "Q westcoast due 11-12", W46, "11-12", provider="westcoast")
    mark_done(db, w.action_id, now=at("11-13"))
    update_action(db, v.action_id, status="in_progress", now=at("11-13"))
    today = on("11-15")
    listed = list_actions(db, today=today)
    # pending first; of those the overdue (Y 11-10, Q 11-12, V 11-14), then X, then no date
    assert _titles(listed) == [y.title, q.title, v.title, x.title, z.title, w.title]
    # on 11-11 only Y is overdue; the order stays that of the due dates among pending items
    assert _titles(list_actions(db, today=on("11-11"))) == _titles(listed)
    east = list_actions(db, providers=["eastbridge"], statuses=["open", "in_progress"], today=today)
    assert _titles(east) == [y.title, v.title, x.title, z.title]
    assert count_actions(db, providers=["eastbridge"], statuses=["open", "in_progress"]) == 4
    assert count_actions(db) == 6
    assert count_actions(db, statuses=["done"]) == 1
    assert count_actions(db, providers=[]) == 0
    page = list_actions(db, limit=2, offset=2, today=today)
    assert _titles(page) == [v.title, x.title]
    assert list_actions(db, limit=2, offset=6, today=today) == []
    assert q.provider_id == "westcoast"


def test_validation_messages(db: sa.Connection) -> None:
    def refused(**changes: object) -> str:
        values: dict[str, object] = {
            "provider_id": "eastbridge",
            "title": "t",
            "owner": "o",
            "opened_week": W46,
            "now": at("11-11"),
        }
        values.update(changes)
        with pytest.raises(InputError) as caught:
            add_action(db, **values)  # type: ignore[arg-type]
        return str(caught.value)

    assert refused(provider_id="nowhere") == "no provider 'nowhere' (add its contract first)"
    assert refused(title="   ") == "an action item needs a title"
    assert refused(owner="") == "an action item needs an owner (the person who does it)"
    assert refused(party="carrier") == "party 'carrier' is not one of brand, provider"
    assert refused(due_on=on("11-08")) == (
        "due date 2026-11-08 is before week 2026-W46 (which starts 2026-11-09), "
        "the week the action was agreed in"
    )
    assert count_actions(db) == 0
    item = add_action(
        db, provider_id="eastbridge", title="t", owner="o", due_on=on("11-09"), opened_week=W46
    )
    n = item.action_id

    def change_refused(**changes: object) -> str:
        with pytest.raises(InputError) as caught:
            update_action(db, n, **changes)  # type: ignore[arg-type]
        return str(caught.value)

    assert change_refused(status="finished") == (
        "status 'finished' is not one of open, in_progress, done, dropped"
    )
    assert change_refused() == (
        f"nothing to change on action {n}: give a status, owner, due date or note"
    )
    assert change_refused(owner=" ") == "an action item needs an owner (the person who does it)"
    assert "due date 2026-11-01 is before week 2026-W46" in change_refused(due_on=on("11-01"))
    mark_done(db, n)
    assert change_refused(status="in_progress") == (
        f"action {n} is done: it can only be reopened (status open), not set to in_progress"
    )
    assert change_refused(status="dropped") == (
        f"action {n} is done: it can only be reopened (status open), not set to dropped"
    )
    with pytest.raises(InputError, match=f"action {n} is done already"):
        mark_done(db, n)
    with pytest.raises(InputError, match="status 'late' is not one of"):
        list_actions(db, statuses=["late"])
    with pytest.raises(NotFoundError, match="no action item 999999"):
        get_action(db, 999999)
    with pytest.raises(NotFoundError):
        mark_done(db, 999999)
    assert get_action(db, n).status == "done"  # nothing refused changed it


def test_who_may_add_and_change(db: sa.Connection) -> None:
    admin = Scope(Principal("ana", "admin"))
    analyst = Scope(Principal("otto", "analyst"))
    east = Scope(Principal("eve", "provider", "eastbridge"))
    item = _add(db, "t", W46)
    check_may_add(admin, "westcoast")
    check_may_add(east, "eastbridge")
    with pytest.raises(NotFoundError):
        check_may_add(east, "westcoast")
    with pytest.raises(AccessError, match="an analyst reads action items but does not add"):
        check_may_add(analyst, "eastbridge")
    check_may_change(admin, item, ["status", "owner", "due_on", "note"])
    check_may_change(east, item, ["status", "note"])
    with pytest.raises(AccessError) as caught:
        check_may_change(east, item, ["status", "owner", "due_on"])
    assert str(caught.value) == (
        "a provider user changes the status and note of its own action items, not due_on, owner"
    )
    assert type(caught.value) is AccessError  # 403, not 404: the item is the user's own
    with pytest.raises(AccessError, match="does not change them"):
        check_may_change(analyst, item, ["note"])
    west = Scope(Principal("wes", "provider", "westcoast"))
    with pytest.raises(NotFoundError):
        check_may_change(west, item, ["note"])

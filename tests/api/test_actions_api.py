"""Action items through the API per role, and the dashboard's /actions page and review panel.

The store is the API tests' simulated quarter (tests/api/conftest.py): providers eastbridge
and westcoast, users ana (admin), otto (analyst), eve (eastbridge) and wes (westcoast). The
module shares one copy of it, so each test works on the items it adds itself.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from tallyclerk.access import NotFoundError, Principal, Scope
from tallyclerk.reports import IsoWeek
from tallyclerk.reports._actions import add_action, get_action, mark_done
from tallyclerk.settings import Settings
from tallyclerk.store import Store, open_store
from tallyclerk.web._actions import actions_panel_context
from tests.api.conftest import ON_BOTH, USERS, auth
from tests.api.test_web_pages import csrf_of, log_in

URL = "/api/v1/actions"
TODAY = datetime.now(UTC).date()
THIS_WEEK = IsoWeek.of(TODAY)
ADMIN, ANALYST = USERS["admin"][0], USERS["analyst"][0]
EAST, WEST = USERS["eastbridge"][0], USERS["westcoast"][0]


@pytest.fixture(scope="module")
def store_of(api_settings: Settings) -> Iterator[Store]:
    """The module's store, for reading what the service wrote."""
    opened = open_store(api_settings)
    yield opened
    opened.close()


@pytest.fixture
def client(api_client: TestClient) -> Iterator[TestClient]:
    """The module's client with no cookies left from another test."""
    api_client.cookies.clear()
    yield api_client
    api_client.cookies.clear()


def _add(client: TestClient, token: str, **body: Any) -> dict[str, Any]:
    values = {"provider_id": "eastbridge", "title": "t", "owner": "Dana", **body}
    response = client.post(URL, headers=auth(token), json=values)
    assert response.status_code == 201, response.text
    return dict(response.json())


def _message(response: httpx.Response) -> str:
    return str(response.json()["error"]["message"])


# -- the API ------------------------------------------------------------------------------------


@ON_BOTH
def test_the_admin_adds_changes_closes_and_reopens(
    api_client: TestClient, tokens: dict[str, str]
) -> None:
    admin = auth(tokens["admin"])
    due = THIS_WEEK.end + timedelta(days=5)
    added = _add(
        api_client,
        tokens["admin"],
        title="Re-slot the fast movers before Black Friday",
        owner="Dana (eastbridge)",
        party="provider",
        due_on=due.isoformat(),
        opened_week=THIS_WEEK.name,
        reference="finding:42",
    )
    assert (added["status"], added["overdue"], added["done_at"]) == ("open", False, None)
    assert (added["opened_week"], added["due_on"], added["created_by"]) == (
        THIS_WEEK.name,
        due.isoformat(),
        ADMIN,
    )
    url = f"{URL}/{added['action_id']}"
    for reader in ("admin", "analyst", "eastbridge"):
        shown = api_client.get(url, headers=auth(tokens[reader]))
        assert shown.status_code == 200, reader
        assert shown.json() == added
    assert api_client.get(url, headers=auth(tokens["westcoast"])).status_code == 404
    moved = api_client.patch(
        url, headers=admin, json={"owner": "Lee (eastbridge)", "due_on": "2026-12-31"}
    )
    assert moved.status_code == 200, moved.text
    assert (moved.json()["owner"], moved.json()["due_on"]) == ("Lee (eastbridge)", "2026-12-31")
    done = api_client.patch(url, headers=admin, json={"status": "done", "note": "re-slotted"})
    assert done.status_code == 200, done.text
    assert (done.json()["status"], done.json()["note"]) == ("done", "re-slotted")
    assert done.json()["done_at"] is not None
    again = api_client.patch(url, headers=admin, json={"status": "in_progress"})
    assert again.status_code == 400
    assert "it can only be reopened" in _message(again)
    reopened = api_client.patch(url, headers=admin, json={"status": "open"})
    assert (reopened.json()["status"], reopened.json()["done_at"]) == ("open", None)
    assert reopened.json()["note"] == "re-slotted"


def test_an_analyst_reads_but_does_not_write(
    api_client: TestClient, tokens: dict[str, str]
) -> None:
    analyst = auth(tokens["analyst"])
    item = _add(api_client, tokens["admin"], title="analyst test")
    refused = api_client.post(
        URL, headers=analyst, json={"provider_id": "westcoast", "title": "x", "owner": "y"}
    )
    assert refused.status_code == 403
    assert "analyst" in _message(refused)
    changed = api_client.patch(f"{URL}/{item['action_id']}", headers=analyst, json={"note": "x"})
    assert changed.status_code == 403
    listed = api_client.get(f"{URL}?limit=500", headers=analyst).json()
    assert item["action_id"] in {i["action_id"] for i in listed["items"]}
    assert api_client.get(f"{URL}/{item['action_id']}", headers=analyst).json()["note"] is None


@ON_BOTH
def test_a_provider_user_works_on_its_own_items_only(
    api_client: TestClient, tokens: dict[str, str]
) -> None:
    east, west = auth(tokens["eastbridge"]), auth(tokens["westcoast"])
    own = _add(api_client, tokens["eastbridge"], title="count the cage", owner="Eve")
    assert (own["provider_id"], own["created_by"]) == ("eastbridge", EAST)
    foreign = api_client.post(
        URL, headers=east, json={"provider_id": "westcoast", "title": "x", "owner": "y"}
    )
    assert foreign.status_code == 404
    theirs = _add(api_client, tokens["admin"], provider_id="westcoast", title="west item")
    url, their_url = f"{URL}/{own['action_id']}", f"{URL}/{theirs['action_id']}"
    assert api_client.get(their_url, headers=east).status_code == 404
    assert api_client.patch(their_url, headers=east, json={"note": "x"}).status_code == 404
    started = api_client.patch(url, headers=east, json={"status": "in_progress", "note": "on it"})
    assert started.status_code == 200, started.text
    assert (started.json()["status"], started.json()["note"]) == ("in_progress", "on it")
    owner = api_client.patch(url, headers=east, json={"owner": "someone else"})
    assert owner.status_code == 403
    assert _message(owner) == (
        "a provider user changes the status and note of its own action items, not owner"
    )
    due = api_client.patch(url, headers=east, json={"status": "done", "due_on": "2027-01-04"})
    assert due.status_code == 403
    assert api_client.get(url, headers=east).json()["status"] == "in_progress"
    done = api_client.patch(url, headers=east, json={"status": "done"})
    assert done.json()["status"] == "done"
    # the lists: each sees its own provider's items only; asking for the other is 404
    mine = api_client.get(f"{URL}?limit=500", headers=east).json()
    assert {i["provider_id"] for i in mine["items"]} == {"eastbridge"}
    assert own["action_id"] in {i["action_id"] for i in mine["items"]}
    assert theirs["action_id"] not in {i["action_id"] for i in mine["items"]}
    assert api_client.get(f"{URL}?provider=westcoast", headers=east).status_code == 404
    west_list = api_client.get(f"{URL}?limit=500", headers=west).json()["items"]
    assert {i["provider_id"] for i in west_list} == {"westcoast"}


def test_lists_page_and_filter(api_client: TestClient, tokens: dict[str, str]) -> None:
    admin = auth(tokens["admin"])
    start = THIS_WEEK.shifted(-2)
    made = [
        _add(
            api_client,
            tokens["admin"],
            provider_id="westcoast",
            title=f"paging {n}",
            opened_week=start.name,
            due_on=(start.start + timedelta(days=n)).isoformat(),
        )
        for n in range(5)
    ]
    ids = [m["action_id"] for m in made]
    closed = api_client.patch(f"{URL}/{ids[0]}", headers=admin, json={"status": "dropped"})
    assert closed.status_code == 200
    every = api_client.get(f"{URL}?provider=westcoast&limit=500", headers=admin).json()
    listed = [i["action_id"] for i in every["items"]]
    assert set(ids) <= set(listed)
    # pending ones first (overdue, they were due two weeks ago), by due date; dropped after
    pending_ids = [i for i in listed if i in ids[1:]]
    assert pending_ids == ids[1:]
    assert listed.index(ids[0]) > max(listed.index(i) for i in ids[1:])
    assert all(m["overdue"] for m in every["items"] if m["action_id"] in ids[1:])
    total = every["total"]
    pages: list[int] = []
    offset: int | None = 0
    while offset is not None:
        page = api_client.get(
            f"{URL}?provider=westcoast&limit=2&offset={offset}", headers=admin
        ).json()
        assert page["total"] == total
        assert page["limit"] == 2
        assert len(page["items"]) <= 2
        pages += [i["action_id"] for i in page["items"]]
        offset = page["next_offset"]
    assert pages == listed
    pending = api_client.get(
        f"{URL}?provider=westcoast&status=open&status=in_progress&limit=500", headers=admin
    ).json()
    assert {i["status"] for i in pending["items"]} <= {"open", "in_progress"}
    assert ids[0] not in {i["action_id"] for i in pending["items"]}
    assert pending["total"] == total - sum(
        1 for i in every["items"] if i["status"] in ("done", "dropped")
    )
    dropped = api_client.get(f"{URL}?provider=westcoast&status=dropped", headers=admin).json()
    assert ids[0] in {i["action_id"] for i in dropped["items"]}
    assert api_client.get(f"{URL}?status=late", headers=admin).status_code == 422


def test_plain_errors(api_client: TestClient, tokens: dict[str, str]) -> None:
    admin = auth(tokens["admin"])
    base = {"provider_id": "eastbridge", "title": "t", "owner": "o"}
    unknown = api_client.post(URL, headers=admin, json={**base, "provider_id": "nowhere"})
    assert unknown.status_code == 400
    assert _message(unknown) == "no provider 'nowhere' (add its contract first)"
    early = api_client.post(
        URL, headers=admin, json={**base, "opened_week": "2026-W46", "due_on": "2026-11-01"}
    )
    assert early.status_code == 400
    assert "due date 2026-11-01 is before week 2026-W46" in _message(early)
    no_week = api_client.post(URL, headers=admin, json={**base, "opened_week": "2026-W60"})
    assert no_week.status_code == 400
    assert "2026 has no ISO week 60" in _message(no_week)
    blank = api_client.post(URL, headers=admin, json={**base, "title": "   "})
    assert blank.status_code == 400
    assert _message(blank) == "an action item needs a title"
    assert api_client.post(URL, headers=admin, json={**base, "party": "carrier"}).status_code == 422
    assert api_client.post(URL, headers=admin, json={**base, "colour": "red"}).status_code == 422
    item = _add(api_client, tokens["admin"])
    url = f"{URL}/{item['action_id']}"
    nothing = api_client.patch(url, headers=admin, json={})
    assert nothing.status_code == 400
    assert "nothing to change" in _message(nothing)
    assert api_client.patch(url, headers=admin, json={"status": "finished"}).status_code == 422
    assert api_client.get(f"{URL}/0", headers=admin).status_code == 422
    missing = api_client.get(f"{URL}/987654321", headers=admin)
    assert missing.status_code == 404
    assert _message(missing) == "no action item 987654321"
    assert api_client.get(URL).status_code == 401


# -- the dashboard ------------------------------------------------------------------------------


def _form(page: httpx.Response, **fields: str) -> dict[str, str]:
    return {"csrf_token": csrf_of(page), **fields}


def _row(page: httpx.Response, action_id: int) -> str:
    found = re.search(rf'<tr id="action-{action_id}".*?</tr>', page.text, re.S)
    assert found is not None, f"no row of action {action_id}"
    return found.group(0)


def test_the_page_lists_adds_and_closes(client: TestClient, store_of: Store) -> None:
    assert log_in(client, ADMIN).status_code == 303
    page = client.get("/actions")
    assert page.status_code == 200
    assert "Add an action item" in page.text
    due = (TODAY - timedelta(days=1)).isoformat()
    posted = client.post(
        "/actions",
        data=_form(
            page,
            provider_id="eastbridge",
            title="Send the peak staffing plan",
            owner="Maria",
            party="brand",
            due_on=due,
            opened_week=THIS_WEEK.shifted(-1).name,
            reference="forecast",
            note="",
            next="/actions?provider=eastbridge",
        ),
        follow_redirects=False,
    )
    assert posted.status_code == 303, posted.text
    assert posted.headers["location"] == "/actions?provider=eastbridge"
    shown = client.get(posted.headers["location"])
    added = re.search(
        r'<tr id="action-(\d+)"[^>]*data-status="open"[^>]*data-provider="eastbridge" '
        r'data-overdue="true">\s*<td>\d+</td>\s*<td>eastbridge</td>\s*<td>Send the peak',
        shown.text,
    )
    assert added is not None, shown.text
    action_id = int(added.group(1))
    with store_of.connect() as connection:
        item = get_action(connection, action_id)
    assert (item.title, item.owner, item.party, item.created_by) == (
        "Send the peak staffing plan",
        "Maria",
        "brand",
        ADMIN,
    )
    assert (item.due_on, item.opened_week, item.reference) == (
        date.fromisoformat(due),
        THIS_WEEK.shifted(-1).name,
        "forecast",
    )
    row = _row(shown, action_id)
    assert 'class="overdue"' in row
    assert 'data-action="done"' in row
    assert 'name="owner"' in row  # an admin may change the owner and due date
    done = client.post(
        f"/actions/{action_id}/done",
        data=_form(shown, note="sent on the call", next="/not-a-page//x"),
        follow_redirects=False,
    )
    assert done.status_code == 303
    assert done.headers["location"] == "/not-a-page//x"  # a local path is where it goes
    evil = client.post(
        f"/actions/{action_id}/update",
        data=_form(shown, note="x", next="https://elsewhere.example/"),
        follow_redirects=False,
    )
    assert evil.headers["location"] == "/actions"  # never off the site
    with store_of.connect() as connection:
        closed = get_action(connection, action_id)
    assert (closed.status, closed.note) == ("done", "x")
    assert closed.done_at is not None
    assert f'id="action-{action_id}"' not in client.get("/actions").text  # pending only
    everything = client.get("/actions?status=all&provider=eastbridge")
    assert 'data-status="done"' in _row(everything, action_id)
    reopened = client.post(
        f"/actions/{action_id}/update",
        data=_form(everything, status="open"),
        follow_redirects=False,
    )
    assert reopened.status_code == 303
    with store_of.connect() as connection:
        assert get_action(connection, action_id).status == "open"
    bad = client.post(
        "/actions",
        data=_form(everything, provider_id="eastbridge", title="x", owner="y", due_on="soon"),
    )
    assert bad.status_code == 400
    assert "due date 'soon' is not a date like 2026-11-20" in bad.text
    assert client.get("/actions?status=late").status_code == 400


def test_the_page_per_role(client: TestClient, store_of: Store) -> None:
    with store_of.begin() as connection:
        east = add_action(connection, provider_id="eastbridge", title="east page", owner="E")
        west = add_action(connection, provider_id="westcoast", title="west page", owner="W")
    log_in(client, EAST)
    page = client.get("/actions")
    assert page.status_code == 200
    assert f'id="action-{east.action_id}"' in page.text
    assert f'id="action-{west.action_id}"' not in page.text
    assert "westcoast" not in page.text
    row = _row(page, east.action_id)
    assert 'data-action="done"' in row
    assert 'name="owner"' not in row  # a provider user changes status and note only
    assert client.get("/actions?provider=westcoast").status_code == 404
    assert (
        client.post(
            f"/actions/{west.action_id}/done", data=_form(page), follow_redirects=False
        ).status_code
        == 404
    )
    owner = client.post(
        f"/actions/{east.action_id}/update",
        data=_form(page, owner="someone"),
        follow_redirects=False,
    )
    assert owner.status_code == 403
    own = client.post(
        "/actions",
        data=_form(page, title="added by eve", owner="Eve"),  # the provider is its own
        follow_redirects=False,
    )
    assert own.status_code == 303
    assert own.headers["location"] == "/actions?provider=eastbridge"
    other = client.post(
        "/actions",
        data=_form(page, provider_id="westcoast", title="x", owner="y"),
        follow_redirects=False,
    )
    assert other.status_code == 404
    no_csrf = client.post(
        f"/actions/{east.action_id}/done", data={"csrf_token": "stale"}, follow_redirects=False
    )
    assert no_csrf.status_code == 403
    with store_of.connect() as connection:
        assert get_action(connection, east.action_id).status == "open"
    log_in(client, ANALYST)
    seen = client.get("/actions")
    assert f'id="action-{west.action_id}"' in seen.text
    assert "Add an action item" not in seen.text
    assert 'data-action="done"' not in seen.text
    refused = client.post(
        f"/actions/{west.action_id}/done", data=_form(seen), follow_redirects=False
    )
    assert refused.status_code == 403
    added = client.post(
        "/actions",
        data=_form(seen, provider_id="westcoast", title="x", owner="y"),
        follow_redirects=False,
    )
    assert added.status_code == 403


# -- the review panel ---------------------------------------------------------------------------


def test_the_review_panel_carries_the_weeks_items(client: TestClient, store_of: Store) -> None:
    w44, w46, w47 = IsoWeek(2025, 44), IsoWeek(2025, 46), IsoWeek(2025, 47)
    w44_start = datetime.combine(w44.start, datetime.min.time(), UTC)
    with store_of.begin() as connection:
        carried = add_action(
            connection,
            provider_id="westcoast",
            title="panel carried",
            owner="Wes",
            due_on=date(2025, 11, 7),
            opened_week=w44,
            now=w44_start,
        )
        mark_done(connection, carried.action_id, now=datetime(2025, 11, 12, 9, tzinfo=UTC))
        later = add_action(
            connection,
            provider_id="westcoast",
            title="panel later",
            owner="Wes",
            opened_week=w47,
            now=w44_start,
        )
    admin = Scope(Principal(ADMIN, "admin"))
    with store_of.connect() as connection:
        panel = actions_panel_context(connection, admin, "westcoast", w46)["actions_panel"]
        ids = [r.item.action_id for r in panel.rows]
        assert carried.action_id in ids
        assert later.action_id not in ids
        row = next(r for r in panel.rows if r.item.action_id == carried.action_id)
        assert (row.overdue, row.pending_then, row.closed_week) == (False, False, w46)
        older = actions_panel_context(connection, admin, "westcoast", IsoWeek(2025, 45))
        row45 = next(
            r for r in older["actions_panel"].rows if r.item.action_id == carried.action_id
        )
        assert (row45.overdue, row45.pending_then) == (True, True)  # due 11-07, still to do
        after = actions_panel_context(connection, admin, "westcoast", w47)["actions_panel"]
        assert carried.action_id not in [r.item.action_id for r in after.rows]
        assert later.action_id in [r.item.action_id for r in after.rows]
        with pytest.raises(NotFoundError):
            actions_panel_context(
                connection, Scope(Principal(EAST, "provider", "eastbridge")), "westcoast", w46
            )
    log_in(client, WEST)
    fragment = client.get(
        "/actions/panel",
        params={"provider": "westcoast", "week": "2025-W45", "back": "/reviews/westcoast/2025-W45"},
    )
    assert fragment.status_code == 200
    assert 'data-week="2025-W45"' in fragment.text
    assert f'id="review-action-{carried.action_id}"' in fragment.text
    assert f'id="review-action-{later.action_id}"' not in fragment.text
    assert 'data-overdue="true"' in fragment.text
    assert 'value="/reviews/westcoast/2025-W45"' in fragment.text  # the forms return there
    assert 'name="opened_week" value="2025-W45"' in fragment.text
    assert "<html" not in fragment.text  # a fragment, not a page
    log_in(client, EAST)
    assert client.get("/actions/panel?provider=westcoast&week=2025-W45").status_code == 404
    assert client.get("/actions/panel?provider=eastbridge&week=2025-W99").status_code == 400

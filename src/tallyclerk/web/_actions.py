"""Action items on the dashboard: the /actions page and the panel of the weekly review page.

/actions lists the items the viewer may see (pending ones by default), filtered by provider
and status, with a form to add one (a brand admin, or a provider user for its own provider)
and, per item, a button to mark it done and a form to change it. Forms post with the
session's CSRF token and redirect back (POST-redirect-GET), to the page named by their
`next` field when it is a path of this site.

The weekly review page includes `_actions_panel.html` with the context of
`actions_panel_context` (the week's items, and the same forms); `/actions/panel` serves that
panel on its own as a fragment. Who may change what is decided in `tallyclerk.reports`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Annotated, Any

import sqlalchemy as sa
from fastapi import APIRouter, Form, Path, Query
from fastapi.responses import HTMLResponse, Response

from tallyclerk.access import Scope
from tallyclerk.api._models import LARGEST_ID
from tallyclerk.errors import InputError
from tallyclerk.reports._actions import (
    CLOSED,
    PENDING,
    actions_for_review,
    add_action,
    check_may_add,
    check_may_change,
    check_party,
    check_status,
    closed_in,
    count_actions,
    editable_fields,
    get_action,
    known_providers,
    list_actions,
    mark_done,
    may_add,
    next_statuses,
    overdue_at_end,
    parse_due,
    parse_week,
    pending_at_end,
    update_action,
)
from tallyclerk.reports._model import ACTION_STATUSES, PARTIES, ActionItem, IsoWeek
from tallyclerk.web._common import PAGE_SIZE, Viewer, ViewerDep, local_path, redirect

router = APIRouter(include_in_schema=False)

ActionIdPath = Annotated[int, Path(ge=1, le=LARGEST_ID)]
# The status filter of the page: the pending items, every item, or one status.
STATUS_FILTERS: tuple[str, ...] = ("pending", *ACTION_STATUSES, "all")


@dataclass(frozen=True, slots=True)
class ActionRow:
    """An item as a page shows it: whether it is overdue, what the viewer may do to it."""

    item: ActionItem
    overdue: bool  # on the page: today; in a review: at the end of the week
    pending_then: bool  # on the page: now; in a review: at the end of the week
    closed_week: IsoWeek | None  # the ISO week (UTC) it was done or dropped in
    next_statuses: tuple[str, ...]  # the statuses it may change to
    fields: frozenset[str]  # what the viewer may change (empty: read only)

    @property
    def pending(self) -> bool:
        """Still to do (open or in progress)."""
        return self.item.status in PENDING

    @property
    def may_edit(self) -> bool:
        """Whether the viewer may change anything on it."""
        return bool(self.fields)


@dataclass(frozen=True, slots=True)
class ActionsPanel:
    """The weekly review's action items of one provider and week, for `_actions_panel.html`."""

    provider_id: str
    week: IsoWeek
    rows: list[ActionRow]
    may_add: bool
    fields: frozenset[str]
    parties: tuple[str, ...]
    back: str | None  # where the panel's forms return to (None: the page showing the panel)

    @property
    def pending(self) -> int:
        """How many of the week's items were still to do at its end (or are still)."""
        return sum(1 for r in self.rows if r.pending_then)

    @property
    def overdue(self) -> int:
        """How many were overdue at the end of the week."""
        return sum(1 for r in self.rows if r.overdue)


def _row(
    item: ActionItem, scope: Scope, *, today: date | None = None, week: IsoWeek | None = None
) -> ActionRow:
    """The row of an item on the page (as of `today`) or in the review of `week`."""
    fields = editable_fields(scope.principal) if scope.allows(item.provider_id) else frozenset()
    if week is not None:
        overdue, pending_then = overdue_at_end(item, week), pending_at_end(item, week)
    else:
        overdue, pending_then = (
            item.overdue(today or datetime.now(UTC).date()),
            item.status in PENDING,
        )
    return ActionRow(
        item=item,
        overdue=overdue,
        pending_then=pending_then,
        closed_week=closed_in(item),
        next_statuses=next_statuses(item.status),
        fields=fields,
    )


def actions_panel_context(
    connection: sa.Connection, scope: Scope, provider_id: str, week: IsoWeek
) -> dict[str, Any]:
    """The context `_actions_panel.html` needs: `{"actions_panel": ActionsPanel}`.

    The items the provider's review of `week` shows (pending at its end, or closed during or
    after it), overdue at the end of the week first. Another provider's panel is NotFound.
    The review page merges this into its own context and includes the template.
    """
    scope.check(provider_id, "provider")
    items = actions_for_review(connection, provider_id, week)
    principal = scope.principal
    panel = ActionsPanel(
        provider_id=provider_id,
        week=week,
        rows=[_row(i, scope, week=week) for i in items],
        may_add=may_add(principal),
        fields=editable_fields(principal),
        parties=PARTIES,
        back=None,
    )
    return {"actions_panel": panel}


def _text(value: str) -> str | None:
    cleaned = value.strip()
    return cleaned or None


def _visible(viewer: Viewer, action_id: int) -> ActionItem:
    """The item, or 404 when there is none or it is another provider's."""
    with viewer.store.connect() as connection:
        item = get_action(connection, action_id)
    viewer.scope.check(item.provider_id, "action item")
    return item


def _back(next_url: str, provider_id: str | None = None) -> str:
    default = "/actions" + (f"?provider={provider_id}" if provider_id else "")
    return local_path(next_url or None, default)


@router.get("/actions", response_class=HTMLResponse)
def actions_page(
    viewer: ViewerDep,
    status: str = "pending",
    provider: str | None = None,
    offset: int = Query(0, ge=0, le=10**9),
) -> HTMLResponse:
    """The action items the viewer may see, pending ones first; the form to add one."""
    chosen_status = status or "pending"
    if chosen_status not in STATUS_FILTERS:
        raise InputError(f"status {status!r} is not one of {', '.join(STATUS_FILTERS)}")
    statuses: list[str] | None = (
        list(PENDING)
        if chosen_status == "pending"
        else None
        if chosen_status == "all"
        else [chosen_status]
    )
    providers = viewer.scope.providers(provider or None)
    today = datetime.now(UTC).date()
    with viewer.store.connect() as connection:
        found = list_actions(
            connection,
            providers=providers,
            statuses=statuses,
            limit=PAGE_SIZE,
            offset=offset,
            today=today,
        )
        total = count_actions(connection, providers=providers, statuses=statuses)
        choices = known_providers(connection) if viewer.principal.is_brand else []
    principal = viewer.principal
    own = viewer.scope.own_provider
    return viewer.render(
        "actions.html",
        rows=[_row(i, viewer.scope, today=today) for i in found],
        total=total,
        offset=offset,
        page_size=PAGE_SIZE,
        status_filters=STATUS_FILTERS,
        chosen_status=chosen_status,
        chosen_provider=provider or "",
        providers=choices,
        add_providers=[own] if own else choices,
        may_add=may_add(principal),
        parties=PARTIES,
        this_week=IsoWeek.of(today).name,
        today=today,
    )


@router.get("/actions/panel", response_class=HTMLResponse)
def actions_panel(
    viewer: ViewerDep,
    provider: Annotated[str, Query(min_length=1, max_length=128)],
    week: Annotated[str, Query(min_length=1, max_length=16)],
    back: str | None = None,
) -> HTMLResponse:
    """The review panel of one provider and week on its own (a fragment for HTMX)."""
    chosen = parse_week(week)
    with viewer.store.connect() as connection:
        context = actions_panel_context(connection, viewer.scope, provider, chosen)
    panel: ActionsPanel = context["actions_panel"]
    fallback = f"/actions?provider={provider}"
    context["actions_panel"] = ActionsPanel(
        provider_id=panel.provider_id,
        week=panel.week,
        rows=panel.rows,
        may_add=panel.may_add,
        fields=panel.fields,
        parties=panel.parties,
        back=local_path(back, fallback),
    )
    return viewer.render("_actions_panel.html", **context)


@router.post("/actions")
def add(
    viewer: ViewerDep,
    provider_id: Annotated[str, Form()] = "",
    title: Annotated[str, Form()] = "",
    owner: Annotated[str, Form()] = "",
    party: Annotated[str, Form()] = "provider",
    due_on: Annotated[str, Form()] = "",
    opened_week: Annotated[str, Form()] = "",
    reference: Annotated[str, Form()] = "",
    note: Annotated[str, Form()] = "",
    next_url: Annotated[str, Form(alias="next")] = "",
) -> Response:
    """Add an item agreed in a review (a brand admin; a provider user for its own provider)."""
    provider_id = provider_id.strip() or (viewer.scope.own_provider or "")
    if not provider_id:
        raise InputError("choose the provider the action item is agreed with")
    check_may_add(viewer.scope, provider_id)
    due = parse_due(due_on) if due_on.strip() else None
    week = parse_week(opened_week.strip(), "week") if opened_week.strip() else None
    with viewer.store.begin() as connection:
        add_action(
            connection,
            provider_id=provider_id,
            title=title,
            owner=owner,
            party=check_party(party.strip()),
            due_on=due,
            opened_week=week,
            reference=_text(reference),
            note=_text(note),
            by=viewer.principal.user_id,
        )
    return redirect(viewer.request, _back(next_url, provider_id))


@router.post("/actions/{action_id}/done")
def done(
    viewer: ViewerDep,
    action_id: ActionIdPath,
    note: Annotated[str, Form()] = "",
    next_url: Annotated[str, Form(alias="next")] = "",
) -> Response:
    """Mark an item done (with how, as a note)."""
    item = _visible(viewer, action_id)
    given_note = _text(note)
    check_may_change(viewer.scope, item, {"status", *(["note"] if given_note else [])})
    with viewer.store.begin() as connection:
        mark_done(connection, action_id, by=viewer.principal.user_id, note=given_note)
    return redirect(viewer.request, _back(next_url))


@router.post("/actions/{action_id}/update")
def update(
    viewer: ViewerDep,
    action_id: ActionIdPath,
    status: Annotated[str, Form()] = "",
    owner: Annotated[str, Form()] = "",
    due_on: Annotated[str, Form()] = "",
    note: Annotated[str, Form()] = "",
    next_url: Annotated[str, Form(alias="next")] = "",
) -> Response:
    """Change an item's status or note (and, for a brand admin, its owner and due date).

    Fields left empty stay as they are; choosing the status it has already changes nothing.
    """
    item = _visible(viewer, action_id)
    wanted = check_status(status.strip()) if status.strip() else None
    if wanted == item.status and wanted not in CLOSED:
        wanted = None
    changes: dict[str, Any] = {
        "status": wanted,
        "owner": _text(owner),
        "due_on": parse_due(due_on) if due_on.strip() else None,
        "note": _text(note),
    }
    check_may_change(viewer.scope, item, {k for k, v in changes.items() if v is not None})
    with viewer.store.begin() as connection:
        update_action(connection, action_id, by=viewer.principal.user_id, **changes)
    return redirect(viewer.request, _back(next_url))

"""Action items agreed in weekly reviews: who does what by when, until done or dropped.

Brand users read every provider's items, a provider user its own provider's (another's read
as absent). A brand admin adds and changes items; a provider user adds items for its own
provider and changes the status and note of its own items; an analyst only reads. Who may
change what is decided by `tallyclerk.reports._actions`.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Query
from pydantic import BaseModel, ConfigDict, Field

from tallyclerk.access import Scope
from tallyclerk.api._deps import PrincipalDep, ScopeDep, StoreDep
from tallyclerk.api._models import (
    LARGEST_ID,
    NAME_PATTERN,
    ProviderQuery,
    ShortText,
    Text,
    errors,
)
from tallyclerk.api._pagination import Page, PageParams, page_params
from tallyclerk.reports._actions import (
    add_action,
    check_may_add,
    check_may_change,
    count_actions,
    get_action,
    list_actions,
    parse_week,
    update_action,
)
from tallyclerk.reports._model import ActionItem
from tallyclerk.store import Store

router = APIRouter(prefix="/api/v1", tags=["actions"])

Paging = Annotated[PageParams, Depends(page_params)]
ActionIdPath = Annotated[
    int, Path(ge=1, le=LARGEST_ID, description="The action item's id.", examples=[12])
]
StatusName = Literal["open", "in_progress", "done", "dropped"]
WEEK_PATTERN = r"^\d{4}-?[Ww]\d{1,2}$"
# Dates a person may mean: the store keeps any, but a due date in year 1 or 9999 is a slip.
Day = Annotated[date, Field(ge=date(1900, 1, 1), le=date(2999, 12, 31))]

_EXAMPLE_OUT: dict[str, Any] = {
    "action_id": 12,
    "provider_id": "eastbridge",
    "title": "Re-slot the fast movers before Black Friday",
    "owner": "Dana (eastbridge)",
    "party": "provider",
    "due_on": "2026-11-20",
    "status": "open",
    "overdue": False,
    "opened_week": "2026-W46",
    "reference": "finding:42",
    "note": None,
    "created_at": "2026-11-12T15:04:00Z",
    "created_by": "ana",
    "updated_at": "2026-11-12T15:04:00Z",
    "done_at": None,
}


class ActionOut(BaseModel):
    """An action item: what was agreed, who owns it, by when, and where it stands."""

    model_config = ConfigDict(json_schema_extra={"examples": [_EXAMPLE_OUT]})

    action_id: int
    provider_id: str
    title: str
    owner: str  # the person who does it
    party: str  # brand | provider: whose side owns it
    due_on: date | None
    status: str  # open | in_progress | done | dropped
    overdue: bool  # still to do after its due date (today, UTC)
    opened_week: str  # the review it was agreed in, like 2026-W46
    reference: str | None  # a finding, dispute or metric it follows up
    note: str | None
    created_at: datetime
    created_by: str | None
    updated_at: datetime
    done_at: datetime | None  # when it was done or dropped

    @classmethod
    def of(cls, item: ActionItem) -> ActionOut:
        """The API form of a stored item."""
        return cls(
            action_id=item.action_id,
            provider_id=item.provider_id,
            title=item.title,
            owner=item.owner,
            party=item.party,
            due_on=item.due_on,
            status=item.status,
            overdue=item.overdue(datetime.now(UTC).date()),
            opened_week=item.opened_week,
            reference=item.reference,
            note=item.note,
            created_at=item.created_at,
            created_by=item.created_by,
            updated_at=item.updated_at,
            done_at=item.done_at,
        )


class ActionIn(BaseModel):
    """A new action item, agreed in the review of `opened_week` (default: this week)."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "provider_id": "eastbridge",
                    "title": "Re-slot the fast movers before Black Friday",
                    "owner": "Dana (eastbridge)",
                    "party": "provider",
                    "due_on": "2026-11-20",
                    "opened_week": "2026-W46",
                    "reference": "finding:42",
                },
                {
                    "provider_id": "westcoast",
                    "title": "Send the peak staffing plan",
                    "owner": "Maria",
                    "party": "brand",
                },
            ]
        },
    )

    provider_id: Annotated[str, Field(pattern=NAME_PATTERN)]
    title: ShortText
    owner: ShortText
    party: Literal["brand", "provider"] = "provider"
    due_on: Day | None = None
    opened_week: Annotated[str, Field(pattern=WEEK_PATTERN, examples=["2026-W46"])] | None = None
    reference: ShortText | None = None
    note: Text | None = None


class ActionChange(BaseModel):
    """What to change on an item; fields left out stay as they are (an empty note clears it).

    A provider user may change `status` and `note` only. Setting `status` to `open` reopens a
    done or dropped item.
    """

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"status": "in_progress"},
                {"status": "done", "note": "re-slotted on 11-18"},
                {"owner": "Lee (eastbridge)", "due_on": "2026-11-27"},
                {"status": "open", "note": "came back after the audit"},
            ]
        },
    )

    status: StatusName | None = None
    owner: ShortText | None = None
    due_on: Day | None = None
    note: Text | None = None


def _visible(opened: Store, action_id: int, scope: Scope) -> ActionItem:
    """The item, or 404 when there is none or it belongs to another provider."""
    with opened.connect() as connection:
        item = get_action(connection, action_id)
    scope.check(item.provider_id, "action item")
    return item


@router.get(
    "/actions",
    response_model=Page[ActionOut],
    summary="List action items",
    description="Action items, pending first (overdue first, then by due date), then done "
    "and dropped ones. Filter by provider and status (repeatable: "
    "`status=open&status=in_progress` for the pending ones). A provider user sees its own.",
    responses=errors(404, 422),
)
def actions(
    scope: ScopeDep,
    opened: StoreDep,
    paging: Paging,
    provider: ProviderQuery = None,
    status: Annotated[
        list[StatusName] | None, Query(description="Only these statuses (repeatable).")
    ] = None,
) -> Page[ActionOut]:
    """The action items, a page at a time."""
    chosen = scope.providers(provider)
    statuses = list(dict.fromkeys(status)) if status else None
    with opened.connect() as connection:
        total = count_actions(connection, providers=chosen, statuses=statuses)
        found = list_actions(
            connection,
            providers=chosen,
            statuses=statuses,
            limit=paging.limit,
            offset=paging.offset,
        )
    return Page[ActionOut].of([ActionOut.of(i) for i in found], total, paging)


@router.get(
    "/actions/{action_id}",
    response_model=ActionOut,
    summary="One action item",
    description="An action item (404 when it belongs to another provider than the user's).",
    responses=errors(404, 422),
)
def one_action(action_id: ActionIdPath, scope: ScopeDep, opened: StoreDep) -> ActionOut:
    """The action item."""
    return ActionOut.of(_visible(opened, action_id, scope))


@router.post(
    "/actions",
    response_model=ActionOut,
    status_code=201,
    summary="Add an action item",
    description="Record what a weekly review agreed: the provider, what is to be done, the "
    "person who does it and their side (`party`), the due date and the review's ISO week "
    "(default: this week). A brand admin adds items for any provider, a provider user for "
    "its own; analysts only read.",
    responses=errors(400, 403, 404, 422),
)
def new_action(
    body: ActionIn, principal: PrincipalDep, scope: ScopeDep, opened: StoreDep
) -> ActionOut:
    """Add the item."""
    check_may_add(scope, body.provider_id)
    week = parse_week(body.opened_week, "opened_week") if body.opened_week else None
    with opened.begin() as connection:
        item = add_action(
            connection,
            provider_id=body.provider_id,
            title=body.title,
            owner=body.owner,
            party=body.party,
            due_on=body.due_on,
            opened_week=week,
            reference=body.reference,
            note=body.note,
            by=principal.user_id,
        )
    return ActionOut.of(item)


@router.patch(
    "/actions/{action_id}",
    response_model=ActionOut,
    summary="Change an action item",
    description="Change the status (done or dropped closes the item; open reopens it), the "
    "owner, the due date or the note. A brand admin changes anything; a provider user the "
    "status and note of its own provider's items; analysts only read.",
    responses=errors(400, 403, 404, 422),
)
def change_action(
    action_id: ActionIdPath,
    body: ActionChange,
    principal: PrincipalDep,
    scope: ScopeDep,
    opened: StoreDep,
) -> ActionOut:
    """Apply the change."""
    item = _visible(opened, action_id, scope)
    given = {name for name in body.model_fields_set if getattr(body, name) is not None}
    check_may_change(scope, item, given)
    with opened.begin() as connection:
        changed = update_action(
            connection,
            action_id,
            status=body.status,
            owner=body.owner,
            due_on=body.due_on,
            note=body.note,
            by=principal.user_id,
        )
    return ActionOut.of(changed)

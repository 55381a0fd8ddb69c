"""Action items: what a weekly review agreed (who does what by when), carried until closed.

An item belongs to a provider and to the review (ISO week) it was agreed in. It stays on every
later review while it is pending (open or in progress); once done or dropped it still shows on
the review of the week it was closed in, and on the reviews of earlier weeks, so an old review
read again lists what was pending at the time. A closed item can be reopened.

Who may change what is decided here too (`check_may_add`, `check_may_change`): a brand admin
anything, a provider user the status and note of its own provider's items (and may add items
for its own provider), an analyst nothing. Nothing here commits.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, cast

import sqlalchemy as sa

from tallyclerk.access import AccessError, NotFoundError, Principal, Scope
from tallyclerk.errors import InputError
from tallyclerk.reports._model import (
    ACTION_STATUSES,
    PARTIES,
    ActionItem,
    ActionStatus,
    IsoWeek,
    Party,
)
from tallyclerk.store.schema import action_items
from tallyclerk.store.schema import providers as providers_table

PENDING: tuple[ActionStatus, ...] = ("open", "in_progress")
CLOSED: tuple[ActionStatus, ...] = ("done", "dropped")
# status -> the statuses it may change to. A closed item is only reopened (to open).
TRANSITIONS: dict[ActionStatus, tuple[ActionStatus, ...]] = {
    "open": ("in_progress", "done", "dropped"),
    "in_progress": ("open", "done", "dropped"),
    "done": ("open",),
    "dropped": ("open",),
}
FIELDS = frozenset({"status", "owner", "due_on", "note"})
PROVIDER_FIELDS = frozenset({"status", "note"})  # what a provider user may change


# ---------------------------------------------------------------------------- pure rules


def check_status(status: str) -> ActionStatus:
    """The status, or an InputError naming the allowed ones."""
    if status not in ACTION_STATUSES:
        raise InputError(f"status {status!r} is not one of {', '.join(ACTION_STATUSES)}")
    return status


def check_party(party: str) -> Party:
    """The party, or an InputError naming the allowed ones."""
    if party not in PARTIES:
        raise InputError(f"party {party!r} is not one of {', '.join(PARTIES)}")
    return party


def next_statuses(status: str) -> tuple[ActionStatus, ...]:
    """The statuses an item in `status` may change to."""
    return TRANSITIONS.get(cast(ActionStatus, status), ())


def check_transition(action_id: int, current: str, wanted: ActionStatus) -> None:
    """Refuse a change of status the workflow does not allow (done -> open is a reopening)."""
    if wanted == current and wanted in PENDING:
        return  # nothing changes
    if wanted == current:
        raise InputError(f"action {action_id} is {current} already")
    if wanted not in next_statuses(current):
        if current in CLOSED:
            raise InputError(
                f"action {action_id} is {current}: it can only be reopened (status open), "
                f"not set to {wanted}"
            )
        choices = ", ".join(next_statuses(current))
        raise InputError(f"action {action_id} is {current}: it can become {choices}, not {wanted}")


def check_due(due_on: date | None, week: IsoWeek) -> None:
    """A due date may not fall before the week the item was agreed in (a typo, surely)."""
    if due_on is not None and due_on < week.start:
        raise InputError(
            f"due date {due_on.isoformat()} is before week {week.name} (which starts "
            f"{week.start.isoformat()}), the week the action was agreed in"
        )


def parse_week(text: str, what: str = "week") -> IsoWeek:
    """An ISO week typed by a user (2026-W46), or an InputError saying how to write it."""
    try:
        return IsoWeek.parse(text)
    except ValueError as exc:
        raise InputError(f"{what}: {exc}") from None


def parse_due(text: str, what: str = "due date") -> date:
    """A due date typed by a user (2026-11-20), or an InputError saying how to write it."""
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise InputError(f"{what} {text.strip()!r} is not a date like 2026-11-20") from None


def _required(value: str, what: str) -> str:
    cleaned = value.strip()
    if not cleaned:
        raise InputError(f"an action item needs {what}")
    return cleaned


def _optional(value: str | None) -> str | None:
    if value is None:
        return None
    cleaned = value.strip()
    return cleaned or None


def _week_key(week: IsoWeek) -> tuple[int, int]:
    return (week.year, week.week)


def week_began(week: IsoWeek) -> datetime:
    """The Monday 00:00 UTC that starts the week."""
    return datetime.combine(week.start, time(), tzinfo=UTC)


def week_ended(week: IsoWeek) -> datetime:
    """The moment after the week's Sunday (the next Monday 00:00 UTC)."""
    return week_began(week) + timedelta(days=7)


def pending_at_end(item: ActionItem, week: IsoWeek) -> bool:
    """Whether the item was still to do when the week ended."""
    if item.status in PENDING:
        return True
    return item.done_at is not None and item.done_at >= week_ended(week)


def overdue_at_end(item: ActionItem, week: IsoWeek) -> bool:
    """Still to do at the end of the week, and due before its Sunday."""
    return pending_at_end(item, week) and item.due_on is not None and week.end > item.due_on


def closed_in(item: ActionItem) -> IsoWeek | None:
    """The ISO week (UTC) the item was done or dropped in, if it is closed."""
    if item.status in PENDING or item.done_at is None:
        return None
    return IsoWeek.of(item.done_at.astimezone(UTC).date())


def action_document(item: ActionItem, today: date) -> dict[str, Any]:
    """The item as plain JSON values (dates and times ISO 8601), with whether it is overdue."""
    return {
        "action_id": item.action_id,
        "provider_id": item.provider_id,
        "title": item.title,
        "owner": item.owner,
        "party": item.party,
        "due_on": item.due_on.isoformat() if item.due_on else None,
        "status": item.status,
        "overdue": item.overdue(today),
        "opened_week": item.opened_week,
        "reference": item.reference,
        "note": item.note,
        "created_at": item.created_at.isoformat(),
        "created_by": item.created_by,
        "updated_at": item.updated_at.isoformat(),
        "done_at": item.done_at.isoformat() if item.done_at else None,
    }


# ---------------------------------------------------------------------------- who may change


def editable_fields(principal: Principal) -> frozenset[str]:
    """What a user may change on an action item of a provider it sees."""
    if principal.role == "admin":
        return FIELDS
    if principal.role == "provider":
        return PROVIDER_FIELDS
    return frozenset()


def may_add(principal: Principal) -> bool:
    """Whether a user may add action items (a brand admin, or a provider user for its own)."""
    return principal.role in ("admin", "provider")


def check_may_add(scope: Scope, provider_id: str) -> None:
    """Refuse an addition the user may not make: another provider's (404), an analyst (403)."""
    scope.check(provider_id, "provider")
    if not may_add(scope.principal):
        raise AccessError(
            f"{scope.principal.user_id} is {scope.principal.role}: an analyst reads action "
            "items but does not add them"
        )


def check_may_change(scope: Scope, item: ActionItem, fields: Iterable[str]) -> None:
    """Refuse a change the user may not make (another provider's item reads as absent)."""
    scope.check(item.provider_id, "action item")
    principal = scope.principal
    allowed = editable_fields(principal)
    if not allowed:
        raise AccessError(
            f"{principal.user_id} is {principal.role}: an analyst reads action items but "
            "does not change them"
        )
    refused = sorted(set(fields) - allowed)
    if refused:
        raise AccessError(
            "a provider user changes the status and note of its own action items, not "
            + ", ".join(refused)
        )


# ---------------------------------------------------------------------------- the store


def _utc(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _now(now: datetime | None) -> datetime:
    return (now or datetime.now(UTC)).astimezone(UTC)


def _item(row: sa.RowMapping) -> ActionItem:
    created_at = _utc(row["created_at"])
    updated_at = _utc(row["updated_at"])
    assert created_at is not None  # a required column
    assert updated_at is not None
    return ActionItem(
        action_id=int(row["action_id"]),
        provider_id=row["provider_id"],
        title=row["title"],
        owner=row["owner"],
        party=cast(Party, row["party"]),
        due_on=row["due_on"],
        status=cast(ActionStatus, row["status"]),
        opened_week=row["opened_week"],
        created_at=created_at,
        created_by=row["created_by"],
        updated_at=updated_at,
        done_at=_utc(row["done_at"]),
        note=row["note"],
        reference=row["reference"],
    )


def known_providers(connection: sa.Connection) -> list[str]:
    """The providers action items may be agreed with (those of the stored contracts)."""
    return list(
        connection.execute(
            sa.select(providers_table.c.provider_id).order_by(providers_table.c.provider_id)
        ).scalars()
    )


def _check_provider(connection: sa.Connection, provider_id: str) -> None:
    found = connection.execute(
        sa.select(providers_table.c.provider_id).where(providers_table.c.provider_id == provider_id)
    ).first()
    if found is None:
        raise InputError(f"no provider {provider_id!r} (add its contract first)")


def get_action(connection: sa.Connection, action_id: int) -> ActionItem:
    """The stored action item, or NotFoundError when there is none by that id."""
    row = (
        connection.execute(sa.select(action_items).where(action_items.c.action_id == action_id))
        .mappings()
        .first()
    )
    if row is None:
        raise NotFoundError(f"no action item {action_id}")
    return _item(row)


def add_action(
    connection: sa.Connection,
    *,
    provider_id: str,
    title: str,
    owner: str,
    party: Party = "provider",
    due_on: date | None = None,
    opened_week: IsoWeek | None = None,
    reference: str | None = None,
    note: str | None = None,
    by: str | None = None,
    now: datetime | None = None,
) -> ActionItem:
    """Record an item agreed in the review of `opened_week` (default: the ISO week of now, UTC)."""
    _check_provider(connection, provider_id)
    title = _required(title, "a title")
    owner = _required(owner, "an owner (the person who does it)")
    party = check_party(party)
    now = _now(now)
    week = opened_week or IsoWeek.of(now.date())
    check_due(due_on, week)
    action_id = connection.execute(
        sa.insert(action_items)
        .values(
            provider_id=provider_id,
            title=title,
            owner=owner,
            party=party,
            due_on=due_on,
            status="open",
            opened_week=week.name,
            reference=_optional(reference),
            note=_optional(note),
            created_at=now,
            created_by=by,
            updated_at=now,
            updated_by=by,
            done_at=None,
        )
        .returning(action_items.c.action_id)
    ).scalar_one()
    return get_action(connection, int(action_id))


def _filtered(
    query: sa.Select[Any], providers: Sequence[str] | None, statuses: Sequence[str] | None
) -> sa.Select[Any]:
    c = action_items.c
    if providers is not None:
        query = query.where(c.provider_id.in_(list(providers)))
    if statuses is not None:
        query = query.where(c.status.in_([check_status(s) for s in statuses]))
    return query


def list_actions(
    connection: sa.Connection,
    *,
    providers: Sequence[str] | None = None,
    statuses: Sequence[str] | None = None,
    limit: int | None = None,
    offset: int = 0,
    today: date | None = None,
) -> list[ActionItem]:
    """Stored items: pending first, overdue (on `today`, default UTC's) first, then by due date.

    Items without a due date come after those with one; ties go by id.
    """
    today = today or datetime.now(UTC).date()
    c = action_items.c
    pending = c.status.in_(PENDING)
    query = _filtered(sa.select(action_items), providers, statuses).order_by(
        sa.case((pending, 0), else_=1),
        sa.case((sa.and_(pending, c.due_on < today), 0), else_=1),
        c.due_on.asc().nulls_last(),
        c.action_id,
    )
    if limit is not None:
        query = query.limit(max(0, limit))
    if offset > 0:
        query = query.offset(offset)
    return [_item(row) for row in connection.execute(query).mappings()]


def count_actions(
    connection: sa.Connection,
    *,
    providers: Sequence[str] | None = None,
    statuses: Sequence[str] | None = None,
) -> int:
    """How many items `list_actions` would page through."""
    query = _filtered(sa.select(sa.func.count()).select_from(action_items), providers, statuses)
    return int(connection.execute(query).scalar_one())


def update_action(
    connection: sa.Connection,
    action_id: int,
    *,
    status: ActionStatus | None = None,
    owner: str | None = None,
    due_on: date | None = None,
    note: str | None = None,
    by: str | None = None,
    now: datetime | None = None,
) -> ActionItem:
    """Change an item's status, owner, due date or note (an empty note clears it).

    Done or dropped stamps `done_at`; reopening (back to open) clears it.
    """
    current = get_action(connection, action_id)
    if status is None and owner is None and due_on is None and note is None:
        raise InputError(
            f"nothing to change on action {action_id}: give a status, owner, due date or note"
        )
    now = _now(now)
    values: dict[str, Any] = {"updated_at": now, "updated_by": by}
    if status is not None:
        wanted = check_status(status)
        check_transition(action_id, current.status, wanted)
        values["status"] = wanted
        if wanted in CLOSED and current.status in PENDING:
            values["done_at"] = now
        elif wanted in PENDING and current.status in CLOSED:
            values["done_at"] = None
    if owner is not None:
        values["owner"] = _required(owner, "an owner (the person who does it)")
    if due_on is not None:
        check_due(due_on, parse_week(current.opened_week, f"action {action_id}'s week"))
        values["due_on"] = due_on
    if note is not None:
        values["note"] = _optional(note)
    c = action_items.c
    connection.execute(
        sa.update(action_items)
        .where(c.action_id == action_id, c.status == current.status)
        .values(**values)
    )
    changed = get_action(connection, action_id)
    if changed.updated_at != now or changed.status != values.get("status", current.status):
        raise InputError(
            f"action {action_id} changed meanwhile (it is {changed.status} now); look at it again"
        )
    return changed


def mark_done(
    connection: sa.Connection,
    action_id: int,
    *,
    by: str | None = None,
    note: str | None = None,
    now: datetime | None = None,
) -> ActionItem:
    """Close an item as done (with a note on how, if given)."""
    return update_action(connection, action_id, status="done", note=note, by=by, now=now)


def actions_for_review(
    connection: sa.Connection, provider_id: str, week: IsoWeek
) -> list[ActionItem]:
    """The items the provider's review of `week` shows.

    Those agreed in or before the week that are still pending, or were done or dropped on or
    after the week's Monday (UTC): a review of an older week shows what was pending then.
    Overdue at the end of the week first, then by due date (none last), then by id.
    """
    c = action_items.c
    rows = connection.execute(
        sa.select(action_items).where(
            c.provider_id == provider_id,
            sa.or_(c.status.in_(PENDING), c.done_at >= week_began(week)),
        )
    ).mappings()
    upto = _week_key(week)
    found = [
        item
        for item in map(_item, rows)
        if _week_key(parse_week(item.opened_week, f"action {item.action_id}'s week")) <= upto
    ]
    found.sort(
        key=lambda i: (
            not overdue_at_end(i, week),
            i.due_on is None,
            i.due_on or date.max,
            i.action_id,
        )
    )
    return found


__all__ = [
    "CLOSED",
    "FIELDS",
    "PENDING",
    "PROVIDER_FIELDS",
    "TRANSITIONS",
    "action_document",
    "actions_for_review",
    "add_action",
    "check_due",
    "check_may_add",
    "check_may_change",
    "check_party",
    "check_status",
    "check_transition",
    "closed_in",
    "count_actions",
    "editable_fields",
    "get_action",
    "known_providers",
    "list_actions",
    "mark_done",
    "may_add",
    "next_statuses",
    "overdue_at_end",
    "parse_due",
    "parse_week",
    "pending_at_end",
    "update_action",
    "week_began",
    "week_ended",
]

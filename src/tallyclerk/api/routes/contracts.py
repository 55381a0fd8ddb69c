"""Contracts with the 3PLs: stored versions, the version in force, and adding a version.

A contract is YAML (DESIGN section 6), validated with every problem located by line and
key; versions are kept by their effective date. A provider user reads its own contract.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from decimal import Decimal
from typing import Annotated, Any

import sqlalchemy as sa
from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from tallyclerk.access import NotFoundError
from tallyclerk.api._deps import ScopeDep, StoreDep
from tallyclerk.api._errors import error_body
from tallyclerk.api._models import NAME_PATTERN, ProviderQuery, errors, page_slice
from tallyclerk.api._pagination import Page, PageParams, page_params
from tallyclerk.contracts import ContractError, contract_in_force, parse_contract
from tallyclerk.contracts._repository import add_contract, contract_versions, stored_contracts
from tallyclerk.errors import InputError
from tallyclerk.store.schema import contracts as contracts_table

router = APIRouter(prefix="/api/v1", tags=["contracts"])

Paging = Annotated[PageParams, Depends(page_params)]
ProviderPath = Annotated[str, Path(pattern=NAME_PATTERN, description="The provider.")]
MAX_CONTRACT_BYTES = 1024 * 1024
YAML_TYPES = ("application/yaml", "application/x-yaml", "text/yaml", "text/x-yaml", "text/plain")

_EXAMPLE = """\
provider: westcoast
name: WestCoast 3PL fulfillment services agreement
effective: 2026-07-01
currency: USD
facilities:
  - {id: LAX1, timezone: America/Los_Angeles, country: US, subdivision: CA, cutoff: "14:00"}
capacity: {orders_per_day: 4000, peak_orders_per_day: 6000}
metrics:
  ship_on_time_rate: {target: 0.99, rule: same_day_before_cutoff}
  order_accuracy_rate: {target: 0.995}
credits:
  cap_pct_of_fees: 25
  tiers:
    - {metric: ship_on_time_rate, below: 0.99, credit_pct_of_fees: 5}
rates:
  pick_pack: 3.00
  additional_unit: 0.75
  packaging: {poly_mailer: 0.35, box_small: 0.85}
  storage_per_pallet_month: 25.00
  receiving_per_unit: 0.25
  returns_per_unit: 3.50
  shipping_markup_pct: 0
"""


class ContractVersionOut(BaseModel):
    """One stored version of a provider's contract."""

    provider_id: str
    effective: date
    name: str | None
    currency: str
    source_name: str | None
    content_sha256: str
    added_at: datetime
    in_force: bool  # the version in force today


class ContractOut(BaseModel):
    """A provider's contract version: its terms as parsed, and its YAML as stored."""

    provider_id: str
    effective: date
    name: str | None
    currency: str
    source_name: str | None
    added_at: datetime
    in_force: bool  # false: no version is in force on the day asked; this is the next one
    versions: list[date]  # every stored version's effective date
    terms: dict[str, Any]
    source_yaml: str


class ContractAdded(BaseModel):
    """What adding a contract did: added, replaced (same effective date) or unchanged."""

    outcome: str
    provider_id: str
    effective: date


def _plain(value: Any) -> Any:
    """Contract terms as JSON values: dates in ISO form, money and percentages as text."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, date | time):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return value


def _today() -> date:
    return datetime.now(UTC).date()


@router.get(
    "/contracts",
    response_model=Page[ContractVersionOut],
    summary="Contract versions",
    description="Every stored contract version, by provider and effective date, marking "
    "the one in force today. A provider user sees its own.",
    responses=errors(404, 422),
)
def versions(
    scope: ScopeDep, opened: StoreDep, paging: Paging, provider: ProviderQuery = None
) -> Page[ContractVersionOut]:
    """The stored versions."""
    chosen = scope.providers(provider)
    with opened.connect() as connection:
        stored = [
            v for v in stored_contracts(connection) if chosen is None or v.provider_id in chosen
        ]
    today = _today()
    current: dict[str, date] = {}
    for v in stored:
        if v.effective <= today:
            current[v.provider_id] = max(v.effective, current.get(v.provider_id, v.effective))
    out = [
        ContractVersionOut(
            provider_id=v.provider_id,
            effective=v.effective,
            name=v.name,
            currency=v.currency,
            source_name=v.source_name,
            content_sha256=v.content_sha256,
            added_at=v.added_at,
            in_force=current.get(v.provider_id) == v.effective,
        )
        for v in stored
    ]
    return Page[ContractVersionOut].of(
        page_slice(out, paging.limit, paging.offset), len(out), paging
    )


@router.get(
    "/contracts/{provider_id}",
    response_model=ContractOut,
    summary="A provider's contract in force",
    description="The version in force on `on` (default today; before the first version: "
    "the first one, marked in_force false), its terms as parsed (peak variants, "
    "exclusions, credits, rates) and the YAML it was added from.",
    responses=errors(400, 404, 422),
)
def in_force(
    provider_id: ProviderPath,
    scope: ScopeDep,
    opened: StoreDep,
    on: Annotated[
        date | None, Query(description="The day (default today).", examples=["2026-03-01"])
    ] = None,
) -> ContractOut:
    """The contract in force."""
    scope.check(provider_id, "provider")
    day = on or _today()
    with opened.connect() as connection:
        stored = stored_contracts(connection, provider_id)
        if not stored:
            raise NotFoundError(f"no contract of {provider_id!r}")
        parsed = contract_versions(connection, provider_id)
        chosen = contract_in_force(parsed, day)
        current = chosen is not None
        contract = chosen or parsed[0]
        c = contracts_table.c
        text = connection.execute(
            sa.select(c.source_text).where(
                c.provider_id == provider_id, c.effective == contract.effective
            )
        ).scalar_one()
    version = next(v for v in stored if v.effective == contract.effective)
    return ContractOut(
        provider_id=provider_id,
        effective=contract.effective,
        name=version.name,
        currency=version.currency,
        source_name=version.source_name,
        added_at=version.added_at,
        in_force=current,
        versions=[v.effective for v in stored],
        terms=_plain(contract.model_dump(by_alias=True)),
        source_yaml=str(text),
    )


async def _yaml_text(request: Request, scope: ScopeDep) -> str:
    """The request body as contract text (UTF-8, at most MAX_CONTRACT_BYTES); admins only."""
    scope.require_admin()
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind not in YAML_TYPES:
        raise InputError(
            f"send the contract as YAML (Content-Type: application/yaml), not {kind or 'nothing'}"
        )
    body = await request.body()
    if len(body) > MAX_CONTRACT_BYTES:
        raise InputError(f"a contract of {len(body):,} bytes is too large (at most 1 MiB)")
    try:
        return body.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputError(f"the contract is not UTF-8 text (byte {exc.start})") from None


@router.post(
    "/contracts",
    response_model=ContractAdded,
    status_code=201,
    summary="Add a contract version",
    description="Validate the YAML and store it as the provider's version of its effective "
    "date (the same text again changes nothing; a changed text with the same effective "
    "date replaces that version). Every problem comes back with its line and key in "
    "`error.details`, and nothing is stored. Admin only.",
    responses=errors(400, 403, 422),
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "application/yaml": {
                    "schema": {"type": "string"},
                    "examples": {"contract": {"summary": "A contract", "value": _EXAMPLE}},
                }
            },
        }
    },
)
def add(
    opened: StoreDep,
    text: Annotated[str, Depends(_yaml_text)],
    source_name: Annotated[
        str | None,
        Query(pattern=NAME_PATTERN, description="The file name to remember it by."),
    ] = None,
) -> ContractAdded | JSONResponse:
    """Store the contract version."""
    name = source_name or "api upload"
    try:
        contract = parse_contract(text, name)
    except ContractError as exc:
        details = [
            {"file": i.file, "line": i.line, "key": i.key, "message": i.message} for i in exc.errors
        ]
        count = len(details)
        message = f"the contract has {count} problem{'s' if count != 1 else ''}: {exc.errors[0]}"
        return JSONResponse(error_body(400, message, details), status_code=400)
    with opened.begin() as connection:
        outcome = add_contract(connection, contract, text, name)
    return ContractAdded(
        outcome=outcome, provider_id=contract.provider, effective=contract.effective
    )

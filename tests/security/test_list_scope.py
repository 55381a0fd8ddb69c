"""A provider user's lists count only what it sees: the scope is part of each query.

A list filtered after its page was cut would announce another provider's records in its
`total`, show short or empty pages and send a client paging through it round in circles. A
brand batch whose connector settings mention eastbridge (a decoy for a filter that matches
text instead of reading the options) is added; for each provider, every page is walked at
one item per page and at 500, and total, pages and items must agree, on both databases.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qsl

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from tallyclerk.api.routes.batches import provider_of
from tallyclerk.store import open_store
from tallyclerk.store.schema import ingestion_batches, quarantine
from tests.api.conftest import ON_BOTH, PROVIDERS, auth

pytestmark = ON_BOTH
OWN = PROVIDERS[0]


def _walk(client: TestClient, token: str, path: str, limit: int) -> tuple[int, list[Any]]:
    """Every page of a list; the total the first page announced and the items."""
    url, _, query = path.partition("?")
    params: dict[str, Any] = dict(parse_qsl(query))
    first = client.get(url, params={**params, "limit": limit}, headers=auth(token)).json()
    items, offset = list(first["items"]), first["next_offset"]
    while offset is not None:
        page = client.get(
            url, params={**params, "limit": limit, "offset": offset}, headers=auth(token)
        )
        body = page.json()
        assert body["total"] == first["total"]
        assert body["items"], f"{path}: an empty page at offset {offset} of {body['total']}"
        items += body["items"]
        offset = body["next_offset"]
    return first["total"], items


@pytest.fixture(scope="module")
def decoy_batch(api_store: str) -> int:
    """A brand batch whose connector settings mention eastbridge (it is still the brand's)."""
    options = {
        "connector": "tracking-json",
        "profile": None,
        "provider_id": None,
        "settings": {"forwarded_for": {"provider_id": OWN}},
    }
    store = open_store(url=api_store)
    try:
        with store.begin() as connection:
            batch = connection.execute(
                sa.insert(ingestion_batches)
                .values(
                    source="forwarded.json",
                    kind="tracking_events",
                    format="tracking-json",
                    status="landed",
                    started_at=sa.func.now(),
                    finished_at=sa.func.now(),
                    quarantined=1,
                    options=json.dumps(options, sort_keys=True),
                )
                .returning(ingestion_batches.c.batch_id)
            ).scalar_one()
            connection.execute(
                sa.insert(quarantine).values(
                    batch_id=batch,
                    kind="tracking_events",
                    source="forwarded.json",
                    line=1,
                    reason="a decoy",
                    record="{}",
                    status="open",
                    created_at=sa.func.now(),
                )
            )
    finally:
        store.close()
    assert provider_of(json.dumps(options, sort_keys=True)) is None
    return int(batch)


def _owners(url: str, held: bool) -> list[str | None]:
    """The owner of every batch (or of every quarantined record), as provider_of reads it."""
    store = open_store(url=url)
    try:
        with store.connect() as connection:
            query = sa.select(ingestion_batches.c.options)
            if held:
                query = query.join(
                    quarantine, quarantine.c.batch_id == ingestion_batches.c.batch_id
                )
            return [provider_of(options) for (options,) in connection.execute(query)]
    finally:
        store.close()


@pytest.mark.parametrize("path", ["/api/v1/batches", "/api/v1/quarantine?status=all"])
def test_a_providers_totals_count_only_its_own(
    path: str, api_client: TestClient, tokens: dict[str, str], api_store: str, decoy_batch: int
) -> None:
    owners = _owners(api_store, "quarantine" in path)
    assert None in owners  # the brand's records are there to be left out
    for provider in PROVIDERS:
        expected = owners.count(provider)
        assert expected >= 1
        for limit in (1, 500):
            total, items = _walk(api_client, tokens[provider], path, limit)
            assert {i["provider_id"] for i in items} == {provider}, path
            assert decoy_batch not in {i["batch_id"] for i in items}
            assert (total, len(items)) == (expected, expected), (provider, limit)
    admin_total, _ = _walk(api_client, tokens["admin"], path, 500)
    assert admin_total == len(owners)
    narrowed, _ = _walk(
        api_client, tokens["admin"], f"{path}{'&' if '?' in path else '?'}provider={OWN}", 500
    )
    assert narrowed == owners.count(OWN)


def test_source_health_counts_only_its_own(
    api_client: TestClient, tokens: dict[str, str], decoy_batch: int
) -> None:
    for provider in PROVIDERS:
        total, items = _walk(api_client, tokens[provider], "/api/v1/health/sources", 1)
        assert total == len(items) >= 1
        assert {i["provider_id"] for i in items} == {provider}
        assert decoy_batch not in {i["last_batch_id"] for i in items}

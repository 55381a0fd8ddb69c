"""Uploads and JSON ingestion through the API: formats, roles, quarantine, limits."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi import FastAPI
from fastapi.testclient import TestClient

from tallyclerk.access import add_user, create_token
from tallyclerk.api import create_app
from tallyclerk.contracts import load_contract
from tallyclerk.contracts._repository import add_contract
from tallyclerk.settings import Settings
from tallyclerk.store import open_store
from tallyclerk.store.schema import CANONICAL_TABLES
from tests.support import WESTCOAST

X12_945 = Path("edi") / "x12" / "945" / "x12-types_test_945_parse_1.edi"
ORDERS_CSV = (
    "order_id,placed_at,channel,ship_to_country,ship_to_postal,service_level,"
    "promised_delivery_date,order_value,currency,cancelled_at\n"
    "IF102,2019-06-01T10:00:00Z,web,US,66216,ground,,120.50,USD,\n"
)


@dataclass
class Tokens:
    admin: str
    analyst: str
    westcoast: str


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Tokens]:
    """A store with the westcoast contract, an admin, an analyst and a westcoast user."""
    path = tmp_path_factory.mktemp("uploads") / "store.duckdb"
    store = open_store(url=f"duckdb:///{path}")
    with store.begin() as connection:
        add_contract(
            connection, load_contract(WESTCOAST), WESTCOAST.read_text(encoding="utf-8"), "w.yaml"
        )
        add_user(connection, "ana", "admin")
        add_user(connection, "otto", "analyst")
        add_user(connection, "wes", "provider", provider_id="westcoast")
        tokens = Tokens(
            create_token(connection, "ana")[1],
            create_token(connection, "otto")[1],
            create_token(connection, "wes")[1],
        )
    store.close()
    return path, tokens


@pytest.fixture
def tokens(template: tuple[Path, Tokens]) -> Tokens:
    return template[1]


def _app(template: tuple[Path, Tokens], folder: Path, **service: Any) -> FastAPI:
    target = folder / "store.duckdb"
    shutil.copy(template[0], target)
    settings = Settings(
        database_url=f"duckdb:///{target}",
        service={"spool_dir": folder / "spool", **service},  # type: ignore[arg-type]
        connectors={"profiles_dir": folder / "profiles"},  # type: ignore[arg-type]
    )
    return create_app(settings)


@pytest.fixture
def app(template: tuple[Path, Tokens], tmp_path: Path) -> FastAPI:
    return _app(template, tmp_path)


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app) as opened:
        yield opened


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def rows(app: FastAPI, kind: str) -> list[dict[str, Any]]:
    table = CANONICAL_TABLES[kind]
    with app.state.tc.gate.store() as store, store.connect() as connection:
        return [dict(row._mapping) for row in connection.execute(sa.select(table))]


def fixed_945(samples: Path) -> bytes:
    """The real 945 sample with its SE01 count corrected (as published it miscounts)."""
    return (samples / X12_945).read_bytes().replace(b"SE*12*", b"SE*16*")


# -- uploads ---------------------------------------------------------------------------------


def test_an_x12_945_and_a_canonical_csv_land(
    app: FastAPI, client: TestClient, tokens: Tokens, samples: Path
) -> None:
    files = [
        ("files", ("945-0604.edi", fixed_945(samples), "application/edi-x12")),
        ("files", ("orders.csv", ORDERS_CSV.encode(), "text/csv")),
    ]
    response = client.post(
        "/api/v1/uploads", files=files, data={"provider": "westcoast"}, headers=auth(tokens.admin)
    )
    assert response.status_code == 200, response.text
    result = response.json()
    assert result["ok"] is True
    orders, edi = result["files"]  # parents first: the orders land before the shipment
    assert (orders["file"], orders["kind"], orders["stored"]) == ("orders.csv", "orders", 1)
    assert (edi["file"], edi["kind"], edi["status"]) == ("945-0604.edi", "x12", "landed")
    assert edi["stored"] == 2  # the shipment and its line
    (ack,) = edi["acknowledgments"]
    assert ack["document"] == "997"
    assert ack["name"].startswith("997-")
    (shipment,) = rows(app, "shipments")
    assert (shipment["shipment_id"], shipment["order_id"]) == ("BOL12345", "IF102")
    assert shipment["provider_id"] == "westcoast"


def test_the_published_945_sample_is_quarantined_with_its_position(
    client: TestClient, tokens: Tokens, samples: Path
) -> None:
    raw = (samples / X12_945).read_bytes()
    response = client.post(
        "/api/v1/uploads",
        files=[("files", ("sample.edi", raw))],
        data={"provider": "westcoast"},
        headers=auth(tokens.admin),
    )
    assert response.status_code == 200
    (edi,) = response.json()["files"]
    assert (edi["status"], edi["stored"], edi["quarantined"]) == ("landed", 0, 1)
    (reject,) = edi["rejects"]
    assert reject["position"] == "segment 18 (SE)"
    assert "SE01 says the set has 12 segment(s)" in reject["reason"]
    assert [a["document"] for a in edi["acknowledgments"]] == ["997"]
    assert response.json()["ok"] is False


def test_a_broken_row_is_quarantined_and_named(client: TestClient, tokens: Tokens) -> None:
    text = ORDERS_CSV + "IF103,not a time,web,US,66216,ground,,10.00,USD,\n"
    response = client.post(
        "/api/v1/uploads",
        files=[("files", ("orders.csv", text.encode()))],
        headers=auth(tokens.admin),
    )
    (result,) = response.json()["files"]
    assert (result["stored"], result["quarantined"]) == (1, 1)
    (reject,) = result["rejects"]
    assert reject["position"] == "line 3"
    assert reject["column"] == "placed_at"


def test_an_unrecognized_file_is_named_without_the_server_path(
    client: TestClient, tokens: Tokens
) -> None:
    response = client.post(
        "/api/v1/uploads",
        files=[("files", ("notes.txt", b"hello"))],
        headers=auth(tokens.admin),
    )
    assert response.status_code == 400
    message = response.json()["error"]["message"]
    assert message.startswith("notes.txt: not a file tallyclerk recognizes")
    assert "tallyclerk-upload" not in message
    assert "the format field" in message


def test_a_provider_user_uploads_for_its_own_provider_only(
    app: FastAPI, client: TestClient, tokens: Tokens, samples: Path
) -> None:
    edi = [("files", ("945.edi", fixed_945(samples)))]
    other = client.post(
        "/api/v1/uploads",
        files=edi,
        data={"provider": "eastbridge"},
        headers=auth(tokens.westcoast),
    )
    assert other.status_code == 404
    assert other.json()["error"]["message"] == "no provider 'eastbridge'"
    orders = [("files", ("orders.csv", ORDERS_CSV.encode()))]
    brand = client.post("/api/v1/uploads", files=orders, headers=auth(tokens.westcoast))
    assert brand.status_code == 403
    assert rows(app, "orders") == []
    # The provider is the user's own even when the form does not name it.
    client.post("/api/v1/uploads", files=orders, headers=auth(tokens.admin))
    own = client.post("/api/v1/uploads", files=edi, headers=auth(tokens.westcoast))
    assert own.status_code == 200
    assert own.json()["files"][0]["stored"] == 2
    assert [s["provider_id"] for s in rows(app, "shipments")] == ["westcoast"]


def test_a_provider_user_cannot_send_rows_of_another_provider(
    app: FastAPI, client: TestClient, tokens: Tokens
) -> None:
    snapshots = (
        "provider_id,facility_id,as_of,sku,on_hand,available,damaged\n"
        "westcoast,LAX1,2026-03-01T00:00:00Z,S-1,5,5,0\n"
        "eastbridge,LAX1,2026-03-01T00:00:00Z,S-2,5,5,0\n"
    )
    response = client.post(
        "/api/v1/uploads",
        files=[("files", ("inventory_snapshots.csv", snapshots.encode()))],
        headers=auth(tokens.westcoast),
    )
    assert response.status_code == 404
    assert rows(app, "inventory_snapshots") == []


def test_an_analyst_cannot_upload(client: TestClient, tokens: Tokens) -> None:
    response = client.post(
        "/api/v1/uploads",
        files=[("files", ("orders.csv", ORDERS_CSV.encode()))],
        headers=auth(tokens.analyst),
    )
    assert response.status_code == 403
    assert "otto is analyst" in response.json()["error"]["message"]


def test_an_upload_over_the_limit_is_refused(
    template: tuple[Path, Tokens], tmp_path: Path, tokens: Tokens
) -> None:
    app = _app(template, tmp_path, max_upload_bytes=2048)
    big = ORDERS_CSV + "".join(
        f"X{n},2026-01-01T00:00:00Z,web,US,1,ground,,1.00,USD,\n" for n in range(100)
    )
    with TestClient(app) as client:
        response = client.post(
            "/api/v1/uploads",
            files=[("files", ("orders.csv", big.encode()))],
            headers=auth(tokens.admin),
        )
        assert response.status_code == 413
        assert "larger than 2,048 bytes" in response.json()["error"]["message"]
        assert rows(app, "orders") == []
        small = client.post(
            "/api/v1/uploads",
            files=[("files", ("orders.csv", ORDERS_CSV.encode()))],
            headers=auth(tokens.admin),
        )
        assert small.status_code == 200

        def chunks() -> Iterator[bytes]:
            yield b'{"records": ['
            for _ in range(100):
                yield b'{"order_id": "C", "placed_at": "2026-01-01T00:00:00Z"},'
            yield b"{}]}"

        streamed = client.post(
            "/api/v1/ingest/orders",
            content=chunks(),
            headers={**auth(tokens.admin), "Content-Type": "application/json"},
        )
        assert streamed.status_code == 413
        assert [r["order_id"] for r in rows(app, "orders")] == ["IF102"]


def test_a_named_profile_is_read_from_the_profiles_folder(
    app: FastAPI, client: TestClient, tokens: Tokens, tmp_path: Path, samples: Path
) -> None:
    folder = tmp_path / "profiles"
    folder.mkdir()
    (folder / "wc.yaml").write_text("format: x12\nprovider: westcoast\n")
    missing = client.post(
        "/api/v1/uploads",
        files=[("files", ("945.edi", fixed_945(samples)))],
        data={"profile": "nope"},
        headers=auth(tokens.admin),
    )
    assert missing.status_code == 400
    assert "no profile 'nope'" in missing.json()["error"]["message"]
    sneaky = client.post(
        "/api/v1/uploads",
        files=[("files", ("945.edi", fixed_945(samples)))],
        data={"profile": "../store.duckdb"},
        headers=auth(tokens.admin),
    )
    assert sneaky.status_code == 400
    named = client.post(
        "/api/v1/uploads",
        files=[("files", ("945.edi", fixed_945(samples)))],
        data={"profile": "wc"},
        headers=auth(tokens.admin),
    )
    assert named.status_code == 200
    (result,) = named.json()["files"]
    assert (result["kind"], result["status"]) == ("x12", "landed")
    assert result["stored"] == 2
    # The profile names the provider: the form did not.
    assert [s["provider_id"] for s in rows(app, "shipments")] == ["westcoast"]


# -- JSON records ----------------------------------------------------------------------------


def test_json_records_land_and_a_broken_one_is_named(
    app: FastAPI, client: TestClient, tokens: Tokens
) -> None:
    body = (
        '{"records": ['
        '{"order_id": "J-1", "placed_at": "2026-03-02T09:00:00-05:00", '
        '"order_value": 19.99, "currency": "USD"},'
        '{"order_id": "J-2", "placed_at": "someday"},'
        '{"order_id": "J-3", "placed_at": "2026-03-02T09:00:00Z", "order_value": 0.1}'
        "]}"
    )
    response = client.post(
        "/api/v1/ingest/orders",
        content=body,
        headers={**auth(tokens.admin), "Content-Type": "application/json"},
    )
    assert response.status_code == 200, response.text
    result = response.json()
    assert (result["records"], result["stored"], result["quarantined"]) == (3, 2, 1)
    (reject,) = result["rejects"]
    assert (reject["position"], reject["column"]) == ("record 2", "placed_at")
    values = {r["order_id"]: Decimal(str(r["order_value"])) for r in rows(app, "orders")}
    assert values == {"J-1": Decimal("19.99"), "J-3": Decimal("0.1")}
    again = client.post(
        "/api/v1/ingest/orders",
        content=body,
        headers={**auth(tokens.admin), "Content-Type": "application/json"},
    )
    assert (again.json()["stored"], again.json()["duplicate"]) == (0, 2)


def test_json_records_of_a_provider_user(app: FastAPI, client: TestClient, tokens: Tokens) -> None:
    snapshot = {
        "facility_id": "LAX1",
        "as_of": "2026-03-01T00:00:00Z",
        "sku": "S-1",
        "on_hand": 5,
        "available": 5,
        "damaged": 0,
    }
    own = client.post(
        "/api/v1/ingest/inventory_snapshots",
        json={"records": [snapshot]},
        headers=auth(tokens.westcoast),
    )
    assert own.status_code == 200
    assert own.json()["stored"] == 1
    assert [r["provider_id"] for r in rows(app, "inventory_snapshots")] == ["westcoast"]
    foreign = client.post(
        "/api/v1/ingest/inventory_snapshots",
        json={"records": [{**snapshot, "provider_id": "eastbridge"}]},
        headers=auth(tokens.westcoast),
    )
    assert foreign.status_code == 404
    named = client.post(
        "/api/v1/ingest/inventory_snapshots",
        json={"records": [snapshot], "provider": "eastbridge"},
        headers=auth(tokens.westcoast),
    )
    assert named.status_code == 404
    orders = client.post(
        "/api/v1/ingest/orders", json={"records": []}, headers=auth(tokens.westcoast)
    )
    assert orders.status_code == 403


def test_json_ingestion_refusals(client: TestClient, tokens: Tokens) -> None:
    admin = {**auth(tokens.admin), "Content-Type": "application/json"}
    assert client.post("/api/v1/ingest/parcels", content="{}", headers=admin).status_code == 404
    broken = client.post("/api/v1/ingest/orders", content="{", headers=admin)
    assert broken.status_code == 422
    assert "not valid JSON" in broken.json()["error"]["message"]
    shapeless = client.post("/api/v1/ingest/orders", content='{"rows": []}', headers=admin)
    assert shapeless.status_code == 422
    assert shapeless.json()["error"]["message"].startswith("records:")
    analyst = client.post(
        "/api/v1/ingest/orders", json={"records": []}, headers=auth(tokens.analyst)
    )
    assert analyst.status_code == 403
    assert client.post("/api/v1/ingest/orders", json={"records": []}).status_code == 401


def test_the_openapi_document_has_examples(client: TestClient) -> None:
    spec: dict[str, Any] = client.get("/openapi.json").json()
    upload = spec["paths"]["/api/v1/uploads"]["post"]
    assert "multipart/form-data" in upload["requestBody"]["content"]
    assert upload["responses"]["200"]["content"]["application/json"]["example"]["files"]
    records = spec["paths"]["/api/v1/ingest/{kind}"]["post"]
    body = records["requestBody"]["content"]["application/json"]
    assert body["example"]["records"]
    assert json.dumps(body["schema"]).count("records") >= 1
    assert records["tags"] == ["ingestion"]


def test_a_provider_users_batches_and_quarantine_are_its_own(
    app: FastAPI, client: TestClient, tokens: Tokens
) -> None:
    good = {
        "facility_id": "LAX1",
        "as_of": "2026-03-01T00:00:00Z",
        "sku": "S-1",
        "on_hand": 5,
        "available": 5,
        "damaged": 0,
    }
    records = client.post(
        "/api/v1/ingest/inventory_snapshots",
        json={"records": [good, {**good, "sku": "S-2", "on_hand": "many"}]},
        headers=auth(tokens.westcoast),
    )
    assert records.status_code == 200
    assert (records.json()["stored"], records.json()["quarantined"]) == (1, 1)
    snapshots = (
        "provider_id,facility_id,as_of,sku,on_hand,available,damaged\n"
        "westcoast,LAX1,2026-03-02T00:00:00Z,S-1,6,6,0\n"
        "westcoast,LAX1,not a date,S-3,1,1,0\n"
    )
    upload = client.post(
        "/api/v1/uploads",
        files=[("files", ("inventory_snapshots.csv", snapshots.encode()))],
        headers=auth(tokens.westcoast),
    )
    assert upload.status_code == 200
    # The brand's own batch (an admin's JSON records) stays the brand's.
    brand = client.post(
        "/api/v1/ingest/inventory_snapshots",
        json={"records": [{**good, "provider_id": "westcoast", "on_hand": "x"}]},
        headers=auth(tokens.admin),
    )
    assert brand.status_code == 200
    mine = {records.json()["batch_id"], upload.json()["files"][0]["batch_id"]}

    def seen(path: str, token: str) -> dict[str, Any]:
        response = client.get(path, headers=auth(token))
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    batches = seen("/api/v1/batches", tokens.westcoast)
    assert {b["batch_id"] for b in batches["items"]} == mine
    assert batches["total"] == 2
    assert {b["provider_id"] for b in batches["items"]} == {"westcoast"}
    held = seen("/api/v1/quarantine", tokens.westcoast)
    assert held["total"] == 2
    assert {q["batch_id"] for q in held["items"]} == mine
    assert seen("/api/v1/quarantine", tokens.admin)["total"] == 3
    # A replay of the provider's batch is the provider's too.
    replayed = client.post(
        f"/api/v1/batches/{records.json()['batch_id']}/replay", headers=auth(tokens.admin)
    )
    assert replayed.status_code == 200, replayed.text
    again = seen("/api/v1/batches", tokens.westcoast)
    assert replayed.json()["batch_id"] in {b["batch_id"] for b in again["items"]}
    assert seen("/api/v1/quarantine", tokens.westcoast)["total"] == 2

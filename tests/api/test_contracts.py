"""Contracts through the API: versions, the version in force, adding one with located errors."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient

from tests.api.conftest import auth

YAML = {"Content-Type": "application/yaml"}


def _text(demo_data: tuple[Path, Path], provider: str) -> str:
    return (demo_data[0] / "contracts" / f"{provider}.yaml").read_text(encoding="utf-8")


def test_versions_and_the_one_in_force(
    api_client: TestClient, tokens: dict[str, str], demo_data: tuple[Path, Path]
) -> None:
    listed = api_client.get("/api/v1/contracts", headers=auth(tokens["analyst"])).json()
    assert {(v["provider_id"], v["effective"], v["in_force"]) for v in listed["items"]} == {
        ("eastbridge", "2026-01-01", True),
        ("westcoast", "2026-01-01", True),
    }
    own = api_client.get("/api/v1/contracts/westcoast", headers=auth(tokens["westcoast"]))
    assert own.status_code == 200, own.text
    contract = own.json()
    assert contract["source_yaml"] == _text(demo_data, "westcoast")
    assert contract["terms"]["provider"] == "westcoast"
    assert contract["terms"]["rates"]["pick_pack"] == "3.00"  # money stays exact, as text
    assert contract["terms"]["facilities"][0]["cutoff"] == "14:00"
    assert contract["versions"] == ["2026-01-01"]
    early = api_client.get(
        "/api/v1/contracts/westcoast?on=2025-06-01", headers=auth(tokens["westcoast"])
    ).json()
    assert (early["effective"], early["in_force"]) == ("2026-01-01", False)
    nobody = api_client.get("/api/v1/contracts/nobody", headers=auth(tokens["admin"]))
    assert nobody.status_code == 404


def test_a_new_version_is_added_once(
    api_client: TestClient, tokens: dict[str, str], demo_data: tuple[Path, Path]
) -> None:
    admin = {**auth(tokens["admin"]), **YAML}
    text = _text(demo_data, "westcoast").replace("effective: 2026-01-01", "effective: 2026-07-01")
    text = text.replace("pick_pack: 3.00", "pick_pack: 3.10")
    added = api_client.post("/api/v1/contracts?source_name=v2.yaml", headers=admin, content=text)
    assert added.status_code == 201, added.text
    assert added.json() == {
        "outcome": "added",
        "provider_id": "westcoast",
        "effective": "2026-07-01",
    }
    again = api_client.post("/api/v1/contracts?source_name=v2.yaml", headers=admin, content=text)
    assert again.json()["outcome"] == "unchanged"
    later = api_client.get(
        "/api/v1/contracts/westcoast?on=2026-08-01", headers=auth(tokens["admin"])
    ).json()
    assert (later["effective"], later["source_name"]) == ("2026-07-01", "v2.yaml")
    assert later["terms"]["rates"]["pick_pack"] == "3.10"
    assert later["versions"] == ["2026-01-01", "2026-07-01"]
    before = api_client.get(
        "/api/v1/contracts/westcoast?on=2026-03-01", headers=auth(tokens["admin"])
    ).json()
    assert before["effective"] == "2026-01-01"


def test_a_wrong_contract_is_refused_with_its_lines(
    api_client: TestClient, tokens: dict[str, str], demo_data: tuple[Path, Path]
) -> None:
    admin = {**auth(tokens["admin"]), **YAML}
    text = _text(demo_data, "eastbridge")
    lines = text.splitlines()
    where = next(i for i, line in enumerate(lines) if line.startswith("currency:"))
    lines[where] = "currency: dollars"
    broken = "\n".join(lines).replace("effective: 2026-01-01", "effective: 2026-13-01")
    response = api_client.post("/api/v1/contracts", headers=admin, content=broken)
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert "problem" in error["message"]
    keys = {d["key"]: d for d in error["details"]}
    assert {"currency", "effective"} <= set(keys)
    assert keys["currency"]["line"] == where + 1
    assert all(d["message"] for d in error["details"])
    listed = api_client.get("/api/v1/contracts?provider=eastbridge", headers=admin).json()
    assert listed["total"] == 1  # nothing was stored
    for body, kind in (("provider: [", "application/yaml"), (text, "application/json")):
        refused = api_client.post(
            "/api/v1/contracts",
            headers={**auth(tokens["admin"]), "Content-Type": kind},
            content=body,
        )
        assert refused.status_code == 400, refused.text
    bad_bytes = api_client.post("/api/v1/contracts", headers=admin, content=b"\xff\xfe\x00")
    assert bad_bytes.status_code == 400

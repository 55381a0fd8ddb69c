"""Carrier tracking connectors: EasyPost, AfterShip, the generic JSON form and Shippo."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tallyclerk.connectors import ConnectorError, Parsed, ParseOptions, get
from tallyclerk.connectors.tracking import (
    AFTERSHIP_SIGNATURE_HEADER,
    AFTERSHIP_TAGS,
    CONNECTORS,
    EASYPOST_SIGNATURE_HEADER,
    EASYPOST_STATUSES,
    GENERIC_SIGNATURE_HEADER,
    SHIPPO_STATUSES,
    SIGNATURE_HEADERS,
    STATUS_RANK,
    TERMINAL_STATUSES,
    AfterShipConnector,
    EasyPostConnector,
    GenericTrackingConnector,
    current_status,
    later_status,
    sign,
    verify_signature,
)
from tallyclerk.domain import KINDS_BY_NAME, TrackingStatus

EASYPOST = EasyPostConnector()
AFTERSHIP = AfterShipConnector()
GENERIC = GenericTrackingConnector()
OURS = [status.value for status in TrackingStatus]
FUZZ = settings(max_examples=150, deadline=None)
PROPERTY = settings(max_examples=200, deadline=None)


@pytest.fixture(scope="module")
def tracking_dir(samples: Path) -> Path:
    """The carrier tracking samples."""
    return samples / "carrier_tracking"


def _parse(connector: Any, payload: Any, source: str = "<payload>", **opts: Any) -> Parsed:
    data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    parsed: Parsed = connector.parse(data, ParseOptions(source=source, settings=opts))
    return parsed


def _rows(parsed: Parsed) -> list[dict[str, str | None]]:
    return parsed.rows.get("tracking_events", [])


def _labels(parsed: Parsed) -> list[str]:
    return [position.label for position in parsed.positions.get("tracking_events", [])]


def _reasons(parsed: Parsed) -> list[str]:
    return [reject.reason for reject in parsed.rejects]


# --- EasyPost -------------------------------------------------------------------------------

EZ_ROWS = [
    {
        "tracking_number": "EZ1000000001",
        "carrier": "USPS",
        "status": "label_created",
        "occurred_at": "2025-04-09T20:40:17+00:00",
        "location": None,
    },
    {
        "tracking_number": "EZ1000000001",
        "carrier": "USPS",
        "status": "label_created",
        "occurred_at": "2025-04-10T09:17:17+00:00",
        "location": "HOUSTON, TX",
    },
]


def _ez_tracker(tracking_dir: Path) -> dict[str, Any]:
    doc: dict[str, Any] = json.loads(
        (tracking_dir / "easypost_examples/trackers-create.json").read_text()
    )
    return doc


@pytest.mark.parametrize("name", ["trackers-create", "trackers-retrieve", "trackers-list"])
def test_easypost_tracker_samples(tracking_dir: Path, name: str) -> None:
    data = (tracking_dir / "easypost_examples" / f"{name}.json").read_bytes()
    parsed = _parse(EASYPOST, data, f"{name}.json")
    assert _rows(parsed) == EZ_ROWS
    assert _labels(parsed) == [
        "tracker EZ1000000001, tracking detail 1",
        "tracker EZ1000000001, tracking detail 2",
    ]
    assert [p.number for p in parsed.positions["tracking_events"]] == [1, 2]
    assert parsed.rejects == []
    assert parsed.notes == []
    assert parsed.summary == "EasyPost tracker"


@pytest.mark.parametrize("name", ["events-retrieve", "events-list"])
def test_easypost_event_without_result_is_a_note(tracking_dir: Path, name: str) -> None:
    data = (tracking_dir / "easypost_examples" / f"{name}.json").read_bytes()
    parsed = _parse(EASYPOST, data)
    assert parsed.count() == 0
    assert parsed.rejects == []
    assert parsed.notes == [
        "EasyPost event evt_ad2365c22d1511f0b5364ffbb3e7a1f1 (tracker.created) carries no "
        "tracker (it has no result): nothing to map"
    ]


def test_easypost_event_envelope_maps_its_tracker(tracking_dir: Path) -> None:
    envelope = {
        "object": "Event",
        "id": "evt_1",
        "description": "tracker.updated",
        "result": _ez_tracker(tracking_dir),
    }
    parsed = _parse(EASYPOST, envelope)
    assert _rows(parsed) == EZ_ROWS
    assert parsed.summary == "EasyPost event, EasyPost tracker"


def test_easypost_event_about_another_object_is_a_note() -> None:
    envelope = {
        "object": "Event",
        "id": "evt_2",
        "description": "batch.created",
        "result": {"object": "Batch"},
    }
    parsed = _parse(EASYPOST, envelope)
    assert parsed.count() == 0
    assert parsed.notes == [
        "EasyPost event evt_2 (batch.created) is about Batch, not a tracker: nothing to map"
    ]


def _one_detail(tracking_dir: Path, **changes: Any) -> dict[str, Any]:
    tracker = _ez_tracker(tracking_dir)
    detail = tracker["tracking_details"][1]
    detail.update(changes)
    tracker["tracking_details"] = [detail]
    return tracker


@pytest.mark.parametrize(("source", "ours"), list(EASYPOST_STATUSES.items()))
def test_easypost_status_table(tracking_dir: Path, source: str, ours: str | None) -> None:
    parsed = _parse(EASYPOST, _one_detail(tracking_dir, status=source))
    assert parsed.rejects == []
    if ours is None:
        assert parsed.count() == 0
        assert parsed.notes == [
            f"skipped 1 EasyPost event(s) with status '{source}', which carries no news about "
            "the parcel: tracker EZ1000000001, tracking detail 1"
        ]
    else:
        assert [row["status"] for row in _rows(parsed)] == [ours]


def test_easypost_unknown_status_is_rejected_by_name(tracking_dir: Path) -> None:
    parsed = _parse(EASYPOST, _one_detail(tracking_dir, status="lost_in_space"))
    assert parsed.count() == 0
    assert _reasons(parsed) == [
        "EasyPost status 'lost_in_space' is not one we know (known: pre_transit, in_transit, "
        "out_for_delivery, available_for_pickup, delivered, return_to_sender, failure, "
        "cancelled, error, unknown)"
    ]
    assert parsed.rejects[0].kind == "tracking_events"
    assert parsed.rejects[0].position.label == "tracker EZ1000000001, tracking detail 1"
    assert "lost_in_space" in (parsed.rejects[0].record or "")


def test_easypost_event_without_time_is_rejected(tracking_dir: Path) -> None:
    parsed = _parse(EASYPOST, _one_detail(tracking_dir, datetime=None))
    assert _reasons(parsed) == ["the event has no time (datetime is empty)"]
    parsed = _parse(EASYPOST, _one_detail(tracking_dir, datetime="yesterday at noon"))
    assert _reasons(parsed) == ["datetime 'yesterday at noon' is not an ISO 8601 date and time"]


def test_easypost_location_joins_city_state_country(tracking_dir: Path) -> None:
    place = {"city": "Toronto", "state": "ON", "country": "CA", "zip": "M5V"}
    parsed = _parse(EASYPOST, _one_detail(tracking_dir, tracking_location=place))
    assert _rows(parsed)[0]["location"] == "Toronto, ON, CA"
    tracker = _one_detail(tracking_dir)
    del tracker["tracking_details"][0]["tracking_location"]
    assert "location" not in _rows(_parse(EASYPOST, tracker))[0]


def test_easypost_tracker_without_code_rejects_each_event(tracking_dir: Path) -> None:
    tracker = _ez_tracker(tracking_dir)
    tracker["tracking_code"] = ""
    parsed = _parse(EASYPOST, tracker)
    assert parsed.count() == 0
    assert _reasons(parsed) == ["the event has no tracking number (tracking_code is empty)"] * 2


def test_easypost_error_body_and_other_json() -> None:
    error = {
        "error": {
            "code": "TRACKER.NOT_FOUND",
            "message": "The requested resource could not be found.",
        }
    }
    with pytest.raises(ConnectorError) as caught:
        _parse(EASYPOST, error, "hook.json")
    assert str(caught.value) == (
        "hook.json: EasyPost answered with an error: TRACKER.NOT_FOUND: "
        "The requested resource could not be found."
    )
    with pytest.raises(ConnectorError, match=r"^x\.json: not an EasyPost Tracker or Event"):
        _parse(EASYPOST, {"hello": "world"}, "x.json")
    with pytest.raises(ConnectorError, match=r"^x\.json: not valid JSON"):
        _parse(EASYPOST, b"{nope", "x.json")


# --- AfterShip ------------------------------------------------------------------------------

FEDEX_STATUSES = [
    "label_created",
    "in_transit",
    "in_transit",
    "in_transit",
    "exception",
    "in_transit",
    "in_transit",
    "in_transit",
    "in_transit",
    "out_for_delivery",
    "delivered",
]


def _aftership_doc(tracking_dir: Path, name: str) -> dict[str, Any]:
    doc: dict[str, Any] = json.loads((tracking_dir / "pyaftership_fixtures" / name).read_text())
    return doc


def test_aftership_get_trackings(tracking_dir: Path) -> None:
    data = (tracking_dir / "pyaftership_fixtures/get_trackings.json").read_bytes()
    parsed = _parse(AFTERSHIP, data)
    rows = _rows(parsed)
    assert len(rows) == 11
    assert [row["status"] for row in rows] == FEDEX_STATUSES
    assert {row["tracking_number"] for row in rows} == {"1111111111111"}
    assert {row["carrier"] for row in rows} == {"fedex"}
    assert rows[0] == {
        "tracking_number": "1111111111111",
        "carrier": "fedex",
        "status": "label_created",
        "occurred_at": "2018-07-31T10:33:00-04:00",
        "location": None,
    }
    assert rows[4]["occurred_at"] == "2018-08-01T00:13:04-04:00"
    assert rows[4]["location"] == "KEASBEY, NJ"
    assert rows[-1] == {
        "tracking_number": "1111111111111",
        "carrier": "fedex",
        "status": "delivered",
        "occurred_at": "2018-08-01T13:19:47-04:00",
        "location": "Deal, NJ",
    }
    assert _labels(parsed)[-1] == "tracking 1111111111111, checkpoint 11"
    assert parsed.rejects == []
    assert parsed.notes == [
        "AfterShip tracking 2222222222222 (ups), tag Expired, has no checkpoints: nothing to map",
        "AfterShip tracking 1231231231231 (usps), tag Expired, has no checkpoints: nothing to map",
    ]
    assert parsed.summary == "AfterShip tracking x3"


def test_aftership_webhook_body(tracking_dir: Path) -> None:
    fedex = _aftership_doc(tracking_dir, "get_trackings.json")["data"]["trackings"][0]
    parsed = _parse(AFTERSHIP, {"event": "tracking_update", "msg": fedex, "ts": 1533150000})
    assert [row["status"] for row in _rows(parsed)] == FEDEX_STATUSES


@pytest.mark.parametrize("name", ["post_trackings.json", "delete_trackings.json"])
def test_aftership_tracking_without_checkpoints(tracking_dir: Path, name: str) -> None:
    parsed = _parse(AFTERSHIP, (tracking_dir / "pyaftership_fixtures" / name).read_bytes())
    assert parsed.count() == 0
    assert parsed.rejects == []
    assert len(parsed.notes) == 1
    assert parsed.notes[0].endswith("has no checkpoints: nothing to map")


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("error_invalid_api_key.json", "AfterShip error 401 (Unauthorized): Invalid API Key."),
        (
            "error_created_tracking_number_is_failed.json",
            "AfterShip error 4003 (BadRequest): Tracking number already exists.",
        ),
        (
            "error_server_is_down.json",
            "AfterShip error 500 (InternalError): Something went wrong on AfterShip's end.",
        ),
        (
            "post_couriers_detect.json",
            "not an AfterShip tracking response (no data.tracking, data.trackings, msg or "
            "checkpoints)",
        ),
    ],
)
def test_aftership_error_envelopes(tracking_dir: Path, name: str, message: str) -> None:
    data = (tracking_dir / "pyaftership_fixtures" / name).read_bytes()
    with pytest.raises(ConnectorError) as caught:
        _parse(AFTERSHIP, data, name)
    assert str(caught.value) == f"{name}: {message}"


def _checkpoint(**fields: Any) -> dict[str, Any]:
    checkpoint = {"tag": "InTransit", "checkpoint_time": "2026-01-05T14:03:00+01:00"}
    checkpoint.update(fields)
    return {"tracking_number": "RA1", "slug": "la-poste", "checkpoints": [checkpoint]}


@pytest.mark.parametrize(("tag", "ours"), list(AFTERSHIP_TAGS.items()))
def test_aftership_tag_table(tag: str, ours: str | None) -> None:
    parsed = _parse(AFTERSHIP, _checkpoint(tag=tag))
    assert parsed.rejects == []
    if ours is None:
        assert parsed.count() == 0
        assert parsed.notes == [
            f"skipped 1 AfterShip event(s) with status '{tag}', which carries no news about "
            "the parcel: tracking RA1, checkpoint 1"
        ]
    else:
        assert [row["status"] for row in _rows(parsed)] == [ours]


def test_aftership_subtags_and_unknown_tags() -> None:
    returned = _parse(AFTERSHIP, _checkpoint(tag="Exception", subtag="Exception_011"))
    assert _rows(returned)[0]["status"] == "returned_to_sender"
    returning = _parse(AFTERSHIP, _checkpoint(tag="Exception", subtag="Exception_010"))
    assert _rows(returning)[0]["status"] == "exception"
    unknown = _parse(AFTERSHIP, _checkpoint(tag="Teleported"))
    assert _reasons(unknown) == [
        "AfterShip tag 'Teleported' is not one we know (known: InfoReceived, InTransit, "
        "OutForDelivery, AvailableForPickup, AttemptFail, Delivered, Exception, Expired, "
        "Pending)"
    ]
    untimed = _parse(AFTERSHIP, _checkpoint(checkpoint_time=""))
    assert _reasons(untimed) == ["the event has no time (checkpoint_time is empty)"]


def test_aftership_location_parts_and_fallback() -> None:
    parts = _parse(AFTERSHIP, _checkpoint(city="Paris", state=None, country_name="France"))
    assert _rows(parts)[0]["location"] == "Paris, France"
    iso = _parse(AFTERSHIP, _checkpoint(city="Lyon", country_name=None, country_iso3="FRA"))
    assert _rows(iso)[0]["location"] == "Lyon, FRA"
    text = _parse(AFTERSHIP, _checkpoint(city=None, location="ROISSY CHARLES DE GAULLE CEDEX"))
    assert _rows(text)[0]["location"] == "ROISSY CHARLES DE GAULLE CEDEX"
    assert "location" not in _rows(_parse(AFTERSHIP, _checkpoint()))[0]
    assert _rows(parts)[0]["occurred_at"] == "2026-01-05T14:03:00+01:00"


# --- Shippo (inside tracking-json) ----------------------------------------------------------

SHIPPO_NUMBER = "9205590164917337534322"


@pytest.mark.parametrize("name", ["test_create", "test_get_status"])
def test_shippo_usps_track(tracking_dir: Path, name: str) -> None:
    path = (
        tracking_dir
        / "shippo_python_client_cassettes"
        / f"{name}.interaction0.response.decoded.json"
    )
    parsed = _parse(GENERIC, path.read_bytes())
    rows = _rows(parsed)
    # 11 history entries: the first two are UNKNOWN (no news), the other 9 are mapped.
    assert len(rows) == 9
    assert parsed.notes == [
        "skipped 2 Shippo event(s) with status 'UNKNOWN', which carries no news about the "
        f"parcel: Shippo track {SHIPPO_NUMBER}, history entry 1; Shippo track {SHIPPO_NUMBER}, "
        "history entry 2"
    ]
    assert parsed.rejects == []
    assert [row["status"] for row in rows] == ["in_transit"] * 8 + ["delivered"]
    assert rows[0] == {
        "tracking_number": SHIPPO_NUMBER,
        "carrier": "usps",
        "status": "in_transit",
        "occurred_at": "2016-12-07T19:04:00+00:00",
        "location": "San Francisco, CA, US",
    }
    assert rows[-1] == {
        "tracking_number": SHIPPO_NUMBER,
        "carrier": "usps",
        "status": "delivered",
        "occurred_at": "2016-12-08T15:19:00+00:00",
        "location": "Berkeley, CA, US",
    }
    assert _labels(parsed)[-1] == f"Shippo track {SHIPPO_NUMBER}, history entry 11"
    assert parsed.summary == "Shippo track"
    assert (
        current_status(
            (str(row["status"]), datetime.fromisoformat(str(row["occurred_at"]))) for row in rows
        )
        == "delivered"
    )


def _shippo(tracking_dir: Path) -> dict[str, Any]:
    path = (
        tracking_dir
        / "shippo_python_client_cassettes/test_get_status.interaction0.response.decoded.json"
    )
    doc: dict[str, Any] = json.loads(path.read_text())
    return doc


def test_shippo_webhook_and_status_only(tracking_dir: Path) -> None:
    track = _shippo(tracking_dir)
    hook = _parse(GENERIC, {"event": "track_updated", "test": False, "data": track})
    assert len(_rows(hook)) == 9
    track["tracking_history"] = []
    latest = _parse(GENERIC, track)
    assert [row["status"] for row in _rows(latest)] == ["delivered"]
    assert _rows(latest)[0]["location"] == "Berkeley, CA, US"


@pytest.mark.parametrize(("source", "ours"), list(SHIPPO_STATUSES.items()))
def test_shippo_status_table(tracking_dir: Path, source: str, ours: str | None) -> None:
    track = _shippo(tracking_dir)
    track["tracking_history"] = [dict(track["tracking_history"][-1], status=source)]
    parsed = _parse(GENERIC, track)
    assert parsed.rejects == []
    assert [row["status"] for row in _rows(parsed)] == ([] if ours is None else [ours])


def test_shippo_unknown_status_is_rejected(tracking_dir: Path) -> None:
    track = _shippo(tracking_dir)
    track["tracking_history"] = [dict(track["tracking_history"][-1], status="IN_ORBIT")]
    assert _reasons(_parse(GENERIC, track)) == [
        "Shippo status 'IN_ORBIT' is not one we know (known: PRE_TRANSIT, TRANSIT, DELIVERED, "
        "RETURNED, FAILURE, UNKNOWN)"
    ]


# --- the generic form -----------------------------------------------------------------------

GROUP = {
    "tracking_number": "1Z999AA10123456784",
    "carrier": "UPS",
    "events": [
        {"status": "label_created", "occurred_at": "2026-01-05T09:00:00-05:00"},
        {
            "status": "in_transit",
            "occurred_at": "2026-01-05T18:10:00Z",
            "location": "Newark, NJ, US",
        },
        {
            "status": "DELIVERED",
            "occurred_at": "2026-01-07T11:30:00",
            "location": {"city": "Boston", "state": "MA", "country": "US"},
        },
    ],
}


def test_generic_tracking_with_events() -> None:
    parsed = _parse(GENERIC, GROUP)
    assert _rows(parsed) == [
        {
            "tracking_number": "1Z999AA10123456784",
            "carrier": "UPS",
            "status": "label_created",
            "occurred_at": "2026-01-05T09:00:00-05:00",
        },
        {
            "tracking_number": "1Z999AA10123456784",
            "carrier": "UPS",
            "status": "in_transit",
            "occurred_at": "2026-01-05T18:10:00+00:00",
            "location": "Newark, NJ, US",
        },
        {
            "tracking_number": "1Z999AA10123456784",
            "carrier": "UPS",
            "status": "delivered",
            "occurred_at": "2026-01-07T11:30:00",
            "location": "Boston, MA, US",
        },
    ]
    assert _labels(parsed)[1] == "tracking 1Z999AA10123456784, event 2"
    assert parsed.supplied("tracking_events") == KINDS_BY_NAME["tracking_events"].column_names


def test_generic_list_flat_events_and_json_lines() -> None:
    flat = {"tracking_number": 42, "status": "exception", "occurred_at": "2026-02-01T08:00:00Z"}
    parsed = _parse(GENERIC, [GROUP, flat, "noise"])
    assert parsed.count() == 4
    assert _rows(parsed)[-1] == {
        "tracking_number": "42",
        "status": "exception",
        "occurred_at": "2026-02-01T08:00:00+00:00",
    }
    assert _reasons(parsed) == ["item 3 is not a JSON object"]
    lines = b"\n".join([json.dumps(GROUP).encode(), b"", json.dumps(flat).encode(), b"{oops"])
    parsed = _parse(GENERIC, lines)
    assert parsed.count() == 4
    assert [p.number for p in parsed.positions["tracking_events"]] == [1, 1, 1, 3]
    assert _labels(parsed)[0] == "line 1, tracking 1Z999AA10123456784, event 1"
    assert [(r.position.label, r.reason, r.record) for r in parsed.rejects] == [
        ("line 4", "line 4 is not valid JSON", "{oops")
    ]


def test_generic_status_map() -> None:
    doc = {
        "tracking_number": "LX1",
        "events": [
            {"status": "Zugestellt", "occurred_at": "2026-03-02T10:00:00+01:00"},
            {"status": "Sendungsdaten", "occurred_at": "2026-03-01T10:00:00+01:00"},
            {"status": "Verloren", "occurred_at": "2026-03-03T10:00:00+01:00"},
            {"status": "in_transit", "occurred_at": "2026-03-01T18:00:00+01:00"},
        ],
    }
    status_map = {"Zugestellt": "delivered", "Sendungsdaten": None}
    parsed = _parse(GENERIC, doc, status_map=status_map)
    assert [row["status"] for row in _rows(parsed)] == ["delivered", "in_transit"]
    assert _reasons(parsed) == [
        "status 'Verloren' is not a tracking status (label_created, in_transit, "
        "out_for_delivery, delivered, exception, returned_to_sender) and status_map has no "
        "entry for it"
    ]
    assert parsed.notes == [
        "skipped 1 tracking JSON event(s) with status 'Sendungsdaten', which carries no news "
        "about the parcel: tracking LX1, event 2"
    ]
    unmapped = _parse(GENERIC, doc)
    assert _reasons(unmapped)[0] == (
        "status 'Zugestellt' is not a tracking status (label_created, in_transit, "
        "out_for_delivery, delivered, exception, returned_to_sender) and no status_map is set"
    )


def test_generic_bad_status_map_and_bad_documents() -> None:
    with pytest.raises(ConnectorError) as caught:
        _parse(GENERIC, GROUP, "t.json", status_map={"Zugestellt": "done"})
    assert str(caught.value) == (
        "t.json: status_map maps 'Zugestellt' to 'done', which is not a tracking status "
        "(label_created, in_transit, out_for_delivery, delivered, exception, returned_to_sender)"
    )
    with pytest.raises(ConnectorError, match="status_map setting must map"):
        _parse(GENERIC, GROUP, status_map=["delivered"])
    with pytest.raises(ConnectorError, match=r"^t\.json: not the tracking JSON form"):
        _parse(GENERIC, {"orders": []}, "t.json")
    with pytest.raises(ConnectorError, match=r"^t\.json: the payload is empty"):
        _parse(GENERIC, b"  \n", "t.json")
    with pytest.raises(ConnectorError, match=r"^t\.json: not tracking JSON"):
        _parse(GENERIC, b"12", "t.json")


@pytest.mark.parametrize(
    ("occurred_at", "reason"),
    [
        (None, "the event has no time (occurred_at is empty)"),
        ("2026-01-05", "occurred_at '2026-01-05' has no time of day"),
        (
            "2026-13-05T10:00:00",
            "occurred_at '2026-13-05T10:00:00' is not an ISO 8601 date and time",
        ),
        (1767600000, "occurred_at 1767600000 is not an ISO 8601 date and time"),
    ],
)
def test_generic_times_are_required(occurred_at: object, reason: str) -> None:
    event = {"tracking_number": "T1", "status": "in_transit", "occurred_at": occurred_at}
    assert _reasons(_parse(GENERIC, event)) == [reason]


def test_generic_bad_fields() -> None:
    no_number = {"status": "delivered", "occurred_at": "2026-01-05T10:00:00Z"}
    assert _reasons(_parse(GENERIC, no_number)) == [
        "the event has no tracking number (tracking_number is empty)"
    ]
    listed = dict(no_number, tracking_number=["T1"])
    assert _reasons(_parse(GENERIC, listed)) == ['tracking_number ["T1"] is not text']
    placed = dict(no_number, tracking_number="T1", location=7)
    assert _reasons(_parse(GENERIC, placed)) == ["location 7 is neither text nor a place object"]


# --- detection and the registry -------------------------------------------------------------

SHIPPO_CREATE = "shippo_python_client_cassettes/test_create.interaction0.response.decoded.json"
SNIFFED = {
    "easypost_examples/trackers-create.json": "easypost",
    "easypost_examples/trackers-list.json": "easypost",
    "easypost_examples/events-retrieve.json": "easypost",
    "easypost_examples/events-list.json": "easypost",
    "pyaftership_fixtures/get_trackings.json": "aftership",
    "pyaftership_fixtures/post_trackings.json": "aftership",
    "pyaftership_fixtures/error_created_tracking_number_is_failed.json": "aftership",
    SHIPPO_CREATE: "tracking-json",
}


@pytest.mark.parametrize(("name", "expected"), list(SNIFFED.items()))
def test_sniff_picks_the_first_matching_connector(
    tracking_dir: Path, name: str, expected: str
) -> None:
    head = (tracking_dir / name).read_bytes()[:65536]
    matching = [c.name for c in CONNECTORS if c.sniff(head, Path(name).name)]
    assert matching[0] == expected


def test_sniff_generic_form_and_not_other_json() -> None:
    head = json.dumps(GROUP).encode()
    assert [c.name for c in CONNECTORS if c.sniff(head, "t.json")] == ["tracking-json"]
    assert not any(c.sniff(b'{"orders": [{"id": 1}]}', "o.json") for c in CONNECTORS)


def test_registry_names() -> None:
    assert [c.name for c in CONNECTORS] == ["easypost", "aftership", "tracking-json"]
    for connector in CONNECTORS:
        assert get(connector.name) is connector
        assert connector.description


# --- webhook signatures ---------------------------------------------------------------------

BODY = b'{"object":"Event","description":"tracker.updated"}'
SECRET = "s3cret-key"
HEX = "6cb2b8419735ce5e8df6a5690f4968ee0fac75cdd992ae381fb405f30cf89b0f"  # openssl dgst -hmac
B64 = "bLK4QZc1zl6N9qVpD0lo7g+sdc3Zkq44H7QF8wz4mw8="


def test_signature_headers() -> None:
    assert EASYPOST_SIGNATURE_HEADER == "X-Hmac-Signature"
    assert AFTERSHIP_SIGNATURE_HEADER == "aftership-hmac-sha256"
    assert GENERIC_SIGNATURE_HEADER == "X-Tallyclerk-Signature"
    assert set(SIGNATURE_HEADERS) == {c.name for c in CONNECTORS}


@pytest.mark.parametrize(
    ("source", "value"),
    [
        ("easypost", f"hmac-sha256-hex={HEX}"),
        ("aftership", B64),
        ("tracking-json", f"sha256={HEX}"),
    ],
)
def test_signatures_verify(source: str, value: str) -> None:
    assert sign(BODY, SECRET, source=source) == value
    assert verify_signature(BODY, value, SECRET, source=source)
    assert verify_signature(BODY, f" {value}\n", SECRET, source=source)
    assert not verify_signature(BODY, value, "other-secret", source=source)
    assert not verify_signature(BODY + b" ", value, SECRET, source=source)
    assert not verify_signature(BODY, None, SECRET, source=source)
    assert not verify_signature(BODY, value, "", source=source)
    assert not verify_signature(BODY, value[:-2], SECRET, source=source)
    assert not verify_signature(BODY, "é" + value[1:], SECRET, source=source)
    assert not verify_signature(BODY, "", SECRET, source=source)


def test_signature_details() -> None:
    assert verify_signature(BODY, f"HMAC-SHA256-HEX={HEX.upper()}", SECRET, source="easypost")
    assert not verify_signature(BODY, HEX, SECRET, source="easypost")  # prefix required
    assert not verify_signature(BODY, B64.lower(), SECRET, source="aftership")
    assert not verify_signature(BODY, f"sha1={HEX}", SECRET, source="tracking-json")
    # EasyPost normalizes the secret (NFKD) before signing: the ligature "ﬁ" is "fi".
    assert verify_signature(
        BODY, sign(BODY, "fi-key", source="easypost"), "ﬁ-key", source="easypost"
    )
    with pytest.raises(ValueError, match="no webhook signature is known for 'shopify'"):
        verify_signature(BODY, HEX, SECRET, source="shopify")


# --- out-of-order events --------------------------------------------------------------------

T0 = datetime(2026, 1, 5, 12, 0, tzinfo=UTC)


def test_status_rank_and_terminals_cover_the_vocabulary() -> None:
    assert set(STATUS_RANK) == set(OURS)
    assert sorted(TERMINAL_STATUSES) == ["delivered", "returned_to_sender"]


def test_current_status_rules() -> None:
    hour = timedelta(hours=1)
    assert current_status([]) is None
    assert current_status([("in_transit", T0), ("label_created", T0 - hour)]) == "in_transit"
    # A late-stamped scan never moves a delivered parcel back.
    assert current_status([("delivered", T0), ("in_transit", T0 + hour)]) == "delivered"
    assert current_status([("delivered", T0), ("returned_to_sender", T0 + hour)]) == (
        "returned_to_sender"
    )
    # Same instant (different offsets): the furthest along wins.
    east = timezone(timedelta(hours=5))
    assert current_status([("out_for_delivery", T0), ("in_transit", T0.astimezone(east))]) == (
        "out_for_delivery"
    )
    assert current_status([("exception", T0), ("in_transit", T0 + hour)]) == "in_transit"
    # Naive times are read as UTC.
    assert current_status([("in_transit", T0), ("exception", datetime(2026, 1, 5, 12, 30))]) == (
        "exception"
    )
    with pytest.raises(ValueError, match="'lost' is not a tracking status"):
        current_status([("lost", T0)])


def test_later_status_rules() -> None:
    hour = timedelta(hours=1)
    assert later_status(None, None, "label_created", T0)
    assert later_status("in_transit", T0, "out_for_delivery", T0 + hour)
    assert not later_status("out_for_delivery", T0, "in_transit", T0 - hour)
    assert not later_status("delivered", T0, "in_transit", T0 + hour)
    assert later_status("in_transit", T0 + hour, "delivered", T0)
    assert not later_status("delivered", T0, "delivered", T0)
    assert later_status("in_transit", T0, "out_for_delivery", T0)
    assert later_status("in_transit", None, "label_created", T0)
    assert not later_status("delivered", None, "in_transit", T0)


_OFFSETS = st.sampled_from(
    [None, UTC, timezone(timedelta(hours=-5)), timezone(timedelta(hours=9, minutes=30))]
)


@st.composite
def _instants(draw: st.DrawFn) -> datetime:
    # Few distinct minutes so that ties (same instant, other offsets) are common.
    base = T0 + timedelta(minutes=draw(st.integers(0, 6)) * 30)
    zone = draw(_OFFSETS)
    if zone is None:
        return base.replace(tzinfo=None)
    return base.astimezone(zone)


_events = st.lists(st.tuples(st.sampled_from(OURS), _instants()), max_size=12)
_wide_events = st.lists(
    st.tuples(
        st.sampled_from(OURS),
        st.datetimes(timezones=st.none() | st.timezones()),
    ),
    max_size=8,
)


@PROPERTY
@given(events=_events | _wide_events, data=st.data())
def test_current_status_ignores_arrival_order(
    events: list[tuple[str, datetime]], data: st.DataObject
) -> None:
    expected = current_status(events)
    shuffled = data.draw(st.permutations(events))
    assert current_status(shuffled) == expected
    status: str | None = None
    at: datetime | None = None
    for new, new_at in shuffled:
        if later_status(status, at, new, new_at):
            status, at = new, new_at
    assert status == expected


@PROPERTY
@given(events=_events)
def test_current_status_never_goes_back(events: list[tuple[str, datetime]]) -> None:
    status = current_status(events)
    if not events:
        assert status is None
        return
    terminal = [(s, t) for s, t in events if s in TERMINAL_STATUSES]
    pool = terminal or events

    def utc(at: datetime) -> datetime:
        return at if at.tzinfo else at.replace(tzinfo=UTC)

    latest = max(utc(t) for _, t in pool)
    at_latest = [s for s, t in pool if utc(t) == latest]
    assert status == max(at_latest, key=STATUS_RANK.__getitem__)


# --- fuzz: mangled payloads -----------------------------------------------------------------

_KEYS = [
    "object", "tracking_details", "tracking_code", "tracking_location", "status", "datetime",
    "result", "trackers", "events", "error", "meta", "code", "message", "data", "trackings",
    "tracking", "msg", "checkpoints", "tag", "subtag", "checkpoint_time", "slug", "city",
    "state", "country", "country_name", "location", "tracking_number", "carrier",
    "occurred_at", "tracking_history", "tracking_status", "status_date",
]  # fmt: skip
_WORDS = [
    "Tracker", "Event", "pre_transit", "delivered", "unknown", "InTransit", "Pending",
    "Exception_011", "TRANSIT", "UNKNOWN", "in_transit", "2026-01-05T10:00:00Z",
    "2026-01-05T10:00:00+05:30", "2026-01-05", "", " ", "Z", "T", "\x00",
    "9999-12-31T23:59:59-23:59",
]  # fmt: skip
_leaves = (
    st.none()
    | st.booleans()
    | st.integers(-(10**20), 10**20)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=12)
    | st.sampled_from(_WORDS)
)
_json = st.recursive(
    _leaves,
    lambda children: (
        st.lists(children, max_size=3)
        | st.dictionaries(st.sampled_from(_KEYS) | st.text(max_size=4), children, max_size=4)
    ),
    max_leaves=12,
)


def _slots(node: Any, found: list[tuple[Any, Any]]) -> None:
    if isinstance(node, dict):
        for key, value in node.items():
            found.append((node, key))
            _slots(value, found)
    elif isinstance(node, list):
        for index, value in enumerate(node):
            found.append((node, index))
            _slots(value, found)


def _mangle(doc: Any, data: st.DataObject) -> bytes:
    doc = copy.deepcopy(doc)
    for _ in range(data.draw(st.integers(0, 4))):
        slots: list[tuple[Any, Any]] = []
        _slots(doc, slots)
        if not slots:
            doc = data.draw(_json)
            continue
        holder, key = slots[data.draw(st.integers(0, len(slots) - 1))]
        action = data.draw(st.sampled_from(["replace", "delete", "wrap"]))
        if action == "replace":
            holder[key] = data.draw(_json)
        elif action == "delete":
            del holder[key]
        else:
            holder[key] = [holder[key]]
    raw = json.dumps(doc).encode()
    cut = data.draw(st.sampled_from(["whole", "whole", "whole", "truncate", "bytes"]))
    if cut == "truncate":
        raw = raw[: data.draw(st.integers(0, len(raw)))]
    elif cut == "bytes":
        at = data.draw(st.integers(0, len(raw)))
        raw = raw[:at] + data.draw(st.binary(max_size=8)) + raw[at:]
    return raw


_FUZZ_FILES = {
    "easypost": [
        "easypost_examples/trackers-create.json",
        "easypost_examples/trackers-list.json",
        "easypost_examples/events-retrieve.json",
    ],
    "aftership": [
        "pyaftership_fixtures/get_trackings.json",
        "pyaftership_fixtures/error_invalid_api_key.json",
    ],
    "tracking-json": [
        "shippo_python_client_cassettes/test_get_status.interaction0.response.decoded.json",
    ],
}


def _check(parsed: Parsed) -> None:
    assert isinstance(parsed, Parsed)
    columns = set(KINDS_BY_NAME["tracking_events"].column_names)
    for row in _rows(parsed):
        assert set(row) <= columns
        assert row["tracking_number"]
        assert row["status"] in OURS
        datetime.fromisoformat(str(row["occurred_at"]))
    for reject in parsed.rejects:
        assert reject.reason


def _fuzz(connector: Any, payload: bytes, **opts: Any) -> None:
    try:
        parsed = connector.parse(payload, ParseOptions(source="fuzz.json", settings=opts))
    except ConnectorError as exc:
        message = str(exc)
    else:
        _check(parsed)
        return
    assert message.startswith("fuzz.json: ")


@pytest.mark.parametrize("name", list(_FUZZ_FILES))
def test_fuzz_mangled_samples(tracking_dir: Path, name: str) -> None:
    connector = get(name)
    docs = [json.loads((tracking_dir / path).read_text()) for path in _FUZZ_FILES[name]]

    @FUZZ
    @given(data=st.data())
    def run(data: st.DataObject) -> None:
        doc = docs[data.draw(st.integers(0, len(docs) - 1))]
        _fuzz(connector, _mangle(doc, data))

    run()


_status_maps = (
    st.none()
    | st.integers()
    | st.dictionaries(
        st.text(max_size=5) | st.sampled_from(["Zugestellt", "DELIVERED"]),
        st.sampled_from([*OURS, None, "bogus", 3]),
        max_size=3,
    )
)


@FUZZ
@given(data=st.data(), status_map=_status_maps)
def test_fuzz_generic_form(data: st.DataObject, status_map: object) -> None:
    doc: Any = data.draw(
        st.sampled_from([GROUP, [GROUP, {"status": "delivered"}], GROUP["events"]])
    )
    _fuzz(GENERIC, _mangle(doc, data), status_map=status_map)


@FUZZ
@given(payload=st.binary(max_size=200) | _json.map(lambda doc: json.dumps(doc).encode()))
def test_fuzz_any_bytes(payload: bytes) -> None:
    for connector in CONNECTORS:
        _fuzz(connector, payload)
        assert connector.sniff(payload, "x.json") in (True, False)


@pytest.mark.parametrize("connector", CONNECTORS, ids=lambda c: c.name)
def test_deep_nesting_is_a_connector_error(connector: Any) -> None:
    for payload in (b"[" * 200_000, b'{"a":' * 200_000, b"[" * 200_000 + b"\n" + b"[1]"):
        with pytest.raises(ConnectorError):
            connector.parse(payload, ParseOptions(source="deep.json"))

import json, time
from tests.api.conftest import auth


def test_explore(api_client, tokens):
    for url in [
        "/api/v1/reviews/eastbridge/0001-W01",
        "/api/v1/reviews/eastbridge/9999-W52",
        "/api/v1/reviews/eastbridge/1000-W01",
        "/api/v1/reviews/eastbridge/2026-W00",
        "/api/v1/reviews/eastbridge/2025-W53",
        "/api/v1/reviews/eastbridge/2026-W11?as_of=2999-12-31",
        "/api/v1/reviews/eastbridge/2026-W11?as_of=1900-01-01T00:00:00%2B14:00",
        "/api/v1/reviews/eastbridge/2026-W11?format=xml",
        "/api/v1/reviews/eastbridge/2026-W11?audience=nobody",
        "/api/v1/reviews/eastbridge/2026-W11?download=maybe",
        "/reviews?week=0001-W01",
        "/reviews?week=9999-W52",
        "/providers/eastbridge/review?week=0001-W01",
        "/api/v1/reviews/eastbridge/1900-W01",
        "/api/v1/reviews/eastbridge/2999-W52",
        "/api/v1/reviews/nobody/2026-W11",
    ]:
        r = api_client.get(url, headers=auth(tokens["admin"]))
        print(url, r.status_code, r.text[:300])

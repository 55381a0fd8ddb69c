"""The one typed Settings object, read from TALLYCLERK_* environment variables."""

from __future__ import annotations

from collections.abc import Iterator
from functools import lru_cache
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_DATABASE_URL = "duckdb:///tallyclerk.duckdb"
MASK = "**********"  # how a secret is printed


def masked_url(url: str) -> str:
    """A database URL with its password masked: postgresql://user:***@host/db."""
    scheme, found, rest = url.partition("://")
    if not found:
        return url
    netloc, slash, path = rest.partition("/")
    if "@" not in netloc:
        return url
    userinfo, host = netloc.rsplit("@", 1)
    if ":" not in userinfo:
        return url
    user = userinfo.split(":", 1)[0]
    return f"{scheme}://{user}:{MASK}@{host}{slash}{path}"


class BrandSettings(BaseModel):
    """Facts about the brand itself."""

    # Naive timestamps of records without a facility (orders, feedback) are read in this zone.
    timezone: str = "UTC"
    currency: str = "USD"
    # How the brand is named in the envelopes of the X12 documents it sends (ISA05/ISA06).
    edi_qualifier: str = "ZZ"
    edi_id: str = "TALLYCLERK"


class IngestSettings(BaseModel):
    """How files are read and loaded."""

    # Rows per chunk moved through validation and the bulk load; bounds memory on large files.
    chunk_bytes: int = Field(default=32 * 1024 * 1024, ge=64 * 1024)


class ConnectorSettings(BaseModel):
    """Where the per-provider mapping profiles live."""

    # An X12 file from provider P is read with <profiles_dir>/P.yaml when it exists
    # (else the defaults); an explicit --profile wins.
    profiles_dir: Path = Path("profiles")


class ServiceSettings(BaseModel):
    """The web service: where it listens, its secrets and how it shares the embedded store."""

    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    # Webhook bodies are written here (and fsynced) before the service answers, then loaded
    # in batches, so an accepted webhook survives a crash or a busy store.
    spool_dir: Path = Path("spool")
    # Webhook secrets: Shopify's app secret, and one HMAC secret per tracking source
    # (TALLYCLERK_SERVICE__TRACKING_SECRETS='{"easypost": "...", "aftership": "..."}').
    shopify_secret: str | None = None
    tracking_secrets: dict[str, str] = {}
    # How long a request waits for the embedded store while another process writes to it.
    store_wait_seconds: float = Field(default=20.0, ge=0)
    # Dashboard cookies: Secure when served over HTTPS (behind a proxy); off for localhost.
    # Secure cookies also send Strict-Transport-Security.
    secure_cookies: bool = False
    # Where the dashboard is served when a proxy in front rewrites the Host header
    # (["https://tally.example.com"]): a form posted from elsewhere is refused.
    allowed_origins: list[str] = []
    session_hours: float = Field(default=12.0, gt=0)
    # Largest upload accepted, in bytes.
    max_upload_bytes: int = Field(default=512 * 1024 * 1024, ge=1024)

    def __repr_args__(self) -> Iterator[tuple[str | None, Any]]:
        """Printed (repr, str, logs) with the webhook secrets masked."""
        for name, value in super().__repr_args__():
            if name == "shopify_secret" and value:
                yield name, MASK
            elif name == "tracking_secrets":
                yield name, dict.fromkeys(value, MASK)
            else:
                yield name, value


class AlertSettings(BaseModel):
    """Where the alert rules are and how often `tallyclerk serve` runs them."""

    # The rules file (docs/alerts.md); without one, `tallyclerk serve` runs no alerts.
    rules_file: Path | None = None
    # Minutes between two runs of the scheduler inside `tallyclerk serve`.
    interval_minutes: float = Field(default=15.0, ge=1)
    # Refresh the kept findings and the open month's burn rate before each scheduled run.
    refresh: bool = True


class Settings(BaseSettings):
    """Everything tallyclerk reads from its environment, read once."""

    model_config = SettingsConfigDict(
        env_prefix="TALLYCLERK_", env_nested_delimiter="__", extra="ignore"
    )

    # Embedded default: a DuckDB file in the working directory. Teams: postgresql+psycopg://...
    database_url: str = DEFAULT_DATABASE_URL
    brand: BrandSettings = BrandSettings()
    ingest: IngestSettings = IngestSettings()
    connectors: ConnectorSettings = ConnectorSettings()
    service: ServiceSettings = ServiceSettings()
    alerts: AlertSettings = AlertSettings()
    debug: bool = False

    def __repr_args__(self) -> Iterator[tuple[str | None, Any]]:
        """Printed (repr, str, logs) with the database password masked."""
        for name, value in super().__repr_args__():
            yield name, masked_url(value) if name == "database_url" else value

    @property
    def duckdb_path(self) -> Path | None:
        """The DuckDB file behind `database_url`, or None for another database."""
        prefix = "duckdb:///"
        if not self.database_url.startswith(prefix):
            return None
        rest = self.database_url[len(prefix) :].split("?", 1)[0]
        return None if rest in ("", ":memory:") else Path(rest)


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, read from the environment on first use."""
    return Settings()

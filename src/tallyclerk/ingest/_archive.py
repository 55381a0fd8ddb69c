"""The raw-payload archive: every input kept as it arrived, addressed by its SHA-256.

Payloads live in the store itself (compressed chunks), so a batch can be replayed wherever
the data is, DuckDB file or PostgreSQL, without a side folder to keep in step.
"""

from __future__ import annotations

import hashlib
import struct
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pyarrow as pa
import sqlalchemy as sa

from tallyclerk.store.schema import raw_payload_chunks, raw_payloads

_CHUNK = 8 * 1024 * 1024
_CODEC = "zstd"
_SIZE = struct.Struct(">Q")


@dataclass(frozen=True, slots=True)
class PayloadFacts:
    """What one pass over a file tells: its digest, size and whether values span lines."""

    sha256: str
    size_bytes: int


def digest_file(path: Path) -> PayloadFacts:
    """SHA-256 and size of a file, read in chunks."""
    digest = hashlib.sha256()
    size = 0
    with path.open("rb") as handle:
        while block := handle.read(_CHUNK):
            digest.update(block)
            size += len(block)
    return PayloadFacts(digest.hexdigest(), size)


def archive(connection: sa.Connection, path: Path, facts: PayloadFacts) -> bool:
    """Store the file's bytes unless the same content is archived already; True if stored now."""
    exists = connection.execute(
        sa.select(raw_payloads.c.sha256).where(raw_payloads.c.sha256 == facts.sha256)
    ).first()
    if exists:
        return False
    codec = pa.Codec(_CODEC)
    connection.execute(
        raw_payloads.insert().values(
            sha256=facts.sha256,
            size_bytes=facts.size_bytes,
            codec=_CODEC,
            first_name=path.name,
            archived_at=datetime.now(UTC),
        )
    )
    with path.open("rb") as handle:
        seq = 0
        while block := handle.read(_CHUNK):
            packed = _SIZE.pack(len(block)) + codec.compress(block, asbytes=True)
            connection.execute(
                raw_payload_chunks.insert().values(sha256=facts.sha256, seq=seq, data=packed)
            )
            seq += 1
    return True


def payload_chunks(connection: sa.Connection, sha256: str) -> Iterator[bytes]:
    """The archived bytes of a payload, chunk by chunk, in order."""
    codec = pa.Codec(_CODEC)
    rows = connection.execute(
        sa.select(raw_payload_chunks.c.data)
        .where(raw_payload_chunks.c.sha256 == sha256)
        .order_by(raw_payload_chunks.c.seq)
    )
    for (packed,) in rows:
        data = bytes(packed)
        (size,) = _SIZE.unpack_from(data)
        yield codec.decompress(data[_SIZE.size :], decompressed_size=size, asbytes=True)


def restore(connection: sa.Connection, sha256: str, target: Path) -> bool:
    """Write an archived payload to `target`; False when the archive does not hold it."""
    found = connection.execute(
        sa.select(raw_payloads.c.sha256).where(raw_payloads.c.sha256 == sha256)
    ).first()
    if not found:
        return False
    with target.open("wb") as handle:
        for block in payload_chunks(connection, sha256):
            handle.write(block)
    return True

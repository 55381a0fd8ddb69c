"""Parsing and loading contracts, with every problem reported by file, line and key."""

from __future__ import annotations

import hashlib
from pathlib import Path

from tallyclerk.contracts._errors import ContractError, ContractIssue
from tallyclerk.contracts._located import parse_located
from tallyclerk.contracts._schema import Contract


def parse_contract(text: str, source: str = "<contract>") -> Contract:
    """Validate contract YAML; raise ContractError listing every problem found."""
    contract, issues = _parse(text, source)
    if issues or contract is None:
        raise ContractError(issues)
    return contract


def load_contract(path: Path) -> Contract:
    """Read and validate a contract file; raise ContractError listing every problem found."""
    return parse_contract(_read_text(path), str(path))


def check_contract(path: Path) -> list[ContractIssue]:
    """Every problem of a contract file, in file order; empty when the contract is valid."""
    try:
        load_contract(path)
    except ContractError as exc:
        return exc.errors
    return []


def content_hash(text: str | bytes) -> str:
    """The SHA-256 hex digest of a contract's source text (UTF-8), to tell versions apart."""
    data = text.encode("utf-8") if isinstance(text, str) else text
    return hashlib.sha256(data).hexdigest()


def _read_text(path: Path) -> str:
    try:
        return Path(path).read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        message = f"the file is not UTF-8 text (byte {exc.start})"
    except OSError as exc:
        message = f"cannot read the file: {exc.strerror or exc}"
    raise ContractError([ContractIssue(str(path), None, "", message)])


def _parse(text: str, source: str) -> tuple[Contract | None, list[ContractIssue]]:
    return parse_located(text, source, Contract, "contract")

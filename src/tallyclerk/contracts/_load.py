"""Parsing and loading contracts, with every problem reported by file, line and key."""

from __future__ import annotations

import hashlib
import types
from collections.abc import Sequence
from pathlib import Path
from typing import Annotated, Union, get_args, get_origin

from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from tallyclerk.contracts._errors import ContractError, ContractIssue, sort_issues
from tallyclerk.contracts._schema import Contract
from tallyclerk.contracts._values import ERROR_TYPE, describe, did_you_mean
from tallyclerk.contracts._yaml import YamlReadError, duplicate_keys, locate, read_yaml

_MAPPING_ERRORS = frozenset(
    {"model_type", "model_attributes_type", "dict_type", "mapping_type", "dataclass_type"}
)
_LIST_ERRORS = frozenset({"list_type", "tuple_type", "iterable_type", "set_type"})


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
    try:
        root, data = read_yaml(text)
    except YamlReadError as problem:
        return None, [ContractIssue(source, problem.line, "", problem.message)]
    if root is None:
        return None, [ContractIssue(source, None, "", "the contract is empty")]
    if not isinstance(data, dict):
        expected = ", ".join(_expected_keys(()))
        return None, [
            ContractIssue(
                source,
                int(root.start_mark.line) + 1,
                "",
                f"the contract must be a mapping with the keys {expected}; got {describe(data)}",
            )
        ]
    issues = [
        ContractIssue(source, line, locate(root, loc).key, message)
        for loc, line, message in duplicate_keys(root)
    ]
    contract: Contract | None = None
    try:
        contract = Contract.model_validate(data)
    except ValidationError as exc:
        for error in exc.errors(include_url=False):
            located = locate(root, error["loc"])
            issues.append(ContractIssue(source, located.line, located.key, _message(error)))
    return contract, sort_issues(issues)


def _message(error: ErrorDetails) -> str:
    """A plain-language message for one pydantic error."""
    kind = error["type"]
    loc = error["loc"]
    if kind == ERROR_TYPE:
        return error["msg"]
    if kind == "missing":
        return "required key is missing"
    if kind == "extra_forbidden":
        expected = _expected_keys(loc[:-1])
        hint = did_you_mean(loc[-1], expected) if loc else ""
        return f"unknown key {describe(loc[-1])} ({hint}expected one of: {', '.join(expected)})"
    if kind in _MAPPING_ERRORS:
        expected = _expected_keys(loc)
        keys = f" with keys such as {', '.join(expected)}" if expected else ""
        return f"must be a mapping{keys}, got {describe(error['input'])}"
    if kind in _LIST_ERRORS:
        return f"must be a list, got {describe(error['input'])}"
    text = error["msg"]
    text = text[:1].lower() + text[1:]
    return f"{text}, got {describe(error['input'])}"


def _expected_keys(loc: Sequence[str | int]) -> list[str]:
    """The keys the model at a location accepts, as written in YAML (aliases)."""
    model = _model_at(loc)
    if model is None:
        return []
    return [field.alias or name for name, field in model.model_fields.items()]


def _model_at(loc: Sequence[str | int]) -> type[BaseModel] | None:
    current: object = Contract
    for segment in loc:
        current = _unwrap(current)
        if isinstance(current, type) and issubclass(current, BaseModel):
            field = next(
                (
                    info
                    for name, info in current.model_fields.items()
                    if segment in {name, info.alias}
                ),
                None,
            )
            if field is None:
                return None
            current = field.annotation
        elif get_origin(current) in {list, tuple} and isinstance(segment, int):
            current = get_args(current)[0]
        elif get_origin(current) is dict and segment != "[key]":
            current = get_args(current)[1]
        else:
            return None
    current = _unwrap(current)
    if isinstance(current, type) and issubclass(current, BaseModel):
        return current
    return None


def _unwrap(annotation: object) -> object:
    """Strip Annotated and Optional from a type annotation."""
    while True:
        origin = get_origin(annotation)
        if origin is Annotated:
            annotation = get_args(annotation)[0]
        elif origin in {Union, types.UnionType}:
            members = [arg for arg in get_args(annotation) if arg is not type(None)]
            if len(members) != 1:
                return annotation
            annotation = members[0]
        else:
            return annotation

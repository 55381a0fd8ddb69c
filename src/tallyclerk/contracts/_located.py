"""YAML files validated by a pydantic model, every problem located by file, line and key.

Shared by the contract, the peak scenario and any later YAML input: read the YAML keeping
each node's line (`_yaml`), report duplicate keys, validate with the model, and turn each
pydantic error into a plain sentence at the line of the key it concerns.
"""

from __future__ import annotations

import types
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Annotated, TypeVar, Union, get_args, get_origin

from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from tallyclerk.contracts._values import ERROR_TYPE, describe, did_you_mean
from tallyclerk.contracts._yaml import YamlReadError, duplicate_keys, locate, read_yaml

M = TypeVar("M", bound=BaseModel)

_MAPPING_ERRORS = frozenset(
    {"model_type", "model_attributes_type", "dict_type", "mapping_type", "dataclass_type"}
)
_LIST_ERRORS = frozenset({"list_type", "tuple_type", "iterable_type", "set_type"})


@dataclass(frozen=True)
class LocatedIssue:
    """One problem in a file: where it is (file, line, dotted key) and what is wrong."""

    file: str
    line: int | None
    key: str
    message: str

    def __str__(self) -> str:
        """Render as `file:line: key: message`, leaving out the parts that are unknown."""
        where = self.file if self.line is None else f"{self.file}:{self.line}"
        return f"{where}: {self.key}: {self.message}" if self.key else f"{where}: {self.message}"


def sort_issues(issues: Iterable[LocatedIssue]) -> list[LocatedIssue]:
    """Drop duplicates and order by line (unknown lines last), then key."""
    unique = dict.fromkeys(issues)
    return sorted(unique, key=lambda i: (i.line is None, i.line or 0, i.key, i.message))


def render_issues(issues: Sequence[LocatedIssue], what: str) -> str:
    """One problem as one line; several under a heading naming the file."""
    if not issues:
        return f"invalid {what}"
    if len(issues) == 1:
        return str(issues[0])
    lines = [f"{len(issues)} problems in {issues[0].file}:"]
    lines.extend(f"  {issue}" for issue in issues)
    return "\n".join(lines)


def parse_located(
    text: str,
    source: str,
    model: type[M],
    what: str,
    *,
    prepare: Callable[[object], object] | None = None,
    check: Callable[[M], Iterable[tuple[tuple[str | int, ...], str]]] | None = None,
) -> tuple[M | None, list[LocatedIssue]]:
    """Validate YAML text with `model`: the model (None when invalid) and every problem found.

    `prepare` may rewrite the data before validation (keeping its shape, so errors still
    locate); `check` lists problems across keys of a valid model as (key path, message);
    `what` names the document in messages ("contract", "scenario").
    """
    try:
        root, data = read_yaml(text)
    except YamlReadError as problem:
        return None, [LocatedIssue(source, problem.line, "", problem.message)]
    if root is None:
        return None, [LocatedIssue(source, None, "", f"the {what} is empty")]
    if not isinstance(data, dict):
        expected = ", ".join(expected_keys(model, ()))
        return None, [
            LocatedIssue(
                source,
                int(root.start_mark.line) + 1,
                "",
                f"the {what} must be a mapping with the keys {expected}; got {describe(data)}",
            )
        ]
    issues = [
        LocatedIssue(source, line, locate(root, loc).key, message)
        for loc, line, message in duplicate_keys(root)
    ]
    parsed: M | None = None
    try:
        parsed = model.model_validate(prepare(data) if prepare else data)
    except ValidationError as exc:
        for error in exc.errors(include_url=False):
            located = locate(root, error["loc"])
            issues.append(
                LocatedIssue(source, located.line, located.key, validation_message(model, error))
            )
    if parsed is not None and check is not None:
        for loc, message in check(parsed):
            located = locate(root, loc)
            issues.append(LocatedIssue(source, located.line, located.key, message))
    return parsed, sort_issues(issues)


def validation_message(model: type[BaseModel], error: ErrorDetails) -> str:
    """A plain-language message for one pydantic error of `model`."""
    kind = error["type"]
    loc = error["loc"]
    if kind == ERROR_TYPE:
        return error["msg"]
    if kind == "missing":
        return "required key is missing"
    if kind == "extra_forbidden":
        expected = expected_keys(model, loc[:-1])
        hint = did_you_mean(loc[-1], expected) if loc else ""
        return f"unknown key {describe(loc[-1])} ({hint}expected one of: {', '.join(expected)})"
    if kind in _MAPPING_ERRORS:
        expected = expected_keys(model, loc)
        keys = f" with keys such as {', '.join(expected)}" if expected else ""
        return f"must be a mapping{keys}, got {describe(error['input'])}"
    if kind in _LIST_ERRORS:
        return f"must be a list, got {describe(error['input'])}"
    text = error["msg"]
    return f"{text[:1].lower() + text[1:]}, got {describe(error['input'])}"


def expected_keys(model: type[BaseModel], loc: Sequence[str | int]) -> list[str]:
    """The keys the model at a location accepts, as written in YAML (aliases)."""
    found = model_at(model, loc)
    if found is None:
        return []
    return [info.alias or name for name, info in found.model_fields.items()]


def model_at(model: type[BaseModel], loc: Sequence[str | int]) -> type[BaseModel] | None:
    """The pydantic model that validates the value at `loc` of `model`, if one does."""
    current: object = model
    for segment in loc:
        current = unwrap(current)
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
    current = unwrap(current)
    if isinstance(current, type) and issubclass(current, BaseModel):
        return current
    return None


def unwrap(annotation: object) -> object:
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

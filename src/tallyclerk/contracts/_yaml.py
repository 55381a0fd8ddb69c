"""Reading contract YAML: exact numbers, node positions, and syntax errors with their line."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

import yaml
from yaml.constructor import SafeConstructor
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from tallyclerk._yamlguard import expansion_problem

_BOOL = "tag:yaml.org,2002:bool"
_INT = "tag:yaml.org,2002:int"
_FLOAT = "tag:yaml.org,2002:float"
_TIMESTAMP = "tag:yaml.org,2002:timestamp"


class _ContractLoader(yaml.SafeLoader):
    """A SafeLoader that reads scalars the YAML 1.2 way, with exact decimals.

    Only true/false are booleans (so country NO and subdivision ON stay text), numbers with a
    colon are not base-60 (so an unquoted cutoff 14:00 stays text), and every number with a
    fraction or an exponent becomes a Decimal built from its text, so 0.35 is exactly 0.35.
    """


_ContractLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag not in {_BOOL, _INT, _FLOAT}]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_ContractLoader.add_implicit_resolver(
    _BOOL, re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)
_ContractLoader.add_implicit_resolver(
    _INT,
    re.compile(
        r"^(?:[-+]?0b[0-1_]+|[-+]?0o?[0-7_]+|[-+]?(?:0|[1-9][0-9_]*)|[-+]?0x[0-9a-fA-F_]+)$"
    ),
    list("-+0123456789"),
)
_ContractLoader.add_implicit_resolver(
    _FLOAT,
    re.compile(
        r"""^(?:[-+]?[0-9][0-9_]*(?:\.[0-9_]*)?[eE][-+]?[0-9]+
        |[-+]?[0-9][0-9_]*\.[0-9_]*
        |[-+]?\.[0-9][0-9_]*(?:[eE][-+]?[0-9]+)?
        |[-+]?\.(?:inf|Inf|INF)
        |\.(?:nan|NaN|NAN))$""",
        re.VERBOSE,
    ),
    list("-+0123456789."),
)


def _construct_decimal(loader: _ContractLoader, node: Node) -> object:
    assert isinstance(node, ScalarNode)
    text = str(loader.construct_scalar(node)).replace("_", "").strip()
    special = {".inf": "Infinity", ".nan": "NaN"}
    sign = text[0] if text[:1] in {"-", "+"} else ""
    body = text[len(sign) :].lower()
    if body in special:
        text = sign + special[body]
    try:
        return Decimal(text)
    except (InvalidOperation, ValueError):
        return node.value  # leave it to validation to say what is wrong with it


def _lenient(constructor_name: str) -> Callable[[_ContractLoader, Node], object]:
    """Wrap a SafeConstructor method so that a malformed scalar stays as its text."""
    method: Callable[[_ContractLoader, Node], object] = getattr(SafeConstructor, constructor_name)

    def construct(loader: _ContractLoader, node: Node) -> object:
        try:
            return method(loader, node)
        except (ValueError, KeyError, AttributeError, TypeError, OverflowError, IndexError):
            return node.value if isinstance(node, ScalarNode) else None

    return construct


_ContractLoader.add_constructor(_FLOAT, _construct_decimal)
_ContractLoader.add_constructor(_INT, _lenient("construct_yaml_int"))
_ContractLoader.add_constructor(_BOOL, _lenient("construct_yaml_bool"))
_ContractLoader.add_constructor(_TIMESTAMP, _lenient("construct_yaml_timestamp"))


@dataclass(frozen=True)
class YamlReadError(Exception):
    """The text is not YAML the contract reader can read."""

    line: int | None
    message: str


def read_yaml(text: str) -> tuple[Node | None, object]:
    """Parse one YAML document into its node tree (for positions) and its data."""
    loader: _ContractLoader | None = None
    try:
        loader = _ContractLoader(text)
        node = loader.get_single_node()
        if node is not None:
            _check_size(node)
        data = None if node is None else loader.construct_document(node)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        parts = [part for part in (exc.context, exc.problem) if part]
        raise YamlReadError(
            None if mark is None else mark.line + 1,
            "invalid YAML: " + (", ".join(parts) if parts else "cannot be parsed"),
        ) from None
    except yaml.reader.ReaderError as exc:
        line = text.count("\n", 0, exc.position) + 1
        code = (
            exc.character if isinstance(exc.character, int) else ord(str(exc.character)[:1] or " ")
        )
        raise YamlReadError(
            line, f"invalid YAML: the character U+{code:04X} is not allowed in YAML"
        ) from None
    except yaml.YAMLError as exc:
        raise YamlReadError(None, f"invalid YAML: {exc}") from None
    except RecursionError:
        raise YamlReadError(None, "invalid YAML: the document is nested too deeply") from None
    finally:
        if loader is not None:
            loader.dispose()
    return node, data


def _check_size(root: Node) -> None:
    """Refuse a document whose aliases expand it beyond 200,000 values, or into itself."""
    found = expansion_problem(root)
    if found is not None:
        node, why = found
        raise YamlReadError(_line(node), f"invalid YAML: {why}")


@dataclass(frozen=True)
class Located:
    """Where a pydantic error location points in the YAML."""

    key: str
    line: int | None


_PLAIN_KEY = re.compile(r"[A-Za-z0-9_-]+")


def _line(node: Node) -> int:
    return int(node.start_mark.line) + 1


def locate(root: Node | None, loc: tuple[str | int, ...]) -> Located:
    """The dotted key and the line of a location, or of its closest existing parent."""
    path = ""
    node = root
    line = None if root is None else _line(root)
    for segment in loc:
        if segment == "[key]":
            continue  # the line is already the key's own line
        if isinstance(segment, int) and (node is None or isinstance(node, SequenceNode)):
            path += f"[{segment}]"
            if node is not None and 0 <= segment < len(node.value):
                node = node.value[segment]
                line = _line(node)
            else:
                node = None
            continue
        text = str(segment)
        if _PLAIN_KEY.fullmatch(text):
            path += ("." if path else "") + text
        else:
            path += f"[{json.dumps(text)}]"
        if isinstance(node, MappingNode):
            match = next(
                (
                    (key, value)
                    for key, value in reversed(node.value)
                    if isinstance(key, ScalarNode) and key.value == text
                ),
                None,
            )
            if match is not None:
                line = _line(match[0])
                node = match[1]
                continue
        node = None
    return Located(path, line)


def duplicate_keys(root: Node | None) -> list[tuple[tuple[str | int, ...], int, str]]:
    """Every mapping key given twice (YAML keeps only the last): location, line, message."""
    found: list[tuple[tuple[str | int, ...], int, str]] = []
    visited: set[int] = set()
    stack: list[tuple[Node, tuple[str | int, ...]]] = [] if root is None else [(root, ())]
    while stack:
        node, loc = stack.pop()
        if id(node) in visited:
            continue
        visited.add(id(node))
        if isinstance(node, MappingNode):
            seen: set[str] = set()
            for key, value in node.value:
                if not isinstance(key, ScalarNode):
                    continue
                if key.value in seen and key.value != "<<":
                    found.append(
                        (
                            (*loc, key.value),
                            _line(key),
                            f"duplicate key '{key.value}' (YAML would silently keep only the last)",
                        )
                    )
                seen.add(key.value)
                stack.append((value, (*loc, key.value)))
        elif isinstance(node, SequenceNode):
            stack.extend((item, (*loc, index)) for index, item in enumerate(node.value))
    return found

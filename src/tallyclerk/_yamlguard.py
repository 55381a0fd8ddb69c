"""A guard for YAML read by people's files: aliases that expand without bound.

A few small aliases can stand for billions of values ("billion laughs"), which validation
would walk one by one, and an alias may refer to the node it is in. `expansion_problem` finds
either on the composed node tree, before anything is built from it. Every YAML loader of
tallyclerk (contracts, RFPs, scenarios, alert rules, CSV and X12 profiles) calls it and turns
the answer into its own located error.
"""

from __future__ import annotations

from yaml.nodes import MappingNode, Node, SequenceNode

MAX_VALUES = 200_000


def expansion_problem(root: Node, limit: int = MAX_VALUES) -> tuple[Node, str] | None:
    """The node where the document grows past `limit` values or loops into itself, and why."""
    sizes: dict[int, int] = {}
    active: set[int] = set()
    stack: list[tuple[Node, bool]] = [(root, False)]
    while stack:
        node, done = stack.pop()
        children: list[Node] = []
        if isinstance(node, MappingNode):
            children = [part for pair in node.value for part in pair]
        elif isinstance(node, SequenceNode):
            children = list(node.value)
        if done:
            active.discard(id(node))
            sizes[id(node)] = 1 + sum(sizes.get(id(c), 1) for c in children)
            if sizes[id(node)] > limit:
                return node, f"its aliases expand it to more than {limit:,} values"
            continue
        if id(node) in sizes:
            continue
        if id(node) in active:
            return node, "an alias refers to the node it is in"
        active.add(id(node))
        stack.append((node, True))
        stack.extend((c, False) for c in children if id(c) not in sizes)
    return None

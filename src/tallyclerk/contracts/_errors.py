"""Problems found in a contract, each located by file, line and key."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class ContractIssue:
    """One problem in a contract: where it is (file, line, dotted key) and what is wrong."""

    file: str
    line: int | None
    key: str
    message: str

    def __str__(self) -> str:
        """Render as `file:line: key: message`, leaving out the parts that are unknown."""
        where = self.file if self.line is None else f"{self.file}:{self.line}"
        return f"{where}: {self.key}: {self.message}" if self.key else f"{where}: {self.message}"


class ContractError(Exception):
    """A contract that cannot be used; `errors` lists every problem found, in file order."""

    def __init__(self, errors: Iterable[ContractIssue]) -> None:
        """Keep the problems, sorted by line, and build a readable message from them."""
        self.errors: list[ContractIssue] = sort_issues(errors)
        super().__init__(self._render())

    def _render(self) -> str:
        if not self.errors:
            return "invalid contract"
        if len(self.errors) == 1:
            return str(self.errors[0])
        lines = [f"{len(self.errors)} problems in {self.errors[0].file}:"]
        lines.extend(f"  {issue}" for issue in self.errors)
        return "\n".join(lines)


def sort_issues(issues: Iterable[ContractIssue]) -> list[ContractIssue]:
    """Drop duplicates and order by line (unknown lines last), then key."""
    unique = dict.fromkeys(issues)
    return sorted(
        unique,
        key=lambda i: (i.line is None, i.line or 0, i.key, i.message),
    )

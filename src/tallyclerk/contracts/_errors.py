"""Problems found in a contract, each located by file, line and key."""

from __future__ import annotations

from collections.abc import Iterable

from tallyclerk.contracts._located import LocatedIssue, render_issues, sort_issues

# One problem in a contract: where it is (file, line, dotted key) and what is wrong.
ContractIssue = LocatedIssue


class ContractError(Exception):
    """A contract that cannot be used; `errors` lists every problem found, in file order."""

    def __init__(self, errors: Iterable[ContractIssue]) -> None:
        """Keep the problems, sorted by line, and build a readable message from them."""
        self.errors: list[ContractIssue] = sort_issues(errors)
        super().__init__(self._render())

    def _render(self) -> str:
        return render_issues(self.errors, "contract")


__all__ = ["ContractError", "ContractIssue", "sort_issues"]

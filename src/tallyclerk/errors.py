"""Errors a user may see: each says what went wrong in plain words, never a stack trace."""

from __future__ import annotations


class TallyclerkError(Exception):
    """An expected failure with a message meant for the user."""

    exit_code = 2


class StoreError(TallyclerkError):
    """The store cannot be opened, reached or upgraded."""


class InputError(TallyclerkError):
    """A file or argument given by the user cannot be used as it is."""

"""Errors a user can act on: printed as a message and a hint, never as a traceback."""

from __future__ import annotations


class LabError(Exception):
    """A failure with a human explanation of what happened and what to do."""

    def __init__(self, message: str, hint: str = "", detail: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint
        self.detail = detail

    def __str__(self) -> str:
        parts = [self.message]
        if self.detail:
            parts.append(self.detail.rstrip())
        if self.hint:
            parts.append(f"hint: {self.hint}")
        return "\n".join(parts)


class BuildError(LabError):
    """A target's build failed."""


class ServerStartError(LabError):
    """A server did not become ready."""

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


# A target that cannot run on this machine (a kernel feature missing, a seccomp profile)
# exits at start-up with this status and one line on stderr saying why (runtimes/SPEC.md
# section 1): the lab records it as "not measured because ...", not as a broken server.
EX_UNAVAILABLE = 69


class TargetUnavailable(ServerStartError):
    """The target said it cannot run here (exit status EX_UNAVAILABLE)."""

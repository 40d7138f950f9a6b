"""Errors a sandbox operator can act on: each names what went wrong and how to fix it."""

from __future__ import annotations


class SandboxError(Exception):
    """A fault with a fix. ``str()`` gives both, ready for a terminal."""

    def __init__(self, message: str, fix: str | None = None, detail: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.fix = fix
        self.detail = detail

    def __str__(self) -> str:
        parts = [self.message]
        if self.fix:
            parts.append(f"fix: {self.fix}")
        if self.detail:
            parts.append(self.detail)
        return "\n".join(parts)

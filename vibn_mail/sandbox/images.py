"""Local container images for sandbox hosts (placeholder, replaced below)."""
from __future__ import annotations
from collections.abc import Callable
from vibn_mail.sandbox.state import SandboxState
def load_all(state: SandboxState, progress: Callable[[str], None]) -> None:
    raise NotImplementedError

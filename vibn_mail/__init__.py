"""vibn-mail: self-hosted Postal email for the Vibn platform, as code."""

from pathlib import Path

__version__ = "0.1.0"

#: The repository checkout this package runs from (templates/, deploys/, inventory/ live here).
REPO_ROOT = Path(__file__).resolve().parent.parent
TEMPLATES_DIR = REPO_ROOT / "templates"

"""The one jinja2 environment: every file that lands on a host is rendered from templates/ by it."""

from __future__ import annotations

from functools import cache
from typing import Any

import jinja2

from vibn_mail import TEMPLATES_DIR


@cache
def environment() -> jinja2.Environment:
    # StrictUndefined: a missing variable is a bug in our code, never an empty string on a host.
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES_DIR),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
        autoescape=False,
    )


def render(template: str, /, **context: Any) -> str:
    """Render ``templates/<template>`` with ``context``."""
    return environment().get_template(template).render(**context)

"""The `vibn-mail` command line: one typer app, one module per command group."""

from __future__ import annotations

import typer

from vibn_mail.cli import sandbox

app = typer.Typer(
    name="vibn-mail",
    help="Self-hosted Postal email for Vibn: sandbox hosts, checks, provisioning.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
app.add_typer(sandbox.app, name="sandbox")


def main() -> None:
    app()

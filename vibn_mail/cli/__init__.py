"""The `vibn-mail` command line: one typer app, one module per command group."""

from __future__ import annotations

import typer

from vibn_mail.cli import doctor, sandbox, verify

app = typer.Typer(
    name="vibn-mail",
    help="Self-hosted Postal email for Vibn: sandbox hosts, checks, provisioning.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
app.add_typer(sandbox.app, name="sandbox")
app.command("verify")(verify.verify)
app.command("doctor")(doctor.doctor)


def main() -> None:
    app()

"""Top-level ``varflow`` app. A workflow group appears once its module in ``varflow.cli`` exists."""

from __future__ import annotations

import importlib
import importlib.util

import typer

import varflow
from varflow.cli.common import configure_logging

# Order shown in --help. Each name is a module varflow.cli.<name> exposing a typer app ``app``.
GROUPS = ("simulate", "shrink", "s2e", "eqtl", "report", "run", "demo", "example")

app = typer.Typer(
    name="varflow",
    help="Machine-learning methods for genetic variants: shrink (GWAS effect shrinkage), "
         "s2e (sequence-to-expression), eqtl (causal eQTL prediction), simulate (synthetic cohort).",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"varflow {varflow.__version__}")
        raise typer.Exit()


@app.callback()
def root(
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True,
                                 help="Print the version and exit."),
    verbose: bool = typer.Option(False, "--verbose", "-v", help="Debug logging."),
) -> None:
    configure_logging(verbose)


def _register_groups() -> None:
    for name in GROUPS:
        module_name = f"varflow.cli.{name}"
        if importlib.util.find_spec(module_name) is None:
            continue
        module = importlib.import_module(module_name)
        if getattr(module, "IS_COMMAND", False):
            app.command(name=name)(module.command)
        else:
            app.add_typer(module.app, name=name)


_register_groups()


def main() -> None:
    app()


if __name__ == "__main__":
    main()

"""Shared CLI plumbing: one-line errors with exit code 1, provenance of the running command, logging."""

from __future__ import annotations

import functools
import logging
import shlex
import sys
from typing import Any, Callable

import typer

from varflow.errors import VarflowError
from varflow.io.provenance import Provenance

log = logging.getLogger("varflow")


def configure_logging(verbose: bool = False) -> None:
    logging.basicConfig(level=logging.DEBUG if verbose else logging.INFO,
                        format="%(asctime)s varflow %(levelname)s %(message)s", datefmt="%H:%M:%S",
                        stream=sys.stderr, force=True)


def fail(message: str) -> None:
    """Print ``varflow: error: message`` on one line to stderr and exit 1."""
    typer.echo(f"varflow: error: {message}", err=True)
    raise typer.Exit(code=1)


def handles_errors(func: Callable[..., Any]) -> Callable[..., Any]:
    """Decorate a command so that VarflowError becomes a one-line message and exit code 1."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except VarflowError as exc:
            fail(str(exc).replace("\n", " "))

    return wrapper


def provenance(command: str, params: dict[str, Any], seed: int | None = None) -> Provenance:
    """Provenance for ``varflow <command>`` run with ``params`` (the command's own option values)."""
    return Provenance.from_cli(f"varflow {command}", params, seed)


def command_line(ctx: typer.Context) -> str:
    """The running ``varflow`` command as one shell line: its subcommand path and the options given on the
    command line (defaults left out), e.g. ``varflow run shrink --cohort c --outdir o --quick``."""
    names, node = [], ctx
    while node.parent is not None:
        names.append(node.info_name)
        node = node.parent
    words = ["varflow", *reversed(names)]
    for param in ctx.command.params:
        source = ctx.get_parameter_source(param.name)
        if source is None or source.name not in ("COMMANDLINE", "ENVIRONMENT"):
            continue
        value = ctx.params[param.name]
        if param.param_type_name != "option":
            words.append(str(value))
        elif param.is_flag:
            words.append(param.opts[0] if value or not param.secondary_opts else param.secondary_opts[0])
        else:
            words += [param.opts[0], str(value)]
    return shlex.join(words)

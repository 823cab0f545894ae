"""What every command line of the toolkit shares: bad input is one line on stderr and exit code 2."""
from __future__ import annotations

import functools
import sys
from typing import Any, Callable

import typer
from typer.core import TyperGroup


class OneLineErrors(TyperGroup):
    """A Typer app whose usage errors (unknown option, a value of the wrong type) print one line,
    `error: Invalid value for '--p': 'x' is not a valid integer.`, and exit 2, as the toolkit's own checks do."""

    def main(self, args: Any = None, prog_name: Any = None, complete_var: Any = None, standalone_mode: bool = True,
             **extra: Any) -> Any:
        if not standalone_mode:
            return super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        try:
            rv = super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        except typer.TyperException as e:
            if type(e).__name__ == "NoArgsIsHelpError" or not hasattr(e, "format_message"):
                e.show()  # type: ignore[attr-defined]
            else:
                typer.echo(f"error: {' '.join(e.format_message().split())}", err=True)
            sys.exit(getattr(e, "exit_code", 2))
        except typer.Abort:
            typer.echo("aborted", err=True)
            sys.exit(1)
        sys.exit(rv if isinstance(rv, int) else 0)


def _print_version(value: bool) -> None:
    if value:
        from rundir.provenance import DISTRIBUTION, toolkit_version

        typer.echo(f"{DISTRIBUTION} {toolkit_version()}")
        raise typer.Exit()


def new_app(help: str) -> typer.Typer:
    """The Typer app every CLI of the toolkit uses, with `--version`. Help is plain text (no Rich markup), so help
    that names brackets, such as '.[cluster]' or '[x, op, y, =]', is shown as written instead of eaten as markup
    tags."""
    app = typer.Typer(cls=OneLineErrors, add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False,
                      rich_markup_mode=None, help=help)

    @app.callback()
    def options(version: bool = typer.Option(False, "--version", callback=_print_version, is_eager=True,
                                             help="Print the toolkit's version and exit.")) -> None:
        pass

    return app


def friendly_errors(fn: Callable) -> Callable:
    """Turn ValueError (bad input) and FileExistsError (a finished run in the way) into one line, exit 2."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except (ValueError, FileExistsError, FileNotFoundError, OverflowError) as e:
            typer.echo(f"error: {' '.join(str(e).split())}", err=True)
            raise typer.Exit(2)

    return wrapper

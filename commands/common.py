"""What every command line of the toolkit shares: bad input is one line on stderr and exit code 2."""
from __future__ import annotations

import enum
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
                message = " ".join(e.format_message().split()).replace("Value error, ", "")
                typer.echo(f"error: {message}", err=True)
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


def choice(name: str, values) -> type[enum.Enum]:
    """An option type whose allowed values `--help` lists and whose wrong values are refused naming them (Typer
    reads enumerations); the command gets the chosen member, whose .value is the string (see `plain`)."""
    return enum.Enum(name, [(str(v), str(v)) for v in values], type=str)


def plain(value: Any) -> Any:
    """A choice's string (other values as they are)."""
    return value.value if isinstance(value, enum.Enum) else value


LIST_STYLE = "comma-separated, one token"  # every option that takes several values: --seeds 0,1,2 --P 1,2


def items(name: str, text: str) -> list[str]:
    """The values of a list option, given comma-separated in one token (the toolkit's one list style, as in
    --seeds 0,1,2: one shell word, the same in a preset, a JSON identity and a script); ValueError naming the
    option when it is empty or has an empty item."""
    values = [v.strip() for v in str(text).split(",")]
    if not values or any(v == "" for v in values):
        raise ValueError(f"{name}={text!r} is malformed: give comma-separated values, e.g. 1,2")
    return values


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

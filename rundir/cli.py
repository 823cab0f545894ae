"""What every command line of the toolkit shares: bad input is one line on stderr and exit code 2."""
from __future__ import annotations

import functools
from typing import Callable

import typer


def friendly_errors(fn: Callable) -> Callable:
    """Turn ValueError (bad input) and FileExistsError (a finished run in the way) into one line, exit 2."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except (ValueError, FileExistsError, FileNotFoundError) as e:
            typer.echo(f"error: {e}", err=True)
            raise typer.Exit(2)

    return wrapper

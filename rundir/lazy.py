"""Modules imported when first used, so that a command's `--help` does not wait for torch, scipy.stats, sympy's
claims or matplotlib's pyplot (about 1.1, 0.6, 0.5 and 0.4 s here) that only its work needs.

`torch = lazy("torch")` at the top of a module gives a stand-in whose first attribute access imports the module
(then every access goes to it). Where the module is already imported, `lazy` returns it as it is."""
from __future__ import annotations

import importlib
import sys
from typing import Any


class _Lazy:
    __slots__ = ("_name", "_module")

    def __init__(self, name: str):
        self._name = name
        self._module = None

    def __getattr__(self, attr: str) -> Any:
        if self._module is None:
            self._module = importlib.import_module(self._name)
        return getattr(self._module, attr)

    def __repr__(self) -> str:
        return f"<lazy module {self._name!r}{' (imported)' if self._module is not None else ''}>"


def lazy(name: str) -> Any:
    """The module `name`, or a stand-in that imports it on first attribute access."""
    return sys.modules.get(name) or _Lazy(name)

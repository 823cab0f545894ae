"""Which module of `figures` draws which experiment: each such module names the experiment it draws by object
(`EXPERIMENT`, the registered instance imported from its neural.experiments module) and holds its report
`SECTIONS` and, where the experiment writes result tables, `draw(results)`.

The link points from drawing to computing because computing never imports `figures` (the layers). Every module of
the package is looked at, so a new experiment's figures module joins by existing; what it declares is checked
here, when the link is made, so a misnamed `draw` or missing sections is an error, not a silently empty figure.
"""
from __future__ import annotations

import importlib
import pkgutil
from types import ModuleType


def drawers() -> dict[str, ModuleType]:
    """{experiment name: the figures module that draws it}, in the registry's order; ValueError naming the module
    and what it lacks when a declaration is incomplete, names an unregistered experiment, or two modules claim one
    experiment."""
    import figures as package
    from neural import protocol

    experiments = protocol.registry()
    found: dict[str, ModuleType] = {}
    for info in pkgutil.iter_modules(package.__path__):
        module = importlib.import_module(f"{package.__name__}.{info.name}")
        exp = getattr(module, "EXPERIMENT", None)
        if exp is None:
            continue
        where = module.__name__
        if not isinstance(exp, protocol.Experiment) or experiments.get(exp.name) is not exp:
            raise ValueError(f"{where}.EXPERIMENT is {exp!r}, not a registered experiment: set it to the EXPERIMENT "
                             f"its neural.experiments module registers")
        if exp.name in found:
            raise ValueError(f"{where} and {found[exp.name].__name__} both draw experiment {exp.name!r}: keep one")
        sections = getattr(module, "SECTIONS", None)
        if not isinstance(sections, tuple) or not sections or not all(callable(s) for s in sections):
            raise ValueError(f"{where} declares no SECTIONS (a tuple of functions of the runs found) for experiment "
                             f"{exp.name!r}: its report section would be missing")
        if exp.tables and not callable(getattr(module, "draw", None)):
            raise ValueError(f"{where} has no draw(results) for experiment {exp.name!r}, which writes "
                             f"{', '.join(exp.tables)}: its figures would be missing")
        found[exp.name] = module
    return {name: found[name] for name in experiments if name in found}

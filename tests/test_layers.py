"""The design's layers, checked on the source: computing (theory, simulate, neural) never imports drawing
(figures) or the command lines (commands); theory imports neither simulate nor neural; neural does not borrow
from simulate; only commands compose computing and drawing."""
import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
FORBIDDEN = {"theory": {"simulate", "neural", "figures", "commands"}, "simulate": {"neural", "figures", "commands"},
             "neural": {"simulate", "figures", "commands"}, "rundir": {"theory", "simulate", "neural", "figures",
                                                                         "commands"},
             "figures": {"commands"}}


def imported_packages(path: Path) -> set[str]:
    out = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            out |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            out.add(node.module.split(".")[0])
    return out


@pytest.mark.parametrize("package", FORBIDDEN)
def test_a_layer_imports_nothing_above_it(package):
    bad = {str(p.relative_to(ROOT)): sorted(imported_packages(p) & FORBIDDEN[package])
           for p in (ROOT / package).rglob("*.py")}
    assert not {k: v for k, v in bad.items() if v}


HEAVY = ("torch", "scipy.stats", "scipy.optimize", "sympy", "matplotlib.pyplot", "theory.claims")
HELP_PAGES = """
import sys
import typer
from typer.testing import CliRunner
import commands.{cli} as m
app = m.app
group = typer.main.get_command(app)
runner = CliRunner()
for args in [[]] + [[name] for name in group.commands]:
    result = runner.invoke(app, args + ["--help"])
    assert result.exit_code == 0, (args, result.output)
print(",".join(name for name in {heavy!r} if name in sys.modules))
"""


@pytest.mark.parametrize("cli", ["theory", "simulate", "neural", "figures"])
def test_help_imports_none_of_the_heavy_libraries(cli):
    """Every `--help` page of a command line is rendered without importing torch, scipy.stats/optimize, sympy,
    matplotlib.pyplot or the theory's claims (about 1.1, 0.6, 0.4, 0.3, 0.4 and 0.5 s here; benchmarks/bench_help.py
    times the pages): their imports wait until a command does its work."""
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-c", HELP_PAGES.format(cli=cli, heavy=HEAVY)], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == "", f"imported for --help: {done.stdout.strip()}"


def _module_graph() -> dict[str, set[str]]:
    """Our modules and the modules of ours each imports when it is imported (top-level statements only: an import
    inside a function runs when that function does)."""
    modules = {".".join(p.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__"): p
               for pkg in FORBIDDEN | {"commands": set()} for p in (ROOT / pkg).rglob("*.py")}
    graph = {}
    for name, path in modules.items():
        deps = set()
        for node in ast.parse(path.read_text()).body:
            targets = []
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                subs = [f"{node.module}.{a.name}" for a in node.names if f"{node.module}.{a.name}" in modules]
                targets = subs or [node.module]  # `from pkg import submodule` needs the submodule
            # a module's own packages are being imported already when it is (the usual package layout)
            deps |= {t for t in targets if t in modules and t != name and not name.startswith(t + ".")}
        graph[name] = deps
    return graph


def test_no_import_circle():
    """No module of the toolkit imports, through any chain of top-level imports, itself (the registry finds the
    experiments by importing them when asked, not by a module they import)."""
    graph = _module_graph()
    state: dict[str, int] = {}

    def visit(node: str, path: list[str]) -> list[str] | None:
        state[node] = 1
        for dep in sorted(graph[node]):
            if state.get(dep) == 1:
                return path + [node, dep]
            if dep not in state and (cycle := visit(dep, path + [node])):
                return cycle
        state[node] = 2
        return None

    for module in sorted(graph):
        if module not in state:
            assert (cycle := visit(module, [])) is None, " -> ".join(cycle)

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

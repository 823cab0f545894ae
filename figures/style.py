"""One place that sets the look of every figure."""
from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only; no display needed
import matplotlib.pyplot as plt  # noqa: E402

COLORS = {"train": "#1f77b4", "test": "#d62728", "G": "#2ca02c", "M": "#9467bd", "total": "#333333"}


def apply() -> None:
    plt.rcParams.update({"figure.dpi": 110, "savefig.dpi": 150, "font.size": 9, "axes.grid": True,
                         "grid.alpha": 0.3, "axes.spines.top": False, "axes.spines.right": False,
                         "legend.frameon": False})


def save(fig, path: Path, pdf: bool = False) -> list[Path]:
    """Write PNG (and PDF on request) atomically enough for figures: to a temp name, then rename."""
    import os

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    written = []
    for suffix in [".png"] + ([".pdf"] if pdf else []):
        target = path.with_suffix(suffix)
        tmp = target.with_name(f".{target.name}.tmp{suffix}")
        fig.savefig(tmp, bbox_inches="tight")
        os.replace(tmp, target)
        written.append(target)
    plt.close(fig)
    return written

"""One place that sets the look of every figure."""
from __future__ import annotations

import io
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only; no display needed

import rundir  # noqa: E402
from rundir.lazy import lazy  # noqa: E402

plt = lazy("matplotlib.pyplot")
ticker = lazy("matplotlib.ticker")


COLORS = {"train": "#1f77b4", "test": "#d62728", "G": "#2ca02c", "M": "#9467bd", "total": "#333333"}


def apply() -> None:
    plt.rcParams.update({"figure.dpi": 110, "savefig.dpi": 150, "font.size": 9, "axes.grid": True,
                         "grid.alpha": 0.3, "axes.spines.top": False, "axes.spines.right": False,
                         "legend.frameon": False})


def plain_log(axis) -> None:
    """Label a log-scaled axis (ax.xaxis, or a colour bar's cbar.ax.yaxis) with plain numbers (200, 300, 1000)
    instead of 2x10^2: dataset sizes and logits read as the counts they are."""
    axis.set_major_formatter(ticker.LogFormatter(labelOnlyBase=False))
    axis.set_minor_formatter(ticker.LogFormatter(labelOnlyBase=False, minor_thresholds=(2, 0.5)))


FORMATS = (".png", ".pdf", ".svg")


def save(fig, path: Path, pdf: bool = False) -> list[Path]:
    """Write the figure to `path` in the format its suffix names (.png, .pdf or .svg; none: .png), and a PDF
    beside it when `pdf`. Each file is written atomically (rundir.atomic_write_bytes)."""
    path = Path(path)
    if path.suffix == "":
        path = path.with_suffix(".png")
    if path.suffix.lower() not in FORMATS:
        plt.close(fig)
        raise ValueError(f"out={str(path)!r} has an unknown suffix {path.suffix!r}: choose one of {', '.join(FORMATS)}")
    targets = [path] + ([path.with_suffix(".pdf")] if pdf and path.suffix.lower() != ".pdf" else [])
    try:
        for target in targets:
            for stale in target.parent.glob(f".{target.name}.*{rundir.TMP_SUFFIX}"):  # left by a killed writer
                stale.unlink(missing_ok=True)
            buf = io.BytesIO()
            fig.savefig(buf, format=target.suffix.lower()[1:], bbox_inches="tight")
            rundir.atomic_write_bytes(target, buf.getvalue())
    finally:
        plt.close(fig)
    return targets


def png_bytes(fig) -> bytes:
    """The figure as PNG bytes (for pages that embed it), closing it."""
    buf = io.BytesIO()
    try:
        fig.savefig(buf, format="png", bbox_inches="tight")
    finally:
        plt.close(fig)
    return buf.getvalue()

"""1-layer transformers on modular arithmetic (paper Appendix B): tasks, ensemble model, trainer, analysis."""
from rundir.provenance import toolkit_version as _toolkit_version

__version__ = _toolkit_version()

from neural.results import load_curves, load_run, load_sweep  # noqa: E402,F401  (pandas imported when called)

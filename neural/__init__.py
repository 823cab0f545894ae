"""1-layer transformers on modular arithmetic (paper Appendix B): tasks, ensemble model, trainer, analysis."""
from rundir.provenance import toolkit_version as _toolkit_version

__version__ = _toolkit_version()

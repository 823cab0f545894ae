"""Matplotlib renderers of the paper's figures from saved run directories (never trains or simulates)."""
from rundir.provenance import toolkit_version as _toolkit_version

__version__ = _toolkit_version()

"""The illustrative 'three ingredients' simulation of Appendix B.5 (Table 1, Figure 2), batched."""
from rundir.provenance import toolkit_version as _toolkit_version

__version__ = _toolkit_version()

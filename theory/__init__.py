"""Mathematics of the circuit-efficiency theory of grokking (Varma et al., 2023, Section 3 and Appendix D).

Symbolic world: `symbols`, `mixture`, `derive`. Numeric world: `allocation`, `efficiency`, `statements`.
They meet in exactly one module, `numeric`, where sympy expressions become numpy functions.
"""
from rundir.provenance import toolkit_version as _toolkit_version

__version__ = _toolkit_version()

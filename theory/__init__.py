"""Mathematics of the circuit-efficiency theory of grokking (Varma et al., 2023, Section 3 and Appendix D).

Symbolic world: `symbols`, `mixture`, `derive`. Numeric world: `allocation`, `efficiency`, `statements`.
They meet in exactly one module, `numeric`, where sympy expressions become numpy functions.
"""

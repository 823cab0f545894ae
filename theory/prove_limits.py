"""How much work `grok-theory prove` does by default, in a module of its own so that the command's help shows the
numbers without importing the prover (sympy and the claims take about a second)."""
DEFAULT_DEPTH = 48  # most bisections of one sub-box
DEFAULT_SECONDS = 60.0  # time limit per statement

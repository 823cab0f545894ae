"""How much work `grok-theory prove` does by default, in a module of its own so that the command's help shows the
numbers without importing the prover (sympy and the claims take about a second)."""
DEFAULT_DEPTH = 48  # most bisections of one sub-box
DEFAULT_BOXES = 200_000  # most sub-boxes examined per certificate: the work budget that decides (any machine, any load)
DEFAULT_SECONDS = 600.0  # safety time limit per statement; a certificate it stops says so (stopped_by "time")

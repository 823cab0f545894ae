"""The toy's configuration: Table 1's parameters plus the dataset-size extension.

Modelling choices the paper leaves open (recorded in every run's config.json under "choices"):
- Norm of a circuit: |w|^(1/kappa) P (absolute value, so negative weights are penalised like positive ones);
  its gradient sign(w) |w|^(2/kappa - 1) is taken as 0 at w = 0 (for kappa > 2 the slope is infinite there).
- Subweights start at Table 1's values; a subweight of exactly 0 still moves, because its gradient is
  dL/dw times the other subweight (w_G1(0) = 0, w_G2(0) = 0.005 is how Table 1 slows generalisation).
- Test input: one kind only. The generalising circuit puts logit 1 on the correct class, the memorising
  circuit puts 1 on one wrong class. Test accuracy (argmax) is therefore 0 or 1, so we report a graded
  test performance: the softmax probability of the correct class on a test input,
  p = e^{w_G} / (e^{w_G} + e^{w_M} + n_classes - 2). It is ~1/n_classes before learning, -> 1 when w_G
  dominates, and middling when both circuits are strong (semi-grokking).
- Train fit step: first step with train probability of the correct class >= `fit_threshold`; grokking step:
  first step with the test probability >= `grok_threshold` (both 0.5 by default); grokking delay = their
  difference.
- Dataset size (extension, Section 3.1): if D is set, P_M = P_G (D / D_crit)^beta, so memorisation is as
  efficient as generalisation exactly at D = D_crit. `init_D` starts from the theory-optimal (grokked or
  not) state at dataset size init_D, with each weight split evenly as w = sqrt(w) * sqrt(w).
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, fields, replace

from theory import toy, validate

MAX_STEPS = 10**7  # gradient steps of one run: about 40 us each for one configuration, so about 7 minutes
MAX_BETA = 100.0  # exponent of P_M(D)

CHOICES = {
    "circuit_norm": "|w|^(1/kappa) * P; gradient sign(w)|w|^(2/kappa-1), 0 at w = 0",
    "test_performance": "softmax probability of the correct class on a test input",
    "train_fit_step": "first step with train correct-class probability >= fit_threshold",
    "grok_step": "first step with test correct-class probability >= grok_threshold",
    "memorisation_norm_with_D": "P_M = P_G * (D / D_crit)^beta when D is set",
    "init_D": "start from theory's optimal weights at dataset size init_D, split w = sqrt(w)*sqrt(w)",
}


@dataclass(frozen=True)
class ToyConfig:
    P_G: float = toy.TABLE1_P_G  # hypothetical parameter norm of the generalising circuit at w_G = 1
    P_M: float = 2.0  # ... of the memorising circuit at w_M = 1 (ignored when D is set)
    kappa: float = 1.2  # logits scale as norm^kappa: circuit norm is |w|^(1/kappa) P
    alpha: float = toy.TABLE1_ALPHA  # weight decay: loss = CE + (alpha/2)(norm_G^2 + norm_M^2)
    wG1_0: float = 0.0  # initial subweights: w_G = w_G1 * w_G2, w_M = w_M1 * w_M2
    wG2_0: float = 0.005
    wM1_0: float = 0.0
    wM2_0: float = 1.0
    n_classes: int = 113  # Table 1's "q = 113": the number of classes, not a norm exponent
    lr: float = 0.01  # gradient-descent step size lambda
    steps: int = 50_000  # gradient steps
    D: float | None = None  # training-set size; sets P_M = P_G (D/D_crit)^beta when given
    D_crit: float = 1000.0  # critical dataset size of the extension
    beta: float = 0.5  # how fast memorisation gets less efficient with D
    init_D: float | None = None  # start from theory's optimum at this dataset size (ungrokking)
    fit_threshold: float = 0.5  # train probability that counts as fitting the training set
    grok_threshold: float = 0.5  # test probability that counts as generalising

    def memorisation_norm(self, D: float | None = None) -> float:
        D = self.D if D is None else D
        return self.P_M if D is None else toy.memorisation_norm(self.P_G, D, self.D_crit, self.beta)

    def validate(self) -> "ToyConfig":
        """Every field in a range that cannot overflow float64 (theory.validate's ranges); ValueError otherwise."""
        for name in ("P_G", "P_M", "lr", "D_crit"):
            validate.positive(name, getattr(self, name))
        validate.exponent("kappa", self.kappa)
        validate.nonnegative("alpha", self.alpha)
        validate.nonnegative("beta", self.beta, hi=MAX_BETA)
        validate.classes("n_classes", self.n_classes, minimum=3)
        if not (isinstance(self.steps, int) or float(self.steps).is_integer()) or not 1 <= self.steps <= MAX_STEPS:
            raise ValueError(f"steps={self.steps!r} is not allowed: must be an integer in [1, {MAX_STEPS:.0e}]")
        for name in ("D", "init_D"):
            if getattr(self, name) is not None:
                validate.positive(name, getattr(self, name))
        for name in ("fit_threshold", "grok_threshold"):
            v = getattr(self, name)
            if not 0 < v < 1:
                raise ValueError(f"{name}={v!r} is not allowed: must lie in (0, 1)")
        for name in ("wG1_0", "wG2_0", "wM1_0", "wM2_0"):
            v = getattr(self, name)
            if not (v == 0 or validate.TINY <= abs(v) <= validate.HUGE):
                raise ValueError(f"{name}={v!r} is not allowed: must be 0 or of magnitude in [1e-100, 1e100]")
        for D in (self.D, self.init_D):
            if D is not None:
                validate.positive(f"D={D:g} with D_crit={self.D_crit:g} and beta={self.beta:g}: P_M",
                                  self.memorisation_norm(D))
        return self

    def to_dict(self) -> dict:
        return asdict(self)

    def with_(self, **changes) -> "ToyConfig":
        unknown = set(changes) - {f.name for f in fields(self)}
        if unknown:
            raise ValueError(f"unknown parameter(s) {sorted(unknown)}: choose from {', '.join(NUMERIC_FIELDS)}")
        return replace(self, **changes)


NUMERIC_FIELDS = tuple(f.name for f in fields(ToyConfig))

"""Training configuration of an ensemble run, the two models every preset derives from, and train's presets."""
from __future__ import annotations

import itertools
import math
from dataclasses import asdict, dataclass, fields, replace

from neural import tasks
from rundir.lazy import lazy

model = lazy("neural.model")  # model_config only: a configuration is read and checked without torch

ADAM_EPS = 1e-8  # torch's default and the paper's
MAX_STEPS = 10**9  # full-batch steps of one run (the paper's longest runs are ~10^7)
PRECISIONS = ("float32", "tf32", "bf16", "float64")
FORMATS = ("paper", "nanda")  # [x, op, y, =] or [x, y, =]
MEMBER_DEFAULTS = {"split_seed": None, "subset": None, "parent": None, "parent_member": 0}
MEMBER_KEYS = ("seed", "wd", "lr", "split_seed", "subset", "parent", "parent_member")


@dataclass(frozen=True)
class TrainConfig:
    task: str = "add"  # a name from neural.tasks.TASKS
    p: int = 113  # modulus (ignored for s5)
    fmt: str = "paper"  # "paper": [x, op, y, =]; "nanda": [x, y, =]
    frac: float | None = 0.3  # training fraction of all pairs (exclusive with train_size)
    train_size: int | None = None  # exact training-set size D
    random_labels: bool = False  # memorisation-only: every pair gets a random label
    seeds: tuple[int, ...] = (0,)  # one member per (seed, wd, lr): seed sets init and split
    wds: tuple[float, ...] = (1.0,)  # AdamW weight decays
    lrs: tuple[float, ...] = (1e-3,)  # AdamW learning rates
    betas: tuple[float, float] = (0.9, 0.98)
    adam_eps: float = ADAM_EPS  # AdamW's epsilon; where sqrt(v) falls below it (converged runs) it sets the L2 strength
    steps: int = 10_000  # full-batch steps
    d_model: int = 128
    n_heads: int = 4
    d_head: int = 32
    d_mlp: int = 512
    precision: str = "float32"  # exact; "tf32": CUDA's TF32 matmuls; "bf16": autocast forward (both shift the
    # dynamics); "float64": weights, moments and training in double precision (the numerics control, issue 32)
    eval_points: int = 200  # about this many metric evaluations, log-spaced, plus every eval_every
    eval_every: int = 0  # also evaluate every this many steps (0: steps // 50)
    checkpoint_every: int = 1000  # steps between checkpoints (and always at the end)
    grok_threshold: float = 0.95  # test accuracy that counts as generalised
    threads: int | None = None  # torch CPU threads; results depend on it, so a run records it (None: all cores)
    member_specs: tuple[dict, ...] = ()  # explicit members (see MEMBER_KEYS); empty: every (seed, wd, lr)
    reset_on_init: tuple[str, ...] = ("optimizer", "step")  # reset when starting from a parent's weights
    converge: bool = False  # stop each member once converged (see neural.convergence), `steps` is the cap
    converge_acc_drift: float = 0.005  # test accuracy may drift at most this much per window (trend, see convergence)
    converge_loss_drift: float = 0.05  # train loss may drift at most this fraction per window
    converge_windows: int = 3  # windows of 1/(lr wd) steps the trend is fitted over

    def members(self) -> list[dict]:
        """One dict per member: seed (initialisation), wd, lr, split_seed (its base training split), subset (D'
        within that split, or None), parent and parent_member (a run directory to start from, or None)."""
        if self.member_specs:
            return [{**MEMBER_DEFAULTS, "split_seed": m["seed"], **m} for m in self.member_specs]
        return [{**MEMBER_DEFAULTS, "seed": s, "wd": w, "lr": lr, "split_seed": s}
                for s, w, lr in itertools.product(self.seeds, self.wds, self.lrs)]

    def validate(self) -> "TrainConfig":
        """ValueError naming the first field out of range. Learning rates lie in (0, 1] and lr * wd <= 1:
        AdamW multiplies the weights by 1 - lr * wd every step, so beyond 1 it flips their sign."""
        tasks.get_task(self.task)
        tasks.validate_modulus(self.task, self.p)
        if self.fmt not in FORMATS:
            raise ValueError(f"fmt={self.fmt!r} is unknown: choose {' or '.join(map(repr, FORMATS))}")
        if (self.frac is None) == (self.train_size is None):
            raise ValueError("give exactly one of frac and train_size")
        if self.frac is not None and not 0 < self.frac <= 1:
            raise ValueError(f"frac={self.frac} is not allowed: must lie in (0, 1]")
        n_total = tasks.n_pairs(self.task, self.p)
        if self.train_size is not None and not 1 <= self.train_size < n_total:
            raise ValueError(f"train_size={self.train_size} is not allowed: must lie in [1, {n_total - 1}] "
                             f"(the dataset has {n_total} pairs, and at least one must be left to test on)")
        if self.frac is not None and self.train_pairs() >= n_total:
            raise ValueError(f"frac={self.frac} is not allowed: it trains on all {n_total} pairs and leaves none to "
                             f"test on (test accuracy would be a mean over nothing): must be below 1")
        if not self.seeds or not self.wds or not self.lrs:
            raise ValueError("seeds, wd and lr each need at least one value")
        for name, values in (("seeds", self.seeds), ("wd", self.wds), ("lr", self.lrs)):
            if len(set(values)) != len(values):
                raise ValueError(f"{name}={','.join(map(str, values))} repeats a value: each member would be "
                                 "trained twice")
        members = self.members()
        keys = [tuple(sorted((k, str(v)) for k, v in m.items())) for m in members]
        if len(set(keys)) != len(keys):
            raise ValueError("member_specs repeats a member: each would be trained twice")
        for m in members:
            unknown = set(m) - set(MEMBER_DEFAULTS) - {"seed", "wd", "lr", "split_seed"}
            if unknown:
                raise ValueError(f"member spec has unknown key(s) {sorted(unknown)}: allowed {MEMBER_KEYS}")
            for key in ("seed", "split_seed"):
                if not (isinstance(m[key], int) and 0 <= m[key] < 2**63):
                    raise ValueError(f"seeds: {m[key]} is not allowed: seeds must lie in [0, 2^63)")
            lr, w = m["lr"], m["wd"]
            if not (isinstance(lr, (int, float)) and math.isfinite(lr) and 0 < lr <= 1):
                raise ValueError(f"lr={lr} is not allowed: must be a number in (0, 1]")
            if not (isinstance(w, (int, float)) and math.isfinite(w) and w >= 0):
                raise ValueError(f"wd={w} is not allowed: weight decay must be a finite number >= 0")
            if w * lr > 1:
                raise ValueError(f"wd={w} is not allowed with lr={lr}: lr * wd must be <= 1 "
                                 f"(AdamW multiplies the weights by 1 - lr * wd each step)")
            if m["subset"] is not None and not (isinstance(m["subset"], int) and m["subset"] >= 1):
                raise ValueError(f"subset={m['subset']!r} is not allowed: D' must be an integer >= 1")
            if m["parent"] is not None and not (isinstance(m["parent_member"], int) and m["parent_member"] >= 0):
                raise ValueError(f"parent_member={m['parent_member']!r} is not allowed: must be an integer >= 0")
        if not (isinstance(self.adam_eps, (int, float)) and 1e-14 <= self.adam_eps <= 1e-3):
            raise ValueError(f"adam_eps={self.adam_eps} is not allowed: must lie in [1e-14, 1e-3]")
        unknown_resets = set(self.reset_on_init) - {"optimizer", "step"}
        if unknown_resets:
            raise ValueError(f"reset_on_init={self.reset_on_init} is not allowed: choose from 'optimizer', 'step'")
        for name in ("converge_acc_drift", "converge_loss_drift"):
            if not 0 < getattr(self, name) < 1:
                raise ValueError(f"{name}={getattr(self, name)} is not allowed: must lie in (0, 1)")
        if not (isinstance(self.converge_windows, int) and 2 <= self.converge_windows <= 100):
            raise ValueError(f"converge_windows={self.converge_windows} is not allowed: must be an integer in [2, 100]")
        if not 1 <= self.steps <= MAX_STEPS:
            raise ValueError(f"steps={self.steps} is not allowed: must lie in [1, {MAX_STEPS:.0e}]")
        if self.threads is not None and not (isinstance(self.threads, int) and self.threads >= 1):
            raise ValueError(f"threads={self.threads} is not allowed: must be an integer >= 1 (a machine with fewer "
                             f"cores refuses the run when it starts)")
        for name in ("d_model", "n_heads", "d_head", "d_mlp"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name}={getattr(self, name)} is not allowed: must be >= 1")
        if self.checkpoint_every < 1:
            raise ValueError(f"checkpoint_every={self.checkpoint_every} is not allowed: must be >= 1")
        if self.precision not in PRECISIONS:
            raise ValueError(f"precision={self.precision!r} is unknown: choose {', '.join(map(repr, PRECISIONS))}")
        return self

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "TrainConfig":
        """Inverse of to_dict (also of its JSON form, where tuples became lists)."""
        if not isinstance(d, dict):
            raise ValueError(f"config is a {type(d).__name__}, not an object of fields")
        known = {f.name for f in fields(cls)}
        unknown = set(d) - known
        if unknown:
            raise ValueError(f"config has unknown field(s) {sorted(unknown)}: written by another version?")
        cfg = cls(**{k: tuple(v) if isinstance(v, list) else v for k, v in d.items()})
        try:  # a hand-edited value of the wrong type is caught here, not where it is used
            return cfg.validate()
        except (TypeError, AttributeError) as e:
            raise ValueError(f"config has a value of the wrong type ({e})") from None

    def train_pairs(self) -> int:
        """D: the base training split's size in pairs (train_size, or the fraction of all pairs)."""
        return self.train_size if self.train_size is not None else tasks.pairs_from_fraction(self.frac, self.task,
                                                                                              self.p)

    def with_(self, **changes) -> "TrainConfig":
        return replace(self, **changes)


# The two models every preset of every experiment derives from (with_ changes of them, nowhere restated).
PAPER_MODEL = TrainConfig()  # Appendix B: p=113, train fraction 0.3, d_model 128, 4 heads x 32, d_mlp 512, lr 1e-3
CPU_MODEL = PAPER_MODEL.with_(p=59, frac=0.5, d_model=64, d_head=16, d_mlp=256)  # the same, scaled for 2 CPU cores

PRESETS: dict[str, TrainConfig] = {"paper": PAPER_MODEL.with_(steps=20_000), "cpu": CPU_MODEL.with_(steps=3000)}


def describe_model(cfg: TrainConfig) -> str:
    """The model and optimiser of a configuration in words (generated from its fields)."""
    return (f"p={cfg.p}, d_model {cfg.d_model}, {cfg.n_heads} heads x {cfg.d_head}, d_mlp {cfg.d_mlp}, "
            f"lr {'/'.join(f'{v:g}' for v in cfg.lrs)}" + (f", AdamW eps {cfg.adam_eps:g}" if cfg.adam_eps != ADAM_EPS
                                                            else ""))


def describe(cfg: TrainConfig) -> str:
    """A training configuration in words (generated from its fields; measured facts live in the README)."""
    split = f"{cfg.frac:.0%} of pairs" if cfg.frac is not None else f"{cfg.train_size} pairs"
    labels = ", random labels" if cfg.random_labels else ""
    return (f"task {cfg.task}, {describe_model(cfg)}, wd {'/'.join(f'{v:g}' for v in cfg.wds)}, betas {cfg.betas}; "
            f"trained on {split}{labels}; seeds {','.join(map(str, cfg.seeds))}; {cfg.steps:,} steps")


def model_config(cfg: TrainConfig) -> model.ModelConfig:
    """The transformer's shapes for a training configuration."""
    n = tasks.n_elements(cfg.task, cfg.p)
    return model.ModelConfig(d_vocab=tasks.vocab_size(n, cfg.fmt), d_vocab_out=n, n_ctx=tasks.context_length(cfg.fmt),
                             d_model=cfg.d_model, n_heads=cfg.n_heads, d_head=cfg.d_head, d_mlp=cfg.d_mlp)

"""Binary-operation tasks, sequence formats and deterministic splits (paper Appendix B).

A task maps pairs (x, y) of group/ring elements 0..n-1 to an answer in 0..n-1. Sequences:
- format "paper": [x, op, y, =] (vocabulary n + 2: op = n, '=' = n + 1), the circuit-efficiency paper's;
- format "nanda": [x, y, =] (vocabulary n + 1: '=' = n), the progress-measures paper's.
The model reads the logits at the last position only; classes are 0..n-1.
"""
from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Callable

from rundir.lazy import lazy

torch = lazy("torch")  # the tables and splits need it; the registry and sizes do not


def _is_prime(n: int) -> bool:
    return n >= 2 and all(n % k for k in range(2, int(n**0.5) + 1))


@dataclass(frozen=True)
class Task:
    name: str
    description: str
    needs_prime: bool  # the operation needs a field (division)
    fourier: bool  # answer = a +- b: the trigonometric (Fourier) analysis of Appendix C applies
    answer: Callable[[torch.Tensor, torch.Tensor, int], torch.Tensor] | None  # modular op; None for a group table
    y_nonzero: bool = False  # division: pairs with y = 0 are excluded
    commutative: bool = True  # x op y = y op x: a memorised (x, y) also answers its mirror (y, x)
    group_order: int | None = None  # a fixed finite group (S5: 120 elements) whose size ignores p; None: Z_p

    @property
    def cyclic(self) -> bool:
        """Inputs are residues mod p: the Fourier basis over Z_p (key frequencies, Gini) applies to them."""
        return self.group_order is None


TASKS: dict[str, Task] = {t.name: t for t in [
    Task("add", "x + y mod p", False, True, lambda x, y, p: (x + y) % p),
    Task("sub", "x - y mod p", False, True, lambda x, y, p: (x - y) % p, commutative=False),
    Task("mul", "x * y mod p", False, False, lambda x, y, p: (x * y) % p),
    Task("div", "x / y mod p (y != 0, p prime)", True, False,
         lambda x, y, p: (x * torch.tensor([pow(int(v), -1, p) if int(v) else 0 for v in y],
                                           device=y.device)) % p, y_nonzero=True,
         commutative=False),
    Task("x2y2", "x^2 + y^2 mod p", False, False, lambda x, y, p: (x * x + y * y) % p),
    Task("x2xyy2", "x^2 + x*y + y^2 mod p", False, False, lambda x, y, p: (x * x + x * y + y * y) % p),
    Task("x3xy", "x^3 + x*y mod p", False, False, lambda x, y, p: (x * x * x + x * y) % p, commutative=False),
    Task("s5", "composition x o y in the permutation group S5 (120 elements; p is ignored)", False, False, None,
         commutative=False, group_order=120),
]}


def get_task(name: str) -> Task:
    if name not in TASKS:
        raise ValueError(f"task={name!r} is unknown: choose from {', '.join(TASKS)}")
    return TASKS[name]


def n_elements(task: str, p: int) -> int:
    """Number of elements (and classes): p for modular tasks, the group's order for a fixed group (S5: 120)."""
    return get_task(task).group_order or p


MAX_P = 10**6  # a bound for the primality test; the memory estimate refuses far smaller p on most machines


def n_pairs(task: str, p: int) -> int:
    """How many (x, y) pairs the task has, without building them."""
    n = n_elements(task, p)
    return n * (n - 1) if get_task(task).y_nonzero else n * n


def validate_modulus(task: str, p: int) -> None:
    t = get_task(task)
    if t.group_order:
        return
    if int(p) != p or not 2 <= p <= MAX_P:
        raise ValueError(f"p={p!r} is not allowed: must be an integer in [2, {MAX_P:,}]")
    if t.needs_prime and not _is_prime(p):
        raise ValueError(f"p={p} is not allowed for task {task!r}: it needs a field, so p must be prime")


def _s5_table() -> torch.Tensor:
    perms = list(itertools.permutations(range(5)))
    index = {q: k for k, q in enumerate(perms)}
    table = torch.empty(120, 120, dtype=torch.long, device="cpu")
    for i, a in enumerate(perms):
        for j, b in enumerate(perms):
            table[i, j] = index[tuple(a[b[k]] for k in range(5))]  # (a o b)(k) = a(b(k))
    return table


def all_pairs(task: str, p: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Every valid (x, y) and its answer, in lexicographic order: x_N, y_N, answer_N."""
    validate_modulus(task, p)
    n = n_elements(task, p)
    x, y = torch.meshgrid(torch.arange(n, device="cpu"), torch.arange(n, device="cpu"), indexing="ij")
    x, y = x.reshape(-1), y.reshape(-1)
    t = get_task(task)
    if t.y_nonzero:
        keep = y != 0
        x, y = x[keep], y[keep]
    ans = _s5_table()[x, y] if t.answer is None else t.answer(x, y, p)
    return x, y, ans


def mirror_indices(task: str, p: int) -> torch.Tensor:
    """(N,) index of each pair's mirror (y, x) in all_pairs order, -1 where the mirror is not a pair (div, x = 0)."""
    x, y, _ = all_pairs(task, p)
    n = n_elements(task, p)
    position = torch.full((n * n,), -1, dtype=torch.long, device="cpu")
    position[x * n + y] = torch.arange(len(x), device="cpu")
    return position[y * n + x]


def special_tokens(n: int, fmt: str = "paper") -> dict[str, int]:
    """The ids of the tokens that are not operands (x and y are 0..n-1): op = n and '=' = n + 1 for 'paper',
    '=' = n for 'nanda'."""
    if fmt == "paper":
        return {"op": n, "=": n + 1}
    if fmt == "nanda":
        return {"=": n}
    raise ValueError(f"format={fmt!r} is unknown: choose 'paper' or 'nanda'")


def sequences(x: torch.Tensor, y: torch.Tensor, n: int, fmt: str = "paper") -> torch.Tensor:
    """Token sequences (N, n_ctx): [x, op, y, =] for 'paper', [x, y, =] for 'nanda' (ids: special_tokens)."""
    ids = special_tokens(n, fmt)
    if fmt == "paper":
        return torch.stack([x, torch.full_like(x, ids["op"]), y, torch.full_like(x, ids["="])], dim=1)
    return torch.stack([x, y, torch.full_like(x, ids["="])], dim=1)


def vocab_size(n: int, fmt: str) -> int:
    return n + 2 if fmt == "paper" else n + 1


def context_length(fmt: str) -> int:
    """Tokens per sequence: [x, op, y, =] is 4, [x, y, =] is 3."""
    return 4 if fmt == "paper" else 3


def size_of_fraction(frac: float, n_total: int) -> int:
    """D for a fraction of n_total pairs (nearest integer, at least 1): the one rule every split and grid uses."""
    return max(1, round(frac * n_total))


def pairs_from_fraction(frac: float, task: str, p: int) -> int:
    """D for a fraction of all the task's pairs (size_of_fraction)."""
    return size_of_fraction(frac, n_pairs(task, p))


def train_indices(n_total: int, *, seed: int, frac: float | None = None, size: int | None = None) -> torch.Tensor:
    """Indices of a training split (sorted), by fraction of all pairs or by exact size D, from `seed`."""
    return train_splits(n_total, [seed], frac=frac, size=size)[0]


def train_splits(n_total: int, seeds: list[int], *, frac: float | None = None,
                 size: int | None = None) -> torch.Tensor:
    """(E, D): row e is `train_indices(n_total, seed=seeds[e], ...)`. One draw per seed from its own generator;
    the rest is done for all rows at once."""
    if (frac is None) == (size is None):
        raise ValueError("give exactly one of frac and train_size")
    if frac is not None:
        if not 0 < frac <= 1:
            raise ValueError(f"frac={frac} is not allowed: must lie in (0, 1]")
        size = size_of_fraction(frac, n_total)
    if not 1 <= size <= n_total:
        raise ValueError(f"train_size={size} is not allowed: must lie in [1, {n_total}] (the dataset has {n_total} "
                         "pairs)")
    firsts = torch.stack([_permutation(n_total, s) for s in seeds])[:, :size]
    return firsts.clone(memory_format=torch.contiguous_format).sort(dim=1).values


def nested_subset(indices: torch.Tensor, size: int, *, seed: int) -> torch.Tensor:
    """A subset of `indices` of the given size; for one seed, smaller sizes are subsets of larger ones (D' ⊂ D)."""
    return nested_subsets(indices[None], [size], [seed])[0]


def nested_subsets(indices_EK: torch.Tensor, sizes: list[int], seeds: list[int]) -> torch.Tensor:
    """(E, max(sizes)): row e holds `nested_subset(indices_EK[e], sizes[e], seed=seeds[e])` in its first sizes[e]
    places and 0 after them (padding). One draw per row from its own generator; the rest for all rows at once."""
    K = indices_EK.shape[1]
    for size in sizes:
        if not 1 <= size <= K:
            raise ValueError(f"subset size={size} is not allowed: must lie in [1, {K}]")
    picked = indices_EK.gather(1, torch.stack([_permutation(K, s) for s in seeds]))  # (E, K), row e permuted by seed e
    dev = indices_EK.device
    kept = torch.arange(K, device=dev) < torch.tensor(sizes, device=dev)[:, None]  # (E, K): row e's first sizes[e]
    past = int(indices_EK.max()) + 1  # sorts after every index
    rows = torch.where(kept, picked, past).sort(dim=1).values[:, :max(sizes)]
    return torch.where(rows == past, 0, rows)


def _permutation(n: int, seed: int) -> torch.Tensor:
    return torch.randperm(n, generator=torch.Generator().manual_seed(seed), device="cpu")


def random_labels(n_total: int, n_classes: int, *, seed: int) -> torch.Tensor:
    """Uniformly random labels for every pair (memorisation-only runs): nothing to generalise."""
    return torch.randint(0, n_classes, (n_total,), generator=torch.Generator().manual_seed(seed), device="cpu")

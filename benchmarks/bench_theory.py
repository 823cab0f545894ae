"""Time of `grok-theory check` per statement at default instance counts, and allocate vs its verifier.

Run: .venv/bin/python benchmarks/bench_theory.py
"""
import time

from theory import allocation, statements


def main() -> None:
    total = 0.0
    print(f"{'statement':<20} {'instances':>9} {'seconds':>8} {'ms/instance':>12}")
    for name in statements.NAMES:
        t = time.perf_counter()
        statements.check(name)
        dt = time.perf_counter() - t
        total += dt
        n = statements.DEFAULT_INSTANCES[name]
        print(f"{name:<20} {n:>9} {dt:>8.2f} {1e3 * dt / n:>12.3f}")
    print(f"{'all':<20} {'':>9} {total:>8.2f}   (issue target: < 20 s)")
    allocation.allocate([1, 2], verify=True)  # warm the lambdified functions
    t = time.perf_counter()
    for _ in range(20):
        allocation.allocate([1.0, 1.5, 2.0], kappa=1.2)
    closed = (time.perf_counter() - t) / 20
    t = time.perf_counter()
    for _ in range(5):
        allocation.global_minimise([1.0, 1.5, 2.0], kappa=1.2, q=2.0, alpha=0.005, n_classes=113)
    search = (time.perf_counter() - t) / 5
    print(f"allocate (closed form + 1-D search): {1e3 * closed:.1f} ms; independent global search: "
          f"{1e3 * search:.1f} ms; ratio {search / closed:.1f}x")


if __name__ == "__main__":
    main()

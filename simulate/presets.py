"""Named presets: Table 1's three settings and the dataset-size extensions the theory predicts."""
from __future__ import annotations

from simulate.config import ToyConfig

PRESETS: dict[str, tuple[ToyConfig, str]] = {
    "fig2a": (ToyConfig(P_G=1, P_M=2, wG2_0=0.005, wM2_0=1),
              "Table 1 (a): generalisation learned slower but more efficient -> grokking"),
    "fig2b": (ToyConfig(P_G=4, P_M=2, wG2_0=0.005, wM2_0=1),
              "Table 1 (b): generalisation less efficient -> never generalises"),
    "fig2c": (ToyConfig(P_G=1, P_M=2, wG2_0=1, wM2_0=1),
              "Table 1 (c): equal learning speeds -> generalises without delay"),
    "below-dcrit": (ToyConfig(D=500, D_crit=1000, beta=0.5),
                    "D = D_crit/2: memorisation is more efficient (P_M = 0.71 P_G) -> no grokking"),
    "above-dcrit": (ToyConfig(D=4000, D_crit=1000, beta=0.5),
                    "D = 4 D_crit: generalisation is more efficient (P_M = 2 P_G) -> grokking, as fig2a"),
    "ungrok": (ToyConfig(D=250, D_crit=1000, beta=0.5, init_D=4000, steps=100_000),
               "start grokked (theory optimum at D = 4 D_crit), continue at D' = D_crit/4 -> test performance "
               "collapses"),
    "semigrok": (ToyConfig(D=1300, D_crit=1000, beta=0.5, steps=100_000),
                 "D slightly above D_crit (P_M = 1.14 P_G): delayed transition to a mixed state, middling test "
                 "performance"),
}


def get(name: str) -> ToyConfig:
    if name not in PRESETS:
        raise ValueError(f"preset={name!r} is unknown: choose from {', '.join(PRESETS)}")
    return PRESETS[name][0]

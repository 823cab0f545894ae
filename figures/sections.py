"""What a report section is, and the helpers every experiment's figure module builds its sections with.

A section is built from the finished runs `find_runs` found (by what their summary.json records: the experiment,
its preset, never a directory's name) and judged by a rule of `figures.verdicts`.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import rundir
from figures import style
from figures.verdicts import NOT_RUN, Verdict

PREFERENCE = ("paper", "cpu", "demo")  # several runs of one kind: the largest preset found is shown


@dataclass
class Section:
    key: str  # anchor and test handle
    title: str
    claim: str  # what the paper says (or what the part does)
    verdict: str  # one of figures.verdicts' five
    why: str  # one line: the condition that decided the verdict with its numbers, or what to run
    command: str  # the command that made the results (or would make them)
    rows: list[tuple[str, str]] = field(default_factory=list)  # key numbers
    figures: list[tuple[str, bytes]] = field(default_factory=list)  # (caption, PNG)
    config: str = ""  # the preset or configuration in words
    compute_seconds: float | None = None  # training time recorded by the runs
    environment: dict | None = None  # package versions etc. of the run that wrote it
    source: str = ""  # run directory
    others: list[str] = field(default_factory=list)  # further runs of the same kind, not shown
    rule: str = ""  # the verdict's rule in words
    numbers: dict = field(default_factory=dict)  # what the rule used

    def judge(self, v: Verdict) -> None:
        self.verdict, self.why, self.rule, self.numbers = v.verdict, v.decided_by, v.rule, v.numbers

    def verdict_record(self) -> dict:
        """The verdicts.json entry: section, verdict, rule, numbers, decided_by."""
        return {"section": self.title, "key": self.key, "verdict": self.verdict, "rule": self.rule,
                "numbers": self.numbers, "decided_by": self.why}


def kind_of(summary: dict, config: dict) -> str | None:
    """What wrote this summary.json: the experiment it records (training runs record "train"); the theory's and
    the toy's results by their keys. Never by the directory's name (the user's choice)."""
    name = summary.get("experiment") or config.get("experiment")
    if isinstance(name, str):
        return name
    if summary.get("kind") == "theory-prove" and "results" in summary:
        return "theory-prove"
    if "results" in summary and "seed" in summary:
        return "theory-check"
    if config.get("package") == "simulate" and "grok_step" in summary:
        return "toy"
    return None


def find_runs(root: Path) -> dict[str, list[dict]]:
    """Finished runs two levels below `root` by kind: {kind: [{"dir", "summary", "config"}]}, largest preset
    first. An experiment's results that do not pass its readers' checks are listed under "unreadable" as
    {"dir", "error"} instead."""
    from neural import protocol

    experiments = protocol.registry()
    found: dict[str, list[dict]] = {}
    for path in sorted(Path(root).glob("*/*/summary.json")) + sorted(Path(root).glob("*/summary.json")):
        try:
            summary = rundir.read_json(path)
            config = rundir.read_json(path.parent / "config.json") if (path.parent / "config.json").is_file() else {}
            if not isinstance(summary, dict) or not isinstance(config, dict):
                raise ValueError(f"{path} or its config.json is not a JSON object")
            kind = kind_of(summary, config)
            name = summary.get("experiment") or config.get("experiment")
            if name in experiments and experiments[name].tables:
                protocol.read_results(path.parent, name, "results")
        except ValueError as e:
            found.setdefault("unreadable", []).append({"dir": path.parent, "error": str(e)})
            continue
        if kind:
            found.setdefault(kind, []).append({"dir": path.parent, "summary": summary, "config": config})
    for kind, runs in found.items():
        if kind != "unreadable":
            runs.sort(key=rank)
    return found


def rank(run: dict) -> tuple:
    """Paper preset before cpu before demo (the preset its summary records), then more training time first."""
    preset = run["summary"].get("preset")
    pref = PREFERENCE.index(preset) if preset in PREFERENCE else len(PREFERENCE)
    return pref, -(run["summary"].get("compute_seconds") or 0), str(run["dir"])


def num(x, fmt: str = ".3g") -> str:
    if x is None or (isinstance(x, float) and not math.isfinite(x)):
        return "n/a"
    return format(x, fmt)


def with_interval(value, interval, fmt: str = ".0f") -> str:
    text = num(value, fmt)
    return text + (f" [{num(interval[0], fmt)}, {num(interval[1], fmt)}]" if interval else "")


def provenance_of(run: dict) -> tuple[str, dict | None]:
    prov = run["summary"].get("provenance") or {}
    env = prov.get("environment") or run["config"].get("environment")
    return prov.get("command", ""), env


def figure_of(caption: str, make: Callable[[], object]) -> tuple[str, bytes]:
    return caption, style.png_bytes(make())


def _described(summary: dict) -> str:
    """What a run ran, in words: the description its experiment generated from the settings it ran with, and the
    preset they started from."""
    desc, preset = summary.get("description"), summary.get("preset")
    return f"{desc} (preset {preset})" if desc and preset else str(desc or preset or "")


def section_for(key: str, title: str, claim: str, command: str, runs: list[dict]) -> tuple[Section, dict | None]:
    """A section for `runs` (largest first) and the run it shows, or a 'not run' one naming `command` and None."""
    if not runs:
        return Section(key, title, claim, NOT_RUN, f"no finished run under this root: run `{command}`", command), None
    run = runs[0]
    recorded, env = provenance_of(run)
    return Section(key, title, claim, NOT_RUN, "", recorded or command, source=str(run["dir"]), environment=env,
                   compute_seconds=run["summary"].get("compute_seconds",
                                                      run["summary"].get("wall_seconds_this_session")),
                   config=_described(run["summary"]), others=[str(r["dir"]) for r in runs[1:]]), run



"""The report: one page that walks through the paper's argument with this toolkit's own saved results.

`collect(root)` finds the finished runs under `root` (by what their summary.json holds, not by their names) and
builds one `Section` per toolkit part and per prediction: the claim, a one-line verdict with its reason, the key
numbers, the figures (drawn afresh from the saved results), the command that made it, its configuration,
training time and package versions. `to_html` writes a self-contained page (figures embedded as base64 PNG,
opens from disk); `to_markdown` a notes version beside PNG files. A section whose runs are missing says so
and gives the command that makes them.

Verdict rules are fixed before looking at results and live, each with its reason, in `figures.verdicts`; every
section shows its rule, the numbers it used and the condition that decided it, and `write` saves the same as
`verdicts.json` beside the page.
"""
from __future__ import annotations

import base64
import datetime
import html
import json
from pathlib import Path

import rundir
from figures import allocation, toy, verdicts
from figures.sections import NOT_RUN, Section, figure_of, find_runs, num, section_for


# ------------------------------------------------------------------------------------------- sections
def theory_section(found: dict) -> Section:
    s, run = section_for("theory", "Theory: the appendix's theorems and lemmas, checked as printed",
                         "Theorems D.1, D.4 and Lemmas D.2, D.3 of the paper hold on every sampled instance.",
                         "grok-theory check --out runs/theory/check", found.get("theory-check", []))
    if run is None:
        return s
    summary = run["summary"]
    results = summary["results"]
    s.config = f"seed {summary['seed']}; each statement's own instance count"
    proofs = _certified(found.get("theory-prove", []))
    for r in results:
        status = "holds" if r["holds"] else "FAILS as printed" + (
            "; corrected form holds" if r.get("corrected") and r["corrected"]["holds"] else "; no correction holds")
        certified = "; ".join(proofs[n] for n in (r["name"], r["name"] + " (corrected)") if n in proofs)
        s.rows.append((r["name"], f"{r['instances']} instances, worst margin {num(r['worst_margin'])}: {status}"
                       + (f" | certified: {certified}" if certified else
                          " | certified: not run (grok-theory prove --out runs/theory/prove)")))
    s.judge(verdicts.theory(results))
    s.figures.append(figure_of("Theorem D.4 (checked above): the optimal share of the more efficient circuit against "
                             "κ/q — a mixture below κ = q, winner takes all above", allocation.render))
    return s


def _certified(runs: list[dict]) -> dict[str, str]:
    """Each statement's certified verdict and box from the newest `grok-theory prove` summary, in words."""
    if not runs:
        return {}
    out = {}
    for r in runs[0]["summary"].get("results") or []:
        if not (isinstance(r, dict) and isinstance(r.get("name"), str) and isinstance(r.get("verdict"), str)):
            continue  # a malformed entry is left out rather than guessed at
        bounds = r.get("box") if isinstance(r.get("box"), dict) else {}
        box = ", ".join(f"{k} in [{v[0]:g}, {v[1]:g}]" for k, v in bounds.items()
                        if isinstance(v, list) and len(v) == 2 and all(isinstance(e, (int, float)) for e in v))
        if r["name"] == "Theorem D.4":
            box = f"{len(r.get('allocations') or [])} parameter sets of allocate"
        text = f"{r['name']} {r['verdict']}"
        if r["verdict"] == "undecided" and isinstance(r.get("certified_share"), (int, float)):
            text += f" (certified share {r['certified_share']:.4g})"
        out[r["name"]] = text + (f" on {box}" if box else "")
    return out


def toy_section(found: dict) -> Section:
    command = ("for p in fig2a fig2b fig2c; do grok-simulate run --preset $p; done")
    runs = {r["dir"].name: r for r in found.get("toy", [])}
    panels = [runs.get(n) for n in ("fig2a", "fig2b", "fig2c")]
    s, _ = section_for("toy", "The three ingredients: the toy of Appendix B.5 (Table 1, Figure 2)",
                       "With a generalising circuit that is more efficient but slower to learn, the toy groks (a); a "
                       "less efficient one never generalises (b); an equally fast one generalises without delay (c).",
                       command, [p for p in panels if p][:1])
    if not all(panels):
        s.source, s.verdict = "", NOT_RUN
        s.why = f"needs the fig2a, fig2b and fig2c toy runs: run `{command}`"
        s.command = command
        return s
    s.command, s.source = command, ", ".join(str(p["dir"]) for p in panels)
    s.compute_seconds = sum(p["summary"].get("wall_seconds_this_session") or 0 for p in panels) or None
    s.config = "Table 1 presets (fig2a, fig2b, fig2c)"
    a, b, c = (p["summary"] for p in panels)
    for name, p in zip("abc", (a, b, c)):
        fin = p["final"]
        s.rows.append((f"({name}) fit step / grok step / delay",
                       f"{num(p['train_fit_step'], 'd')} / {num(p['grok_step'], 'd')} / "
                       f"{num(p['grokking_delay'], 'd')}; "
                       f"final test accuracy {num(fin['test/acc'])}, w_G {num(fin['w_G'])}, w_M {num(fin['w_M'])}"))
    s.judge(verdicts.toy(a["grokking_delay"], b["grok_step"], c["grokking_delay"]))
    s.figures.append(figure_of("Figure 2: losses, circuit weights and parameter norms of the three toy settings",
                             lambda: toy.render(toy.load([p["dir"] for p in panels]), toy.PAPER_TITLES)))
    return s


PARTS = (theory_section, toy_section)  # the report's opening: the theory and the toy (not neural experiments)


def section_makers() -> list:
    """The theory's and the toy's sections, then each registered experiment's, from the figures module that
    draws it (its SECTIONS, figures.drawers), in the registry's order."""
    from figures.drawers import drawers

    return list(PARTS) + [make for module in drawers().values() for make in module.SECTIONS]


def collect(root: Path) -> list[Section]:
    """Every section of the report from the runs under `root` (ValueError if `root` is not a directory)."""
    root = Path(root)
    if not root.is_dir():
        raise ValueError(f"ROOT={str(root)!r} is not a directory: pass the runs directory (default runs)")
    found = find_runs(root)
    return [_made(make, found) for make in section_makers()]


def _made(make, found: dict) -> Section:
    """A section, or, when the runs it reads do not hold what it needs (a file missing or cut short, a key
    absent, a value of the wrong type), the same section as not run, naming what was wrong: one bad run never
    sinks the page."""
    try:
        return make(found)
    except (ValueError, KeyError, TypeError, IndexError, AttributeError, OSError) as e:
        bare = make({k: v for k, v in found.items() if k == "unreadable"})
        what = f"{type(e).__name__}: {e}" if not isinstance(e, ValueError) else str(e)
        bare.why = f"its run could not be read ({' '.join(what.split())}); fix or re-run it: `{bare.command}`"
        return bare


# ------------------------------------------------------------------------------------------- writing
def _versions(env: dict | None) -> str:
    if not env:
        return "not recorded"
    pk = ", ".join(f"{k} {v}" for k, v in (env.get("packages") or {}).items() if v)
    commit = env.get("git_commit")
    return f"Python {env.get('python')}; {pk}" + (f"; commit {commit[:10]}" if commit else "")


def _seconds(x: float | None) -> str:
    if x is None:
        return "not recorded"
    return f"{x:.0f} s" if x < 120 else f"{x / 60:.1f} min"


def _meta(s: Section) -> list[tuple[str, str]]:
    out = [("command", s.command)]
    if s.source:
        out += [("results", s.source), ("configuration", s.config or "see the results' config.json"),
                ("compute time", _seconds(s.compute_seconds)), ("packages", _versions(s.environment))]
    if s.others:
        out.append(("also found (not shown)", ", ".join(s.others)))
    return out


CSS = """body{font:15px/1.45 system-ui,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;color:#222}
h1{font-size:1.7em}h2{margin-top:2.2em;border-top:1px solid #ddd;padding-top:1em}
.verdict{display:inline-block;padding:.15em .6em;border-radius:.3em;font-weight:600;color:#fff}
.confirmed{background:#2e7d32}.confirmed-with-corrections{background:#558b2f}.not-confirmed{background:#c62828}
.inconclusive{background:#ef6c00}.not-run{background:#757575}
table{border-collapse:collapse;margin:.6em 0}
td,th{border:1px solid #ddd;padding:.25em .6em;text-align:left;vertical-align:top}
code{background:#f4f4f4;padding:.1em .3em;border-radius:.2em}img{max-width:100%;border:1px solid #eee}
figcaption{color:#555;font-size:.9em}.claim{color:#333}.meta td:first-child{color:#666;white-space:nowrap}
"""


def to_html(sections: list[Section], root: Path) -> str:
    """A self-contained page: figures inline as base64 PNG, no scripts, nothing fetched."""
    esc = html.escape
    now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    out = ["<!DOCTYPE html>", "<html lang='en'><head><meta charset='utf-8'>",
           "<title>circuit-efficiency report</title>", f"<style>{CSS}</style></head><body>",
           "<h1>Explaining grokking through circuit efficiency: this toolkit's results</h1>",
           f"<p>Runs under <code>{esc(str(root))}</code>, report written {now}. Each section states the paper's claim, "
           "a verdict by a rule fixed in advance (<code>figures/verdicts.py</code>: confirmed, confirmed with "
           "corrections, not confirmed, inconclusive when the evidence is too weak to decide, or not run), the "
           "condition that decided it, the numbers it used, its figures, and how the results were made; "
           "<code>verdicts.json</code> beside this page holds the same verdicts.</p>",
           "<table><tr><th>section</th><th>verdict</th><th>why</th></tr>"]
    for s in sections:
        out.append(f"<tr><td><a href='#{s.key}'>{esc(s.title)}</a></td><td><span class='verdict "
                   f"{s.verdict.replace(' ', '-')}'>{s.verdict}</span></td><td>{esc(s.why)}</td></tr>")
    out.append("</table>")
    for s in sections:
        out.append(f"<section id='{s.key}'><h2>{esc(s.title)}</h2>")
        out.append(f"<p class='claim'><b>Claim.</b> {esc(s.claim)}</p>")
        out.append(f"<p><span class='verdict {s.verdict.replace(' ', '-')}'>{s.verdict}</span> {esc(s.why)}</p>")
        if s.rule:
            numbers = esc(json.dumps(rundir.to_jsonable(s.numbers), indent=1))
            out.append(f"<p class='rule'><b>Rule</b> (fixed in advance): {esc(s.rule)}</p><details><summary>numbers "
                       f"the rule used</summary><pre>{numbers}</pre></details>")
        if s.rows:
            cells = "".join(f"<tr><td>{esc(k)}</td><td>{esc(v)}</td></tr>" for k, v in s.rows)
            out.append(f"<table>{cells}</table>")
        for caption, png in s.figures:
            width = int.from_bytes(png[16:20], "big") * 2 // 3  # PNG header; drawn at 150 dpi, shown at 100
            out.append(f"<figure><img style='width:min(100%,{width}px)' alt='{esc(caption)}' "
                       "src='data:image/png;base64,"
                       f"{base64.b64encode(png).decode()}'><figcaption>{esc(caption)}</figcaption></figure>")
        out.append("<table class='meta'>" + "".join(
            f"<tr><td>{esc(k)}</td><td>{'<code>' + esc(v) + '</code>' if k == 'command' else esc(v)}</td></tr>"
            for k, v in _meta(s)) + "</table></section>")
    out.append("</body></html>")
    return "\n".join(out)


def to_markdown(sections: list[Section], root: Path, figure_dir: str) -> tuple[str, dict[str, bytes]]:
    """The report as Markdown and the PNG files it links ({relative path: bytes}, under `figure_dir`)."""
    files: dict[str, bytes] = {}
    out = ["# Explaining grokking through circuit efficiency: this toolkit's results", "",
           f"Runs under `{root}`. Verdicts follow rules fixed in advance (`figures/verdicts.py`); "
           "`verdicts.json` beside this file holds them with the numbers they used.", "",
           "| section | verdict | why |", "|---|---|---|"]
    out += [f"| [{s.title}](#{s.key}) | **{s.verdict}** | {s.why} |" for s in sections]
    for s in sections:
        out += ["", f"<a id='{s.key}'></a>", f"## {s.title}", "", f"**Claim.** {s.claim}", "",
                f"**{s.verdict}**: {s.why}", ""] + ([f"*Rule (fixed in advance):* {s.rule}", ""] if s.rule else [])
        if s.rows:
            out += ["| quantity | value |", "|---|---|"] + [f"| {k} | {v} |" for k, v in s.rows] + [""]
        for k, (caption, png) in enumerate(s.figures):
            name = f"{figure_dir}/{s.key}-{k + 1}.png"
            files[name] = png
            out += [f"![{caption}]({name})", f"*{caption}*", ""]
        out += [f"- {k}: `{v}`" if k == "command" else f"- {k}: {v}" for k, v in _meta(s)]
    return "\n".join(out) + "\n", files


def check_out(out: Path) -> Path:
    out = Path(out)
    if out.suffix.lower() not in (".html", ".md"):
        raise ValueError(f"out={str(out)!r} is not allowed: end it in .html (the page) or .md (Markdown)")
    return rundir.check_file_target(out)


def write(sections: list[Section], root: Path, out: Path) -> list[Path]:
    """Write `out`: .html (self-contained) or .md (PNGs in `<stem>_figures/` beside it), and verdicts.json beside
    it (one object per section: section, verdict, rule, numbers, decided_by); the paths written."""
    out = check_out(out)
    written = []
    try:
        rundir.write_json(out.parent / "verdicts.json", [s.verdict_record() for s in sections])
        written.append(out.parent / "verdicts.json")
        if out.suffix.lower() == ".html":
            rundir.atomic_write_text(out, to_html(sections, root))
        else:
            text, files = to_markdown(sections, root, f"{out.stem}_figures")
            for name, png in files.items():
                rundir.atomic_write_bytes(out.parent / name, png)
                written.append(out.parent / name)
            rundir.atomic_write_text(out, text)
    except OSError as e:
        raise ValueError(f"out={str(out)!r} cannot be written: {e.strerror or e}") from None
    return [out] + written

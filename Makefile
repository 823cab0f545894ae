# Two commands a reader needs: `make demo` (the main job) and `make test` (the suite).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test test-slow bench clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	# torch first, pinned: the local CPU wheel; an unpinned torch would pull a multi-GB CUDA build.
	$(BIN)/python -m pip install --quiet torch==2.13.0
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

# The main job: the paper's argument end to end on a CPU, then one report. Every step reuses finished runs, so a
# second `make demo` only redraws. DEMO=cpu runs the larger cpu sweeps instead (about an hour on 2 cores).
DEMO ?= demo
demo: $(STAMP)
	$(BIN)/grok-theory check --out runs/theory/check
	for p in fig2a fig2b fig2c; do $(BIN)/grok-simulate run --preset $$p; done
	$(BIN)/grok-figures fig2 runs/simulate/fig2a runs/simulate/fig2b runs/simulate/fig2c --out runs/figures/fig2.png
	$(BIN)/grok-neural train --preset cpu
	$(BIN)/grok-figures progress runs/neural/cpu-add-p59 --out runs/figures/progress-cpu.png
	$(BIN)/grok-neural ungrok --preset $(DEMO)
	$(BIN)/grok-neural efficiency --preset $(DEMO)
	$(BIN)/grok-neural compare --preset $(DEMO)
	$(BIN)/grok-neural semigrok --preset $(DEMO)
	$(BIN)/grok-figures report runs --out runs/report/index.html

test: $(STAMP)
	$(BIN)/python -m pytest -q

test-slow: $(STAMP)
	$(BIN)/python -m pytest -q -m slow

bench: $(STAMP)
	$(BIN)/python benchmarks/bench_theory.py
	$(BIN)/python benchmarks/bench_simulate.py
	$(BIN)/python benchmarks/bench_train.py
	$(BIN)/python benchmarks/bench_concurrency.py
	$(BIN)/python benchmarks/bench_sweep.py

clean:
	rm -rf $(VENV) runs .pytest_cache .hypothesis

# Two commands a reader needs: `make demo` (the main job) and `make test` (the suite).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo paper test test-slow test-tl bench clean
.SECONDARY:  # keep the run files make builds along the way

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	# torch first, pinned: the local CPU wheel; an unpinned torch would pull a multi-GB CUDA build.
	$(BIN)/python -m pip install --quiet torch==2.13.0
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

# The main job: the paper's argument end to end on a CPU, then one report. Each step is a file target, so a second
# `make demo` skips every finished run (an interrupted sweep resumes) and only redraws the report.
# DEMO=cpu runs the larger cpu sweeps instead (about 13 minutes on 2 cores).
DEMO ?= demo
RUNS := runs
NEURAL := $(RUNS)/neural
DEMO_RUNS := $(RUNS)/theory/check/summary.json $(RUNS)/theory/prove/summary.json $(RUNS)/figures/fig2.png $(RUNS)/figures/progress-cpu.png \
	$(NEURAL)/demo-$(DEMO).json

demo: $(DEMO_RUNS)
	$(BIN)/grok-figures report $(RUNS) --out $(RUNS)/report/index.html

$(RUNS)/theory/check/summary.json: | $(STAMP)
	$(BIN)/grok-theory check --out $(RUNS)/theory/check

$(RUNS)/theory/prove/summary.json: | $(STAMP)
	$(BIN)/grok-theory prove --out $(RUNS)/theory/prove

$(RUNS)/simulate/%/summary.json: | $(STAMP)
	$(BIN)/grok-simulate run --preset $* --out $(RUNS)/simulate/$*

$(RUNS)/figures/fig2.png: $(RUNS)/simulate/fig2a/summary.json $(RUNS)/simulate/fig2b/summary.json $(RUNS)/simulate/fig2c/summary.json
	$(BIN)/grok-figures fig2 $(RUNS)/simulate/fig2a $(RUNS)/simulate/fig2b $(RUNS)/simulate/fig2c --out $@

# Every neural experiment the registry marks for the demo (train, efficiency, ungrok, compare, semigrok), each
# reusing what is finished: neural/protocol.py's registry, not a list here.
$(NEURAL)/demo-$(DEMO).json: | $(STAMP)
	$(BIN)/grok-neural demo --preset $(DEMO)

$(RUNS)/figures/progress-cpu.png: $(NEURAL)/demo-$(DEMO).json
	$(BIN)/grok-figures progress $(NEURAL)/cpu-add-p59 --out $@

# The paper's own scale (p = 113, d_model 128) within a device budget, for a GPU: it measures the step time there,
# prints its plan (what runs, the estimate, what the fixed rule cut), trains, and ends with the report and
# verdicts.json in runs/paper-$(PAPER_SCALE)/report/. PAPER_SCALE=smoke runs the same path with a tiny model in
# under a minute on a CPU.
PAPER_SCALE ?= paper
PAPER_MINUTES ?= 8
paper: | $(STAMP)
	$(BIN)/grok-neural paper --scale $(PAPER_SCALE) --budget-minutes $(PAPER_MINUTES)

test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/python -m pytest -q

test-slow: $(STAMP)
	$(BIN)/python -m pytest -q -m slow

# The export to TransformerLens, against each major version for real, each in its own venv (about 1 min each to
# build): 3.x loads HookedTransformer's layout, 4.x TransformerBridge.boot_native's.
TL_VERSIONS ?= 3.9.0 4.3.0
test-tl:
	@for v in $(TL_VERSIONS); do \
	  d=.venv-tl-$$v; \
	  if [ ! -f $$d/.installed ]; then \
	    $(PYTHON) -m venv $$d && \
	    $$d/bin/python -m pip install --quiet torch==2.13.0 "transformer-lens==$$v" && \
	    $$d/bin/python -m pip install --quiet -e '.[dev]' && touch $$d/.installed || exit 1; \
	  fi; \
	  echo "transformer-lens $$v:"; \
	  $$d/bin/python -m pytest -q -p no:cacheprovider tests/neural/test_interop.py -rs || exit 1; \
	done

bench: $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[bench]'
	$(BIN)/python benchmarks/bench_theory.py
	$(BIN)/python benchmarks/bench_intervals.py
	$(BIN)/python benchmarks/bench_simulate.py
	$(BIN)/python benchmarks/bench_train.py
	$(BIN)/python benchmarks/bench_concurrency.py
	$(BIN)/python benchmarks/bench_sweep.py
	$(BIN)/python benchmarks/bench_vs_commit.py

clean:
	rm -rf $(VENV) .venv-tl-* runs .pytest_cache .hypothesis

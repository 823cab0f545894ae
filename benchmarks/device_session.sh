#!/usr/bin/env bash
# One prepared session on a lent GPU, run from the repository root: the device benchmark (the earlier engine against
# this one, paper size, E = 1..256, TF32 off and on), then `grok-neural paper` at the paper scale within its budget,
# then the D_crit surface's paper-scale plan (each cell's step time measured on the GPU; --plan-only trains nothing).
# What a session commits under docs/paper-scale/ lands in $OUT (default docs/paper-scale).
#
# Prepare here (the device's copy of the tree has no git history), then call the device tool's `run` with
#   command: bash benchmarks/device_session.sh     carry: [".old-engine"]     timeout_s: 600
#   mkdir -p .old-engine && git archive 76512f0 | tar -x -C .old-engine && echo /.old-engine/ >> .git/info/exclude
set -uo pipefail
OUT=${OUT:-docs/paper-scale}
mkdir -p "$OUT"
export PYTHONPATH=$PWD PYTHONUNBUFFERED=1 TQDM_DISABLE=1 MPLBACKEND=Agg
PY=${PYTHON:-python3}
{ date -u; nvidia-smi -L; $PY -c "import torch; print('torch', torch.__version__, 'CUDA', torch.version.cuda)"; } \
  > "$OUT/device.txt" 2>&1
OLD=(--commit 76512f0); [ -d .old-engine ] && OLD=(--old-tree .old-engine)
timeout "${BENCH_SECONDS:-170}" $PY benchmarks/bench_device.py "${OLD[@]}" --members 1,16,64,256 --rounds 1 \
  2>&1 | tee "$OUT/bench_device.txt"
timeout "${PAPER_SECONDS:-345}" $PY -m commands.neural paper --scale paper --budget-minutes "${PAPER_MINUTES:-4}" \
  --out /tmp/paper-run 2>&1 | tee "$OUT/paper.log"
cp /tmp/paper-run/plan.json /tmp/paper-run/report/verdicts.json "$OUT/" 2>/dev/null
tar -czf "$OUT/paper-run.tgz" -C /tmp/paper-run --exclude='checkpoint.pt' . 2>/dev/null
timeout "${SURFACE_SECONDS:-45}" $PY -m commands.neural paper --surface --scale paper --plan-only \
  --rung 0 --out /tmp/surface-plan 2>&1 | tee "$OUT/surface-plan.txt"
ls -la "$OUT"

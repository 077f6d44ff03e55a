#!/usr/bin/env bash
# The GPU check: everything dlsetup says about GPUs, run once on a real NVIDIA GPU, in one short call.
#
#   benchmarks/gpu_check.sh OUTDIR            run it (on the GPU machine, from the repository root)
#   benchmarks/gpu_check.sh --dry-run OUTDIR  print the plan; run nothing, write nothing
#   benchmarks/gpu_check.sh --fetch-wheels    here, with pip reaching PyPI: put the pure-Python
#                                             dependencies the GPU machine lacks into .whl/
#
# The GPU machine has no network. It already has a CUDA torch, nvidia-ml-py, click, rich, psutil, httpx,
# packaging, filelock, pyyaml and certifi; dlsetup's other dependencies travel as wheels in .whl/ and are
# installed with --no-index. dlsetup itself is installed from this tree (also --no-index), falling back to
# PYTHONPATH when setuptools is missing there.
#
# Each step has its own time limit, and the whole run stops starting steps after GPU_CHECK_BUDGET seconds
# (default 330), so one run fits a 10-minute call and a second run still fits a 15-minute lease
# with the machine's start-up.
# OUTDIR receives at most four files (the device tool brings back at most 8):
#   summary.json    per step: command, exit code, seconds, timed out; the card, driver, torch
#   summary.txt     the same as a table
#   snapshot.json   `dlsetup doctor --save-snapshot` (redacted): the fixture to commit
#   results.tar.gz  every step's stdout/stderr, JSON documents and the verify HTML report
#
# GPU_CHECK_STEPS=a,b,c runs only those steps (the test suite runs a few of them on a CPU box).
# PYTHON selects the interpreter (default python3).
set -uo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PY="${PYTHON:-python3}"
BUDGET="${GPU_CHECK_BUDGET:-330}"
WHEELS=(platformdirs tomlkit "ruamel.yaml" "ruamel.yaml.clib")

usage() { sed -n '2,8p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; }

DRY=0
case "${1:-}" in
  --dry-run) DRY=1; shift ;;
  --fetch-wheels)
    mkdir -p "$REPO/.whl"
    exec "$PY" -m pip download --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
      --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 \
      --platform any -d "$REPO/.whl" "${WHEELS[@]}" ;;
  -h|--help) usage; exit 0 ;;
esac
if [ $# -ne 1 ]; then usage >&2; exit 2; fi
OUT="$1"

# name | seconds | command (run with bash from the repository root; $DL is dlsetup, $W the work folder)
STEPS=(
  "install|60|install_dlsetup"
  "gpu_info|20|nvidia-smi -q > \$W/nvidia-smi.txt; \$PY -c 'import torch,json;print(json.dumps({\"torch\":torch.__version__,\"cuda\":torch.version.cuda,\"gpu\":torch.cuda.get_device_name(0) if torch.cuda.is_available() else None}))'"
  "doctor_json|45|\$DL doctor --json"
  "doctor_deep|90|\$DL doctor --deep --json"
  "snapshot|45|\$DL doctor --save-snapshot \$OUT/snapshot.json"
  "resolve_torch|20|\$DL resolve torch torchvision --explain --json"
  "resolve_tensorflow|20|\$DL resolve tensorflow --explain --json"
  "resolve_jax|20|\$DL resolve jax --explain --json"
  "verify|200|\$DL verify --json --perf --rebuild --report \$W/verify.html"
  "verify_distributed|90|\$PY -m torch.distributed.run --nproc-per-node=1 -m dlsetup verify --distributed --json"
  "bench_doctor|60|\$PY benchmarks/bench_doctor.py --runs 3"
  "bench_verify|120|\$PY benchmarks/bench_verify.py --runs 1 --cold-runs 0 --device cuda"
)

selected() {
  [ -z "${GPU_CHECK_STEPS:-}" ] && return 0
  case ",$GPU_CHECK_STEPS," in *",$1,"*) return 0 ;; esac
  return 1
}

if [ "$DRY" -eq 1 ]; then
  echo "gpu_check plan: repository $REPO, interpreter $PY, budget ${BUDGET}s, output $OUT"
  total=0
  for s in "${STEPS[@]}"; do
    IFS='|' read -r name secs cmd <<<"$s"
    selected "$name" || continue
    total=$((total + secs))
    printf 'step %-20s limit %4ss  %s\n' "$name" "$secs" "$cmd"
  done
  echo "sum of step limits: ${total}s (the run stops starting steps after ${BUDGET}s)"
  echo "outputs: summary.json summary.txt snapshot.json results.tar.gz"
  exit 0
fi

mkdir -p "$OUT" || exit 2
W="$(mktemp -d "${TMPDIR:-/tmp}/gpu_check.XXXXXX")"
SITE="$W/site"
# dlsetup's state, cache and config stay in the work folder: the GPU machine's own files are untouched.
export DLSETUP_CACHE_DIR="$W/cache" DLSETUP_STATE_DIR="$W/state" DLSETUP_CONFIG_DIR="$W/config"
export PYTHONUNBUFFERED=1 PY OUT W
cd "$REPO" || exit 2

install_dlsetup() {
  mkdir -p "$SITE"
  if compgen -G "$REPO/.whl/*.whl" >/dev/null; then
    "$PY" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --target "$SITE" "$REPO"/.whl/*.whl || return 1
  fi
  if ! "$PY" -m pip install -q --no-index --no-deps --no-build-isolation --no-compile --target "$SITE" "$REPO"; then
    echo "gpu_check: pip could not build dlsetup here; using the tree through PYTHONPATH" >&2
  fi
  "$PY" -c 'import dlsetup, sys; print("dlsetup", dlsetup.__version__, "from", dlsetup.__file__)'
}
export -f install_dlsetup
export REPO SITE
# The installed copy first; the tree itself as the fallback.
export PYTHONPATH="$SITE:$REPO${PYTHONPATH:+:$PYTHONPATH}"
export DL="$PY -m dlsetup"

start_all=$(date +%s)
json_rows=()
printf '%-20s %6s %8s  %s\n' step rc seconds note > "$W/summary.txt"
for s in "${STEPS[@]}"; do
  IFS='|' read -r name secs cmd <<<"$s"
  selected "$name" || continue
  elapsed=$(( $(date +%s) - start_all ))
  if [ "$elapsed" -ge "$BUDGET" ]; then
    note="not started: budget of ${BUDGET}s spent"; rc=-1; dt=0
  else
    left=$(( BUDGET - elapsed )); [ "$secs" -gt "$left" ] && secs=$left
    t0=$(date +%s%N)
    timeout --kill-after=5 "$secs" bash -c "$cmd" >"$W/$name.out" 2>"$W/$name.err"
    rc=$?
    dt=$(awk -v a="$t0" -v b="$(date +%s%N)" 'BEGIN { printf "%.2f", (b - a) / 1e9 }')
    note=""; [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ] && note="timed out after ${secs}s"
  fi
  printf '%-20s %6s %8.2f  %s\n' "$name" "$rc" "$dt" "$note" >> "$W/summary.txt"
  json_rows+=("$(NAME="$name" RC="$rc" DT="$dt" NOTE="$note" CMD="$cmd" "$PY" -c '
import json, os
print(json.dumps({"step": os.environ["NAME"], "rc": int(os.environ["RC"]), "seconds": float(os.environ["DT"] or 0),
                  "note": os.environ["NOTE"], "command": os.environ["CMD"]}))')")
done

# Card, driver and torch as the machine reports them (none of it required: a CPU box reports nulls).
"$PY" - "$W" "${json_rows[@]}" > "$OUT/summary.json" <<'EOF'
import json, subprocess, sys
work, rows = sys.argv[1], [json.loads(r) for r in sys.argv[2:]]
machine = {}
try:
    q = subprocess.run(["nvidia-smi", "--query-gpu=name,driver_version,compute_cap,memory.total",
                        "--format=csv,noheader"], capture_output=True, text=True, timeout=20)
    machine["nvidia_smi"] = q.stdout.strip() or None
except (OSError, subprocess.SubprocessError):
    machine["nvidia_smi"] = None
try:
    machine["gpu_info"] = json.loads(open(f"{work}/gpu_info.out").read().strip().splitlines()[-1])
except (OSError, ValueError, IndexError):
    machine["gpu_info"] = None
print(json.dumps({"schema_version": 1, "machine": machine, "steps": rows}, indent=2))
EOF
cp "$W/summary.txt" "$OUT/summary.txt"
tar -czf "$OUT/results.tar.gz" -C "$W" --exclude=site --exclude=cache --exclude=state --exclude=config . 2>/dev/null
cat "$OUT/summary.txt"
rm -rf "$W"
exit 0

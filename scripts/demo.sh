#!/usr/bin/env bash
# `make demo`: builds fsdemo and runs every step of the demo, logging to the terminal and
# to WORKDIR/demo.log (WORKDIR is .fsdemo/ unless --workdir is given). Flags go to
# `fsdemo demo` (see `fsdemo demo --help`), plus:
#   --source DIR     run on a theLook export (e.g. ../shared/thelook) instead of generating one
#   --profile gcp    run against BigQuery and Vertex AI (see README, "The gcp profile")
set -euo pipefail
cd "$(dirname "$0")/.."

global=()
demo=()
workdir=.fsdemo
while [ $# -gt 0 ]; do
  case "$1" in
    --source) global+=(--set "data.source=$(cd "$2" && pwd)"); shift 2 ;;
    --source=*) global+=(--set "data.source=$(cd "${1#--source=}" && pwd)"); shift ;;
    --workdir) workdir=$2; global+=("$1" "$2"); shift 2 ;;
    --workdir=*) workdir=${1#--workdir=}; global+=("$1"); shift ;;
    --profile|--config-dir|--set) global+=("$1" "$2"); shift 2 ;;
    --profile=*|--config-dir=*|--set=*) global+=("$1"); shift ;;
    *) demo+=("$1"); shift ;;
  esac
done

echo "building fsdemo (the first build compiles DuckDB's C++ and takes about 20 minutes)..."
cargo build --bin fsdemo
mkdir -p "$workdir"
started=$(date +%s)
"${CARGO_TARGET_DIR:-target}/debug/fsdemo" "${global[@]}" demo "${demo[@]}" 2>&1 | tee "$workdir/demo.log"
status=${PIPESTATUS[0]}
echo "demo wall time (without the build): $(( $(date +%s) - started )) s; log: $workdir/demo.log"
exit "$status"

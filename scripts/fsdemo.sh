#!/usr/bin/env bash
# Runs the fsdemo binary, building it first if needed (cargo rebuilds only what changed).
# The target dir is $CARGO_TARGET_DIR when set, so a warm machine rebuilds incrementally.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --quiet --bin fsdemo
exec "${CARGO_TARGET_DIR:-target}/debug/fsdemo" "$@"

#!/usr/bin/env bash
# `make test`: formatting, lints and the whole test suite, as CI runs it.
# Tests that need Python's xgboost or Chromium skip with a reason unless CI=true, where
# they fail; scripts/install-test-deps.sh installs both.
set -euo pipefail
cd "$(dirname "$0")/.."

echo "== cargo fmt --check"
cargo fmt --all -- --check

echo "== cargo clippy -D warnings"
cargo clippy --workspace --all-targets -- -D warnings

echo "== tests"
if cargo nextest --version >/dev/null 2>&1; then
  cargo nextest run --workspace --no-fail-fast
  cargo test --workspace --doc
else
  cargo test --workspace --no-fail-fast
fi

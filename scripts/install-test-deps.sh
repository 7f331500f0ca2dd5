#!/usr/bin/env bash
# Installs what the test suite needs beyond Rust: the real xgboost (Python), to check that
# model.bst serves the same predictions, Chromium, to render the report headless, and
# make, which runs the README's commands.
# Safe to run twice: it installs only what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! python3 -c "import xgboost, numpy" >/dev/null 2>&1; then
  echo "== pip install xgboost"
  python3 -m pip install --quiet -r crates/training/tests/requirements.txt
fi

missing=()
command -v chromium >/dev/null 2>&1 || missing+=(chromium fonts-liberation)
command -v make >/dev/null 2>&1 || missing+=(make)
if [ ${#missing[@]} -gt 0 ]; then
  echo "== apt-get install ${missing[*]}"
  sudo_cmd=""
  [ "$(id -u)" -ne 0 ] && sudo_cmd="sudo"
  $sudo_cmd apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq "${missing[@]}"
fi

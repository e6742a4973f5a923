#!/usr/bin/env bash
# Builds the Python package into python/.venv and runs its tests (pytest).
#
#   python/run-tests.sh [pytest args...]
#
# Uses the workspace's target directory ($CARGO_TARGET_DIR, else ./target), so the
# Rust crates already built there are reused. The tests compare with the `tradetrail`
# CLI: $TRADETRAIL_BIN, else the debug binary built here.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(dirname "$here")"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$repo/target}"
venv="$here/.venv"

if [ ! -x "$venv/bin/python" ]; then
    python3 -m venv "$venv"
fi
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check 'maturin>=1.5,<2' pytest pyarrow pandas

if [ -z "${TRADETRAIL_BIN:-}" ]; then
    (cd "$repo" && cargo build --quiet -p tradetrail-cli)
    export TRADETRAIL_BIN="$CARGO_TARGET_DIR/debug/tradetrail"
fi

# `maturin develop` builds the extension (debug) and installs the package editable.
(cd "$here" && VIRTUAL_ENV="$venv" "$venv/bin/maturin" develop --quiet)

# The wheel a user installs: one abi3 wheel, built by `maturin build` (the debug
# profile, reusing the crates built above; TRADETRAIL_WHEEL_PROFILE=release for the
# release build `pip install ./python` makes), installed alone into a fresh venv with
# no network. tests/test_wheel.py imports it from there ($TRADETRAIL_WHEEL_PYTHON).
scratch="$(mktemp -d)"
trap 'rm -rf "$scratch"' EXIT
profile=()
if [ "${TRADETRAIL_WHEEL_PROFILE:-debug}" = release ]; then profile=(--release); fi
(cd "$here" && "$venv/bin/maturin" build --quiet "${profile[@]}" --interpreter "$venv/bin/python" --out "$scratch/wheels")
python3 -m venv "$scratch/venv"
"$scratch/venv/bin/python" -m pip install --quiet --disable-pip-version-check --no-index --no-deps "$scratch"/wheels/tradetrail-*-abi3-*.whl
export TRADETRAIL_WHEEL_PYTHON="$scratch/venv/bin/python"

cd "$here"
"$venv/bin/python" -m pytest -q "$@"

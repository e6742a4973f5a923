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

cd "$here"
exec "$venv/bin/python" -m pytest -q "$@"

#!/usr/bin/env bash
# Builds the package in release mode into python/.venv and runs python/benches/bench.py.
#
#   python/benches/run.sh [--events N] [--single N]
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
repo="$(dirname "$here")"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$repo/target}"
venv="$here/.venv"
[ -x "$venv/bin/python" ] || python3 -m venv "$venv"
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check 'maturin>=1.5,<2' pyarrow pandas
(cd "$repo" && cargo build --quiet --release -p tradetrail-cli)
(cd "$here" && VIRTUAL_ENV="$venv" "$venv/bin/maturin" develop --quiet --release)
export TRADETRAIL_BIN="${TRADETRAIL_BIN:-$CARGO_TARGET_DIR/release/tradetrail}"
exec "$venv/bin/python" "$here/benches/bench.py" --cli "$TRADETRAIL_BIN" "$@"

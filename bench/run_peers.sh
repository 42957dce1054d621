#!/usr/bin/env bash
# leveret beside the peers (raw pika, aio-pika, FastStream, nameko) in the shared harness
# (../shared/bench), one run, one broker. Copies the harness to a temporary folder (shared/ is
# read-only), drops bench/peer/leveret_rpc.py in as one more adapter, installs leveret
# (editable) into the harness venv, generates the stubs from bench/peer/peerbench.yaml, runs
# every system, writes bench/results/peers-<UTC date>.md/.json and docs/peers-throughput.png.
# Arguments go to the harness, e.g.:  bench/run_peers.sh --repeats 3 --no-payload
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SHARED="${PEERBENCH_SHARED:-$ROOT/../shared/bench}"
VENV="${PEERBENCH_VENV:-/tmp/bench-venv}"
export PEERBENCH_VENV="$VENV"
WORK="$(mktemp -d /tmp/leveret-peers.XXXXXX)"
cp -r "$SHARED/." "$WORK/"
chmod -R u+w "$WORK"
cp "$ROOT/bench/peer/leveret_rpc.py" "$WORK/peerbench/adapters/leveret_rpc.py"
# raw pika instrumented by hand (the -obs rows' same-run reference for what instrumentation costs)
cp "$ROOT/bench/peer/pika_obs.py" "$WORK/peerbench/adapters/pika_obs.py"

[ -x "$VENV/bin/python" ] || python3 -m venv "$VENV"
# the harness's own requirements (pinned peers) are installed by its run_peers.sh; leveret
# (editable, runtime only) and matplotlib (for the plot) go into the same venv
"$VENV/bin/python" -m pip install -q -e "$ROOT[otel,prometheus]" opentelemetry-sdk matplotlib

# stubs: generated with the project's CLI (the codegen extra lives in the project venv)
GEN_CLI="$ROOT/.venv/bin/leveret"
[ -x "$GEN_CLI" ] || GEN_CLI="$VENV/bin/leveret"
export LEVERET_PEERBENCH_GEN="$WORK/generated"
"$GEN_CLI" generate "$ROOT/bench/peer/peerbench.yaml" --out "$LEVERET_PEERBENCH_GEN" -q

STAMP="${PEERBENCH_STAMP:-$(date -u +%Y-%m-%d-%H%M)}"
OUT="$ROOT/bench/results/peers-$STAMP"
mkdir -p "$ROOT/bench/results"
"$WORK/run_peers.sh" --out "$OUT.md" --json-out "$OUT.json" "$@"
case " $* " in
  *" --list "*) exit 0 ;;
esac
"$VENV/bin/python" "$ROOT/bench/plot_peers.py" "$OUT.json" "$ROOT/docs/peers-throughput.png"
echo "results: $OUT.md $OUT.json; plot: docs/peers-throughput.png; harness copy: $WORK"

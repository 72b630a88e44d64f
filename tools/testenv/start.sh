#!/usr/bin/env bash
# Starts the test API server in the background on state directory $1 (default build/testenv),
# unless one already answers there, and returns once /readyz says 200 (TESTENV_TIMEOUT, default
# 180s). The binary must have been built (build.sh).
set -euo pipefail
dir="$(realpath -m "${1:-build/testenv}")"
bin="$dir/testenv"
[[ -x $bin ]] || { echo "testenv: $bin is missing: run tools/testenv/build.sh (make testenv does)" >&2; exit 2; }
if [[ -f $dir/pid ]] && kill -0 "$(cat "$dir/pid")" 2>/dev/null \
    && "$bin" wait --dir "$dir" --timeout 5s 2>/dev/null; then
  echo "testenv: already running at $(cat "$dir/server") (pid $(cat "$dir/pid"))"
  exit 0
fi
# Leftovers of a previous run must not be mistaken for this one's.
rm -f "$dir/pid" "$dir/server"
mkdir -p "$dir"
nohup "$bin" serve --dir "$dir" >"$dir/apiserver.log" 2>&1 </dev/null &
pid=$!
echo "$pid" >"$dir/pid"
if ! "$bin" wait --dir "$dir" --timeout "${TESTENV_TIMEOUT:-180s}"; then
  echo "testenv: not ready; last lines of $dir/apiserver.log:" >&2
  tail -n 40 "$dir/apiserver.log" >&2 || true
  kill "$pid" 2>/dev/null || true
  exit 1
fi
echo "testenv: kube-apiserver ready at $(cat "$dir/server") (pid $pid); KUBECONFIG=$dir/kubeconfig"

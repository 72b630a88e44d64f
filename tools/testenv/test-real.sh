#!/usr/bin/env bash
# `make test-real`: the real-API-server tier. Builds and starts the test API server unless one
# already runs, runs the emulator's contract suite and the operator's e2e suite against it, and
# stops the server again if this script started it (also on failure or interruption).
set -euo pipefail
cd "$(dirname "$0")/../.."
dir=build/testenv
make="${MAKE:-make}"

"$make" --no-print-directory testenv-build
if [[ -f $dir/pid ]] && kill -0 "$(cat "$dir/pid")" 2>/dev/null \
    && "$dir/testenv" wait --dir "$dir" --timeout 5s 2>/dev/null; then
  echo "test-real: using the test API server already running (left running afterwards)"
else
  trap 'tools/testenv/stop.sh "$dir"' EXIT
  tools/testenv/start.sh "$dir"
fi

# No kube-controller-manager runs next to this apiserver: the contract tests that need its
# garbage collector or namespace controller skip themselves (see tests/sim/kubeapi/conftest.py).
KUBECONFIG="$PWD/$dir/kubeconfig" KUBEAPI_CONTROLLER_MANAGER=absent "$make" --no-print-directory test-contract-real

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

# The operator's e2e suite with the real apiserver in place of the emulator: CRDs from
# manifests/crds and the shipped ClusterRole bound to the operator's identity (tests/e2e/testenv.py),
# the operator authenticated with operator.kubeconfig. Then what it used of that ClusterRole,
# from the server's audit log; a refused (403) request fails the run.
audit_before=$(wc -l <"$dir/audit.log" 2>/dev/null || echo 0)
E2E_TARGET=real E2E_TESTENV_DIR="$PWD/$dir" .venv/bin/pytest -q tests/e2e ${PYTEST_ARGS:-}
tail -n +"$((audit_before + 1))" "$dir/audit.log" >"$dir/audit-e2e.log"
.venv/bin/python -m tests.e2e.rbac_usage "$dir/audit-e2e.log" manifests/rbac/cluster/role.yaml

# The admission webhooks: the real server calls the operator's self-registered webhooks over
# HTTPS (tests/webhooks; one namespace per module, configurations removed afterwards).
TESTENV_DIR="$PWD/$dir" .venv/bin/pytest -q tests/webhooks ${PYTEST_ARGS:-}

# Helm chart server-side dry runs and HTTPS metrics (TokenReview + SubjectAccessReview) against
# the same server (tests/deploy/test_real_server.py; helm comes from `make helm`).
"$make" --no-print-directory helm
TESTENV_DIR="$PWD/$dir" .venv/bin/pytest -q tests/deploy/test_real_server.py ${PYTEST_ARGS:-}

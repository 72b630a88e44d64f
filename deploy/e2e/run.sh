#!/usr/bin/env bash
# make e2e: the e2e suite (tests/e2e) against a throwaway k3d cluster.
#
# Needs: Docker with a running engine, k3d (v5), kubectl, and the project's virtualenv
# (make venv). Steps: check those first and stop with exit code 2 and a message naming every
# missing one; create a k3d cluster with a unique name (API on 127.0.0.1 only); build the
# operator and APIM simulator images from deploy/Dockerfile and import them into the cluster;
# apply the CRDs, then manifests/overlays/e2e (operator + simulator in gravitee-operator);
# wait for both rollouts; port-forward the simulator and the operator's metrics Service to
# 127.0.0.1; run pytest tests/e2e with E2E_TARGET=cluster; on failure copy logs, pod
# descriptions, events and custom resource statuses to build/e2e/<cluster>/; always stop the
# port-forwards and delete the cluster.
#
# Environment (all optional):
#   E2E_CLUSTER_NAME   cluster name (default gko-e2e-<time>-<random>)
#   E2E_KEEP_CLUSTER   1 keeps the cluster afterwards (prints how to reach it)
#   E2E_ARTIFACTS_DIR  where failure reports go (default build/e2e)
#   E2E_TIMEOUT        seconds each test waits for a condition (default 90)
#   PYTHON             interpreter with the test dependencies (default .venv/bin/python)
# Arguments are passed to pytest, e.g. deploy/e2e/run.sh -k application -x
#
# Exports for pytest: E2E_TARGET=cluster, KUBECONFIG (the cluster's own kubeconfig, never
# yours), E2E_APIM_URL (port-forward), E2E_APIM_CLUSTER_URL (the simulator's Service DNS
# name, what ManagementContexts use from inside the cluster), E2E_METRICS_URL (port-forward).

set -Eeuo pipefail

here=${BASH_SOURCE[0]%/*}
[[ $here != "${BASH_SOURCE[0]}" ]] || here=.
ROOT=$(cd "$here/../.." && pwd)
PYTHON=${PYTHON:-$ROOT/.venv/bin/python}
NAMESPACE=gravitee-operator
OPERATOR_IMAGE=gravitee-operator-py:e2e
SIMULATOR_IMAGE=gravitee-operator-py-apim-simulator:e2e
SIMULATOR_CLUSTER_URL=http://apim-simulator.$NAMESPACE.svc:8083
ROLLOUT_TIMEOUT=180s

say() { printf 'e2e: %s\n' "$*" >&2; }

# --------------------------------------------------------------------------- prerequisites
missing=()
if ! command -v docker >/dev/null 2>&1; then
    missing+=("docker is not installed or not on PATH (https://docs.docker.com/get-docker/)")
elif ! docker info >/dev/null 2>&1; then
    missing+=("the Docker engine is not reachable ('docker info' failed): start Docker")
fi
if ! command -v k3d >/dev/null 2>&1; then
    missing+=("k3d is not installed or not on PATH (https://k3d.io/#installation)")
fi
if ! command -v kubectl >/dev/null 2>&1; then
    missing+=("kubectl is not installed or not on PATH (https://kubernetes.io/docs/tasks/tools/)")
fi
if [[ ! -x $PYTHON ]]; then
    missing+=("no Python at $PYTHON: run 'make venv' first (or set PYTHON)")
fi
if ((${#missing[@]} > 0)); then
    say "cannot run the e2e suite against k3d:"
    for reason in "${missing[@]}"; do
        printf '  - %s\n' "$reason" >&2
    done
    say "'make e2e-local' runs the same tests with no Docker, k3d or cluster."
    exit 2
fi

# --------------------------------------------------------------------------- state and cleanup
CLUSTER=${E2E_CLUSTER_NAME:-gko-e2e-$(date +%s)-$RANDOM}
ARTIFACTS=${E2E_ARTIFACTS_DIR:-$ROOT/build/e2e}/$CLUSTER
WORK=$(mktemp -d "${TMPDIR:-/tmp}/$CLUSTER.XXXXXX")
export KUBECONFIG=$WORK/kubeconfig
cluster_created=false
forward_pids=()

collect_logs() {
    mkdir -p "$ARTIFACTS"
    say "collecting logs into $ARTIFACTS"
    kubectl get all,events --all-namespaces -o wide >"$ARTIFACTS/cluster.txt" 2>&1 || true
    kubectl -n "$NAMESPACE" describe pods >"$ARTIFACTS/pods.txt" 2>&1 || true
    kubectl get events --all-namespaces --sort-by=.lastTimestamp \
        >"$ARTIFACTS/events.txt" 2>&1 || true
    local deployment
    for deployment in gko-controller-manager apim-simulator; do
        kubectl -n "$NAMESPACE" logs "deployment/$deployment" --all-containers --timestamps \
            >"$ARTIFACTS/$deployment.log" 2>&1 || true
        kubectl -n "$NAMESPACE" logs "deployment/$deployment" --all-containers --timestamps \
            --previous >"$ARTIFACTS/$deployment.previous.log" 2>&1 || true
    done
    # APIs and applications in full; contexts by status only (their spec may hold credentials).
    kubectl get apidefinitions,apiv4definitions,apiresources,applications --all-namespaces \
        -o yaml >"$ARTIFACTS/custom-resources.yaml" 2>&1 || true
    kubectl get managementcontexts --all-namespaces -o jsonpath='{range .items[*]}{.metadata.namespace}/{.metadata.name}: {.status}{"\n"}{end}' \
        >"$ARTIFACTS/managementcontexts.txt" 2>&1 || true
    cp "$WORK"/*.log "$ARTIFACTS/" 2>/dev/null || true
}

cleanup() {
    local status=$?
    trap - EXIT INT TERM
    local pid
    # The ${a[@]+...} form: bash 3.2 (macOS) treats an empty array as unset under `set -u`.
    for pid in ${forward_pids[@]+"${forward_pids[@]}"}; do
        kill "$pid" 2>/dev/null || true
    done
    if [[ $cluster_created == true ]]; then
        if ((status != 0)); then
            collect_logs
        fi
        if [[ ${E2E_KEEP_CLUSTER:-0} == 1 ]]; then
            mkdir -p "$(dirname "$ARTIFACTS")"
            k3d kubeconfig get "$CLUSTER" >"$ARTIFACTS.kubeconfig" 2>/dev/null || true
            say "keeping cluster $CLUSTER (kubeconfig: $ARTIFACTS.kubeconfig);" \
                "delete it with: k3d cluster delete $CLUSTER"
        else
            say "deleting cluster $CLUSTER"
            k3d cluster delete "$CLUSTER" >/dev/null 2>&1 || say "could not delete $CLUSTER"
        fi
    fi
    rm -rf "$WORK"
    if ((status == 0)); then
        say "passed"
    else
        say "failed (exit $status)"
    fi
    exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

free_port() {
    "$PYTHON" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# Forwards 127.0.0.1:<free port> to SERVICE:PORT and stores the local port in the variable
# named VAR (not through $(...): the forward's pid must reach cleanup). A forward follows one
# pod and ends with it, so it is restarted on the same local port for as long as the script
# runs: the suite restarts the operator and then scrapes its metrics again.
forward() {
    local service=$1 port=$2 var=$3 log=$WORK/port-forward-$1.log local_port
    local_port=$(free_port)
    (
        child=""
        trap '[[ -z $child ]] || kill "$child" 2>/dev/null; exit 0' TERM
        while true; do
            kubectl -n "$NAMESPACE" port-forward --address 127.0.0.1 "service/$service" \
                "$local_port:$port" >>"$log" 2>&1 &
            child=$!
            wait "$child" || true
            sleep 1
        done
    ) &
    forward_pids+=("$!")
    local deadline=$((SECONDS + 30))
    until grep -q "^Forwarding from 127\.0\.0\.1:$local_port " "$log" 2>/dev/null; do
        if ((SECONDS > deadline)); then
            say "port-forward to $service did not start:"
            cat "$log" >&2
            return 1
        fi
        sleep 0.2
    done
    printf -v "$var" '%s' "$local_port"
}

# --------------------------------------------------------------------------- cluster
cd "$ROOT"
say "creating k3d cluster $CLUSTER"
api_port=$(free_port)
cluster_created=true
k3d cluster create "$CLUSTER" \
    --api-port "127.0.0.1:$api_port" \
    --k3s-arg '--disable=traefik@server:0' \
    --kubeconfig-update-default=false \
    --kubeconfig-switch-context=false \
    --wait --timeout 180s
k3d kubeconfig get "$CLUSTER" >"$KUBECONFIG"
chmod 600 "$KUBECONFIG"

say "building images"
docker build --file deploy/Dockerfile --target operator --tag "$OPERATOR_IMAGE" .
docker build --file deploy/Dockerfile --target apim-simulator --tag "$SIMULATOR_IMAGE" .
k3d image import --cluster "$CLUSTER" "$OPERATOR_IMAGE" "$SIMULATOR_IMAGE"

say "installing CRDs, operator and APIM simulator"
kubectl apply --server-side --field-manager=gko-e2e -f manifests/crds/
kubectl wait --for=condition=Established --timeout=60s -f manifests/crds/
kubectl apply --server-side --field-manager=gko-e2e -k manifests/overlays/e2e
kubectl -n "$NAMESPACE" rollout status deployment/apim-simulator --timeout="$ROLLOUT_TIMEOUT"
kubectl -n "$NAMESPACE" rollout status deployment/gko-controller-manager \
    --timeout="$ROLLOUT_TIMEOUT"

apim_port="" metrics_port=""
forward apim-simulator 8083 apim_port
forward gko-controller-manager-metrics-service 8080 metrics_port

# --------------------------------------------------------------------------- tests
export E2E_TARGET=cluster
export E2E_APIM_URL=http://127.0.0.1:$apim_port
export E2E_APIM_CLUSTER_URL=$SIMULATOR_CLUSTER_URL
export E2E_METRICS_URL=http://127.0.0.1:$metrics_port
export E2E_TIMEOUT=${E2E_TIMEOUT:-90}
say "running tests/e2e (APIM $E2E_APIM_URL, metrics $E2E_METRICS_URL)"
"$PYTHON" -m pytest -q -p no:cacheprovider tests/e2e "$@"

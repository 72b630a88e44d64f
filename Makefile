# Every target sets itself up: a fresh machine needs nothing but Python >= 3.11.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.DEFAULT_GOAL := help
.PHONY: help venv test lint typecheck layers pytest demo demo-serve bench bench-smoke bench-outage \
        bench-queue manifests check-manifests test-contract-real e2e e2e-local clean helm \
        testenv testenv-build testenv-stop test-real

# Every target carries a "## what it does" comment; `make help` lists them all from this file
# (tests/examples/test_tooling.py checks that none is missing).
help: ## this list
	@grep -E '^[a-zA-Z0-9_-]+:.*## ' $(firstword $(MAKEFILE_LIST)) | \
		sed -E 's/^([a-zA-Z0-9_-]+):.*## (.*)$$/\1\t\2/' | \
		while IFS="$$(printf '\t')" read -r target text; do \
			printf 'make %-20s %s\n' "$$target" "$$text"; done

$(STAMP): setup.cfg pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python >= 3.11 is required")'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

venv: $(STAMP) ## create .venv and install the project with its test tools (every target does it)

# helm, built from its Go module (the only place binaries may come from here), pinned. The
# stamp carries the version, so changing HELM_VERSION rebuilds it; the Go build cache makes a
# rebuild of the same version take seconds.
HELM_VERSION := v4.3.2
TOOLS_BIN    := build/tools/bin
HELM         := $(TOOLS_BIN)/helm
HELM_STAMP   := $(TOOLS_BIN)/.helm-$(HELM_VERSION)

$(HELM_STAMP):
	@command -v go >/dev/null || { echo "Go is needed to build helm $(HELM_VERSION) (make helm)"; exit 2; }
	mkdir -p $(TOOLS_BIN)
	rm -f $(TOOLS_BIN)/.helm-*
	GOBIN=$(abspath $(TOOLS_BIN)) CGO_ENABLED=0 go install \
		-ldflags "-X helm.sh/helm/v4/internal/version.version=$(HELM_VERSION)" \
		helm.sh/helm/v4/cmd/helm@$(HELM_VERSION)
	touch $@

helm: $(HELM_STAMP) ## build the pinned helm binary into build/tools/bin (needs Go)

lint: $(STAMP) ## ruff
	$(BIN)/ruff check .

typecheck: $(STAMP) ## mypy (strict)
	$(BIN)/mypy

layers: $(STAMP) ## import-linter layer contracts
	$(BIN)/lint-imports

pytest: $(STAMP) $(HELM_STAMP) ## the whole pytest suite (PYTEST_ARGS=... to narrow it)
	HELM=$(abspath $(HELM)) $(BIN)/pytest -q $(PYTEST_ARGS)

test: lint typecheck layers pytest ## ruff + mypy + import layers + the whole pytest suite

# MANIFESTS=DIR applies DIR/*.yaml and *.yml instead of examples/manifests; DEMO_ARGS=... is
# passed on (e.g. DEMO_ARGS="--timeout 120").
DEMO := $(if $(MANIFESTS),--manifests $(MANIFESTS)) $(DEMO_ARGS)

demo: $(STAMP) ## run the operator against the embedded emulator and simulator, print what happened (MANIFESTS=DIR for your own files)
	$(BIN)/python -m examples.demo $(DEMO)

demo-serve: $(STAMP) ## the demo, then keep everything running for kubectl until Ctrl-C (MANIFESTS=DIR too)
	$(BIN)/python -m examples.demo --serve $(DEMO)

bench: $(STAMP) ## benchmarks (results in benchmarks/results/)
	$(BIN)/python -m benchmarks.run_all

# A quick end-to-end check of the operator benchmark (20 objects, scenarios a and c).
bench-smoke: $(STAMP) ## a quick 20-object check of the operator benchmark
	$(BIN)/python -m benchmarks.operator_bench --objects 20 --scenarios a,c --repeat 1 \
		--output $${TMPDIR:-/tmp}/operator_bench_smoke.json

# Scenario (f) alone: 1,000 APIs, a 60 s APIM outage with edits, time to recover (up to ~20 min
# today); results in benchmarks/results/operator_bench_f.json.
bench-outage: $(STAMP) ## operator benchmark scenario (f): recovery after an APIM outage
	$(BIN)/python -m benchmarks.operator_bench --scenarios f --repeat 1 \
		--output benchmarks/results/operator_bench_f.json $(BENCH_ARGS)

bench-queue: $(STAMP) ## work queue throughput benchmark
	$(BIN)/python -m benchmarks.queue_throughput

manifests: $(STAMP) ## regenerate manifests/crds (and controller/crds) from the models, and the webhook configurations
	$(BIN)/python -m controller.models.crdgen manifests/crds
	$(BIN)/python -m controller.webhook.manifests manifests/components/webhook/webhooks.yaml

check-manifests: $(STAMP) ## fail when the committed CRDs or webhook configurations differ from the code
	$(BIN)/python -m controller.models.crdgen --check manifests/crds
	$(BIN)/python -m controller.webhook.manifests manifests/components/webhook/webhooks.yaml --check

# The emulator's contract suite against a real cluster (e.g. k3d): KUBECONFIG must point at it.
test-contract-real: $(STAMP) ## emulator contract tests against the cluster in KUBECONFIG
	@test -n "$$KUBECONFIG" || { echo "KUBECONFIG must point at a real cluster"; exit 2; }
	KUBEAPI_TARGET=real $(BIN)/pytest -q tests/sim/kubeapi

e2e-local: $(STAMP) ## e2e suite against emulator + APIM simulator + operator as local processes
	E2E_TARGET=local $(BIN)/pytest -q tests/e2e $(PYTEST_ARGS)

# Fails fast (exit 2) naming whatever is missing among docker (and a running engine), k3d, kubectl.
e2e: $(STAMP) ## e2e suite against a throwaway k3d cluster (needs Docker, k3d, kubectl)
	PYTHON=$(BIN)/python deploy/e2e/run.sh $(PYTEST_ARGS)

# The real API server tier (tools/testenv/README.md): an unmodified kube-apiserver and an embedded
# etcd built from Go modules. The Go build cache makes rebuilding a no-op.
testenv-build: ## build (once) the real kube-apiserver + etcd of the test tier (needs Go)
	tools/testenv/build.sh build/testenv/testenv

testenv: testenv-build ## start a real kube-apiserver + etcd on loopback (state in build/testenv/)
	tools/testenv/start.sh build/testenv

testenv-stop: ## stop the real kube-apiserver started by make testenv
	tools/testenv/stop.sh build/testenv

test-real: $(STAMP) ## contract, e2e, chart dry-run and HTTPS metrics suites against a real kube-apiserver
	MAKE="$(MAKE)" tools/testenv/test-real.sh

clean: ## remove .venv, build/ and the tool caches
	rm -rf $(VENV) build *.egg-info .mypy_cache .ruff_cache

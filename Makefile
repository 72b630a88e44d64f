# Every target sets itself up: a fresh machine needs nothing but Python >= 3.11.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.DEFAULT_GOAL := help
.PHONY: help venv test lint typecheck layers pytest demo demo-serve bench bench-smoke bench-outage \
        bench-queue manifests check-manifests test-contract-real e2e e2e-local clean \
        testenv testenv-build testenv-stop test-real

help:
	@echo "make demo                run the operator against the embedded emulator and simulator"
	@echo "make test                ruff + mypy + import layers + the whole pytest suite"
	@echo "make helm                build the pinned helm binary into build/tools/bin (needs Go)"
	@echo "make bench               benchmarks (results in benchmarks/results/)"
	@echo "make bench-outage        operator benchmark scenario (f): recovery after an APIM outage"
	@echo "make manifests           regenerate manifests/crds (and controller/crds) from the models"
	@echo "make check-manifests     fail when the committed CRDs differ from the models"
	@echo "make test-contract-real  emulator contract tests against the cluster in KUBECONFIG"
	@echo "make e2e-local           e2e suite against emulator + APIM simulator + operator as local processes"
	@echo "make e2e                 e2e suite against a throwaway k3d cluster (needs Docker, k3d, kubectl)"
	@echo "make testenv             build (once) and start a real kube-apiserver + etcd on loopback (build/testenv/)"
	@echo "make testenv-stop        stop it"
	@echo "make test-real           contract and e2e suites against that real kube-apiserver (needs Go)"

$(STAMP): setup.cfg pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python >= 3.11 is required")'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

venv: $(STAMP)

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

.PHONY: helm
helm: $(HELM_STAMP)

lint: $(STAMP)
	$(BIN)/ruff check .

typecheck: $(STAMP)
	$(BIN)/mypy

layers: $(STAMP)
	$(BIN)/lint-imports

pytest: $(STAMP) $(HELM_STAMP)
	HELM=$(abspath $(HELM)) $(BIN)/pytest -q $(PYTEST_ARGS)

test: lint typecheck layers pytest

demo: $(STAMP)
	$(BIN)/python -m examples.demo

demo-serve: $(STAMP)
	$(BIN)/python -m examples.demo --serve

bench: $(STAMP)
	$(BIN)/python -m benchmarks.run_all

# A quick end-to-end check of the operator benchmark (20 objects, scenarios a and c).
bench-smoke: $(STAMP)
	$(BIN)/python -m benchmarks.operator_bench --objects 20 --scenarios a,c --repeat 1 \
		--output $${TMPDIR:-/tmp}/operator_bench_smoke.json

# Scenario (f) alone: 1,000 APIs, a 60 s APIM outage with edits, time to recover (up to ~20 min
# today); results in benchmarks/results/operator_bench_f.json.
bench-outage: $(STAMP)
	$(BIN)/python -m benchmarks.operator_bench --scenarios f --repeat 1 \
		--output benchmarks/results/operator_bench_f.json $(BENCH_ARGS)

bench-queue: $(STAMP)
	$(BIN)/python -m benchmarks.queue_throughput

manifests: $(STAMP)
	$(BIN)/python -m controller.models.crdgen manifests/crds

check-manifests: $(STAMP)
	$(BIN)/python -m controller.models.crdgen --check manifests/crds

# The emulator's contract suite against a real cluster (e.g. k3d): KUBECONFIG must point at it.
test-contract-real: $(STAMP)
	@test -n "$$KUBECONFIG" || { echo "KUBECONFIG must point at a real cluster"; exit 2; }
	KUBEAPI_TARGET=real $(BIN)/pytest -q tests/sim/kubeapi

e2e-local: $(STAMP)
	E2E_TARGET=local $(BIN)/pytest -q tests/e2e $(PYTEST_ARGS)

# Fails fast (exit 2) naming whatever is missing among docker (and a running engine), k3d, kubectl.
e2e: $(STAMP)
	PYTHON=$(BIN)/python deploy/e2e/run.sh $(PYTEST_ARGS)

# The real API server tier (tools/testenv/README.md): an unmodified kube-apiserver and an embedded
# etcd built from Go modules. The Go build cache makes rebuilding a no-op.
testenv-build:
	tools/testenv/build.sh build/testenv/testenv

testenv: testenv-build
	tools/testenv/start.sh build/testenv

testenv-stop:
	tools/testenv/stop.sh build/testenv

test-real: $(STAMP)
	MAKE="$(MAKE)" tools/testenv/test-real.sh

clean:
	rm -rf $(VENV) build *.egg-info .mypy_cache .ruff_cache

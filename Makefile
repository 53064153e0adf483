# switchboard — kubebuilder-style Makefile. `make help` lists the targets.

IMG ?= ghcr.io/switchboard-chat/switchboard:dev
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)

# Versions of the tools installed into bin/ (pinned, installed with `go install`).
CONTROLLER_TOOLS_VERSION ?= v0.23.0
GOLANGCI_LINT_VERSION ?= v2.15.0
# The envtest control plane, built from source by hack/envtest-assets.sh.
ENVTEST_K8S_VERSION ?= 1.36.3
ENVTEST_ETCD_VERSION ?= 3.6.16
# Builds the control plane once and prints its directory, for KUBEBUILDER_ASSETS.
ENVTEST_ASSETS = KUBE_VERSION=$(ENVTEST_K8S_VERSION) ETCD_VERSION=$(ENVTEST_ETCD_VERSION) hack/envtest-assets.sh

LOCALBIN ?= $(CURDIR)/bin
CONTROLLER_GEN ?= $(LOCALBIN)/controller-gen-$(CONTROLLER_TOOLS_VERSION)
GOLANGCI_LINT ?= $(LOCALBIN)/golangci-lint-$(GOLANGCI_LINT_VERSION)
KUBECTL ?= kubectl

GO_TEST_FLAGS ?= -count=1
# How long bench-soak keeps its load up on each store.
SOAK ?= 5m

# Extra flags of the bench-* targets, such as profiles:
# make bench-channels BENCH_FLAGS='-cpuprofile cpu.out -memprofile mem.out'. (bench-runtime
# runs the runtime in a process of its own, so these profile its load generator; profile
# that runtime through its --pprof, docs/operations.md.)
BENCH_FLAGS ?=
# Packages with tests; `make test PKG=./controllers/...` narrows a run.
PKG ?= ./...

SHELL = /usr/bin/env bash -o pipefail
.SHELLFLAGS = -ec

.PHONY: all
all: build

##@ General

.PHONY: help
help: ## Show this help.
	@awk 'BEGIN {FS = ":.*##"; printf "\nUsage:\n  make \033[36m<target>\033[0m\n"} /^[a-zA-Z_0-9-]+:.*?##/ { printf "  \033[36m%-18s\033[0m %s\n", $$1, $$2 } /^##@/ { printf "\n\033[1m%s\033[0m\n", substr($$0, 5) } ' $(MAKEFILE_LIST)

##@ Development

.PHONY: manifests
manifests: controller-gen ## Generate CRDs and RBAC from the API types and markers.
	$(CONTROLLER_GEN) rbac:roleName=switchboard-manager crd paths="./api/..." paths="./controllers/..." \
		output:crd:artifacts:config=config/crd/bases output:rbac:artifacts:config=config/rbac
	rm -rf charts/switchboard/files/crds && mkdir -p charts/switchboard/files/crds && cp config/crd/bases/*.yaml charts/switchboard/files/crds/
	cp config/rbac/role.yaml charts/switchboard/files/manager-role.yaml
	cp config/rbac/leader_election_role.yaml charts/switchboard/files/leader-election-role.yaml
	cp config/rbac/metrics_reader_role.yaml charts/switchboard/files/metrics-reader-role.yaml
	$(MAKE) --no-print-directory monitoring
	$(MAKE) --no-print-directory crd-reference

.PHONY: generate
generate: controller-gen ## Generate deepcopy code for the API types and the JSON Schema of the runtime configuration.
	$(CONTROLLER_GEN) object:headerFile="hack/boilerplate.go.txt" paths="./api/..."
	go generate ./runtime/config

.PHONY: fmt
fmt: ## Run gofmt on the code.
	gofmt -s -w $$(git ls-files '*.go')

.PHONY: vet
vet: ## Run go vet.
	go vet ./...

.PHONY: lint
lint: golangci-lint ## Run golangci-lint (and gofmt check).
	@test -z "$$(gofmt -s -l $$(git ls-files '*.go'))" || { gofmt -s -l $$(git ls-files '*.go'); echo "files above need gofmt"; exit 1; }
	$(GOLANGCI_LINT) run ./...

.PHONY: test
test: envtest ## Run all tests against a real kube-apiserver and etcd (envtest).
	KUBEBUILDER_ASSETS="$$($(ENVTEST_ASSETS))" go test $(GO_TEST_FLAGS) $(PKG)

.PHONY: test-race
test-race: ## Run the runtime's tests under the race detector (CI runs it after `make test`).
	go test -race $(GO_TEST_FLAGS) ./runtime/...

.PHONY: bench
bench: bench-operator bench-runtime bench-routing bench-channels bench-notify bench-outbox bench-analytics bench-soak ## Run every benchmark (prints figures; see docs/benchmarks.md).

.PHONY: bench-analytics
bench-analytics: ## Analytics: the supervisors' page over 1,000,000 stored conversations, on SQLite (seeded once, kept in the temp dir) and PostgreSQL.
	go test -run '^$$' -bench BenchmarkAnalytics -benchtime 1x -timeout 30m $(BENCH_FLAGS) ./test/bench/

.PHONY: bench-routing
bench-routing: ## Routing: decisions among 1,000 operators, committed assignments on SQLite and PostgreSQL.
	go test -run '^$$' -bench BenchmarkRouting -benchtime 1x -timeout 20m $(BENCH_FLAGS) ./test/bench/

.PHONY: bench-soak
bench-soak: ## Soak: mixed load with abusive clients for SOAK (default 5m) on SQLite and PostgreSQL: p99, RSS and WAL over time, 0 lost.
	go test -run '^$$' -bench 'BenchmarkSoak(SQLite|Postgres)' -benchtime 1x -timeout 3h $(BENCH_FLAGS) ./test/bench/ -soak=$(SOAK)

.PHONY: bench-runtime
bench-runtime: ## Runtime: messages/s and latency over WebSockets, memory per idle connection, on SQLite and PostgreSQL.
	go test -run '^$$' -bench 'BenchmarkRuntime(SQLite|Postgres)' -benchtime 1x -timeout 20m $(BENCH_FLAGS) ./test/bench/

.PHONY: bench-channels
bench-channels: ## Messengers: inbound Telegram webhooks/s, replies sent/s through the outbox, reply-to-provider latency, on SQLite and PostgreSQL.
	go test -run '^$$' -bench BenchmarkChannels -benchtime 1x -timeout 20m $(BENCH_FLAGS) ./test/bench/

.PHONY: bench-notify
bench-notify: ## Notifications: events to signed webhook deliveries per second and latency, on SQLite and PostgreSQL.
	go test -run '^$$' -bench BenchmarkNotify -benchtime 1x -timeout 20m $(BENCH_FLAGS) ./test/bench/

.PHONY: bench-outbox
bench-outbox: ## Outbox: sends/s and latency, ours and River's, on SQLite and PostgreSQL.
	go test -run '^$$' -bench 'BenchmarkOutbox' -benchtime 1x -timeout 30m ./test/bench/

.PHONY: bench-operator
bench-operator: envtest ## Operator at scale: 100 LiveChats to Ready, update propagation, steady-state writes.
	KUBEBUILDER_ASSETS="$$($(ENVTEST_ASSETS))" go test -run '^$$' -bench BenchmarkOperatorScale -benchtime 1x -timeout 20m ./test/bench/

.PHONY: verify-generated
verify-generated: manifests generate ## Fail if generated files differ from the committed ones.
	@git diff --exit-code -- config charts api runtime/config/config.schema.json || { echo "generated files are stale: run 'make manifests generate' and commit"; exit 1; }

##@ Build

COMMIT ?= $(shell git rev-parse HEAD 2>/dev/null || echo unknown)
# The Dockerfile builds with the same flags: a static binary (SQLite is pure Go) that
# is reproducible (no local paths, no VCS stamp, no build ID) and knows its version.
GO_BUILD = CGO_ENABLED=0 go build -trimpath -buildvcs=false \
	-ldflags "-s -w -buildid= -X main.version=$(VERSION) -X main.commit=$(COMMIT)"
# What bin/switchboard is built from: the module's Go files and the files they embed
# (console, migrations, CRDs), and their directories, so a new or deleted file counts.
BUILD_INPUTS = $(shell go list -deps -f '{{if and .Module .Module.Main}}{{$$d := .Dir}}{{$$d}} {{range .GoFiles}}{{$$d}}/{{.}} {{end}}{{range .EmbedFiles}}{{$$d}}/{{.}} {{end}}{{end}}' .) go.mod go.sum

.PHONY: build
build: ## Build bin/switchboard (always).
	$(GO_BUILD) -o bin/switchboard .

# Built only when a source changed: `make run-standalone` starts at once after the
# first build (which compiles the Kubernetes libraries: minutes, once).
# (Second expansion: the inputs are listed only when bin/switchboard is wanted.)
.SECONDEXPANSION:
bin/switchboard: $$(BUILD_INPUTS)
	@mkdir -p bin
	$(GO_BUILD) -o $@ .

.PHONY: run-standalone
run-standalone: bin/switchboard ## Run the platform on this machine: the sample manifests on embedded SQLite (data in ./data).
	@echo "switchboard on http://localhost:8080 - console: http://localhost:8080/console/  widget: http://localhost:8080/widget/?channel=website"
	@echo "sign in to the console as alice with the sample token '$$(sed -n 's/^ *alice: //p' config/samples/secrets.yaml)' (config/samples/secrets.yaml); metrics on http://localhost:9090/metrics"
	bin/switchboard runtime --manifests config/samples --data-dir data --http-address localhost:8080 --metrics-address localhost:9090

.PHONY: run
run: bin/switchboard ## Run the operator against the cluster in your kubeconfig (no leader election).
	bin/switchboard manager --leader-elect=false

.PHONY: docker-build
docker-build: ## Build the container image $(IMG) (static binary, distroless, non-root).
	docker build --build-arg VERSION=$(VERSION) --build-arg COMMIT=$(COMMIT) -t $(IMG) .

##@ Documentation

.PHONY: crd-reference
crd-reference: ## Write docs/crd-reference.md from the CRDs (`make manifests` runs it; a test checks it is current).
	go run ./hack/crdref

##@ Deployment

.PHONY: install
install: ## Install the CRDs into the cluster in your kubeconfig.
	$(KUBECTL) apply --server-side -k config/crd

.PHONY: uninstall
uninstall: ## Remove the CRDs (and every switchboard object) from the cluster.
	$(KUBECTL) delete --ignore-not-found -k config/crd

.PHONY: deploy
deploy: ## Deploy the operator with config/default.
	$(KUBECTL) apply --server-side -k config/default

.PHONY: undeploy
undeploy: ## Remove the operator deployed with config/default.
	$(KUBECTL) delete --ignore-not-found -k config/default

##@ Tools

.PHONY: envtest
envtest: ## Build (once) and cache kube-apiserver and etcd under bin/k8s for tests.
	$(ENVTEST_ASSETS) >/dev/null

.PHONY: controller-gen
controller-gen: $(CONTROLLER_GEN) ## Install controller-gen into bin/.
$(CONTROLLER_GEN):
	mkdir -p $(LOCALBIN)
	GOBIN=$(LOCALBIN) go install sigs.k8s.io/controller-tools/cmd/controller-gen@$(CONTROLLER_TOOLS_VERSION)
	mv $(LOCALBIN)/controller-gen $(CONTROLLER_GEN)

.PHONY: golangci-lint
golangci-lint: $(GOLANGCI_LINT) ## Install golangci-lint into bin/.
$(GOLANGCI_LINT):
	mkdir -p $(LOCALBIN)
	GOBIN=$(LOCALBIN) go install github.com/golangci/golangci-lint/v2/cmd/golangci-lint@$(GOLANGCI_LINT_VERSION)
	mv $(LOCALBIN)/golangci-lint $(GOLANGCI_LINT)

##@ Chart and monitoring

# helm and promtool, built from their Go modules (pinned) for `make helm-lint` and
# `make test-rules`; the chart's own tests render it with the helm Go library.
HELM_VERSION ?= v3.22.0
PROMTOOL_VERSION ?= v0.316.0
HELM ?= $(LOCALBIN)/helm-$(HELM_VERSION)
PROMTOOL ?= $(LOCALBIN)/promtool-$(PROMTOOL_VERSION)
CHART = charts/switchboard

.PHONY: monitoring
monitoring: ## Copy the alert rules and dashboards from the chart into config/prometheus (the chart's files are the source).
	@{ echo '# Generated from $(CHART)/files/prometheus-rules.yaml by make monitoring: edit that file.'; \
	  echo 'apiVersion: monitoring.coreos.com/v1'; echo 'kind: PrometheusRule'; echo 'metadata:'; \
	  echo '  name: switchboard'; echo '  namespace: switchboard-system'; echo '  labels:'; \
	  echo '    app.kubernetes.io/name: switchboard'; echo 'spec:'; \
	  grep -v '^#' $(CHART)/files/prometheus-rules.yaml | sed 's/^/  /'; } > config/prometheus/prometheus-rule.yaml
	rm -rf config/prometheus/dashboards && mkdir -p config/prometheus/dashboards && cp $(CHART)/files/dashboards/*.json config/prometheus/dashboards/

.PHONY: helm-lint
helm-lint: helm ## Lint the chart (strict) with the default values and with everything switched on.
	$(HELM) lint --strict $(CHART)
	$(HELM) lint --strict $(CHART) --set monitoring.serviceMonitor.enabled=true,monitoring.podMonitor.enabled=true,monitoring.prometheusRule.enabled=true,monitoring.dashboards.enabled=true,networkPolicy.enabled=true,podDisruptionBudget.enabled=true

.PHONY: test-rules
test-rules: promtool ## Check the alert rules and run their unit tests (test/monitoring/rules_test.yaml).
	$(PROMTOOL) check rules $(CHART)/files/prometheus-rules.yaml
	$(PROMTOOL) test rules test/monitoring/rules_test.yaml

.PHONY: helm
helm: $(HELM) ## Build helm into bin/.
$(HELM):
	mkdir -p $(LOCALBIN)
	GOBIN=$(LOCALBIN) go install helm.sh/helm/v3/cmd/helm@$(HELM_VERSION)
	mv $(LOCALBIN)/helm $(HELM)

.PHONY: promtool
promtool: $(PROMTOOL) ## Build promtool into bin/ (a long build, done once).
$(PROMTOOL):
	mkdir -p $(LOCALBIN)
	GOBIN=$(LOCALBIN) go install github.com/prometheus/prometheus/cmd/promtool@$(PROMTOOL_VERSION)
	mv $(LOCALBIN)/promtool $(PROMTOOL)

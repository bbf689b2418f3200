# Shearch and Gnife. `make demo` runs the whole system here; `make test`
# runs every test against real goiardi and consul.
GO      ?= go
SHELL   := /bin/bash
export PATH := $(CURDIR)/bin:$(PATH)
VERSION ?= $(shell git describe --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -s -w -X main.version=$(VERSION) -X github.com/shearch/shearch/gnife.Version=$(VERSION)
APT_PACKAGES := goiardi openssh-server openssh-client zsh fish bash-completion chromium haproxy
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
FUZZTIME ?= 15s

.PHONY: deps apt-deps build test test-unit vet apimod burst demo bench loadtest fuzz install-completion clean

## deps: goiardi, the ssh/shell test tools, chromium (the /ui/ test) and haproxy (replicas) from Debian, consul built into bin/ (idempotent).
## The Debian install (network) and the consul build (CPU) run side by side.
deps:
	@$(MAKE) --no-print-directory -j2 apt-deps bin/consul
	@bin/consul version | head -1

apt-deps:
	@missing=""; for p in $(APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
		echo "installing:$$missing"; \
		$(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get update -qq && \
		$(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null || \
		{ echo "make deps: could not install$$missing with apt-get" >&2; exit 1; }; \
	fi
	@command -v goiardi >/dev/null || { echo "make deps: goiardi is still missing" >&2; exit 1; }

# consul comes from a tools module with a committed go.sum, so the build
# is verified and repeatable. It only ever runs as a dev agent for tests
# and the demo, so it is built without optimisation: that cuts the
# longest step of a fresh `make demo` (478 s against 618 s here).
bin/consul: tools/consul/go.mod tools/consul/go.sum
	@mkdir -p bin
	cd tools/consul && $(GO) build -trimpath -gcflags='all=-N -l' -ldflags='-s -w' -o ../../bin/consul github.com/hashicorp/consul
	@test -x bin/consul || { echo "make deps: consul did not build" >&2; exit 1; }

# urfave_cli_no_docs leaves out urfave/cli's man-page and markdown
# generators (and blackfriday's start-up tables): unused here, and a
# visible part of gnife's start-up time.
GOTAGS  := urfave_cli_no_docs

# gnife is linked statically (CGO_ENABLED=0: Go's own DNS resolver and
# /etc/passwd reader, $USER when the user is not in it): a dynamic binary
# pays ld.so's loading and relocations on every start, about 5 ms of a
# 25 ms `gnife --version` here (BENCHMARKS.md, issue 12).
build:
	$(GO) build -tags '$(GOTAGS)' -ldflags '$(LDFLAGS)' -o bin/shearch ./cmd/shearch
	CGO_ENABLED=0 $(GO) build -tags '$(GOTAGS)' -ldflags '$(LDFLAGS)' -o bin/gnife ./cmd/gnife

vet: apimod
	@unformatted=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$unformatted" ]; then echo "gofmt needed:"; echo "$$unformatted"; exit 1; fi
	$(GO) vet ./...
	cd deploy/rulecheck && $(GO) vet ./...

## apimod: the Go client's module (api/) on its own, as a backend gets it: it
## builds and vets with no help from the main module, and its module graph
## holds neither the AWS SDK nor Prometheus's client
apimod:
	cd api && $(GO) build ./... && $(GO) vet ./...
	@if (cd api && $(GO) list -m all) | grep -E 'aws-sdk-go|prometheus/client_golang'; then \
		echo "apimod: the api module must not depend on the server's AWS SDK or client_golang" >&2; exit 1; fi

## test: vet, every test (integration tests included), then the parser fuzz target for a bounded time
test: deps build vet
	$(GO) test -count=1 -timeout 40m ./...
	cd deploy/rulecheck && $(GO) test -count=1 ./...
	$(MAKE) --no-print-directory burst
	$(MAKE) fuzz

## test-unit: every test that needs no outside program (goiardi, consul,
## chromium, haproxy, sshd, a built binary), in under 30 s here: under
## -short the integration tests skip (internal/integration); `make test`,
## which CI runs, never passes -short, so there they all run
test-unit:
	$(GO) test -short -count=1 ./...

## burst: the 2,000-request bursts (issue 19's, over 3 goiardi shards with 150 ms
## added), one package at a time: whether every query is served within
## search.max_wait depends on the shards' CPU, which must not be shared with
## another burst
burst:
	set -o pipefail; $(GO) test -count=1 -timeout 15m -p 1 -tags burst -run 'BurstAnswersAreCompleteOrShed' -v ./server/ 2>&1 | grep -v 'level=' | grep -E '^(=== RUN|--- |PASS|FAIL|ok)|burst_?[a-z]*_test.go'

## fuzz: each target for FUZZTIME: the query parser, the shard path rules
## (names, then whole requests through Shearch to a recording shard), and
## the JSON check of shard rows against encoding/json.Valid
fuzz:
	$(GO) test ./query/ -run='^$$' -fuzz=FuzzParse -fuzztime=$(FUZZTIME)
	$(GO) test ./shards/ -run='^$$' -fuzz=FuzzShardPath -fuzztime=$(FUZZTIME)
	$(GO) test ./shards/ -run='^$$' -fuzz=FuzzValid -fuzztime=$(FUZZTIME)
	$(GO) test ./server/ -run='^$$' -fuzz=FuzzRequestPaths -fuzztime=$(FUZZTIME)

## demo: the whole system on this machine, serving on 127.0.0.1:4000 until Ctrl-C
demo: deps build
	bin/shearch dev

## bench: the benchmarks, with their figures; then the scale rig (bench/: a
## shearch process over fake shards, run once per figure) and the 60 s load
## test (BENCHMARKS.md)
bench: deps build
	$(GO) test -run='^$$' -bench=. -benchtime=20x -benchmem $$($(GO) list ./... | grep -v '/bench$$')
	$(GO) test -run='^$$' -bench=. -benchtime=1x -timeout 30m ./bench/
	$(MAKE) --no-print-directory loadtest

## loadtest: 200 clients for 60 s against 3 goiardi shards, one stopped and started every 10 s
loadtest:
	set -o pipefail; $(GO) test -tags loadtest -run='^TestLoad$$' -count=1 -v -timeout 10m ./server/ 2>&1 | grep -v 'level='

install-completion: build
	@mkdir -p $(HOME)/.local/share/bash-completion/completions $(HOME)/.zfunc $(HOME)/.config/fish/completions
	bin/gnife completion bash > $(HOME)/.local/share/bash-completion/completions/gnife
	bin/gnife completion zsh > $(HOME)/.zfunc/_gnife
	bin/gnife completion fish > $(HOME)/.config/fish/completions/gnife.fish
	@echo "installed; for zsh add ~/.zfunc to fpath before compinit"

clean:
	rm -f bin/shearch bin/gnife

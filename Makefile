# Mobayilo. Two commands: `make run` starts everything, `make test` tests everything.
SHELL := /bin/bash
DATA_DIR ?= .mobayilo
BIN := $(DATA_DIR)/bin
GO ?= go
MODULE := github.com/mobayilo/mobayilo
# The money and workflow packages also run under the race detector.
RACE_PKGS := ./internal/ledger ./workflows ./worker
# Per test binary: the slowest package (cmd/mobayilo, end to end) takes
# about 2 minutes on a loaded two-core machine, so 8 minutes means stuck,
# and go test then fails it with every goroutine's stack.
TEST_TIMEOUT ?= 8m
export GOTOOLCHAIN := local

.PHONY: run test tools tools-npm voice-sdk vet fmt-check bench-ledger build clean-data

## run: build what is missing, then start Temporal (+UI), the worker and the API on the embedded database.
## With live Twilio (TWILIO_ACCOUNT_SID) the dialer needs the Voice SDK bundle; the sandbox needs no Node.
run: $(BIN)/temporal $(if $(TWILIO_ACCOUNT_SID),voice-sdk)
	@echo "==> building mobayilo"
	@$(GO) build -o $(BIN)/mobayilo ./cmd/mobayilo
	@MOBAYILO_DATA_DIR=$(DATA_DIR) $(BIN)/mobayilo dev

build:
	$(GO) build ./...

## tools: the test peers and the dev Temporal server, built from the Go module proxy and npm
tools: $(BIN)/temporal $(BIN)/stripe-mock tools-npm

# The Temporal CLI bundles its own server; it lives in its own module so its
# dependencies stay out of ours. The first build takes minutes: show progress.
$(BIN)/temporal: tools/temporal/go.mod tools/temporal/go.sum
	@mkdir -p $(BIN)
	@echo "==> building the Temporal dev server (first build takes 3-5 minutes; later runs reuse it)"
	@cd tools/temporal && $(GO) build -v -o $(CURDIR)/$(BIN)/temporal github.com/temporalio/cli/cmd/temporal 2>&1 \
		| awk '{ n++; if (n % 25 == 0) { printf "    compiled %d packages...\n", n; fflush() } } END { printf "    compiled %d packages\n", n }'
	@test -x $(BIN)/temporal

$(BIN)/stripe-mock: tools/stripemock/go.mod tools/stripemock/go.sum
	@mkdir -p $(BIN)
	@echo "==> building stripe-mock"
	@cd tools/stripemock && $(GO) build -o $(CURDIR)/$(BIN)/stripe-mock github.com/stripe/stripe-mock

tools-npm: tools/npm/node_modules/.package-lock.json

tools/npm/node_modules/.package-lock.json: tools/npm/package.json tools/npm/package-lock.json
	@echo "==> installing Prism and Twilio's OpenAPI spec (npm ci)"
	@cd tools/npm && npm ci --no-audit --no-fund --loglevel=error

## voice-sdk: bundle the live dialer's @twilio/voice-sdk (pinned in web/voice) with esbuild into
## web/static/vendor, embedded by the next go build. Needs Node; sandbox mode (make run) does not.
voice-sdk: web/static/vendor/voice-sdk.js

web/static/vendor/voice-sdk.js: web/voice/package.json web/voice/package-lock.json web/voice/entry.js
	@echo "==> bundling the Twilio Voice SDK (npm ci + esbuild)"
	@cd web/voice && npm ci --no-audit --no-fund --loglevel=error && npm run --silent build

vet:
	$(GO) vet ./...

fmt-check:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go' -not -path './tools/*')); \
	if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

## test: every test, against real Postgres, a real Temporal server, stripe-mock, Prism and headless Chromium
test: tools voice-sdk fmt-check vet
	$(GO) test -count=1 -timeout $(TEST_TIMEOUT) -race $(RACE_PKGS)
	$(GO) test -count=1 -timeout $(TEST_TIMEOUT) $$($(GO) list ./... | grep -v -x -F $(foreach p,$(RACE_PKGS),-e $(MODULE)/$(patsubst ./%,%,$(p))))

## bench-ledger: ledger postings/s next to pgbench (see docs/BENCHMARKS.md)
bench-ledger:
	scripts/bench-ledger.sh

clean-data:
	rm -rf $(DATA_DIR)/mobayilo.db* $(DATA_DIR)/temporal.db*

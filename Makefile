# parti — build, run and test. Needs only Go (see go.mod); everything else
# is fetched as a Go module.

GO        ?= go
BIN       ?= bin/parti
PKG       := github.com/parti-dev/parti
VERSION   ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
COMMIT    ?= $(shell git rev-parse --short HEAD 2>/dev/null || echo unknown)
DATE      ?= $(shell date -u +%Y-%m-%dT%H:%M:%SZ)
LDFLAGS   := -X $(PKG)/cmd.version=$(VERSION) -X $(PKG)/cmd.commit=$(COMMIT) -X $(PKG)/cmd.date=$(DATE)
# Minimum coverage for every calculator package (make cover fails below it).
COVER_MIN ?= 85
FUZZTIME  ?= 10s

.PHONY: all build run test fuzz bench cover lint fmt clean measure chaos

all: lint test build

build: ## build bin/parti
	$(GO) build -ldflags '$(LDFLAGS)' -o $(BIN) .

run: build ## start a node on the embedded NATS default with demo partitions
	./$(BIN) run

test: ## race-enabled tests, fuzz seed corpora, coverage floor for calculator/...
	$(GO) vet ./...
	$(GO) test -race -count=1 -timeout 12m ./...
	$(MAKE) --no-print-directory cover

cover: ## print per-package coverage of calculator/... and enforce COVER_MIN
	@$(GO) test -count=1 -cover ./calculator/... | tee .cover.txt
	@awk -v min=$(COVER_MIN) '/coverage:/ { for (i=1;i<=NF;i++) if ($$i=="coverage:") { v=$$(i+1); sub("%","",v); \
	  if (lowest=="" || v+0 < lowest+0) { lowest=v; pkg=$$2 } } } \
	  END { if (lowest=="") { print "no coverage figures"; exit 1 } \
	  printf "lowest calculator coverage: %s%% (%s), floor %s%%\n", lowest, pkg, min; if (lowest+0 < min+0) exit 1 }' .cover.txt
	@rm -f .cover.txt

fuzz: ## run every fuzz target for FUZZTIME each
	@for pkg in $$($(GO) list ./...); do \
	  for f in $$($(GO) test -list '^Fuzz' $$pkg | grep '^Fuzz'); do \
	    echo "== $$pkg $$f"; $(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime $(FUZZTIME) $$pkg || exit 1; \
	  done; done

bench: ## run benchmarks and print a table
	$(GO) test -run '^$$' -bench . -benchmem -benchtime 3x ./calculator/... | tee .bench.txt | grep -E '^(Benchmark|ok|FAIL)'
	@rm -f .bench.txt

lint: ## gofmt, go vet and golangci-lint with .golangci.yml
	@test -z "$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))" || { gofmt -l .; echo "gofmt: files above need formatting"; exit 1; }
	$(GO) vet ./...
	$(GO) tool golangci-lint run ./...

fmt:
	gofmt -w $$(git ls-files '*.go')

clean:
	rm -rf bin .cover.txt .bench.txt

measure: ## run the e2e lifecycle with default timing and print the figures
	$(GO) test -tags measure -count=1 -run TestMeasureDefaults -v ./e2e/ | grep -vE '^(=== RUN|--- PASS)'

chaos: ## a long seeded fault schedule against real processes (PARTI_CHAOS_SEED, PARTI_CHAOS_EVENTS)
	$(GO) test -tags chaos -count=1 -timeout 60m -run TestChaosLong -v ./e2e/

# Roster — developer tasks: build, run, test (installs its own test dependencies), bench.

VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)

# Where `go install` puts binaries: $GOBIN, else the first $GOPATH entry's bin/.
GOBIN_DIR := $(or $(shell go env GOBIN 2>/dev/null),$(firstword $(subst :, ,$(shell go env GOPATH 2>/dev/null)))/bin)

.DEFAULT_GOAL := build
.PHONY: run build deps test bench fuzz fmt vet screenshot

run:
	go run .

build:
	CGO_ENABLED=1 go build -trimpath -ldflags "-s -w -X main.version=$(VERSION)" -o bin/roster .

# Test dependencies, installed only when missing: Chromium (browser tests), stripe-mock,
# and fuse3 and LiteFS (the two-node LiteFS test).
deps:
	@missing=""; \
	command -v chromium >/dev/null 2>&1 || missing="$$missing chromium"; \
	command -v fusermount3 >/dev/null 2>&1 || missing="$$missing fuse3"; \
	if [ -n "$$missing" ]; then \
		if [ "$$(id -u)" = 0 ]; then \
			apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends $$missing; \
		elif command -v sudo >/dev/null 2>&1; then \
			sudo apt-get update && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends $$missing; \
		else \
			echo "make deps:$$missing not installed, and this user is not root and has no sudo." >&2; \
			echo "make deps: install as root: apt-get install -y --no-install-recommends$$missing" >&2; \
			exit 1; \
		fi; \
	fi
	@if [ ! -x "$(GOBIN_DIR)/stripe-mock" ]; then \
		echo "go install github.com/stripe/stripe-mock@v0.203.0"; \
		go install github.com/stripe/stripe-mock@v0.203.0; \
	fi
	@if [ ! -x "$(GOBIN_DIR)/litefs" ]; then \
		echo "go install github.com/superfly/litefs/cmd/litefs@v0.5.14"; \
		CGO_ENABLED=0 go install github.com/superfly/litefs/cmd/litefs@v0.5.14; \
	fi

# stripe-mock and litefs live in $(GOBIN_DIR), which need not be on the caller's PATH.
test: deps
	CGO_ENABLED=1 go vet ./...
	PATH="$(GOBIN_DIR):$$PATH" CGO_ENABLED=1 go test -race -count=1 -timeout 30m ./...

# The scenarios of docs/BENCHMARKS.md: S1 GET /profile and S1n GET
# /profile/notifications at 50 connections, each next to a bare Echo sending
# the same bytes (and their parts: the handler alone, each read, the
# renders); S4 the invite-accept race; S6 start-up; S5 a 100k-user database;
# S2 an htmx preference save; S3 200 sign-ins during S1; S3b waves of 50
# sign-ins that honour Retry-After during S1; S7 a 5-minute soak;
# S1 on a LiteFS replica next to its primary (two LiteFS nodes: deps);
# first load: /login and /profile in Chromium under slow 4G, cold and warm,
# next to a bare page (Chromium: deps).
# Each benchmark reports its own reference, measured in the same run.
bench: deps
	CGO_ENABLED=1 go test -run '^$$' -bench '^BenchmarkProfile$$' -benchtime 20000x -timeout 10m ./bench/
	CGO_ENABLED=1 go test -run '^$$' -bench '^BenchmarkNotifications$$' -benchtime 20000x -timeout 10m ./bench/
	CGO_ENABLED=1 go test -run '^$$' -bench PageHandler -benchmem ./bench/
	CGO_ENABLED=1 go test -run '^$$' -bench '^BenchmarkCompress$$' -benchmem ./bench/
	CGO_ENABLED=1 go test -run '^$$' -bench Reads ./db/
	CGO_ENABLED=1 go test -run '^$$' -bench 'ProfileRender|SessionsSection|ProfileMemo' -benchmem ./views/
	CGO_ENABLED=1 go test -run '^$$' -bench AcceptInvites -benchtime 1x -timeout 10m ./bench/
	CGO_ENABLED=1 go test -run '^$$' -bench Startup -benchtime 20x -timeout 10m ./bench/
	CGO_ENABLED=1 go test -run '^$$' -bench '^BenchmarkLargeDB$$' -benchtime 1x -timeout 20m ./bench/
	CGO_ENABLED=1 go test -run '^$$' -bench '^BenchmarkSavePreference$$' -benchtime 20000x -timeout 10m ./bench/
	CGO_ENABLED=1 go test -run '^$$' -bench '^BenchmarkSaveHandler$$' -benchmem ./bench/
	CGO_ENABLED=1 go test -run '^$$' -bench '^BenchmarkSessionAfterWrite$$' ./db/
	CGO_ENABLED=1 go test -run '^$$' -bench '^BenchmarkSignInStorm$$' -benchtime 600x -timeout 10m ./bench/
	CGO_ENABLED=1 go test -run '^$$' -bench '^BenchmarkSignInWait$$' -benchtime 5x -timeout 10m ./bench/
	CGO_ENABLED=1 go test -run '^$$' -bench '^BenchmarkSoak$$' -benchtime 1x -timeout 20m ./bench/
	CGO_ENABLED=1 go test -run '^$$' -bench '^BenchmarkLiteFSReplicaS1$$' -benchtime 20000x -timeout 10m ./bench/
	CGO_ENABLED=1 go test -run '^$$' -bench '^BenchmarkFirstLoad$$' -benchtime 5x -timeout 10m ./e2e/

# Each fuzz target for FUZZTIME (30 s): the form decoders and validators.
# Their seeds and the inputs that once failed (testdata/fuzz) run in `make test`.
FUZZTIME ?= 30s
fuzz:
	go test -run '^$$' -fuzz '^FuzzSafeNext$$' -fuzztime $(FUZZTIME) ./handlers/
	go test -run '^$$' -fuzz '^FuzzCheckEmail$$' -fuzztime $(FUZZTIME) ./handlers/
	go test -run '^$$' -fuzz '^FuzzCheckName$$' -fuzztime $(FUZZTIME) ./handlers/
	go test -run '^$$' -fuzz '^FuzzCheckPhone$$' -fuzztime $(FUZZTIME) ./handlers/
	go test -run '^$$' -fuzz '^FuzzCheckHookURL$$' -fuzztime $(FUZZTIME) ./handlers/
	go test -run '^$$' -fuzz '^FuzzParseRule$$' -fuzztime $(FUZZTIME) ./handlers/
	go test -run '^$$' -fuzz '^FuzzApplyPreferences$$' -fuzztime $(FUZZTIME) ./handlers/
	go test -run '^$$' -fuzz '^FuzzSAMLACS$$' -fuzztime $(FUZZTIME) ./sso/
	go test -run '^$$' -fuzz '^FuzzSAMLExternal$$' -fuzztime $(FUZZTIME) ./sso/
	go test -run '^$$' -fuzz '^FuzzParseDomains$$' -fuzztime $(FUZZTIME) ./handlers/
	go test -run '^$$' -fuzz '^FuzzCheckIdPMetadata$$' -fuzztime $(FUZZTIME) ./handlers/
	go test -run '^$$' -fuzz '^FuzzOAuthCallback$$' -fuzztime $(FUZZTIME) ./handlers/
	go test -run '^$$' -fuzz '^FuzzCheck$$' -fuzztime $(FUZZTIME) ./password/
	go test -run '^$$' -fuzz '^FuzzCompose$$' -fuzztime $(FUZZTIME) ./mail/

fmt:
	go fmt ./...

vet:
	CGO_ENABLED=1 go vet ./...

# Refresh the README's screenshot of the profile page, taken by the browser test.
screenshot: deps
	ROSTER_SCREENSHOT=$(CURDIR)/docs/screenshot-profile.png CGO_ENABLED=1 go test -count=1 -run Browser ./e2e/

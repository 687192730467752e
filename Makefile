# GoDispatch — the two set-up commands are `make run` and `make test`.
SWIFT ?= swift
DIST  := dist
BUNDLED_PLUGINS := GoDispatchMessaging GoDispatchRooms GoDispatchPermissions GoDispatchWebhook GoDispatchPresence GoDispatchHistory

.PHONY: build run demo install dist test test-python clean examples benchmarks bench bench-rotate bench-history bench-api bench-cluster fuzz test-tsan soak

## build: release build; assembles dist/bin/godispatch (and the load drivers, dist/bin/godispatch-soak,
## dist/bin/godispatch-bench-api and dist/bin/godispatch-bench-cluster) and dist/plugins/*.so
build:
	@test -d .build/release || echo "make build: the first release build compiles SwiftNIO, swift-crypto (BoringSSL), jwt-kit and the rest: about 6 minutes on 2 cores; later builds take seconds"
	$(SWIFT) build -c release
	@bin=$$($(SWIFT) build -c release --show-bin-path); \
	rm -rf $(DIST); mkdir -p $(DIST)/bin $(DIST)/plugins; \
	cp $$bin/godispatch $$bin/godispatch-soak $$bin/godispatch-bench-api $$bin/godispatch-bench-cluster $(DIST)/bin/; \
	for p in $(BUNDLED_PLUGINS); do cp $$bin/lib$$p.so $(DIST)/plugins/; done; \
	echo "built $(DIST)/bin/godispatch and $(DIST)/plugins: $$(ls $(DIST)/plugins | tr '\n' ' ')"

## run: build, then serve config.yaml on 127.0.0.1:8080
run: build
	$(DIST)/bin/godispatch serve --config config.yaml

## install: release build, then install under PREFIX (default /usr/local; DESTDIR stages it elsewhere):
## bin/godispatch, lib/godispatch/plugins, include/godispatch, etc/godispatch/config.yaml, lib/systemd/system
PREFIX ?= /usr/local
install: build
	scripts/install.sh "$(PREFIX)" "$$($(SWIFT) build -c release --show-bin-path)"

## dist: release build, then dist/godispatch-<version>-linux-<arch>.tar.gz: the `make install` layout for
## /opt/godispatch (extract it at /), stripped, with the Swift runtime libraries (no toolchain needed to run)
VERSION := $(shell sed -n 's/.*static let current = "\(.*\)".*/\1/p' Sources/GoDispatchCore/Version.swift)
ARCH    := $(shell uname -m)
dist: build
	@rm -rf $(DIST)/stage && mkdir -p $(DIST)/stage
	DESTDIR="$(CURDIR)/$(DIST)/stage" WITH_SWIFT_RUNTIME=1 scripts/install.sh /opt/godispatch "$$($(SWIFT) build -c release --show-bin-path)"
	tar -C $(DIST)/stage -czf $(DIST)/godispatch-$(VERSION)-linux-$(ARCH).tar.gz opt
	@rm -rf $(DIST)/stage
	@echo "built $(DIST)/godispatch-$(VERSION)-linux-$(ARCH).tar.gz ($$(du -h $(DIST)/godispatch-$(VERSION)-linux-$(ARCH).tar.gz | cut -f1))"

## demo: the chat demo (Examples/chat-web): the server on its config, the page and a dev-only token issuer;
## prints the URLs (chat and /admin dashboard); Ctrl-C stops everything
demo: build
	scripts/demo.sh

## examples: build the example plugins (a Swift package and a C file) that the tests load, the Swift one
## again as a third party would (against a tagged clone of this repository by URL and version), and every
## Swift snippet of docs/PLUGINS.md as one plugin the same way
examples:
	$(SWIFT) build -c release --package-path Examples/hello-plugin
	$(MAKE) -C Examples/c-plugin
	scripts/build-plugin-by-url.sh
	python3 scripts/build-doc-snippets.py

## test: build everything (plugins, fixtures and examples included) and run the test suite, then the
## Python witness tests (clients others wrote, in the .venv that scripts/python-venv.sh makes)
test: examples
	$(SWIFT) build --build-tests
	$(SWIFT) test --skip-build --disable-xctest
	$(MAKE) test-python
	@if command -v chromium >/dev/null && command -v chromedriver >/dev/null; then $(MAKE) test-browser; \
	else echo "make test: browser tests skipped (apt-get install chromium chromium-driver)"; fi

## test-python: the Python witness tests against the debug build (run `make test` once first)
test-python:
	scripts/python-venv.sh
	.venv/bin/python -m pytest -q Tests/python

clean:
	rm -rf .build .build-fuzz .build-tsan .build-url $(DIST) Examples/hello-plugin/.build Examples/c-plugin/libshout.so

## benchmarks: the ordo-one microbenchmark suite (wall clock and allocations), against dist/plugins
benchmarks: build
	cd Benchmarks/ordo && $(SWIFT) package --allow-writing-to-package-directory benchmark

## benchmark-allocations: where one message's allocations come from: each distinct stack of the microbenchmark
## ALLOCATIONS_OF (a regex over the names `make benchmarks` prints; default the publish through `_notify_room`),
## with how many times per message it allocates.
ALLOCATIONS_OF ?= publish pipeline, 1 member
.PHONY: benchmark-allocations
benchmark-allocations: build
	cd Benchmarks/ordo && $(SWIFT) build -c release --product EngineBenchmarks
	cd Benchmarks/ordo && ./.build/release/EngineBenchmarks --quiet true --filter '$(ALLOCATIONS_OF)' \
		--allocation-stacks --allocation-stack-depth 12

## bench: release build, then the side-by-side run of ../shared/bench/run-all.sh with GoDispatch as a
## peer on Benchmarks/fanout.yaml; prints the table (also in $$BENCH_WORK/results/<time>/table.txt).
## Narrow it with the script's own variables, e.g. PEERS_ONLY="gorilla godispatch" SCENARIOS="A:pin".
BENCH_DIR  ?= ../shared/bench
BENCH_PORT ?= 18105
bench: build
	@test -x $(BENCH_DIR)/run-all.sh || { echo "make bench: $(BENCH_DIR)/run-all.sh not found; set BENCH_DIR=/path/to/shared/bench" >&2; exit 1; }
	EXTRA_PEERS='godispatch|$(BENCH_PORT)|exec $(CURDIR)/$(DIST)/bin/godispatch serve --config $(CURDIR)/Benchmarks/fanout.yaml --port $$PORT --log-level warning' \
	QUIET_WAIT=$${QUIET_WAIT:-60} $(BENCH_DIR)/run-all.sh

## bench-rotate: one scenario of the harness (SCENARIO, default B) run ROUNDS times (default 5), rotating PEERS
## (default godispatch gorilla node-ws c-limit-cork), with the host's steal time read around each run; prints
## the medians of the runs with under 1% steal (scripts/bench-rotate.sh; the harness must have been built once)
bench-rotate: build
	BENCH_DIR=$(BENCH_DIR) scripts/bench-rotate.sh

## test-tsan: build the tests with ThreadSanitizer (into .build-tsan, apart from `make test`'s .build) and run
## the concurrency-heavy suites (state stress, pipeline and ABI async completion, hot reload, servers end to end);
## halt_on_error makes the first data race fail the run. TSAN_SUITES is a `swift test --filter` regex.
TSAN_SUITES ?= GoDispatchCoreTests\.(StateTests|PipelineTests|ABIContractTests|ConnectionLifecycleTests|HTTPCalloutGateTests|HTTPCalloutOutcomesTests|ReloadTests|ServerEventTests)|GoDispatchServerTests\.(ServerTests|MetricsTests|APITests|LifecycleTests|SecurityTests|WebhookTests|FaultTests|DoorTests|WebSocketFramingEndToEndTests)
test-tsan:
	$(SWIFT) build --build-tests --sanitize=thread --scratch-path .build-tsan $(TSAN_LINK)
	TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1 $$TSAN_OPTIONS" \
	$(SWIFT) test --skip-build --sanitize=thread --scratch-path .build-tsan --disable-xctest --filter '$(TSAN_SUITES)' $(TSAN_LINK)

# The plugins (.so, instrumented too) call into the TSan runtime, which is linked statically into the
# test binary; it exports most of its entry points but not these, so export them or no plugin loads.
TSAN_EXPORTS := __tsan_external_read __tsan_external_write __tsan_ignore_thread_begin __tsan_ignore_thread_end
TSAN_LINK := $(foreach s,$(TSAN_EXPORTS),-Xlinker --export-dynamic-symbol=$(s))

## fuzz: build the libFuzzer targets of Fuzz/ (their own package, ASan + coverage, into .build-fuzz) and
## run each for FUZZ_SECONDS (default 60), one at a time; FUZZ_TARGETS picks some of: frame json envelope
## template condition config resp. New corpus entries go to .build-fuzz/work/corpus (Fuzz/Corpus holds the
## committed seeds); crash inputs to the directory it names. Fails if any target crashed.
FUZZ_SECONDS ?= 60
FUZZ_TARGETS ?= frame json envelope template condition config resp
fuzz:
	SWIFT=$(SWIFT) FUZZ_SECONDS=$(FUZZ_SECONDS) FUZZ_TARGETS="$(FUZZ_TARGETS)" Fuzz/run.sh

## soak: release build, then dist/bin/godispatch-soak: SOAK_CONNECTIONS connections over SOAK_ROOMS rooms with
## churn for SOAK_SECONDS against a server it starts on Benchmarks/soak.yaml; fails on a lost message or when the
## server's fds or RSS grow past their bounds (see the tool's --help and the README's Benchmarks section).
SOAK_SECONDS     ?= 300
SOAK_CONNECTIONS ?= 10000
SOAK_ROOMS       ?= 500
soak: build
	$(DIST)/bin/godispatch-soak --seconds $(SOAK_SECONDS) --connections $(SOAK_CONNECTIONS) --rooms $(SOAK_ROOMS) \
		--config Benchmarks/soak.yaml --server $(DIST)/bin/godispatch --plugins $(DIST)/plugins

## bench-api: release build, then dist/bin/godispatch-bench-api: a server on Benchmarks/api.yaml, BENCH_API_MEMBERS
## WebSocket members in one room, and BENCH_API_SECONDS each of client publishes, /api/publish (keep-alive) and
## /api/batch of BENCH_API_BATCH; prints publishes/s, deliveries/s, p50/p99 latency and server CPU per publish.
BENCH_API_MEMBERS ?= 1000
BENCH_API_SECONDS ?= 10
BENCH_API_BATCH   ?= 100
bench-api: build
	$(DIST)/bin/godispatch-bench-api --members $(BENCH_API_MEMBERS) --seconds $(BENCH_API_SECONDS) --batch $(BENCH_API_BATCH)

## bench-cluster: release build, then dist/bin/godispatch-bench-cluster: one redis-server (Debian's) and, in the same
## run, one node on the memory broker, one node on Redis and two nodes sharing Redis, each with BENCH_CLUSTER_MEMBERS
## members split over the nodes: scenario A (one room, max rate) and B (BENCH_CLUSTER_ROOMS rooms at BENCH_CLUSTER_RATE
## publishes/s); prints a Markdown table: deliveries/s, server CPU per delivery (nodes + Redis), Redis commands per
## publish, p50/p99/p99.9 (B: on the publisher's node and on the other), lost messages. About 2 minutes; NICE=-10 favours it.
BENCH_CLUSTER_MEMBERS ?= 1000
BENCH_CLUSTER_SECONDS ?= 10
BENCH_CLUSTER_RATE    ?= 2000
BENCH_CLUSTER_ROOMS   ?= 100
BENCH_CLUSTER_PAYLOAD ?= 128
bench-cluster: build
	@command -v redis-server >/dev/null || { echo "make bench-cluster: redis-server not found (apt-get install redis-server)" >&2; exit 1; }
	$(if $(NICE),nice -n $(NICE)) $(DIST)/bin/godispatch-bench-cluster --members $(BENCH_CLUSTER_MEMBERS) \
		--seconds $(BENCH_CLUSTER_SECONDS) --rate $(BENCH_CLUSTER_RATE) --rooms $(BENCH_CLUSTER_ROOMS) \
		--payload $(BENCH_CLUSTER_PAYLOAD) --redis-server "$$(command -v redis-server)" $(BENCH_CLUSTER_FLAGS)

## bench-history: what history costs fan-out: ../shared/bench/run-all.sh with two GoDispatch peers in one run,
## `godispatch` on Benchmarks/fanout.yaml and `godispatch-history` on Benchmarks/fanout-history.yaml (every room
## keeps 100 frames). SCENARIOS narrows it as for `make bench` (default "A:pin D:pin").
bench-history: build
	@test -x $(BENCH_DIR)/run-all.sh || { echo "make bench-history: $(BENCH_DIR)/run-all.sh not found; set BENCH_DIR" >&2; exit 1; }
	PEERS_ONLY="godispatch godispatch-history" SCENARIOS="$${SCENARIOS:-A:pin D:pin}" \
	EXTRA_PEERS="$$(printf '%s\n%s' \
	  'godispatch|$(BENCH_PORT)|exec $(CURDIR)/$(DIST)/bin/godispatch serve --config $(CURDIR)/Benchmarks/fanout.yaml --port $$PORT --log-level warning' \
	  'godispatch-history|18107|exec $(CURDIR)/$(DIST)/bin/godispatch serve --config $(CURDIR)/Benchmarks/fanout-history.yaml --port $$PORT --log-level warning')" \
	QUIET_WAIT=$${QUIET_WAIT:-60} $(BENCH_DIR)/run-all.sh

## test-browser: clients/js/godispatch.js in headless Chromium (Debian's chromium and chromium-driver) against
## the debug build on config.yaml: pytest + Selenium from .venv/browser (scripts/browser-venv.sh)
.PHONY: test-browser
test-browser:
	$(SWIFT) build
	scripts/browser-venv.sh
	.venv/browser/bin/python -m pytest -q Tests/browser

# GoDispatch — the two set-up commands are `make run` and `make test`.
SWIFT ?= swift
DIST  := dist
BUNDLED_PLUGINS := GoDispatchMessaging GoDispatchRooms GoDispatchPermissions GoDispatchWebhook

.PHONY: build run test clean examples benchmarks

## build: release build; assembles dist/bin/godispatch and dist/plugins/*.so
build:
	$(SWIFT) build -c release
	@bin=$$($(SWIFT) build -c release --show-bin-path); \
	rm -rf $(DIST); mkdir -p $(DIST)/bin $(DIST)/plugins; \
	cp $$bin/godispatch $(DIST)/bin/; \
	for p in $(BUNDLED_PLUGINS); do cp $$bin/lib$$p.so $(DIST)/plugins/; done; \
	echo "built $(DIST)/bin/godispatch and $(DIST)/plugins: $$(ls $(DIST)/plugins | tr '\n' ' ')"

## run: build, then serve config.yaml on 127.0.0.1:8080
run: build
	$(DIST)/bin/godispatch serve --config config.yaml

## examples: build the example plugins (a Swift package and a C file) that the tests load
examples:
	$(SWIFT) build -c release --package-path Examples/hello-plugin
	$(MAKE) -C Examples/c-plugin

## test: build everything (plugins, fixtures and examples included) and run the test suite
test: examples
	$(SWIFT) build --build-tests
	$(SWIFT) test --skip-build --disable-xctest

clean:
	rm -rf .build $(DIST) Examples/hello-plugin/.build Examples/c-plugin/libshout.so

## benchmarks: the ordo-one microbenchmark suite (wall clock and allocations), against dist/plugins
benchmarks: build
	cd Benchmarks/ordo && $(SWIFT) package --allow-writing-to-package-directory benchmark

# The two commands of the README: `make demo` (the main job) and `make test`.
# Both install what they need first (scripts/install-deps.sh).
SWIFT ?= swift
export PATH := /opt/swift/usr/bin:$(PATH)

.PHONY: all deps build test demo bench clean

all: build

deps:
	@scripts/install-deps.sh

build: deps
	$(SWIFT) build

# Every test: the Swift test suites, then the package-level checks.
test: deps
	$(SWIFT) build --build-tests
	$(SWIFT) test --skip-build
	scripts/test-consumer-package.sh

demo: deps
	$(SWIFT) build -c release --product ipc-demo
	.build/release/ipc-demo

bench: deps
	$(SWIFT) run -c release liteshield-bench all

clean:
	rm -rf .build

# The two commands of the README: `make demo` (the main job) and `make test`.
# Both install what they need first (scripts/install-deps.sh).
SWIFT ?= swift
export PATH := /opt/swift/usr/bin:$(PATH)

.PHONY: all deps build runtime test demo bench clean

all: build

deps:
	@scripts/install-deps.sh

build: deps runtime
	$(SWIFT) build

# The guest runtime: plain C, no Swift runtime, loaded into guests with LD_PRELOAD.
# `liteshield run --runtime` finds it in .build/ (two levels above its binary).
RUNTIME_SOURCES := $(wildcard Runtime/lsguest/*.c) Sources/CLiteShim/include/liteshield_abi.h
runtime: .build/liblsguest.so
.build/liblsguest.so: $(RUNTIME_SOURCES)
	@mkdir -p .build
	gcc -shared -fPIC -O2 -Wall -Wextra -fvisibility=hidden -I Sources/CLiteShim/include \
		-o $@ $(filter %.c,$^) -lpthread

# Every test: the Swift test suites, then the package-level checks.
test: deps runtime
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

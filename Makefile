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
RUNTIME_SOURCES := $(wildcard Runtime/lsguest/*.c) $(wildcard Runtime/lsguest/*.h) Sources/CLiteShim/include/liteshield_abi.h
runtime: .build/liblsguest.so
.build/liblsguest.so: $(RUNTIME_SOURCES)
	@mkdir -p .build
	gcc -shared -fPIC -O2 -Wall -Wextra -fvisibility=hidden -I Sources/CLiteShim/include -I Runtime/lsguest \
		-o $@ $(filter %.c,$^) -lpthread

# Every test: the Swift test suites, then the package-level checks.
test: deps runtime
	$(SWIFT) build --build-tests
	$(SWIFT) test --skip-build
	scripts/test-consumer-package.sh

# The main job: LiteIPC between two processes, then a static program in the
# sandbox (seccomp filter + ptrace guard), first allowed, then denied.
demo: deps
	$(SWIFT) build -c release --product ipc-demo
	$(SWIFT) build -c release --product liteshield
	.build/release/ipc-demo
	@echo
	@echo '== liteshield run -- busybox sh -c "echo …; ls /; cat /etc/passwd | wc -l"'
	.build/release/liteshield run -- /bin/busybox sh -c 'echo hello from inside the sandbox; ls / | head -3; cat /etc/passwd | wc -l'
	@echo
	@echo '== the policy refuses what it does not allow (a file outside the readable paths):'
	@.build/release/liteshield run --trace -- /bin/busybox cat /root/.profile || \
	    echo "(busybox exited with status $$? because the guard refused the open: EACCES)"

# Every suite; the guard and net-udp suites also drive the liteshield and net-echo binaries.
bench: deps runtime
	$(SWIFT) build -c release   # every product: the suites also drive liteshield, net-echo, http-serve
	.build/release/liteshield-bench all

clean:
	rm -rf .build

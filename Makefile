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

# The main job: an unmodified sqlite3 from Debian builds a database on a fresh
# LiteFS image inside the sandbox — its file calls served by the μkernel service
# over the channel, its libc-internal raw calls caught by the trap path — then
# the --stats table shows which path each call took and which host calls the
# guard let through. The same sandbox refuses what the policy does not allow.
demo: deps runtime
	$(SWIFT) build -c release --product liteshield
	@scripts/demo-sql.sh > .build/demo.sql
	@echo '== liteshield run --fresh 64M --stats -- sqlite3 /demo.db  (10,000 rows in 10 transactions, then queries)'
	.build/release/liteshield run --fresh 64M --stats -- /usr/bin/sqlite3 /demo.db < .build/demo.sql
	@echo
	@echo '== coreutils and a pipeline on the image: ls -la /; sort | uniq -c'
	.build/release/liteshield run --fresh 16M --allow-exec /usr/bin/ -- /bin/sh -c \
	    'ls -la / | head -6; printf "b\na\nb\n" > /tmp/f; cat /tmp/f | sort | uniq -c'
	@echo
	@echo '== the policy refuses what it does not allow (a host file that is not mounted):'
	@.build/release/liteshield run --fresh 16M -- /usr/bin/cat /etc/shadow || \
	    echo "(cat exited with status $$? because /etc/shadow is not in the sandbox)"

# Every suite; the guard and net-udp suites also drive the liteshield and net-echo binaries.
bench: deps runtime
	$(SWIFT) build -c release   # every product: the suites also drive liteshield, net-echo, http-serve
	.build/release/liteshield-bench all

clean:
	rm -rf .build

# berth — build, test and measure. Run `make help` for the targets.
GO        ?= go
PREFIX    ?= /usr/local
BINDIR    ?= $(PREFIX)/bin
VERSION   ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS   := -X github.com/berth-engine/berth/internal/version.Version=$(VERSION) \
             -X github.com/berth-engine/berth/internal/runtime/cli.Version=$(VERSION)
BINARIES  := berth berthd berth-shim berth-runtime
comma     := ,
COMMIT    ?= $(shell git rev-parse --short HEAD 2>/dev/null || echo unknown)
# berth-init is C, static, so that it runs in any image (mounted at
# /sbin/docker-init by --init).
INIT_CFLAGS := -static -O2 -Wall -Wextra -Werror \
             -DBERTH_INIT_VERSION='"$(VERSION)"' -DBERTH_INIT_COMMIT='"$(COMMIT)"'

.PHONY: all build install test integration validation compare bench bench-daemon vet help clean

all: build

build: $(addprefix bin/,$(BINARIES)) bin/berth-init

bin/%: FORCE
	$(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $@ ./cmd/$*

# berth-runtime is linked statically (libseccomp.a; the pure-Go user and DNS
# lookups, so nothing needs a libc's NSS at run time): every container start
# execs it two to four times, and without the dynamic loader each exec is
# ~0.3-0.4 ms faster here (`berth-runtime exec` 8.7 -> 7.9 ms). Its libc is
# musl where musl-gcc is installed (Debian's musl-tools; scripts/deps.sh
# installs it), else glibc: glibc's start-up probes the CPU's features and
# caches with ~65 cpuid instructions, each a trap to the hypervisor in a VM
# (~3.6 us here), ~0.3 ms of every process that musl does not spend
# (`berth-runtime --version` 2.23 -> 1.91 ms, `run` of /bin/true 7.18 ->
# 6.75 ms, medians of 200 interleaved runs). MUSL_GCC= forces glibc.
RUNTIME_TAGS ?= osusergo,netgo
MUSL_GCC     ?= $(shell command -v musl-gcc 2>/dev/null)
MUSL_SYSROOT := $(CURDIR)/.cache/musl
ifneq ($(MUSL_GCC),)
RUNTIME_ENV  := CC=$(MUSL_GCC) CGO_CFLAGS='-O2 -I$(MUSL_SYSROOT)/include' CGO_LDFLAGS='-L$(MUSL_SYSROOT)/lib'
RUNTIME_LIBC := musl
endif
bin/berth-runtime: FORCE
ifneq ($(MUSL_GCC),)
	scripts/musl-sysroot.sh $(MUSL_SYSROOT)
endif
	$(RUNTIME_ENV) $(GO) build -trimpath -tags '$(RUNTIME_TAGS)$(if $(RUNTIME_LIBC),$(comma)$(RUNTIME_LIBC))' -ldflags '$(LDFLAGS) -extldflags=-static' -o $@ ./cmd/berth-runtime

bin/berth-init: cmd/berth-init/berth-init.c
	@mkdir -p bin
	$(CC) $(INIT_CFLAGS) -o $@ $<

FORCE:

# berth-shim is a small C program: its memory is paid once per running
# container. Static linking measured lower than dynamic with many shims
# running (see cmd/berth-shim/README.md); SHIM_LDFLAGS= builds it dynamic.
SHIM_CFLAGS  ?= -O2 -Wall -Wextra -Werror
SHIM_LDFLAGS ?= -static
SHIM_SRCS    := $(wildcard cmd/berth-shim/*.c)

# FORCE, like the Go binaries: the version string is compiled in.
bin/berth-shim: $(SHIM_SRCS) $(wildcard cmd/berth-shim/*.h) FORCE
	@mkdir -p bin
	$(CC) $(SHIM_CFLAGS) -DBERTH_VERSION='"$(VERSION)"' -o $@ $(SHIM_SRCS) $(SHIM_LDFLAGS)

install: build
	install -d $(DESTDIR)$(BINDIR)
	install -m 0755 $(addprefix bin/,$(BINARIES)) bin/berth-init $(DESTDIR)$(BINDIR)/

vet:
	$(GO) vet ./...

# Unit tests everywhere; tests that need root skip themselves unless root.
test:
	$(GO) test ./internal/... ./cmd/...

# Root only: black-box tests of the built binaries, the runc comparison
# table and the OCI runtime validation suite.
integration: build
	BERTH_RUNTIME=$(CURDIR)/bin/berth-runtime $(GO) test -count=1 -v ./integration/...
	scripts/runtime-validation.sh --baseline test/validation/runc-1.1.5.pass --min-ok 3275 --max-not-ok 34 $(CURDIR)/bin/berth-runtime

bench: build
	$(GO) run ./bench/runtime -berth $(CURDIR)/bin/berth-runtime
	$(GO) run ./bench/daemon -berthd $(CURDIR)/bin/berthd -berth $(CURDIR)/bin/berth $(BENCH_DAEMON_FLAGS)

# berthd beside a private dockerd: run latency, mass start, monitor and
# daemon memory, ps. BENCH_DAEMON_FLAGS="-n 50 -json out.json" and so on.
bench-daemon: build
	$(GO) run ./bench/daemon -berthd $(CURDIR)/bin/berthd -berth $(CURDIR)/bin/berth $(BENCH_DAEMON_FLAGS)

clean:
	rm -rf bin

help:
	@echo "make            build bin/berth, bin/berthd, bin/berth-shim, bin/berth-runtime, bin/berth-init"
	@echo "make install    install them into $(BINDIR)"
	@echo "make test       unit tests (root tests run when root)"
	@echo "make integration  root: integration tests, runc comparison, OCI validation suite"
	@echo "make bench      root: berth-runtime start latency beside runc and crun, then bench-daemon"
	@echo "make bench-daemon  root: berthd beside a private dockerd (BENCH_DAEMON_FLAGS=...)"

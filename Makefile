# kvmwarden build. `make` builds build/kvmwarden; see README.md for the rest.
# Dependencies come from -MMD -MP files, so header edits rebuild what uses them.

BUILD     ?= build
CLANG     ?= clang
CC        ?= gcc
BPFTOOL   ?= bpftool
ARCH      := $(shell uname -m | sed -e 's/x86_64/x86/' -e 's/aarch64/arm64/')
PREFIX    ?= /usr/local
# systemd reads units from /usr/local/lib/systemd/system as well as from
# /lib/systemd/system, so the default prefix needs no special case.
UNITDIR   ?= $(PREFIX)/lib/systemd/system
MANDIR    ?= $(PREFIX)/share/man
# Beside the unit's directory: the generator that grants steering's
# writes when a hidden-steal budget is configured.
GENERATORDIR ?= $(dir $(UNITDIR))system-generators

BPF_SRCS  := $(wildcard bpf/*.bpf.c)
BPF_OBJS  := $(patsubst bpf/%.bpf.c,$(BUILD)/bpf/%.bpf.o,$(BPF_SRCS))
BPF_SKELS := $(patsubst bpf/%.bpf.c,$(BUILD)/%.skel.h,$(BPF_SRCS))

AGENT_SRCS := agent/main.c $(wildcard agent/*/*.c) $(wildcard exporters/*.c)
# Everything but main.c is also linked into the unit tests.
LIB_SRCS   := $(filter-out agent/main.c,$(AGENT_SRCS))

# make VERSION=X builds a binary that reports X (debian/rules passes the
# package's version); else agent/base/version.h's.
VERSION   ?=
WARN      := -Wall -Wextra -Werror -Wno-unused-parameter -Wshadow -Wformat=2
CFLAGS    ?= -O2 -g
CFLAGS    += -std=gnu11 $(WARN) -D_GNU_SOURCE -Iagent -Iexporters -I$(BUILD)
# Quoted includes only: bpf/sched.h must not stand in for the C library's <sched.h>.
CFLAGS    += -iquote bpf
ifneq ($(VERSION),)
CFLAGS    += -DKVMWARDEN_VERSION='"$(VERSION)"'
endif
LDLIBS    := -lbpf -lelf -lz -ljson-c -lyaml -lmicrohttpd -lcrypt -lsystemd \
	-lncursesw -lvirt -lgnutls
BPF_CFLAGS := -g -O2 -target bpf -D__TARGET_ARCH_$(ARCH) -Wall -Werror \
	-Ivmlinux -Ibpf

SAN_FLAGS := -fsanitize=address,undefined -fno-omit-frame-pointer \
	-fno-sanitize-recover=all

OBJS      := $(patsubst %.c,$(BUILD)/obj/%.o,$(AGENT_SRCS))
LIB_OBJS  := $(patsubst %.c,$(BUILD)/obj/%.o,$(LIB_SRCS))
SAN_OBJS  := $(patsubst %.c,$(BUILD)/san/%.o,$(AGENT_SRCS))
SAN_LIB_OBJS := $(patsubst %.c,$(BUILD)/san/%.o,$(LIB_SRCS))

UNIT_SRCS := $(wildcard tests/unit/test_*.c)
UNIT_BINS := $(patsubst tests/unit/%.c,$(BUILD)/tests/%,$(UNIT_SRCS))
SAN_UNIT_BINS := $(patsubst tests/unit/%.c,$(BUILD)/tests-san/%,$(UNIT_SRCS))

# libFuzzer harnesses: clang only, each linked with the parsers it drives.
FUZZ_SRCS := $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_BINS := $(patsubst tests/fuzz/%.c,$(BUILD)/fuzz/%,$(FUZZ_SRCS))
FUZZ_LIB  := agent/config/config.c agent/config/config_yaml.c agent/config/endpoints.c \
	agent/serve/http.c agent/serve/http_auth.c \
	agent/config/web_config.c agent/collect/procfs.c agent/serve/api.c \
	agent/serve/api_proto.c agent/serve/api_socket.c \
	agent/collect/procfs_cmdline.c agent/model/libvirt_cgroup.c \
	agent/model/systemd_names.c agent/collect/thread_class.c \
	agent/model/text_fields.c agent/model/vmm_identity.c \
	agent/config/enforce_config.c agent/config/enforce_keys.c \
	agent/config/steering_keys.c \
	agent/collect/net_devices.c agent/collect/net_spec.c \
	agent/collect/libvirt_status.c \
	agent/model/net.c \
	$(wildcard agent/base/*.c)
FUZZ_FLAGS := -g -O1 -fsanitize=fuzzer,address,undefined \
	-fno-sanitize-recover=all -fno-omit-frame-pointer
FUZZ_SECONDS ?= 60
# The churn soak (tests/integration/soak_churn.py): guests start and stop
# once a second for this long.
SOAK_SECONDS ?= 600

.PHONY: all deps deps-check deb run test test-unit test-san test-integration bench vmlinux \
	fuzz soak \
	lint format clean install uninstall

# Skeletons embed the objects, but keep them for bpftool and the bench.
.SECONDARY: $(BPF_OBJS)

all: $(BUILD)/kvmwarden

deps:
	@scripts/deps.sh build

# Before the first compile, one line naming the Debian packages that are
# missing and the command that installs them, rather than clang's first
# error about a header (make run, make test and make deb install them
# themselves). DEPS_CHECK= skips it, for a toolchain from elsewhere.
DEPS_CHECK ?= scripts/deps.sh check build
deps-check:
	@$(DEPS_CHECK)

$(BPF_OBJS) $(OBJS) $(SAN_OBJS): | deps-check

$(BUILD)/bpf/%.bpf.o: bpf/%.bpf.c | $(BUILD)/bpf
	$(CLANG) $(BPF_CFLAGS) -MMD -MP -c $< -o $@

$(BUILD)/%.skel.h: $(BUILD)/bpf/%.bpf.o
	$(BPFTOOL) gen skeleton $< > $@.tmp && mv $@.tmp $@

# Only the loader includes skeletons, but every object may include a header
# that does, so generate them first.
$(OBJS) $(SAN_OBJS): | $(BPF_SKELS)

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) -MMD -MP -c $< -o $@

$(BUILD)/san/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(SAN_FLAGS) -MMD -MP -c $< -o $@

# LDFLAGS and CPPFLAGS: the hardening dpkg-buildflags asks for (relro,
# bind now, fortify) when debian/rules builds.
$(BUILD)/kvmwarden: $(OBJS)
	$(CC) $(CFLAGS) $(LDFLAGS) $^ -o $@ $(LDLIBS)

$(BUILD)/kvmwarden-san: $(SAN_OBJS)
	$(CC) $(CFLAGS) $(SAN_FLAGS) $^ -o $@ $(LDLIBS)

$(BUILD)/tests/%: tests/unit/%.c $(LIB_OBJS)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -MMD -MP $(filter %.c %.o,$^) -o $@ $(LDLIBS) -lcmocka

$(BUILD)/tests-san/%: tests/unit/%.c $(SAN_LIB_OBJS)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(SAN_FLAGS) -MMD -MP $(filter %.c %.o,$^) -o $@ $(LDLIBS) -lcmocka

$(BUILD)/bpf:
	@mkdir -p $@

run: deps
	@scripts/deps.sh run
	$(MAKE) $(BUILD)/kvmwarden
	$(BUILD)/kvmwarden run --config configs/kvmwarden.conf

test:
	@scripts/deps.sh test
	$(MAKE) $(BUILD)/kvmwarden $(BUILD)/kvmwarden-san $(UNIT_BINS) \
		$(SAN_UNIT_BINS) $(FUZZ_BINS)
	tests/run-all.sh $(BUILD)

$(BUILD)/fuzz/%: tests/fuzz/%.c $(FUZZ_LIB)
	@mkdir -p $(dir $@)
	$(CLANG) $(FUZZ_FLAGS) -std=gnu11 $(WARN) -D_GNU_SOURCE -Iagent -iquote bpf $^ \
		-o $@ -lyaml -lmicrohttpd -lcrypt -ljson-c -lgnutls

fuzz: $(FUZZ_BINS)
	tests/fuzz/run.sh $(BUILD) $(FUZZ_SECONDS)

soak: $(BUILD)/kvmwarden
	SOAK_SECONDS=$(SOAK_SECONDS) python3 tests/integration/soak_churn.py $(BUILD)

test-unit: $(UNIT_BINS)
	tests/run-unit.sh $(BUILD)/tests

test-san: $(SAN_UNIT_BINS)
	tests/run-unit.sh $(BUILD)/tests-san

test-integration: $(BUILD)/kvmwarden
	tests/integration/run.sh $(BUILD)

# The newcomer's path: two guests and a noisy neighbour, the agent in
# monitor then enforce mode, steal before and after (scripts/demo.py).
.PHONY: demo
demo: $(BUILD)/kvmwarden
	@scripts/deps.sh test
	python3 scripts/demo.py $(BUILD)

bench:
	@scripts/deps.sh bench
	$(MAKE) $(BUILD)/kvmwarden
	tests/bench/run.sh $(BUILD)
	tests/bench/bench_scrape.sh $(BUILD)
	tests/bench/bench_kvm.sh $(BUILD)
	tests/bench/bench_block.sh $(BUILD)
	tests/bench/bench_top.sh $(BUILD)
	tests/bench/bench_waiters.sh $(BUILD)
	tests/bench/bench_irq.sh $(BUILD)

# DESTDIR stages a package. The configuration lives at the path the binary
# defaults to, /etc/kvmwarden, whatever the prefix, and an existing one is
# the administrator's: never overwritten.
install: $(BUILD)/kvmwarden
	install -D -m 0755 $(BUILD)/kvmwarden $(DESTDIR)$(PREFIX)/bin/kvmwarden
	install -d $(DESTDIR)$(UNITDIR) $(DESTDIR)$(MANDIR)/man8 \
		$(DESTDIR)/etc/kvmwarden
	sed 's|@PREFIX@|$(PREFIX)|g' configs/kvmwarden.service \
		> $(DESTDIR)$(UNITDIR)/kvmwarden.service.tmp
	chmod 0644 $(DESTDIR)$(UNITDIR)/kvmwarden.service.tmp
	mv $(DESTDIR)$(UNITDIR)/kvmwarden.service.tmp \
		$(DESTDIR)$(UNITDIR)/kvmwarden.service
	install -m 0644 configs/kvmwarden.8 $(DESTDIR)$(MANDIR)/man8/kvmwarden.8
	install -d $(DESTDIR)$(GENERATORDIR)
	sed 's|@PREFIX@|$(PREFIX)|g' configs/kvmwarden-generator \
		> $(DESTDIR)$(GENERATORDIR)/kvmwarden-generator
	chmod 0755 $(DESTDIR)$(GENERATORDIR)/kvmwarden-generator
	@if [ -e $(DESTDIR)/etc/kvmwarden/kvmwarden.conf ]; then \
		echo "keeping $(DESTDIR)/etc/kvmwarden/kvmwarden.conf"; \
	else \
		echo "install -m 0644 configs/kvmwarden.conf $(DESTDIR)/etc/kvmwarden/kvmwarden.conf"; \
		install -m 0644 configs/kvmwarden.conf \
			$(DESTDIR)/etc/kvmwarden/kvmwarden.conf; \
	fi
	@[ -n "$(DESTDIR)" ] || echo "then: systemctl daemon-reload && systemctl enable --now kvmwarden"

# Leaves /etc/kvmwarden and /var/lib/kvmwarden: they hold the
# administrator's settings and the agent's state.
uninstall:
	rm -f $(DESTDIR)$(PREFIX)/bin/kvmwarden \
		$(DESTDIR)$(UNITDIR)/kvmwarden.service \
		$(DESTDIR)$(GENERATORDIR)/kvmwarden-generator \
		$(DESTDIR)$(MANDIR)/man8/kvmwarden.8

# The Debian package, built by Debian's tooling from debian/ (objects in
# debian/build). dpkg-buildpackage writes its results next to the
# checkout; they are moved to $(BUILD)/deb, with lintian's verdict.
DEB_VERSION = $(shell dpkg-parsechangelog -S Version)
DEB_ARCH    = $(shell dpkg --print-architecture)
DEB_FILES   = kvmwarden_$(DEB_VERSION)_$(DEB_ARCH).deb \
	kvmwarden-dbgsym_$(DEB_VERSION)_$(DEB_ARCH).deb \
	kvmwarden_$(DEB_VERSION)_$(DEB_ARCH).buildinfo \
	kvmwarden_$(DEB_VERSION)_$(DEB_ARCH).changes
deb:
	@scripts/deps.sh deb
	dpkg-buildpackage -b -us -uc
	@mkdir -p $(BUILD)/deb
	cd .. && mv -f $(DEB_FILES) $(abspath $(BUILD))/deb/
	lintian --fail-on error,warning --info \
		$(BUILD)/deb/kvmwarden_$(DEB_VERSION)_$(DEB_ARCH).changes
	@echo "built $(BUILD)/deb/kvmwarden_$(DEB_VERSION)_$(DEB_ARCH).deb; install it with: apt-get install $(if $(filter /%,$(BUILD)),,./)$(BUILD)/deb/kvmwarden_$(DEB_VERSION)_$(DEB_ARCH).deb"

# Regenerates the committed vmlinux.h from this machine's BTF.
vmlinux:
	$(BPFTOOL) btf dump file /sys/kernel/btf/vmlinux format c > vmlinux/vmlinux.h.tmp
	mv vmlinux/vmlinux.h.tmp vmlinux/vmlinux.h

# cppcheck has no json-c library file, so it cannot expand
# json_object_object_foreach; without the suppression it gives up on the
# file that uses it with an error.
lint: $(BUILD)/kvmwarden
	python3 tests/lint/check_structure.py $(BUILD)/obj
	cppcheck --quiet --error-exitcode=1 --enable=warning,portability \
		--suppress=missingIncludeSystem --suppress=unknownMacro \
		-Iagent -Iexporters -Ibpf agent exporters

format:
	clang-format -i $(AGENT_SRCS) $(wildcard agent/*/*.h exporters/*.h \
		bpf/*.h bpf/*.c tests/unit/*.c)

clean:
	rm -rf $(BUILD)

-include $(shell find $(BUILD)/obj $(BUILD)/san $(BUILD)/bpf $(BUILD)/tests \
	$(BUILD)/tests-san -name '*.d' -type f 2>/dev/null)

# authrelay build. Everything but cli/main.c goes into one static library
# (build/libauthrelay.a) that the daemon and every test link.
#
#   make            build the daemon, the mock provider and the unit tests
#   make check      install missing deps, check that every test tool can do
#                   what the tests need (scripts/preflight.sh), then unit
#                   tests (plain, under ASan+UBSan, under valgrind),
#                   integration tests and a short run of every fuzzer
#   make demo       install missing deps, then relay one message through the
#                   mock provider and show the result
#   make install    install the daemon, its man pages, the systemd unit, the
#                   example config, the fail2ban filter and jail, and the
#                   Grafana dashboard and Prometheus alert rules
#                   (PREFIX/share/authrelay) under PREFIX (/usr/local), the
#                   config ones under SYSCONFDIR (PREFIX/etc); DESTDIR
#                   stages. Never writes authrelay.ini.
#   make uninstall  remove what make install installed (not authrelay.ini)
#   make deb        build build/authrelay_VERSION_ARCH.deb from a copy of the
#                   source in build/deb-src (Debian tools, debian/)
#   make package-check  build the .deb and check it (the last step of make
#                   check; AUTHRELAY_THROWAWAY=1 also installs and purges it)

VERSION := $(shell cat VERSION)
CC      ?= cc
CFLAGS  ?= -O2 -g
CFLAGS  += -std=gnu11 -Wall -Wextra -Wshadow -Wstrict-prototypes \
           -Wmissing-prototypes -Wformat=2 -D_GNU_SOURCE -I. \
           -DAUTHRELAY_VERSION='"$(VERSION)"'
PKGS     = libssl libcrypto libcurl jansson inih libxcrypt libsystemd \
           libmicrohttpd
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null)
LIBS     = $(PKG_LIBS) -lev -lpthread -lanl
CHECK_LIBS := $(shell pkg-config --libs check 2>/dev/null)

B        = build
LIB_SRC  = $(wildcard io/*.c) $(wildcard proxy/*.c) $(wildcard upstream/*.c) \
           $(wildcard oauth/*.c) $(filter-out cli/main.c,$(wildcard cli/*.c))
UNIT_SRC = $(wildcard tests/unit/*.c)
MOCK_SRC = $(wildcard tests/mock-provider/*.c)

# Plain build and sanitizer build share the rules below through $(1)=dir.
SAN_FLAGS = -fsanitize=address,undefined -fno-omit-frame-pointer \
            -fno-sanitize-recover=all

.PHONY: all check unit unit-asan unit-valgrind integration integration-asan \
        demo bench fuzz fuzz-smoke mock-selftest \
        deps clean install uninstall deb package-check man-lint
all: $(B)/authrelay $(B)/mock-provider $(B)/check_unit

define build_tree
$(1)/obj/%.o: %.c $(wildcard */*.h) $(wildcard tests/*/*.h)
	@mkdir -p $$(dir $$@)
	$$(CC) $$(CPPFLAGS) $$(CFLAGS) $(2) $$(PKG_CFLAGS) -c -o $$@ $$<
$(1)/libauthrelay.a: $$(patsubst %.c,$(1)/obj/%.o,$$(LIB_SRC))
	rm -f $$@ && ar rcs $$@ $$^
$(1)/authrelay: $(1)/obj/cli/main.o $(1)/libauthrelay.a
	$$(CC) $$(CFLAGS) $(2) $$(LDFLAGS) -o $$@ $$^ $$(LIBS)
$(1)/check_unit: $$(patsubst %.c,$(1)/obj/%.o,$$(UNIT_SRC)) $(1)/libauthrelay.a
	$$(CC) $$(CFLAGS) $(2) $$(LDFLAGS) -o $$@ $$^ $$(CHECK_LIBS) $$(LIBS)
$(1)/mock-provider: $$(patsubst %.c,$(1)/obj/%.o,$$(MOCK_SRC)) $(1)/libauthrelay.a
	$$(CC) $$(CFLAGS) $(2) $$(LDFLAGS) -o $$@ $$^ $$(LIBS)
endef
$(eval $(call build_tree,$(B),))
$(eval $(call build_tree,$(B)/asan,$(SAN_FLAGS)))

deps:
	@sh scripts/deps.sh

unit: $(B)/check_unit
	$(B)/check_unit

unit-asan: $(B)/asan/check_unit
	ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
	CK_FORK=no $(B)/asan/check_unit

unit-valgrind: $(B)/check_unit
	CK_FORK=no valgrind -q --error-exitcode=9 --leak-check=full \
	  --errors-for-leak-kinds=definite $(B)/check_unit

integration: all
	sh tests/integration/run.sh $(B)

# The same tests with the daemon built with ASan+UBSan: a report in its log
# fails the case.
integration-asan: all $(B)/asan/authrelay
	AUTHRELAY=$(B)/asan/authrelay sh tests/integration/run.sh $(B)

check: deps
	@sh scripts/preflight.sh
	$(MAKE) man-lint
	$(MAKE) all $(B)/asan/check_unit $(B)/asan/authrelay
	$(MAKE) unit unit-asan unit-valgrind integration-asan
	$(MAKE) fuzz-smoke
	$(MAKE) package-check

# The man pages: mandoc's lint fails on any warning (style notes pass).
man-lint:
	mandoc -Tlint -W warning docs/authrelay.8 docs/authrelay.ini.5

# Throughput, latency and memory figures (build/bench.txt); never part of
# make check: speed is measured here, not asserted in tests.
bench: all $(B)/loadgen
	sh tests/bench/run.sh $(B)
$(B)/loadgen: tests/bench/loadgen.c
	@mkdir -p $(B)
	$(CC) $(CFLAGS) -o $@ $< -lssl -lcrypto -lpthread

demo: deps
	@sh scripts/preflight.sh demo
	$(MAKE) all
	sh tests/demo.sh $(B)

clean:
	rm -rf $(B) $(B)/deb-src

# Install paths. The Debian package uses PREFIX=/usr SYSCONFDIR=/etc and
# SYSTEMDUNITDIR=/lib/systemd/system (debian/rules).
PREFIX         ?= /usr/local
SYSCONFDIR     ?= $(PREFIX)/etc
SBINDIR        ?= $(PREFIX)/sbin
MANDIR         ?= $(PREFIX)/share/man
SYSTEMDUNITDIR ?= $(PREFIX)/lib/systemd/system
CONFDIR         = $(SYSCONFDIR)/authrelay
F2BDIR          = $(SYSCONFDIR)/fail2ban
SHAREDIR        = $(PREFIX)/share/authrelay
INSTALLED = $(SBINDIR)/authrelay $(MANDIR)/man8/authrelay.8 \
            $(MANDIR)/man5/authrelay.ini.5 $(CONFDIR)/authrelay.ini.example \
            $(SYSTEMDUNITDIR)/authrelay.service \
            $(F2BDIR)/filter.d/authrelay.conf $(F2BDIR)/jail.d/authrelay.conf \
            $(SHAREDIR)/authrelay-dashboard.json $(SHAREDIR)/authrelay-alerts.yml

# The unit names the daemon and the config where they are installed. The
# config directory is created 0755 if missing and otherwise left as it is
# (the package makes it root:authrelay 0750); authrelay.ini is the admin's.
install: $(B)/authrelay
	sed -e 's|@SBINDIR@|$(SBINDIR)|g' -e 's|@SYSCONFDIR@|$(SYSCONFDIR)|g' \
	  etc/authrelay.service.in > $(B)/authrelay.service
	install -d $(DESTDIR)$(SBINDIR) $(DESTDIR)$(MANDIR)/man8 \
	  $(DESTDIR)$(MANDIR)/man5 $(DESTDIR)$(SYSTEMDUNITDIR) \
	  $(DESTDIR)$(F2BDIR)/filter.d $(DESTDIR)$(F2BDIR)/jail.d \
	  $(DESTDIR)$(SHAREDIR)
	[ -d $(DESTDIR)$(CONFDIR) ] || install -d -m 0755 $(DESTDIR)$(CONFDIR)
	install -m 0755 $(B)/authrelay $(DESTDIR)$(SBINDIR)/authrelay
	install -m 0644 docs/authrelay.8 $(DESTDIR)$(MANDIR)/man8/authrelay.8
	install -m 0644 docs/authrelay.ini.5 \
	  $(DESTDIR)$(MANDIR)/man5/authrelay.ini.5
	install -m 0644 etc/authrelay.ini.example \
	  $(DESTDIR)$(CONFDIR)/authrelay.ini.example
	install -m 0644 $(B)/authrelay.service \
	  $(DESTDIR)$(SYSTEMDUNITDIR)/authrelay.service
	install -m 0644 etc/fail2ban/authrelay.conf \
	  $(DESTDIR)$(F2BDIR)/filter.d/authrelay.conf
	install -m 0644 etc/fail2ban/jail.d/authrelay.conf \
	  $(DESTDIR)$(F2BDIR)/jail.d/authrelay.conf
	install -m 0644 etc/grafana/authrelay-dashboard.json \
	  $(DESTDIR)$(SHAREDIR)/authrelay-dashboard.json
	install -m 0644 etc/prometheus/authrelay-alerts.yml \
	  $(DESTDIR)$(SHAREDIR)/authrelay-alerts.yml

# The config directory goes only if nothing else is left in it.
uninstall:
	rm -f $(addprefix $(DESTDIR),$(INSTALLED))
	rmdir $(DESTDIR)$(CONFDIR) 2>/dev/null || true
	rmdir $(DESTDIR)$(SHAREDIR) 2>/dev/null || true

# The package is built from a copy of the source files (tracked and
# untracked, not ignored) in build/deb-src, so that dpkg-buildpackage's
# clean and build leave build/ alone. The make variables of this make
# (PREFIX=... on its command line) must not reach debian/rules.
DEB_ARCH = $(shell dpkg --print-architecture 2>/dev/null)
DEB      = $(B)/authrelay_$(VERSION)_$(DEB_ARCH).deb
DEB_SRC  = $(B)/deb-src/authrelay-$(VERSION)
deb:
	@v=$$(dpkg-parsechangelog -S Version) && [ "$$v" = "$(VERSION)" ] || \
	  { echo "deb: debian/changelog has $$v, VERSION has $(VERSION)" >&2; \
	    exit 1; }
	rm -rf $(B)/deb-src $(DEB)
	mkdir -p $(DEB_SRC)
	git ls-files --cached --others --exclude-standard | \
	  while IFS= read -r f; do [ ! -e "$$f" ] || echo "$$f"; done | \
	  tar -cf - -T - | tar -xf - -C $(DEB_SRC)
	cd $(DEB_SRC) && env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL \
	  dpkg-buildpackage -us -uc -b -Jauto
	mv $(B)/deb-src/$(notdir $(DEB)) $(DEB)
	@echo "deb: $(DEB)"

package-check:
	sh tests/package/check.sh

# libFuzzer harnesses, one per parser of outside bytes (a client, the
# provider, the token endpoint, a file): every tests/fuzz/fuzz_NAME.c
# becomes build/fuzz_NAME, linked with a copy of the library built with
# clang's coverage and ASan+UBSan (build/fuzz/). Run one by hand with e.g.
# build/fuzz_reply -max_total_time=60 tests/fuzz/corpus/reply.
# make fuzz-smoke (part of make check) runs each for FUZZ_SECONDS from its
# seed corpus tests/fuzz/corpus/NAME, FUZZ_JOBS at a time
# (tests/fuzz/smoke.sh), and fails on any crash, leak, UB or timeout.
FUZZ_CC      = clang
FUZZ_CFLAGS  = -std=gnu11 -g -O1 -fno-omit-frame-pointer \
               -fsanitize=address,undefined -fno-sanitize-recover=all \
               -D_GNU_SOURCE -I. -DAUTHRELAY_VERSION='"$(VERSION)"'
FUZZ_SECONDS = 20
FUZZ_JOBS    = 2
FUZZ_NAMES   = $(patsubst tests/fuzz/fuzz_%.c,%,$(wildcard tests/fuzz/fuzz_*.c))
FUZZ_BINS    = $(addprefix $(B)/fuzz_,$(FUZZ_NAMES))
fuzz: $(FUZZ_BINS)
$(B)/fuzz/obj/%.o: %.c $(wildcard */*.h)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link $(PKG_CFLAGS) \
	  -c -o $@ $<
$(B)/fuzz/libauthrelay.a: $(patsubst %.c,$(B)/fuzz/obj/%.o,$(LIB_SRC))
	rm -f $@ && ar rcs $@ $^
$(B)/fuzz_%: tests/fuzz/fuzz_%.c $(B)/fuzz/libauthrelay.a $(wildcard */*.h)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer $(PKG_CFLAGS) $(LDFLAGS) \
	  -o $@ $< $(B)/fuzz/libauthrelay.a $(LIBS)
fuzz-smoke: $(FUZZ_BINS)
	sh tests/fuzz/smoke.sh $(B) $(FUZZ_SECONDS) $(FUZZ_JOBS) $(FUZZ_NAMES)

# The mock provider's own tests (it is the test oracle; not in make check).
mock-selftest: $(B)/mock-provider
	python3 tests/mock-provider/selftest.py $(B)/mock-provider

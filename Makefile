# mod_proxyguard
#
#   make            build build/.libs/mod_proxyguard.so (apxs, strict warnings)
#                   and the proxyguard program, build/proxyguard
#   make install    the module (apxs -i, into httpd's LIBEXECDIR), the program
#                   and its man pages (PREFIX=/usr/local; DESTDIR honoured)
#   make deps       install the Debian packages building needs
#   make test       unit tests + the integration suite under event, worker, prefork
#   make demo       a private httpd on 127.0.0.1:8080 answering real attack lines
#   make demo-stop  stop it
#   make screenshot refresh docs/status.png from a real browser
#   make fuzz       libFuzzer over the decision code (FUZZ_SECS=30)
#   make test-asan  the integration suite against an ASan+UBSan module
#   make soak       floods beside legitimate traffic (SOAK_SECS=10 per phase)
#   make test-valgrind  the integration suite under prefork in valgrind
#   make bench      timings, instruction counts and the scan benchmark
#                   (BENCH_SECS=10 BENCH_ROUNDS=5; docs/performance.md)
#   make mutants    the mutation check (about 10 min; MUTANTS=a,b for some)
#   make mutants-check  every mutant still applies (a second)
#   make deb        the Debian package, into build/deb/
#   make test-deb   lintian on it; install, enable, probe, disable, purge it;
#                   its autopkgtest (debian/tests) on this machine
#   make rpm        the RPM (rpm/mod_proxyguard.spec), into build/rpm/
#   make clean
#
# `make` and `make install` only build and copy.  The targets that need
# Debian packages (deps, test, demo, fuzz, bench, deb ...) install the
# missing ones (as root) through tools/deps.sh.

APXS     ?= apxs
APACHE2  ?= apache2
BUILD    := build
MODULE   := $(BUILD)/.libs/mod_proxyguard.so
SOURCES  := mod_proxyguard.c mod_proxyguard_config.c mod_proxyguard_table.c \
            mod_proxyguard_ban.c mod_proxyguard_store.c mod_proxyguard_agent.c \
            mod_proxyguard_status.c mod_proxyguard_backend.c \
            pg_decide.c pg_backend.c pg_table.c pg_record.c pg_ban.c pg_snapshot.c pg_addr.c \
            pg_status.c pg_out.c
HEADERS  := mod_proxyguard_private.h mod_proxyguard_config.h \
            mod_proxyguard_table.h mod_proxyguard_ban.h mod_proxyguard_store.h \
            mod_proxyguard_agent.h mod_proxyguard_status.h \
            mod_proxyguard_backend.h \
            pg_decide.h pg_backend.h pg_table.h pg_table_rows.h pg_ban.h pg_snapshot.h \
            pg_addr.h pg_status.h pg_out.h pg_version.h
TABLE_SOURCES := pg_table.c pg_record.c pg_ban.c pg_snapshot.c pg_addr.c
STRICT   := -Wall -Wextra -Werror -std=gnu99
comma    := ,
# The builder's flags (dpkg-buildflags' hardening, rpm's %optflags), for
# the module and the program alike, after STRICT so that they can add to
# it; unset, the program is built with -g -O2 (and the module with what
# apxs adds itself).
CFLAGS   ?= -g -O2
CPPFLAGS ?=
LDFLAGS  ?=

# What building, testing and the demo need on a fresh Debian 12.
DEB_BUILD := apache2-dev apache2-bin make gcc
DEB_TEST  := $(DEB_BUILD) media-types perl libapr1-dev libaprutil1-dev nodejs \
             prometheus chromium fonts-dejavu-core memcached redis-server fail2ban curl \
             libio-socket-ssl-perl openssl gdb lnav libyaml-libyaml-perl crowdsec \
             icinga2-bin nagios-nrpe-server nagios-nrpe-plugin nagios4-core \
             rpm rpmlint cpio
DEB_DEMO  := $(DEB_BUILD) perl

UNIT_TESTS := $(BUILD)/unit/test_decide $(BUILD)/unit/test_table

DEB_FUZZ  := clang libclang-rt-14-dev llvm libapr1-dev libaprutil1-dev
FUZZ_SECS ?= 30

ASAN_DIR    := $(BUILD)/asan
ASAN_MODULE := $(ASAN_DIR)/.libs/mod_proxyguard.so
SANITIZE    := -fsanitize=address,undefined -fno-omit-frame-pointer

# The proxyguard program (build/proxyguard): its sources and packages.
include cli/cli.mk
.DEFAULT_GOAL := all

# the program's own tests need what its fragments list, the demo what
# building it needs
DEB_TEST += $(CLI_DEB) $(CLI_TEST_DEB)
DEB_DEMO += $(CLI_DEB)

# make mutants, make mutants-check
include tools/mutants.mk

.PHONY: cli all install deps deps-build deps-test deps-demo deps-fuzz test unit demo demo-stop \
        screenshot fuzz test-asan test-valgrind soak bench deb test-deb rpm clean

all: $(MODULE) $(CLI)

PREFIX ?= /usr/local
BINDIR ?= $(PREFIX)/bin
MANDIR ?= $(PREFIX)/share/man
install: $(MODULE) $(CLI)
	install -d $(DESTDIR)$$($(APXS) -q LIBEXECDIR)
	$(APXS) -i -S LIBEXECDIR=$(DESTDIR)$$($(APXS) -q LIBEXECDIR) \
	    -n proxyguard $(BUILD)/mod_proxyguard.la
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(MANDIR)/man1
	install -m 755 $(CLI) $(DESTDIR)$(BINDIR)/proxyguard
	install -m 644 cli/man/*.1 $(DESTDIR)$(MANDIR)/man1/

deps: deps-build
deps-build:
	@./tools/deps.sh $(DEB_BUILD) $(CLI_DEB)
deps-test:
	@./tools/deps.sh $(DEB_TEST)
deps-demo:
	@./tools/deps.sh $(DEB_DEMO)
deps-fuzz:
	@./tools/deps.sh $(DEB_FUZZ)

$(MODULE): $(SOURCES) $(HEADERS)
	@mkdir -p $(BUILD)
	$(APXS) -c -o $(BUILD)/mod_proxyguard.la \
	    $(foreach f,$(STRICT) $(CPPFLAGS) $(CFLAGS),-Wc$(comma)$(f)) \
	    $(foreach f,$(LDFLAGS),-Wl$(comma)$(f)) $(SOURCES)

# Unit tests link the pure decision code directly, plus APR for the
# comparison with apr_uri_parse.
$(BUILD)/unit/test_decide: t/unit/test_decide.c t/unit/tap.h t/unit/readers.h pg_decide.c pg_backend.c $(HEADERS)
	@mkdir -p $(BUILD)/unit
	$(CC) $(STRICT) -g -O1 $$(apr-1-config --cppflags --includes) \
	    $$(apu-1-config --includes) -o $@ t/unit/test_decide.c pg_decide.c pg_backend.c \
	    $$(apu-1-config --link-ld) $$(apr-1-config --link-ld)

$(BUILD)/unit/test_table: t/unit/test_table.c t/unit/tap.h $(TABLE_SOURCES) pg_status.c pg_out.c pg_decide.c $(HEADERS)
	@mkdir -p $(BUILD)/unit
	$(CC) $(STRICT) -g -O1 $$(apr-1-config --cppflags --includes) \
	    -o $@ t/unit/test_table.c $(TABLE_SOURCES) pg_status.c pg_out.c pg_decide.c \
	    $$(apr-1-config --link-ld)

unit: deps-test $(UNIT_TESTS)
	prove $(UNIT_TESTS)

# One harness run: unit tests, then t/*.t under each MPM.
test: deps-test $(MODULE) $(CLI) $(UNIT_TESTS)
	PG_REQUIRE_TOOLS=1 perl t/run-suite.pl $(UNIT_TESTS)

# docs/status.png, from the browser test's screenshot of the status page.
screenshot: deps-test $(MODULE)
	PG_REQUIRE_TOOLS=1 prove -I t/lib t/13_browser.t
	cp $(BUILD)/status-event.png docs/status.png

# An ASan+UBSan copy of the module, built from a copy of the sources so
# that its objects never mix with the normal build's (apxs puts them
# beside the sources), and the whole suite against it in the real httpd.
$(ASAN_MODULE): $(SOURCES) $(HEADERS)
	@mkdir -p $(ASAN_DIR)/src
	cp $(SOURCES) $(HEADERS) $(ASAN_DIR)/src/
	cd $(ASAN_DIR)/src && $(APXS) -S CC=clang -c -o ../mod_proxyguard.la \
	    $(foreach f,$(STRICT) $(SANITIZE),-Wc$(comma)$(f)) $(SOURCES)

test-asan: deps-test deps-fuzz $(ASAN_MODULE)
	PG_ASAN=1 PG_MODULE_SO=$(abspath $(ASAN_MODULE)) PG_REQUIRE_TOOLS=1 \
	    perl t/run-suite.pl

# The integration suite under prefork with httpd in valgrind (memcheck).
test-valgrind: deps-test $(MODULE)
	@./tools/deps.sh valgrind
	PG_VALGRIND=1 PG_REQUIRE_TOOLS=1 perl t/run-suite.pl --mpm prefork

# Floods beside legitimate traffic under each MPM (t/soak/soak.t).
SOAK_SECS ?= 10
soak: deps-test $(MODULE)
	SOAK_SECS=$(SOAK_SECS) PG_REQUIRE_TOOLS=1 perl t/run-suite.pl --dir t/soak

# Stock httpd vs the module vs ModSecurity+CRS, the ban stores, floods and
# status readers (bench/bench.pl, timed); the module's instructions per
# request against stock's (bench/callgrind.pl); the program's scan against
# grep and GoAccess (bench/scan-bench.pl).  Results: docs/performance.md.
BENCH_SECS ?= 10
BENCH_ROUNDS ?= 5
bench: deps-test $(MODULE) $(CLI)
	@./tools/deps.sh wrk valgrind
	@./tools/deps.sh libapache2-mod-security2 modsecurity-crs || \
	    echo "ModSecurity+CRS could not be installed: that column will be skipped"
	BENCH_SECS=$(BENCH_SECS) BENCH_ROUNDS=$(BENCH_ROUNDS) perl bench/bench.pl
	perl bench/callgrind.pl
	@./tools/deps.sh goaccess time python3
	perl bench/scan-bench.pl

# The Debian package libapache2-mod-proxyguard (debian/, dh + dh_apache2),
# source and binary, into build/deb/; and its tests: lintian --pedantic
# prints nothing; install, a2enmod, a private httpd from the installed
# files, a probe, a2dismod, purge, nothing left behind; the autopkgtest
# (debian/tests) on this machine.
DEB_PKG := debhelper dpkg-dev fakeroot apache2-dev
deb:
	@./tools/deps.sh $(DEB_PKG)
	dpkg-buildpackage -us -uc
	@rm -rf $(BUILD)/deb && mkdir -p $(BUILD)/deb
	mv ../libapache2-mod-proxyguard*_*.deb ../libapache2-mod-proxyguard_*.buildinfo \
	    ../libapache2-mod-proxyguard_*.changes ../libapache2-mod-proxyguard_*.dsc \
	    ../libapache2-mod-proxyguard_*.tar.xz $(BUILD)/deb/
	@ls -l $(BUILD)/deb/

test-deb: deb
	@./tools/deps.sh apache2 perl lintian autopkgtest
	PG_REQUIRE_TOOLS=1 prove -v -I t/lib t/deb/lintian.t t/deb/deb.t t/deb/autopkgtest.t

# The RPM (rpm/mod_proxyguard.spec), built on this Debian machine as far as
# it allows (rpm/build.sh: rpmbuild -ba --nodeps), into build/rpm/; the
# suite's t/integrations/rpm.t checks it with rpmlint and rpm -qp.
rpm:
	@./tools/deps.sh rpm
	rpm/build.sh

# libFuzzer over the pure decision code (t/fuzz/), FUZZ_SECS seconds; the
# corpus grows in build/fuzz-corpus, crashes land in build/.
$(BUILD)/fuzz_decide: t/fuzz/fuzz_decide.c t/unit/readers.h pg_decide.c pg_decide.h pg_backend.c pg_backend.h
	@mkdir -p $(BUILD)
	clang $(STRICT) -g -O1 -fsanitize=fuzzer,address,undefined \
	    -fno-sanitize-recover=undefined $$(apr-1-config --cppflags --includes) \
	    $$(apu-1-config --includes) -o $@ t/fuzz/fuzz_decide.c pg_decide.c pg_backend.c \
	    $$(apu-1-config --link-ld) $$(apr-1-config --link-ld)

fuzz: deps-fuzz $(BUILD)/fuzz_decide
	@mkdir -p $(BUILD)/fuzz-corpus
	$(BUILD)/fuzz_decide -max_total_time=$(FUZZ_SECS) -max_len=4096 \
	    -print_final_stats=1 -artifact_prefix=$(BUILD)/ \
	    $(BUILD)/fuzz-corpus t/fuzz/seeds

demo: deps-demo $(MODULE) $(CLI)
	perl demo/demo.pl

demo-stop:
	perl demo/demo.pl --stop

clean:
	rm -rf $(BUILD) .libs *.lo *.slo *.la *.o

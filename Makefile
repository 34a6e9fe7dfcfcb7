# mod_proxyguard
#
#   make            build build/.libs/mod_proxyguard.so (apxs, strict warnings)
#   make test       unit tests + the integration suite under event, worker, prefork
#   make demo       a private httpd on 127.0.0.1:8080 answering real attack lines
#   make demo-stop  stop it
#   make screenshot refresh docs/status.png from a real browser
#   make clean
#
# Missing Debian packages are installed (as root) by tools/deps.sh.

APXS     ?= apxs
APACHE2  ?= apache2
BUILD    := build
MODULE   := $(BUILD)/.libs/mod_proxyguard.so
SOURCES  := mod_proxyguard.c pg_decide.c pg_table.c pg_status.c
HEADERS  := pg_decide.h pg_table.h pg_status.h
STRICT   := -Wall -Wextra -Werror -std=gnu99
comma    := ,

# What building, testing and the demo need on a fresh Debian 12.
DEB_BUILD := apache2-dev apache2-bin make gcc
DEB_TEST  := $(DEB_BUILD) media-types perl libapr1-dev libaprutil1-dev nodejs \
             prometheus chromium fonts-dejavu-core memcached redis-server
DEB_DEMO  := $(DEB_BUILD) perl

UNIT_TESTS := $(BUILD)/unit/test_decide $(BUILD)/unit/test_table

.PHONY: all deps-build deps-test deps-demo test unit demo demo-stop screenshot clean

all: deps-build $(MODULE)

deps-build:
	@./tools/deps.sh $(DEB_BUILD)
deps-test:
	@./tools/deps.sh $(DEB_TEST)
deps-demo:
	@./tools/deps.sh $(DEB_DEMO)

$(MODULE): $(SOURCES) $(HEADERS)
	@mkdir -p $(BUILD)
	$(APXS) -c -o $(BUILD)/mod_proxyguard.la $(foreach f,$(STRICT),-Wc$(comma)$(f)) $(SOURCES)

# Unit tests link the pure decision code directly, plus APR for the
# comparison with apr_uri_parse.
$(BUILD)/unit/test_decide: t/unit/test_decide.c t/unit/tap.h pg_decide.c $(HEADERS)
	@mkdir -p $(BUILD)/unit
	$(CC) $(STRICT) -g -O1 $$(apr-1-config --cppflags --includes) \
	    $$(apu-1-config --includes) -o $@ t/unit/test_decide.c pg_decide.c \
	    $$(apu-1-config --link-ld) $$(apr-1-config --link-ld)

$(BUILD)/unit/test_table: t/unit/test_table.c t/unit/tap.h pg_table.c pg_status.c pg_decide.c $(HEADERS)
	@mkdir -p $(BUILD)/unit
	$(CC) $(STRICT) -g -O1 $$(apr-1-config --cppflags --includes) \
	    -o $@ t/unit/test_table.c pg_table.c pg_status.c pg_decide.c \
	    $$(apr-1-config --link-ld)

unit: deps-test $(UNIT_TESTS)
	prove $(UNIT_TESTS)

# One harness run: unit tests, then t/*.t under each MPM.
test: deps-test $(MODULE) $(UNIT_TESTS)
	PG_REQUIRE_TOOLS=1 perl t/run-suite.pl $(UNIT_TESTS)

# docs/status.png, from the browser test's screenshot of the status page.
screenshot: deps-test $(MODULE)
	PG_REQUIRE_TOOLS=1 prove -I t/lib t/13_browser.t
	cp $(BUILD)/status-event.png docs/status.png

demo: deps-demo $(MODULE)
	perl demo/demo.pl

demo-stop:
	perl demo/demo.pl --stop

clean:
	rm -rf $(BUILD) .libs *.lo *.slo *.la *.o

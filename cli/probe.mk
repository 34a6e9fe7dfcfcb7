# proxyguard probe (cli/probe*.c): is this server an open proxy?  Included
# by cli/cli.mk.  nghttp2 carries the h2c probes (--h2c).
CLI_SOURCES  += cli/probe.c cli/probe_net.c cli/probe_canary.c cli/probe_mac.c \
                cli/probe_http.c cli/probe_matrix.c cli/probe_h2.c \
                cli/probe_verdict.c cli/probe_guard.c cli/probe_jread.c \
                cli/probe_report.c cli/probe_bounds.c
CLI_HEADERS  += cli/probe.h cli/probe_net.h cli/probe_canary.h cli/probe_mac.h \
                cli/probe_http.h cli/probe_matrix.h cli/probe_h2.h \
                cli/probe_verdict.h cli/probe_guard.h cli/probe_jread.h \
                cli/probe_report.h cli/probe_bounds.h pg_table.h pg_addr.h
CLI_LIBS     += -lnghttp2
CLI_DEB      += libnghttp2-dev
# the tests: forward proxies (mod_proxy*, mod_http2 come with apache2-bin),
# Squid, Perl's JSON::PP (perl-modules); iproute2 brings up loopback in
# the network namespace of --plugin's name-lookup test
CLI_TEST_DEB += squid apache2-bin perl iproute2

# The proxyguard program (cli/), included by the Makefile.  Each
# subcommand's fragment (cli/probe.mk, cli/scan.mk) adds its sources,
# libraries, Debian build packages and test packages to these lists.

CLI         := $(BUILD)/proxyguard
CLI_SOURCES := cli/proxyguard.c cli/cli_options.c pg_decide.c pg_out.c
CLI_HEADERS := cli/cli.h pg_decide.h pg_out.h pg_version.h
CLI_LIBS    := $$(apr-1-config --link-ld)
CLI_DEB     := libapr1-dev
CLI_TEST_DEB :=

-include cli/probe.mk cli/scan.mk

$(CLI): $(CLI_SOURCES) $(CLI_HEADERS)
	@mkdir -p $(BUILD)
	$(CC) $(STRICT) $(CPPFLAGS) $(CFLAGS) -I. -Icli $$(apr-1-config --cppflags --includes) \
	    -o $@ $(CLI_SOURCES) $(LDFLAGS) $(CLI_LIBS)

cli: $(CLI)

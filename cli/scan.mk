# proxyguard scan (cli/scan*.c): proxy abuse in existing access logs.
# Included by cli/cli.mk.  zlib reads .gz logs; the tests run the real
# nft, ipset, apache2 -t, headless Chromium, GNU time (peak RSS) and an
# nginx on loopback (its access log).

CLI_SOURCES  += cli/scan.c cli/scan_format.c cli/scan_log.c cli/scan_time.c \
                cli/scan_input.c cli/scan_filter.c cli/scan_vhosts.c \
                cli/scan_conf.c cli/scan_classify.c cli/scan_verdict.c \
                cli/scan_table.c cli/scan_report.c cli/scan_json.c \
                cli/scan_html.c cli/scan_emit.c
CLI_HEADERS  += cli/scan.h
CLI_LIBS     += -lz
CLI_DEB      += zlib1g-dev
CLI_TEST_DEB += nftables ipset chromium fonts-dejavu-core time apache2-bin \
                nginx-light

/* Licensed under the Apache License, Version 2.0 (the "License");
 * you may not use this file except in compliance with the License.
 * You may obtain a copy of the License at
 *
 *     http://www.apache.org/licenses/LICENSE-2.0
 *
 * Unless required by applicable law or agreed to in writing, software
 * distributed under the License is distributed on an "AS IS" BASIS,
 * WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
 * See the License for the specific language governing permissions and
 * limitations under the License.
 */

/*
 * probe.c: `proxyguard probe [options] [URL...]` -- is this server an open
 * proxy?  The Apache wiki's telnet test, automated, with proof: a canary
 * this program listens on is the destination of every probe, and a probe
 * counts as proxied only when its own token reaches the canary.
 *
 * Per target: the baseline (what its own content looks like), the canary,
 * the probes one at a time, the verdicts, then the output; the exit code is
 * the worst verdict (monitoring-plugin codes, cli.h).  See probe.h for the
 * parts and docs/probe.md for how it decides.
 */

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <apr_general.h>
#include <apr_strings.h>

#include "cli.h"
#include "pg_out.h"
#include "probe.h"
#include "probe_bounds.h"
#include "probe_canary.h"
#include "probe_guard.h"
#include "probe_jread.h"
#include "probe_matrix.h"
#include "probe_net.h"
#include "probe_report.h"
#include "probe_verdict.h"

#define PROBE_DEFAULT_URL "http://localhost/"
#define PROBE_TARGETS_MAX 64
#define PROBE_FINAL_GRACE apr_time_from_msec(300)

#define PROBE_USAGE_COLUMN 28

static const cli_option probe_options[] = {
    { "canary", 'c', 0, required_argument, "ADDR[:PORT]",
      "where the canary listens (default: our address\n"
      "on the connection to the target); HTTP on PORT,\n"
      "the SMTP-like listener on PORT+1 (default: any)", NULL },
    { "source", 's', 0, required_argument, "ADDR",
      "connect to targets from this local address", NULL },
    { "address", 'a', 0, required_argument, "ADDR",
      "connect to ADDR instead of the URL's host", NULL },
    { "timeout", 't', 0, required_argument, "SECS",
      "per request (default 5); with --plugin, the\n"
      "whole run (default 10), ending in UNKNOWN", NULL },
    { "max-time", 'T', 0, required_argument, "SECS",
      "the whole run (default 120); with --plugin,\n"
      "as -t (the shorter of the two wins)", NULL },
    { "status", 'S', 0, required_argument, "URL",
      "mod_proxyguard's status page on the target:\n"
      "what it counted, by reason", NULL },
    { "h2c", '2', 0, no_argument, NULL,
      "also probe over HTTP/2 cleartext (prior knowledge)", NULL },
    { "only", 'o', 0, required_argument, "NAME,...",
      "run only these probes (see --list)", NULL },
    { "list", 'l', 0, no_argument, NULL, "list the probes and exit", NULL },
    { "json", 'j', 0, no_argument, NULL,
      "one JSON object per target, one per line", NULL },
    { "plugin", 'p', 0, no_argument, NULL,
      "one monitoring-plugin line with performance data;\n"
      "--help, --version and --list then exit 3", NULL },
    { "verbose", 'v', 0, no_argument, NULL,
      "every reply's status line, not only notable ones", NULL },
    { "help", 'h', 0, no_argument, NULL, "this help", NULL },
    { "version", 'V', 0, no_argument, NULL, "the version", NULL },
    { NULL, 0, 0, 0, NULL, NULL, NULL }
};

static void probe_usage(FILE *to)
{
    fputs("usage: proxyguard probe [options] [URL...]   (default "
          PROBE_DEFAULT_URL ")\n"
          "\n"
          "Proves whether each target is an open proxy: every probe names a "
          "canary\n"
          "this program listens on, and counts as proxied only when its token\n"
          "reaches the canary through the target.\n"
          "\n", to);
    cli_options_usage(to, probe_options, PROBE_USAGE_COLUMN);
    fputs("\n"
          "Exit: 0 OK (every probe rejected), 1 WARNING (answered 2xx with its "
          "own\n"
          "content: not a proxy, but scanners will list it), 2 CRITICAL "
          "(proxied or\n"
          "tunneled: an open proxy, proven), 3 UNKNOWN (could not test, or a\n"
          "usage error; with --plugin also: the run's time ran out, or --help,\n"
          "--version, --list).\n",
          to);
}

static int probe_usage_error(const char *fmt, const char *arg)
{
    char msg[512];

    apr_snprintf(msg, sizeof(msg), fmt, arg);
    cli_error(PROBE_NAME, "%s (try 'proxyguard probe --help')", msg);
    return PROXYGUARD_EXIT_UNKNOWN;
}

/* Seconds, fractions allowed (0.5): through the one fractional reader.
 * At least a millisecond: a smaller value would truncate to 0, which reads
 * as "not given" and so as the default. */
static int probe_seconds(const char *arg, apr_interval_time_t *out)
{
    double v;

    if (!probe_parse_number(arg, &v) || !(v >= 0.001) || v > 86400) {
        return -1;
    }
    *out = (apr_interval_time_t)(v * APR_USEC_PER_SEC);
    return 0;
}

static void probe_list_probes(void)
{
    const probe_def *d;

    for (d = probe_defs; d->name; d++) {
        printf("%-20s %s\n", d->name, d->what);
    }
}

/* --help over --version over --list (0: none of them). */
static int probe_info_rank(int what)
{
    return what == 'h' ? 3 : what == 'V' ? 2 : what == 'l' ? 1 : 0;
}

/* --help, --version or --list, once every option is read: --plugin may
 * come after them, and a monitoring plugin exits UNKNOWN (3) when it
 * checked nothing, as the monitoring plugins' interface guidelines ask
 * (and their own plugins do); outside --plugin, 0 as any program.  --help
 * wins over the other two, as the guidelines ask it to win over every
 * option (a bad one is still reported: that, too, exits 3). */
static int probe_info(int what, const probe_opts *opts)
{
    if (what == 'h') {
        probe_usage(stdout);
    }
    else if (what == 'V') {
        printf("proxyguard %s\n", PG_VERSION);
    }
    else {
        probe_list_probes();
    }
    return opts->format == PROBE_FORMAT_PLUGIN ? PROXYGUARD_EXIT_UNKNOWN
                                               : PROXYGUARD_EXIT_DONE;
}

/* Options into opts; -1 after an error message, 1 when done (--help,
 * --list, --version), 0 to run. */
static int probe_parse_options(int argc, char **argv, apr_pool_t *p,
                               probe_opts *opts, int *exit_code)
{
    probe_addr check;
    probe_bounds given = { 0, 0 };
    const char *bad;
    cli_getopt g;
    int ch, info = 0;

    cli_options_getopt(probe_options, &g);
    opterr = 0;
    optind = 1;
    while ((ch = getopt_long(argc, argv, g.optstring, g.longopts, NULL))
           != -1) {
        switch (ch) {
        case 'c':
            if (probe_split_host_port(p, optarg, &opts->canary_host,
                                      &opts->canary_port)
                    < 0
                || probe_addr_numeric(opts->canary_host, 0, &check) < 0
                || opts->canary_port == 65535) {
                *exit_code = probe_usage_error(
                    "--canary %s: want ADDR or ADDR:PORT, ADDR an"
                    " IP address, PORT below 65535",
                    optarg);
                return -1;
            }
            break;
        case 's':
        case 'a':
            if (probe_addr_numeric(optarg, 0, &check) < 0) {
                *exit_code = probe_usage_error(
                    ch == 's' ? "--source %s: not an IP address"
                              : "--address %s: not an IP address",
                    optarg);
                return -1;
            }
            *(ch == 's' ? &opts->source : &opts->address) = optarg;
            break;
        case 't':
        case 'T':
            if (probe_seconds(optarg,
                              ch == 't' ? &given.timeout : &given.max_time)
                < 0) {
                *exit_code =
                    probe_usage_error("%s: not a number of seconds "
                                      "from 0.001 to 86400", optarg);
                return -1;
            }
            break;
        case 'S': opts->status_url = optarg; break;
        case '2': opts->h2c = 1; break;
        case 'o':
            if ((bad = probe_matrix_check_only(p, optarg)) != NULL) {
                *exit_code = probe_usage_error(
                    "--only: no probe '%s' (see --list)", bad);
                return -1;
            }
            opts->only = optarg;
            break;
        case 'h':
        case 'V':
        case 'l':
            info = probe_info_rank(ch) > probe_info_rank(info) ? ch : info;
            break;
        case 'j': opts->format = PROBE_FORMAT_JSON; break;
        case 'p': opts->format = PROBE_FORMAT_PLUGIN; break;
        case 'v': opts->verbose = 1; break;
        case ':':
            *exit_code = probe_usage_error("option %s needs an argument",
                                           argv[optind - 1]);
            return -1;
        default:
            *exit_code =
                probe_usage_error("unknown option %s", argv[optind - 1]);
            return -1;
        }
    }
    if (info) {
        *exit_code = probe_info(info, opts);
        return 1;
    }
    probe_bounds_apply(&given, opts);
    return 0;
}

/* The URL, its address (or --address) and the Host our requests carry. */
static void probe_target_init(probe_run *run, probe_target *t, const char *url)
{
    apr_pool_t *p = run->pool;
    const char *path, *why = NULL;
    int v6;

    memset(t, 0, sizeof(*t));
    t->url = url;
    if (probe_url_parse(p, url, &t->host, &t->port, &path) < 0) {
        t->error =
            "not an http://HOST[:PORT]/ URL (https targets are not probed:"
            " probe the plain HTTP port)";
        return;
    }
    v6 = strchr(t->host, ':') != NULL;
    t->hostport =
        apr_psprintf(p, "%s%s%s", v6 ? "[" : "", t->host, v6 ? "]" : "");
    if (t->port != 80) {
        t->hostport = apr_psprintf(p, "%s:%u", t->hostport, t->port);
    }
    if (run->opts->address) {
        probe_addr_numeric(run->opts->address, t->port, &t->addr);
    }
    else if (!probe_addr_resolve(t->host, t->port, &t->addr, 1, &why)) {
        t->error = apr_psprintf(p, "%s: %s", t->host, why);
        return;
    }
    probe_addr_text(&t->addr, 1, t->addr_text, sizeof(t->addr_text));
}

/* Listens where the target can reach us: --canary, else the address our
 * connection to it came from. */
static int probe_canary_up(probe_run *run, probe_target *t)
{
    const probe_opts *o = run->opts;
    probe_addr http, line;
    const char *why = NULL;

    if (o->canary_host) {
        probe_addr_numeric(o->canary_host, o->canary_port, &http);
    }
    else {
        http = t->local;
        probe_addr_set_port(&http, o->canary_port);
    }
    line = http;
    probe_addr_set_port(&line, o->canary_port ? o->canary_port + 1 : 0);
    run->canary = probe_canary_open(run->pool, &http, &line, &why);
    if (!run->canary) {
        t->error =
            apr_psprintf(run->pool, "cannot listen for the canary on %s: %s",
                         probe_addr_text(&http, 1, t->canary_text[0],
                                         sizeof(t->canary_text[0])),
                         why);
        t->canary_text[0][0] = '\0';
        return -1;
    }
    probe_addr_text(probe_canary_addr(run->canary, PROBE_LISTENER_HTTP), 1,
                    t->canary_text[PROBE_LISTENER_HTTP], PROBE_ADDR_TEXT);
    probe_addr_text(probe_canary_addr(run->canary, PROBE_LISTENER_LINE), 1,
                    t->canary_text[PROBE_LISTENER_LINE], PROBE_ADDR_TEXT);
    return 0;
}

static void probe_progress(const probe_target *t, int i)
{
    if (!isatty(STDERR_FILENO) || !isatty(STDOUT_FILENO)) {
        return;
    }
    if (i < 0) {
        fputs("\r\033[K", stderr);
    }
    else {
        fprintf(stderr, "\r\033[Kprobing: %d/%d %s", i + 1, t->n_probes,
                t->probes[i].def->name);
    }
    fflush(stderr);
}

static void probe_run_probes(probe_run *run, probe_target *t)
{
    apr_time_t grace;
    int i;

    for (i = 0; i < t->n_probes; i++) {
        probe_item *pr = &t->probes[i];

        if (apr_time_now() >= run->deadline) {
            pr->request = pr->def->name;
            pr->reply.error = apr_psprintf(
                run->pool, "not run: the run's time bound (%s) was reached",
                run->opts->max_time_from);
            continue;
        }
        probe_progress(t, i);
        probe_matrix_run(run, t, pr);
        probe_bounds_note(run, "probe %s of %s", pr->def->name, t->url);
    }
    probe_progress(t, -1);
    /* late tokens still count: each names its probe */
    grace = apr_time_now() + PROBE_FINAL_GRACE;
    probe_net_pump(run->canary, grace < run->deadline ? grace : run->deadline);
    probe_bounds_note(run, "the wait for late canary tokens from %s", t->url);
    for (i = 0; i < t->n_probes; i++) {
        probe_verdict_probe(run, t, &t->probes[i]);
    }
}

static void probe_run_baseline_and_probes(probe_run *run, probe_target *t,
                                          probe_guard_state *guard)
{
    int based = probe_matrix_baseline(run, t) == 0;

    probe_bounds_note(run, "the baseline of %s", t->url);
    if (!based || probe_canary_up(run, t) < 0) {
        return;
    }
    probe_matrix_plan(run, t);
    probe_run_probes(run, t);
    if (guard) {
        probe_guard_after(run, guard, t);
        probe_bounds_note(run, "reading %s", run->opts->status_url);
    }
    probe_canary_close(run->canary);
    run->canary = NULL;
}

static void probe_run_target(probe_run *run, probe_target *t)
{
    probe_guard_state *guard = NULL;

    t->started = apr_time_now();
    if (!t->error && t->started >= run->deadline) {
        t->error = apr_psprintf(run->pool,
                                "not tested: the run's time bound (%s) was"
                                " reached",
                                run->opts->max_time_from);
    }
    if (!t->error && run->opts->status_url) {
        const char *why = NULL;

        guard = probe_guard_open(run, run->opts->status_url, t, &why);
        if (!guard) {
            t->guard = apr_pcalloc(run->pool, sizeof(*t->guard));
            t->guard->url = run->opts->status_url;
            t->guard->error = why;
        }
        else {
            probe_guard_before(run, guard);
            probe_bounds_note(run, "reading %s", run->opts->status_url);
        }
    }
    if (!t->error) {
        probe_run_baseline_and_probes(run, t, guard);
    }
    probe_verdict_target(t);
    t->seconds = (double)(apr_time_now() - t->started) / APR_USEC_PER_SEC;
}

int probe_main(int argc, char **argv)
{
    probe_opts opts;
    probe_run run;
    probe_target *targets;
    pg_out out = { pg_write_stdio, stdout };
    apr_pool_t *pool;
    apr_time_t start = apr_time_now();
    int exit_code = PROXYGUARD_EXIT_OK, n, i;

    if (apr_initialize() != APR_SUCCESS
        || apr_pool_create(&pool, NULL) != APR_SUCCESS) {
        cli_error(PROBE_NAME, "cannot initialise APR");
        return PROXYGUARD_EXIT_UNKNOWN;
    }
    memset(&opts, 0, sizeof(opts));
    if (probe_parse_options(argc, argv, pool, &opts, &exit_code) != 0) {
        apr_terminate();
        return exit_code;
    }
    n = argc - optind;
    if (n > PROBE_TARGETS_MAX) {
        apr_terminate();
        return probe_usage_error("at most %s targets in one run", "64");
    }
    memset(&run, 0, sizeof(run));
    run.pool = pool;
    run.opts = &opts;
    run.deadline = start + opts.max_time;
    if (opts.format == PROBE_FORMAT_PLUGIN) {
        probe_bounds_backstop_arm(&opts);
    }
    if (opts.source) {
        probe_addr_numeric(opts.source, 0, &run.source);
    }
    targets = apr_pcalloc(pool, sizeof(*targets) * (apr_size_t)(n ? n : 1));
    for (i = 0; i < (n ? n : 1); i++) {
        probe_target_init(&run, &targets[i],
                          n ? argv[optind + i] : PROBE_DEFAULT_URL);
        probe_bounds_note(&run, "resolving %s", targets[i].url);
        probe_run_target(&run, &targets[i]);
        exit_code =
            i ? probe_exit_worse(exit_code, targets[i].exit) : targets[i].exit;
        if (opts.format == PROBE_FORMAT_TABLE) {
            pg_puts(&out, i ? "\n" : "");
            probe_report_table(&out, pool, &run, &targets[i]);
        }
        else if (opts.format == PROBE_FORMAT_JSON) {
            probe_report_json(&out, pool, &run, &targets[i]);
        }
        fflush(stdout);
    }
    if (opts.format == PROBE_FORMAT_PLUGIN) {
        probe_bounds_backstop_disarm();
        if (run.expired_in) {
            exit_code = probe_bounds_expired_exit(exit_code);
        }
        probe_report_plugin(&out, pool, &run, targets, n ? n : 1, exit_code,
                            (double)(apr_time_now() - start)
                                / APR_USEC_PER_SEC);
    }
    fflush(stdout);
    apr_pool_destroy(pool);
    apr_terminate();
    return exit_code;
}

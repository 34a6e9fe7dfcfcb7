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
 * scan.c: `proxyguard scan [options] FILE...`: what already happened.
 *
 * Reads access logs (plain, gzip, standard input; rotated sets oldest
 * first), sends every request line through the module's pg_decide(), and
 * says who probed the server as a proxy, from which networks, and whether
 * it worked.  Options and outputs: docs/scan.md, proxyguard-scan(1).
 *
 * This file holds the options and the loop; scan.h lists the others.  The
 * loop does as little as possible per ordinary line: split the line only
 * up to the last field scan uses, classify, and for a 2xx/3xx answer
 * remember its path and size.  Everything else happens for hits only.
 */

#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include <apr_general.h>

#include "cli.h"
#include "scan.h"

typedef enum scan_output {
    SCAN_OUT_REPORT = 0,
    SCAN_OUT_JSON,
    SCAN_OUT_EMIT,
    SCAN_OUT_LINES
} scan_output;

typedef struct scan_opts {
    const char *format;         /* NULL: each file's found from its lines */
    scan_output output;
    scan_emit_kind emit;
    const char *html;
    int progress;               /* -1: when stderr is a terminal */
    int as_given;
    uint32_t table_size;
    size_t top;
    unsigned min_hits;
    unsigned min_hosts;
    const char *set_name;
    int run_apachectl;
    const char *httpd_config;
    const char **vhosts_from;
    size_t n_vhosts_from;
} scan_opts;

typedef struct scan_progress {
    int on;
    struct timespec last;
    uint64_t lines_at_check;
} scan_progress;

static scan_format scan_the_format;

/* ------------------------------------------------------------------ */
/* Options and usage                                                    */

enum {
    SCAN_OPT_HTTPD_CONFIG = 256, SCAN_OPT_VHOSTS_FROM, SCAN_OPT_PORT,
    SCAN_OPT_HTTPS_PORTS, SCAN_OPT_MIN_HITS, SCAN_OPT_MIN_HOSTS,
    SCAN_OPT_SET_NAME, SCAN_OPT_LINES, SCAN_OPT_HTML, SCAN_OPT_AS_GIVEN,
    SCAN_OPT_TABLE_SIZE, SCAN_OPT_PROGRESS, SCAN_OPT_NO_PROGRESS,
    SCAN_OPT_SINCE, SCAN_OPT_UNTIL, SCAN_OPT_EXCLUDE
};

/* The presets' names, under --format's help. */
static void scan_usage_presets(FILE *to)
{
    size_t i;

    for (i = 0; scan_format_preset_name(i); i++) {
        fprintf(to, "%s%s", i ? " " : "", scan_format_preset_name(i));
    }
}

#define SCAN_USAGE_COLUMN 25

static const cli_option scan_options[] = {
    { NULL, 0, 0, 0, NULL, "Log format:\n", NULL },
    { "format", 'f', 0, required_argument, "FMT",
      "a LogFormat string or a preset (default: each\n"
      "file's preset, found from its first lines):", scan_usage_presets },
    { NULL, 0, 0, 0, NULL,
      "Our names (a Host or URI naming none of them is foreign):\n", NULL },
    { "host", 'H', 0, required_argument, "NAME",
      "a name of ours, on every vhost; * and ? as in\n"
      "ServerAlias (repeatable)", NULL },
    { "apachectl", 'S', 0, no_argument, NULL,
      "ask httpd: run `apache2ctl -S` ($APACHE2CTL)", NULL },
    { "httpd-config", 0, SCAN_OPT_HTTPD_CONFIG, required_argument, "CONF",
      "run `apache2 -f CONF -S` ($APACHE2)", NULL },
    { "vhosts-from", 0, SCAN_OPT_VHOSTS_FROM, required_argument, "FILE",
      "read saved `apache2ctl -S` output (repeatable)", NULL },
    { NULL, 0, 0, 0, NULL,
      "  (with %v in the format, each line is judged by its own vhost's "
      "names)\n"
      "The connection, when the format does not log it:\n", NULL },
    { "port", 0, SCAN_OPT_PORT, required_argument, "N",
      "the local port (default 80; %{local}p, %p win)", NULL },
    { "https-ports", 0, SCAN_OPT_HTTPS_PORTS, required_argument, "LIST",
      "local ports that are TLS (default 443;\n%{HTTPS}e wins)", NULL },
    { NULL, 0, 0, 0, NULL, "Output (one of them on standard output; the "
      "readable report by default):\n", NULL },
    { "json", 'j', 0, no_argument, NULL,
      "JSON (names and fields: docs/scan.md)", NULL },
    { "emit", 'e', 0, required_argument, "KIND",
      "block rules: apache, nftables or ipset", NULL },
    { "min-hits", 0, SCAN_OPT_MIN_HITS, required_argument, "N",
      "... for networks and clients with N hits (50)", NULL },
    { "min-hosts", 0, SCAN_OPT_MIN_HOSTS, required_argument, "N",
      "... and networks with N hosts (30)", NULL },
    { "set-name", 0, SCAN_OPT_SET_NAME, required_argument, "NAME",
      "... the nftables/ipset set name (proxyguard)", NULL },
    { "lines", 0, SCAN_OPT_LINES, no_argument, NULL,
      "one line per log line: where, reason, verdict,\n"
      "rule, status, client, request", NULL },
    { "html", 0, SCAN_OPT_HTML, required_argument, "FILE",
      "also write a self-contained HTML report to FILE", NULL },
    { "top", 'n', 0, required_argument, "N",
      "clients, networks, hosts listed (20; 0: all)", NULL },
    { NULL, 0, 0, 0, NULL, "Reading:\n", NULL },
    { "since", 0, SCAN_OPT_SINCE, required_argument, "TIME",
      "lines from TIME on (2024-01-31, 2024-01-31T18:00,\n"
      "+08:00 or Z for one instant; else each line's clock)", NULL },
    { "until", 0, SCAN_OPT_UNTIL, required_argument, "TIME",
      "lines up to the end of TIME", NULL },
    { "exclude", 0, SCAN_OPT_EXCLUDE, required_argument, "CIDR",
      "skip these clients: your monitoring (repeatable)", NULL },
    { "as-given", 0, SCAN_OPT_AS_GIVEN, no_argument, NULL,
      "read the files in the order given", NULL },
    { "table-size", 0, SCAN_OPT_TABLE_SIZE, required_argument, "N",
      "client and network rows kept (131072)", NULL },
    { "progress", 0, SCAN_OPT_PROGRESS, no_argument, NULL,
      "on standard error (default: if a tty)", NULL },
    { "no-progress", 0, SCAN_OPT_NO_PROGRESS, no_argument, NULL, NULL, NULL },
    { "help", 'h', 0, no_argument, NULL, "this help", NULL },
    { "version", 'V', 0, no_argument, NULL, "the version", NULL },
    { NULL, 0, 0, 0, NULL, NULL, NULL }
};

static void scan_usage(FILE *to)
{
    fputs("usage: proxyguard scan [options] FILE...\n"
          "Proxy abuse in existing access logs: CONNECT, absolute URIs for\n"
          "foreign hosts, unknown Host names; who, from which networks, and\n"
          "whether it worked.  FILE '-' is standard input; gzip is read\n"
          "transparently; rotated sets (access.log.2.gz access.log.1\n"
          "access.log) are read oldest first.\n\n", to);
    cli_options_usage(to, scan_options, SCAN_USAGE_COLUMN);
    fputs("Exit status: 0 done, 2 usage error, 3 a file could not be read, or\n"
          "most of a file's lines are not in its format.\n", to);
}

/* A whole number from lo to hi (pg_parse_uint: digits only), or -1. */
static long scan_number_arg(const char *s, long lo, long hi)
{
    unsigned long v;

    if (!pg_parse_uint(s, strlen(s), (unsigned long)hi, &v)
        || v < (unsigned long)lo) {
        return -1;
    }
    return (long)v;
}

static int scan_usage_error(const char *what, const char *arg)
{
    cli_error(SCAN_NAME, "%s%s%s%s (try 'proxyguard scan --help')", what,
              arg ? " '" : "", arg ? arg : "", arg ? "'" : "");
    return PROXYGUARD_EXIT_USAGE;
}

/* "--since '2024-13-01': wants an ISO date ..." */
static int scan_bad_arg(const char *option, const char *arg, const char *why)
{
    cli_error(SCAN_NAME, "%s '%s': %s (try 'proxyguard scan --help')", option,
              arg, why);
    return PROXYGUARD_EXIT_USAGE;
}

static int scan_set_output(scan_opts *o, scan_output out)
{
    if (o->output != SCAN_OUT_REPORT && o->output != out) {
        return 0;
    }
    o->output = out;
    return 1;
}

static int scan_parse_https_ports(scan_config *cfg, const char *arg)
{
    char buf[256];
    char *save = NULL, *tok;

    if (strlen(arg) >= sizeof(buf)) {
        return 0;
    }
    strcpy(buf, arg);
    cfg->n_https_ports = 0;
    for (tok = strtok_r(buf, ",", &save); tok;
         tok = strtok_r(NULL, ",", &save)) {
        long port = scan_number_arg(tok, 1, 65535);

        if (port < 0
            || cfg->n_https_ports
                   == sizeof(cfg->https_ports) / sizeof(cfg->https_ports[0])) {
            return 0;
        }
        cfg->https_ports[cfg->n_https_ports++] = (unsigned)port;
    }
    return 1;
}

static scan_emit_kind scan_emit_kind_of(const char *s)
{
    return !strcmp(s, "apache") ? SCAN_EMIT_APACHE
         : !strcmp(s, "nftables") ? SCAN_EMIT_NFTABLES
         : !strcmp(s, "ipset") ? SCAN_EMIT_IPSET : SCAN_EMIT_NONE;
}

/* ipset and nftables names: letters, digits, '_' and '-', 1-24 bytes so
 * that the "4"/"6" suffix stays under ipset's 31. */
static int scan_valid_set_name(const char *s)
{
    size_t i, n = strlen(s);

    if (n == 0 || n > 24 || !((s[0] >= 'a' && s[0] <= 'z')
                              || (s[0] >= 'A' && s[0] <= 'Z'))) {
        return 0;
    }
    for (i = 0; i < n; i++) {
        char c = s[i];

        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
              || (c >= '0' && c <= '9') || c == '_' || c == '-')) {
            return 0;
        }
    }
    return 1;
}

/* Returns -1 to go on, else the exit status. */
static int scan_parse_options(int argc, char **argv, scan_opts *o,
                              scan_config *cfg)
{
    int c;
    long n;
    const char *err;
    cli_getopt g;

    cli_options_getopt(scan_options, &g);
    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, g.optstring, g.longopts, NULL))
           != -1) {
        switch (c) {
        case 'f': o->format = optarg; break;
        case 'H':
            if ((err = scan_vhosts_add_host(cfg->vhosts, optarg)) != NULL) {
                return scan_usage_error(err, optarg);
            }
            break;
        case 'S': o->run_apachectl = 1; break;
        case SCAN_OPT_HTTPD_CONFIG: o->httpd_config = optarg; break;
        case SCAN_OPT_VHOSTS_FROM:
            o->vhosts_from[o->n_vhosts_from++] = optarg;
            break;
        case SCAN_OPT_PORT:
            if ((n = scan_number_arg(optarg, 1, 65535)) < 0) {
                return scan_usage_error(
                    "--port wants a port from 1 to 65535, not", optarg);
            }
            cfg->default_port = (unsigned)n;
            break;
        case SCAN_OPT_HTTPS_PORTS:
            if (!scan_parse_https_ports(cfg, optarg)) {
                return scan_usage_error("--https-ports wants ports (1-65535) "
                                        "separated by commas, not",
                                        optarg);
            }
            break;
        case 'j':
            if (!scan_set_output(o, SCAN_OUT_JSON)) {
                return scan_usage_error("--json, --emit and --lines exclude "
                                        "each other",
                                        NULL);
            }
            break;
        case 'e':
            if ((o->emit = scan_emit_kind_of(optarg)) == SCAN_EMIT_NONE) {
                return scan_usage_error(
                    "--emit wants apache, nftables or ipset, "
                    "not",
                    optarg);
            }
            if (!scan_set_output(o, SCAN_OUT_EMIT)) {
                return scan_usage_error("--json, --emit and --lines exclude "
                                        "each other",
                                        NULL);
            }
            break;
        case SCAN_OPT_LINES:
            if (!scan_set_output(o, SCAN_OUT_LINES)) {
                return scan_usage_error("--json, --emit and --lines exclude "
                                        "each other",
                                        NULL);
            }
            break;
        case SCAN_OPT_MIN_HITS:
        case SCAN_OPT_MIN_HOSTS:
            if ((n = scan_number_arg(optarg, 1, 1000000000)) < 0) {
                return scan_usage_error("--min-hits and --min-hosts want a "
                                        "number from 1, not",
                                        optarg);
            }
            *(c == SCAN_OPT_MIN_HITS ? &o->min_hits : &o->min_hosts) =
                (unsigned)n;
            break;
        case SCAN_OPT_SET_NAME:
            if (!scan_valid_set_name(optarg)) {
                return scan_usage_error(
                    "--set-name wants 1-24 letters, digits, "
                    "'_' or '-' starting with a letter, not",
                    optarg);
            }
            o->set_name = optarg;
            break;
        case SCAN_OPT_HTML: o->html = optarg; break;
        case 'n':
            if ((n = scan_number_arg(optarg, 0, 100000000)) < 0) {
                return scan_usage_error("--top wants a number (0: all), not",
                                        optarg);
            }
            o->top = (size_t)n;
            break;
        case SCAN_OPT_AS_GIVEN: o->as_given = 1; break;
        case SCAN_OPT_TABLE_SIZE:
            if ((n = scan_number_arg(optarg, SCAN_TABLE_MIN, SCAN_TABLE_MAX))
                < 0) {
                return scan_usage_error(
                    "--table-size wants a number from 64 to "
                    "1048576, not",
                    optarg);
            }
            o->table_size = (uint32_t)n;
            break;
        case SCAN_OPT_PROGRESS: o->progress = 1; break;
        case SCAN_OPT_SINCE:
        case SCAN_OPT_UNTIL:
            if ((err =
                     scan_bound_parse(optarg, c == SCAN_OPT_UNTIL,
                                      c == SCAN_OPT_UNTIL ? &cfg->filter.until
                                                          : &cfg->filter.since))
                != NULL) {
                return scan_bad_arg(c == SCAN_OPT_UNTIL ? "--until" : "--since",
                                    optarg, err);
            }
            *(c == SCAN_OPT_UNTIL ? &cfg->filter.has_until
                                : &cfg->filter.has_since) = 1;
            break;
        case SCAN_OPT_EXCLUDE:
            if (cfg->filter.n_exclude == SCAN_EXCLUDE_MAX) {
                return scan_usage_error("--exclude: at most 64 networks", NULL);
            }
            if ((err = scan_cidr_parse(
                     optarg, &cfg->filter.exclude[cfg->filter.n_exclude]))
                != NULL) {
                return scan_bad_arg("--exclude", optarg, err);
            }
            cfg->filter.n_exclude++;
            break;
        case SCAN_OPT_NO_PROGRESS: o->progress = 0; break;
        case 'h':
            scan_usage(stdout);
            return PROXYGUARD_EXIT_DONE;
        case 'V':
            printf("proxyguard scan %s\n", PG_VERSION);
            return PROXYGUARD_EXIT_DONE;
        case ':':
            return scan_usage_error("an option needs an argument:",
                                    argv[optind - 1]);
        default:
            return scan_usage_error("unknown option", argv[optind - 1]);
        }
    }
    if (o->html && !strcmp(o->html, "-") && o->output != SCAN_OUT_REPORT) {
        return scan_usage_error("--html - takes standard output: not with "
                                "--json, --emit or --lines",
                                NULL);
    }
    if (optind >= argc) {
        return scan_usage_error("no log file given ('-' reads standard input)",
                                NULL);
    }
    if (o->format
        && (err = scan_format_compile(&scan_the_format, o->format)) != NULL) {
        return scan_usage_error(err, o->format);
    }
    return -1;
}

/* ------------------------------------------------------------------ */
/* Our names from httpd                                                 */

static const char *scan_env_or(const char *name, const char *fallback)
{
    const char *v = getenv(name);

    return v && *v ? v : fallback;
}

static void scan_warn(void *baton, const char *message)
{
    (void)baton;
    cli_error(SCAN_NAME, "%s", message);
}

static int scan_load_vhosts(const scan_opts *o, scan_vhosts *v)
{
    char msg[512];
    const char *err;
    size_t i;

    if (o->run_apachectl) {
        char *argv[] = { (char *)scan_env_or("APACHE2CTL", "apache2ctl"), "-S",
                         NULL };

        if ((err = scan_vhosts_run(v, argv, msg, sizeof(msg))) != NULL) {
            cli_error(SCAN_NAME, "%s", err);
            return 0;
        }
    }
    if (o->httpd_config) {
        /* apache2 reads a relative -f under its compiled-in ServerRoot */
        char *conf = realpath(o->httpd_config, NULL);
        char *argv[] = { (char *)scan_env_or("APACHE2", "apache2"), "-f",
                         conf ? conf : (char *)o->httpd_config, "-S", NULL };

        err = scan_vhosts_run(v, argv, msg, sizeof(msg));
        free(conf);
        if (err != NULL) {
            cli_error(SCAN_NAME, "%s", err);
            return 0;
        }
    }
    for (i = 0; i < o->n_vhosts_from; i++) {
        scan_input *in = scan_input_open(o->vhosts_from[i], &err);
        const char *line;
        size_t len;
        int cut;

        if (in == NULL) {
            cli_error(SCAN_NAME, "%s: %s", o->vhosts_from[i], err);
            return 0;
        }
        while ((line = scan_input_line(in, &len, &cut)) != NULL) {
            scan_vhosts_parse(v, line, len);
        }
        scan_input_close(in);
    }
    scan_vhosts_read_aliases(v, scan_warn, NULL);
    return 1;
}

/* ------------------------------------------------------------------ */
/* Progress, on a terminal                                              */

static double scan_elapsed(const struct timespec *a, const struct timespec *b)
{
    return (double)(b->tv_sec - a->tv_sec) + (b->tv_nsec - a->tv_nsec) / 1e9;
}

static void scan_progress_show(scan_progress *p, const char *file,
                               scan_input *in, uint64_t lines, uint64_t hits)
{
    struct timespec now;
    uint64_t size = scan_input_size(in);

    clock_gettime(CLOCK_MONOTONIC, &now);
    if (scan_elapsed(&p->last, &now) < 0.25) {
        return;
    }
    p->last = now;
    fputs("\rproxyguard scan: ", stderr);
    scan_put_text(stderr, file, 40);
    if (size) {
        fprintf(stderr, " %3.0f%%",
                100.0 * (double)scan_input_pos(in) / (double)size);
    }
    fprintf(stderr, ", %llu lines, %llu hits\033[K", (unsigned long long)lines,
            (unsigned long long)hits);
}

static void scan_progress_done(scan_progress *p)
{
    if (p->on) {
        fputs("\r\033[K", stderr);
    }
}

/* ------------------------------------------------------------------ */
/* The loop                                                             */

/* How many of a file's unparsed lines are tried against every preset, to
 * name the one that would have read them. */
#define SCAN_HINT_LINES 1000

typedef struct scan_state {
    const scan_opts *opts;
    const scan_config *cfg;
    const scan_format *given;         /* --format, else NULL */
    const scan_format *format;        /* the current file's */
    const scan_format_item *time_item;
    scan_tables *tables;
    scan_results *res;
    scan_progress progress;
    uint64_t hits;
    int filtering;                  /* --since, --until or --exclude */
    /* the current file */
    uint64_t file_lines, file_unparsed;
    uint64_t hint_tried;
    uint64_t hint_read[SCAN_FORMAT_PRESETS_MAX];
} scan_state;

static const scan_format_item *scan_time_item(const scan_format *f)
{
    size_t i;

    for (i = 0; i < f->n_items; i++) {
        if (!f->items[i].literal && f->items[i].field == SCAN_F_TIME) {
            return &f->items[i];
        }
    }
    return NULL;
}

/* --lines: one tab-separated line per log line: where, reason, verdict,
 * rule, status, client, request ("-" where a field has no value). */
static void scan_print_line(const char *file, uint64_t n, const char *reason,
                            scan_rule rule, const scan_classified *c,
                            pg_span client)
{
    scan_put_text(stdout, file, 0);
    printf(":%llu\t%s", (unsigned long long)n, reason);
    if (rule < SCAN_RULE_COUNT) {
        printf("\t%s\t%s", scan_verdict_name(scan_rule_verdict(rule)),
               scan_rule_name(rule));
    }
    else {
        fputs("\t-\t-", stdout);
    }
    if (c == NULL) {
        fputs("\t-\t-\t-\n", stdout);
        return;
    }
    if (c->status >= 0) {
        printf("\t%d\t", c->status);
    }
    else {
        fputs("\t-\t", stdout);
    }
    scan_put_span(stdout, client.ptr ? client : (pg_span){ "-", 1 });
    fputc('\t', stdout);
    scan_put_span(stdout, c->method);
    if (c->target.ptr) {
        fputc(' ', stdout);
        scan_put_span(stdout, c->target);
    }
    fputc('\n', stdout);
}

static pg_span scan_client_of(const scan_line_fields *lf)
{
    return lf->f[SCAN_F_CLIENT].ptr ? lf->f[SCAN_F_CLIENT]
                                  : lf->f[SCAN_F_REMOTE_HOST];
}

/* What %{PROXYGUARD}e says, against scan's reason. */
static void scan_compare_module(scan_state *s, const scan_line_fields *lf,
                                pg_reason reason)
{
    pg_span m = lf->f[SCAN_F_PROXYGUARD];
    const char *name = pg_reason_name(reason);

    if (m.ptr == NULL || (m.len == 1 && m.ptr[0] == '-')) {
        if (reason != PG_REASON_NONE) {
            s->res->module_disagree++;
        }
        return;
    }
    s->res->module_hits++;
    if (strlen(name) != m.len || memcmp(name, m.ptr, m.len) != 0) {
        s->res->module_disagree++;
    }
}

/* "FILE:LINE", a long file name cut at its start: its end names it. */
static void scan_where(char *buf, size_t size, const char *file, uint64_t n)
{
    const char *tail = scan_tail(file, 40);

    snprintf(buf, size, "%s%s:%llu", tail == file ? "" : "...", tail,
             (unsigned long long)n);
}

/* An unparsed line: which presets would have read it. */
static void scan_hint_unparsed(scan_state *s, const char *line, size_t len)
{
    const scan_format *presets;
    size_t i, n = scan_format_presets(&presets);
    scan_line_fields lf;

    if (s->hint_tried >= SCAN_HINT_LINES) {
        return;
    }
    s->hint_tried++;
    for (i = 0; i < n && i < SCAN_FORMAT_PRESETS_MAX; i++) {
        if (&presets[i] != s->format
            && scan_format_split(&presets[i], line, len, &lf)) {
            s->hint_read[i]++;
        }
    }
}

static void scan_unparsed(scan_state *s, const char *file, uint64_t n,
                          const char *line, size_t len)
{
    char where[64];

    s->res->unparsed++;
    s->file_unparsed++;
    scan_hint_unparsed(s, line, len);
    scan_where(where, sizeof(where), file, n);
    scan_tables_unparsed(s->tables, where, line, len);
    if (s->opts->output == SCAN_OUT_LINES) {
        scan_print_line(file, n, "unparsed", SCAN_RULE_COUNT, NULL,
                        (pg_span){ NULL, 0 });
    }
}

/* --since, --until, --exclude: is the line read at all?  *when is its
 * time, parsed here when the window needs it. */
static int scan_selected(scan_state *s, const scan_line_fields *lf,
                         scan_time *when, int *have_time)
{
    const scan_filter *f = &s->cfg->filter;

    if (f->n_exclude && scan_filter_excludes(f, scan_client_of(lf))) {
        s->res->excluded++;
        return 0;
    }
    if (!f->has_since && !f->has_until) {
        return 1;
    }
    *have_time = 1;
    if (!s->time_item
        || !scan_time_parse(s->time_item->time_kind, s->time_item->time_fmt,
                            lf->f[SCAN_F_TIME], when)) {
        s->res->undated++;      /* kept: leaving it out could hide a hit */
        return 1;
    }
    if (!scan_filter_in_window(f, when)) {
        s->res->outside++;
        return 0;
    }
    return 1;
}

static void scan_one(scan_state *s, const char *file, uint64_t n,
                     const char *line, size_t len, int cut)
{
    scan_line_fields lf;
    scan_classified c;
    scan_time when;
    scan_rule rule;
    pg_span client;
    char where[64];
    int have_time = 0;

    s->res->lines++;
    s->file_lines++;
    if (cut) {
        s->res->cut++;
    }
    if (cut || !scan_format_split(s->format, line, len, &lf)) {
        scan_unparsed(s, file, n, line, len);
        return;
    }
    memset(&when, 0, sizeof(when));
    if (s->filtering && !scan_selected(s, &lf, &when, &have_time)) {
        return;
    }
    scan_classify(s->cfg, &lf, &c);
    if (s->format->has[SCAN_F_PROXYGUARD]) {
        scan_compare_module(s, &lf, c.reason);
    }
    client = scan_client_of(&lf);
    rule = SCAN_RULE_COUNT;
    if (c.reason == PG_REASON_NONE) {
        scan_tables_ordinary(s->tables, &c);
    }
    else {
        s->hits++;
        if (!have_time && s->time_item) {
            scan_time_parse(s->time_item->time_kind, s->time_item->time_fmt,
                            lf.f[SCAN_F_TIME], &when);
        }
        scan_where(where, sizeof(where), file, n);
        rule = scan_tables_hit(s->tables, &c, client, &when, where, line, len);
    }
    if (s->opts->output == SCAN_OUT_LINES) {
        scan_print_line(file, n, pg_reason_name(c.reason), rule, &c, client);
    }
}

static void scan_use_format(scan_state *s, const scan_format *f)
{
    s->format = f;
    s->time_item = scan_time_item(f);
}

/* --lines prints each line as it is read, so a hit cannot wait for the
 * ordinary answers after it: a first pass over the files learns them all.
 * Standard input cannot be read twice; there, a line's verdict uses the
 * answers before it. */
static void scan_learn_sizes(scan_state *s, const char **paths, int n)
{
    int i;

    for (i = 0; i < n; i++) {
        if (!strcmp(paths[i], "-")) {
            return;
        }
    }
    for (i = 0; i < n; i++) {
        const char *err, *line;
        scan_log *log = scan_log_open(paths[i], s->given, &err);
        scan_line_fields lf;
        scan_classified c;
        scan_time when;
        size_t len;
        int cut, have_time;
        uint64_t excluded = s->res->excluded, outside = s->res->outside;
        uint64_t undated = s->res->undated;

        if (log == NULL) {
            continue;           /* the second pass says why */
        }
        scan_use_format(s, scan_log_format(log));
        while ((line = scan_log_line(log, &len, &cut)) != NULL) {
            if (!cut && scan_format_split(s->format, line, len, &lf)
                && (!s->filtering
                    || scan_selected(s, &lf, &when, &have_time))) {
                scan_classify(s->cfg, &lf, &c);
                if (c.reason == PG_REASON_NONE) {
                    scan_tables_ordinary(s->tables, &c);
                }
            }
        }
        /* the second pass counts */
        s->res->excluded = excluded;
        s->res->outside = outside;
        s->res->undated = undated;
        scan_log_close(log);
    }
}

/* Most of a file's lines not in its format: say so, and name the preset
 * that would have read them.  Returns 0 then (the exit status says it). */
static int scan_check_parsed(scan_state *s, const char *path, int detected)
{
    const scan_format *presets;
    size_t i, best = 0, n = scan_format_presets(&presets);
    char what[160];

    if (s->file_lines == 0 || s->file_unparsed * 2 <= s->file_lines) {
        return 1;
    }
    for (i = 1; i < n && i < SCAN_FORMAT_PRESETS_MAX; i++) {
        if (s->hint_read[i] > s->hint_read[best]) {
            best = i;
        }
    }
    if (s->given) {
        snprintf(what, sizeof(what), "the format given");
    }
    else if (detected) {
        snprintf(what, sizeof(what), "%s, the preset its first lines are in",
                 scan_format_name(s->format));
    }
    else {
        snprintf(what, sizeof(what), "any preset");
    }
    if (s->hint_read[best] * 2 > s->hint_tried) {
        cli_error(SCAN_NAME,
                  "%s: %llu of %llu lines are not in %s; "
                  "--format %s reads %llu of the first %llu of them",
                  path, (unsigned long long)s->file_unparsed,
                  (unsigned long long)s->file_lines, what,
                  scan_format_name(&presets[best]),
                  (unsigned long long)s->hint_read[best],
                  (unsigned long long)s->hint_tried);
    }
    else if (s->given || detected) {
        cli_error(SCAN_NAME,
                  "%s: %llu of %llu lines are not in %s, nor in "
                  "another preset: give their LogFormat with --format",
                  path, (unsigned long long)s->file_unparsed,
                  (unsigned long long)s->file_lines, what);
    }
    else {
        cli_error(SCAN_NAME,
                  "%s: %llu of %llu lines are in no preset: give "
                  "their LogFormat with --format",
                  path, (unsigned long long)s->file_unparsed,
                  (unsigned long long)s->file_lines);
    }
    return 0;
}

/* One file.  Returns 0 when it could not be read (whole or in part), or
 * most of it is not in its format. */
static int scan_file(scan_state *s, const char *path)
{
    const char *err;
    scan_log *log = scan_log_open(path, s->given, &err);
    scan_results *r = s->res;
    const char *line;
    const char *name = strcmp(path, "-") ? path : "(stdin)";
    size_t len, k = r->n_files;
    uint64_t n = 0;
    int cut, ok, f;

    if (log == NULL) {
        cli_error(SCAN_NAME, "%s: %s", path, err);
        return 0;
    }
    scan_use_format(s, scan_log_format(log));
    s->file_lines = s->file_unparsed = s->hint_tried = 0;
    memset(s->hint_read, 0, sizeof(s->hint_read));
    r->files[r->n_files++] = path;
    r->file_formats[k] = s->format;
    r->file_detected[k] = scan_log_detected(log);
    if (r->format == NULL) {
        r->format = s->format;
    }
    for (f = 0; f < SCAN_F_COUNT; f++) {
        r->has[f] |= s->format->has[f];
    }
    while ((line = scan_log_line(log, &len, &cut)) != NULL) {
        scan_one(s, name, ++n, line, len, cut);
        if (s->progress.on && (n & 0xffff) == 0) {
            scan_progress_show(&s->progress, name, scan_log_input(log),
                               r->lines, s->hits);
        }
    }
    r->file_lines[k] = s->file_lines;
    r->file_unparsed[k] = s->file_unparsed;
    ok = scan_input_error(scan_log_input(log)) == NULL;
    if (!ok) {
        scan_progress_done(&s->progress);
        cli_error(SCAN_NAME, "%s: %s (after %llu lines)", path,
                  scan_input_error(scan_log_input(log)), (unsigned long long)n);
    }
    scan_log_close(log);
    scan_progress_done(&s->progress);
    return scan_check_parsed(s, path, r->file_detected[k]) && ok;
}

static uint32_t scan_seed(void)
{
    uint32_t seed;

    if (getrandom(&seed, sizeof(seed), GRND_NONBLOCK) != sizeof(seed)) {
        seed = (uint32_t)time(NULL) ^ ((uint32_t)getpid() << 16);
    }
    return seed;
}

/* ------------------------------------------------------------------ */
/* Outputs                                                              */

static int scan_write_html(const char *path, const scan_results *r)
{
    FILE *f = strcmp(path, "-") ? fopen(path, "w") : stdout;
    pg_out out;

    if (f == NULL) {
        cli_error(SCAN_NAME, "%s: %s", path, strerror(errno));
        return 0;
    }
    scan_out_file(&out, f);
    scan_html(&out, r);
    if ((f != stdout && fclose(f) != 0) || (f == stdout && fflush(f) != 0)) {
        cli_error(SCAN_NAME, "%s: %s", path, strerror(errno));
        return 0;
    }
    return 1;
}

static void scan_write_output(const scan_opts *o, const scan_results *r)
{
    pg_out out;

    switch (o->output) {
    case SCAN_OUT_JSON:
        scan_out_file(&out, stdout);
        scan_json(&out, r);
        break;
    case SCAN_OUT_EMIT:
        scan_emit(stdout, o->emit, r);
        break;
    case SCAN_OUT_LINES:
        break;
    default:
        if (!o->html || strcmp(o->html, "-")) {
            scan_report(stdout, r);
        }
    }
}

static int scan_run(const scan_opts *o, scan_config *cfg, int nfiles,
                    char **files)
{
    static scan_results res;
    scan_state s;
    const char **order = calloc((size_t)nfiles, sizeof(char *));
    int i, failed = 0;

    memset(&s, 0, sizeof(s));
    s.opts = o;
    s.cfg = cfg;
    s.given = o->format ? &scan_the_format : NULL;
    s.filtering = cfg->filter.has_since || cfg->filter.has_until
                  || cfg->filter.n_exclude;
    s.res = &res;
    s.tables = scan_tables_create(o->table_size, scan_seed());
    res.files = calloc((size_t)nfiles, sizeof(char *));
    res.file_formats = calloc((size_t)nfiles, sizeof(*res.file_formats));
    res.file_detected = calloc((size_t)nfiles, sizeof(*res.file_detected));
    res.file_lines = calloc((size_t)nfiles, sizeof(*res.file_lines));
    res.file_unparsed = calloc((size_t)nfiles, sizeof(*res.file_unparsed));
    if (order == NULL || s.tables == NULL || res.files == NULL
        || !res.file_formats || !res.file_detected || !res.file_lines
        || !res.file_unparsed) {
        cli_error(SCAN_NAME, "out of memory");
        return PROXYGUARD_EXIT_FAILED;
    }
    for (i = 0; i < nfiles; i++) {
        order[i] = files[i];
    }
    if (!o->as_given) {
        scan_input_order(order, (size_t)nfiles);
    }
    s.progress.on = o->progress < 0 ? isatty(2) : o->progress;
    clock_gettime(CLOCK_MONOTONIC, &s.progress.last);
    if (o->output == SCAN_OUT_LINES) {
        scan_learn_sizes(&s, order, nfiles);
        scan_tables_decide_now(s.tables);
    }
    for (i = 0; i < nfiles; i++) {
        failed |= !scan_file(&s, order[i]);
    }
    scan_progress_done(&s.progress);
    scan_tables_finish(s.tables);
    scan_tables_results(s.tables, &res);
    if (res.format == NULL) {
        res.format = s.given ? s.given : scan_format_compiled("combined");
    }
    res.format_given = s.given != NULL;
    res.windowed = cfg->filter.has_since || cfg->filter.has_until;
    res.n_exclude = cfg->filter.n_exclude;
    res.read_errors = failed;
    res.vhosts = scan_vhosts_count(cfg->vhosts);
    res.names = scan_vhosts_names(cfg->vhosts);
    res.host_patterns = scan_vhosts_hosts(cfg->vhosts);
    res.names_incomplete = scan_vhosts_incomplete(cfg->vhosts);
    res.top = o->top;
    res.min_hits = o->min_hits;
    res.min_hosts = o->min_hosts;
    res.set_name = o->set_name;
    scan_write_output(o, &res);
    if (o->html && !scan_write_html(o->html, &res)) {
        failed = 1;
    }
    if (fflush(stdout) != 0) {
        cli_error(SCAN_NAME, "standard output: %s", strerror(errno));
        failed = 1;
    }
    scan_tables_destroy(s.tables);
    free(res.files);
    free(res.file_formats);
    free(res.file_detected);
    free(res.file_lines);
    free(res.file_unparsed);
    free(order);
    return failed ? PROXYGUARD_EXIT_FAILED : PROXYGUARD_EXIT_DONE;
}

int scan_main(int argc, char **argv)
{
    scan_opts o;
    scan_config cfg;
    int rc;

    memset(&o, 0, sizeof(o));
    memset(&cfg, 0, sizeof(cfg));
    o.progress = -1;
    o.table_size = SCAN_TABLE_DEFAULT;
    o.top = 20;
    o.min_hits = 50;
    o.min_hosts = 30;
    o.set_name = "proxyguard";
    o.vhosts_from = calloc((size_t)argc + 1, sizeof(char *));
    cfg.default_port = 80;
    cfg.https_ports[0] = 443;
    cfg.n_https_ports = 1;
    cfg.vhosts = scan_vhosts_create();
    if (o.vhosts_from == NULL || cfg.vhosts == NULL
        || apr_initialize() != APR_SUCCESS) {
        cli_error(SCAN_NAME, "out of memory");
        return PROXYGUARD_EXIT_FAILED;
    }
    rc = scan_parse_options(argc, argv, &o, &cfg);
    if (rc < 0) {
        rc = scan_load_vhosts(&o, cfg.vhosts)
             ? scan_run(&o, &cfg, argc - optind, argv + optind)
             : PROXYGUARD_EXIT_FAILED;
    }
    scan_vhosts_destroy(cfg.vhosts);
    free(o.vhosts_from);
    apr_terminate();
    return rc;
}

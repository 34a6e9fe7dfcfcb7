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
 * scan.h: `proxyguard scan`, proxy abuse in existing access logs.
 *
 * One file per concern, all sharing these declarations:
 *   scan.c           options, the loop over lines, --lines, the summary
 *   scan_format.c    LogFormat strings compiled once, lines split lazily,
 *                    the presets and which one a file is in
 *   scan_log.c       one log: its input and its format (given or found)
 *   scan_time.c      %t and friends, calendar arithmetic without libc's TZ
 *   scan_input.c     files, standard input, gzip (zlib), rotated-set order
 *   scan_filter.c    --since, --until, --exclude: which lines are read
 *   scan_vhosts.c    our names: --host, `apache2ctl -S` output, %v
 *   scan_conf.c      a vhost's names from httpd's configuration files
 *   scan_classify.c  a pg_request from a line, pg_decide()
 *   scan_verdict.c   did it work: the verdict rules of docs/scan.md
 *   scan_table.c     bounded aggregation tables (evicting like pg_table.c)
 *   scan_report.c    the readable report
 *   scan_json.c      --json
 *   scan_html.c      --html (pg_out.h's look and chart)
 *   scan_emit.c      --emit apache|nftables|ipset
 *
 * Text from a log line is attacker-controlled: it is kept as logged and
 * escaped only on output, by pg_out's escapers (JSON, HTML) or
 * scan_put_text (terminal).
 */

#ifndef SCAN_H
#define SCAN_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "pg_decide.h"
#include "pg_out.h"

#define SCAN_NAME "scan"            /* the subcommand, in messages */

/* ------------------------------------------------------------------ */
/* Reasons and verdicts                                                 */

/* The three reasons a log line can show (a log does not say whether a
 * proxy header was sent, nor who is a proxy client): index = pg_reason - 1. */
#define SCAN_REASONS 3

/* pg_reason -> 0..2, or -1 for none and reasons a log cannot show */
int scan_reason_index(pg_reason reason);
pg_reason scan_reason_of(int index);

typedef enum scan_verdict {
    SCAN_VERDICT_REJECTED = 0,   /* the probe failed */
    SCAN_VERDICT_SERVED_LOCALLY, /* answered with the server's own page */
    SCAN_VERDICT_SUSPECT,        /* possibly relayed, or a tunnel accepted */
    SCAN_VERDICT_UNKNOWN,        /* the format logs no status */
    SCAN_VERDICT_UNDETERMINED,   /* the log cannot tell (the rule says why) */
    SCAN_VERDICT_ORIGIN_FORM,    /* a path, not a URL: never relayed */
    SCAN_VERDICT_COUNT
} scan_verdict;

const char *scan_verdict_name(scan_verdict v);

/* The verdicts in the order the outputs show them (i from 0). */
scan_verdict scan_verdict_in_order(int i);

/* suspect and undetermined: what may have worked, for the operator to
 * look at. */
int scan_verdict_alarms(scan_verdict v);

/* The rule that gave a hit its verdict: one cell of docs/scan.md's table
 * (scan_verdict.c). */
typedef enum scan_rule {
    SCAN_RULE_NO_STATUS = 0,
    SCAN_RULE_ORIGIN_FORM,
    SCAN_RULE_TUNNEL_ACCEPTED,
    SCAN_RULE_TUNNEL_REFUSED,
    SCAN_RULE_REFUSED,
    SCAN_RULE_NOT_REACHED,
    SCAN_RULE_GATEWAY_ERROR,
    SCAN_RULE_SERVER_ERROR,
    SCAN_RULE_NO_BODY,
    SCAN_RULE_NO_SIZE,
    SCAN_RULE_OWN_SIZE,
    SCAN_RULE_NEW_SIZE,
    SCAN_RULE_NEW_REDIRECT,
    SCAN_RULE_COUNT
} scan_rule;

const char *scan_rule_name(scan_rule rule);
const char *scan_rule_meaning(scan_rule rule);
scan_verdict scan_rule_verdict(scan_rule rule);

/* What a logged size counts, which decides what it can prove. */
typedef enum scan_size_kind {
    SCAN_SIZE_NONE = 0, /* not logged (%I, %S: not the answer's) */
    SCAN_SIZE_BODY,     /* %b, %B: the body alone */
    SCAN_SIZE_SENT      /* %O: headers and body */
} scan_size_kind;

/* ------------------------------------------------------------------ */
/* Time                                                                  */

/* A moment as logged: seconds since the epoch (UTC) and the offset the
 * line was written in, so that it is shown as the operator saw it. */
typedef struct scan_time {
    int64_t sec;                    /* 0 with valid == 0: unknown */
    int32_t offset;                 /* minutes east of UTC */
    int32_t valid;
} scan_time;

/* Days since 1970-01-01 of a civil date, and back (proleptic Gregorian). */
int64_t scan_days_from_civil(int64_t y, unsigned m, unsigned d);
void scan_civil_from_days(int64_t days, int64_t *y, unsigned *m, unsigned *d);

/* Local calendar day (days since the epoch) and month (year * 12 + month
 * - 1) of a logged time, in the line's own offset. */
int64_t scan_time_day(const scan_time *t);
int64_t scan_time_month(const scan_time *t);

/* "2009-08-02T17:54:40+08:00" into buf (at least 32 bytes). */
const char *scan_time_iso(const scan_time *t, char *buf, size_t size);
/* "2009-08-02" and "2009-08" from a day and a month number. */
const char *scan_day_text(int64_t day, char *buf, size_t size);
const char *scan_month_text(int64_t month, char *buf, size_t size);

/* The kinds of time field Apache writes (mod_log_config's %t and
 * %{format}t). */
typedef enum scan_time_kind {
    SCAN_TIME_CLF = 0,                /* [02/Aug/2009:17:54:40 +0800] */
    SCAN_TIME_SEC,                    /* %{sec}t */
    SCAN_TIME_MSEC,                   /* %{msec}t */
    SCAN_TIME_USEC,                   /* %{usec}t */
    SCAN_TIME_STRFTIME,               /* %{%Y-%m-%d %H:%M:%S %z}t ... */
    SCAN_TIME_FRACTION                /* %{msec_frac}t etc.: ignored */
} scan_time_kind;

/* Parses a logged time; strftime is the format for SCAN_TIME_STRFTIME.
 * Returns 1 on success. */
int scan_time_parse(scan_time_kind kind, const char *strftime_fmt, pg_span text,
                    scan_time *out);

/* ------------------------------------------------------------------ */
/* Log formats                                                           */

/* What a field of a line means to scan; everything else is skipped. */
typedef enum scan_field {
    SCAN_F_CLIENT = 0,     /* %a (wins), else %h */
    SCAN_F_REMOTE_HOST,    /* %h */
    SCAN_F_LOCAL_ADDR,     /* %A */
    SCAN_F_TIME,           /* %t, %{...}t */
    SCAN_F_REQUEST,        /* %r */
    SCAN_F_METHOD,         /* %m */
    SCAN_F_PATH,           /* %U */
    SCAN_F_QUERY,          /* %q */
    SCAN_F_STATUS,         /* %>s (wins), else %s */
    SCAN_F_STATUS_ORIG,    /* %s, %<s */
    SCAN_F_BYTES,          /* %b, %B */
    SCAN_F_BYTES_SENT,     /* %O */
    SCAN_F_HOST,           /* %{Host}i */
    SCAN_F_VHOST,          /* %v */
    SCAN_F_LOCAL_PORT,     /* %{local}p */
    SCAN_F_CANONICAL_PORT, /* %p, %{canonical}p */
    SCAN_F_HTTPS,          /* %{HTTPS}e */
    SCAN_F_PROXYGUARD,     /* %{PROXYGUARD}e or n: the module's own */
    SCAN_F_COUNT,
    SCAN_F_NONE = SCAN_F_COUNT /* a field scan does not use */
} scan_field;

typedef struct scan_format_item {
    int literal;                    /* 1: text; 0: a field */
    const char *text;               /* literal text, or the field's name */
    size_t len;
    scan_field field;
    int token;                      /* the value never holds a space */
    int bracketed;                  /* default %t: "[...]" */
    int status_after;               /* not a token, and the literal after it
                                       is followed by a status */
    scan_time_kind time_kind;
    const char *time_fmt;           /* strftime format, NUL-terminated */
} scan_format_item;

#define SCAN_FORMAT_ITEMS_MAX 128

typedef struct scan_format {
    scan_format_item items[SCAN_FORMAT_ITEMS_MAX];
    size_t n_items;
    size_t last_needed;             /* items after it are never looked at */
    int has[SCAN_F_COUNT];            /* the format logs this field */
    char store[4096];               /* literal texts and time formats */
    size_t store_used;
    const char *source;             /* as given (preset name or string) */
    const char *expanded;           /* the LogFormat string used */
} scan_format;

/* The presets: NULL when name is none of them. */
const char *scan_format_preset(const char *name);
/* Each preset name in turn (index from 0), NULL after the last. */
const char *scan_format_preset_name(size_t i);

/* Compiles a LogFormat string (or a preset's name).  Returns NULL or a
 * static message saying what is wrong. */
const char *scan_format_compile(scan_format *f, const char *spec);

/* One line, split into the fields scan uses (ptr NULL: not in the line). */
typedef struct scan_line_fields {
    pg_span f[SCAN_F_COUNT];
} scan_line_fields;

/* Splits a line.  Returns 1 when it matches the format far enough to hold
 * its request, 0 when it does not (counted as unparsed). */
int scan_format_split(const scan_format *f, const char *line, size_t len,
                      scan_line_fields *out);

#define SCAN_FORMAT_PRESETS_MAX 8

/* The presets, compiled (the order of scan_format_preset_name). */
size_t scan_format_presets(const scan_format **out);

/* A preset by name, compiled; NULL when there is none of that name. */
const scan_format *scan_format_compiled(const char *name);

/* The preset that the most of these lines fit whole (scan_format_fits); a
 * tie goes to the one that more of them split under, then to the first.
 * NULL when no preset splits any of them. */
const scan_format *scan_format_detect(const pg_span *lines, size_t n);

/* The preset's name when f is one, else NULL. */
const char *scan_format_name(const scan_format *f);

/* Does the line match the whole format, every field and literal, and end
 * where the format ends?  (scan_format_split is lenient at both ends.) */
int scan_format_fits(const scan_format *f, const char *line, size_t len);

/* ------------------------------------------------------------------ */
/* Input                                                                 */

typedef struct scan_input scan_input;

/* Opens a file ("-": standard input); gzip is recognised by its magic
 * bytes, whatever the name.  Returns NULL and sets errno-style text in
 * err (static) on failure. */
scan_input *scan_input_open(const char *path, const char **err);

/* The next line without its newline (a trailing '\r' removed); NULL at
 * end of input or on a read error (scan_input_error says which).  A line
 * longer than the buffer is returned cut, with *cut set. */
const char *scan_input_line(scan_input *in, size_t *len, int *cut);
const char *scan_input_error(const scan_input *in);

/* Bytes of the file consumed so far (compressed bytes for gzip) and its
 * size (0 when unknown: a pipe). */
uint64_t scan_input_pos(const scan_input *in);
uint64_t scan_input_size(const scan_input *in);
int scan_input_is_gzip(const scan_input *in);
void scan_input_close(scan_input *in);

/* Sorts the command line's files so that each rotated set is read oldest
 * first: access.log.3.gz, access.log.2.gz, access.log.1, access.log; and
 * logrotate's dateext names (access.log-20240101.gz) by date, before the
 * live file.  Sets keep the order in which they first appear. */
void scan_input_order(const char **paths, size_t n);

/* A log being read (scan_log.c): its input, and its format, given or
 * found from its first lines (which scan_log_line hands out first). */
typedef struct scan_log scan_log;

/* given NULL: the preset the first lines fit.  NULL and err on failure,
 * as scan_input_open. */
scan_log *scan_log_open(const char *path, const scan_format *given,
                        const char **err);
const char *scan_log_line(scan_log *l, size_t *len, int *cut);
const scan_format *scan_log_format(const scan_log *l);
int scan_log_detected(const scan_log *l);
scan_input *scan_log_input(scan_log *l);
void scan_log_close(scan_log *l);

/* ------------------------------------------------------------------ */
/* Our names                                                             */

typedef struct scan_vhosts scan_vhosts;

scan_vhosts *scan_vhosts_create(void);
void scan_vhosts_destroy(scan_vhosts *v);

/* --host NAME: a name or ServerAlias-style wildcard that is ours on
 * every vhost.  Returns NULL or a static message. */
const char *scan_vhosts_add_host(scan_vhosts *v, const char *pattern);

/* Reads `apachectl -S` output.  Returns the number of vhosts found. */
size_t scan_vhosts_parse(scan_vhosts *v, const char *text, size_t len);

/* Runs argv (NULL-terminated) and reads its standard output as -S output.
 * Returns NULL or a message (in buf). */
const char *scan_vhosts_run(scan_vhosts *v, char *const argv[], char *buf,
                            size_t size);

/* The vhosts alone on their address, whose ServerAlias names -S does not
 * list: their names read from where -S says each is defined.  warn is
 * told of each whose names may still be incomplete; returns how many. */
typedef void scan_vhosts_warn_fn(void *baton, const char *message);
size_t scan_vhosts_read_aliases(scan_vhosts *v, scan_vhosts_warn_fn *warn,
                                void *baton);
size_t scan_vhosts_incomplete(const scan_vhosts *v);

/* A vhost's names from httpd's configuration (scan_conf.c): the
 * <VirtualHost> at path:line, its own names, ServerName and ServerAlias;
 * fn is called for each.  Returns 1 when they could all be read, else 0
 * with why. */
typedef void scan_conf_name_fn(void *baton, const char *name, size_t len,
                               int wild);
int scan_conf_vhost_names(const char *path, unsigned long line,
                          scan_conf_name_fn *fn, void *baton, char *why,
                          size_t size);

size_t scan_vhosts_count(const scan_vhosts *v);
size_t scan_vhosts_names(const scan_vhosts *v);
size_t scan_vhosts_hosts(const scan_vhosts *v);

/* The only port a vhost (by ServerName) was seen on in -S output, 0 when
 * it is unknown or it has several. */
unsigned scan_vhosts_port_of(scan_vhosts *v, pg_span vhost);

/* Is host a name of ours for a line of this vhost (vhost.ptr NULL: the
 * format logs no %v) on this port (0: unknown)? */
int scan_vhosts_is_own(scan_vhosts *v, pg_span vhost, unsigned port,
                       pg_span host);

/* ------------------------------------------------------------------ */
/* Classification                                                        */

/* ------------------------------------------------------------------ */
/* Which lines are read (scan_filter.c)                                 */

/* A --since or --until bound: seconds since the epoch, UTC when zoned,
 * else as each line's own clock shows them. */
typedef struct scan_bound {
    int64_t at;                     /* --until: the first second after */
    int zoned;
} scan_bound;

typedef struct scan_cidr {
    unsigned char bytes[16];
    int family;                     /* 4 or 6 */
    unsigned bits;
} scan_cidr;

#define SCAN_EXCLUDE_MAX 64

typedef struct scan_filter {
    scan_bound since, until;
    int has_since, has_until;
    scan_cidr exclude[SCAN_EXCLUDE_MAX];
    size_t n_exclude;
} scan_filter;

/* "2024-01-31", "2024-01-31T18:00[:05]", an optional offset ("Z",
 * "+08:00"); until: the bound is the end of the day, minute or second
 * named.  Returns NULL or what is wrong. */
const char *scan_bound_parse(const char *text, int until, scan_bound *out);

/* "192.0.2.7", "192.0.2.0/24", "2001:db8::/64".  NULL or what is wrong. */
const char *scan_cidr_parse(const char *text, scan_cidr *out);

/* Is the client an address in an --exclude network? */
int scan_filter_excludes(const scan_filter *f, pg_span client);

/* Is a (valid) time inside --since and --until? */
int scan_filter_in_window(const scan_filter *f, const scan_time *t);

typedef struct scan_config {
    unsigned default_port;          /* --port */
    unsigned https_ports[16];       /* --https-ports */
    size_t n_https_ports;
    scan_vhosts *vhosts;
    scan_filter filter;
} scan_config;

/* What a line was, as pg_decide sees it. */
typedef struct scan_classified {
    pg_reason reason;               /* PG_REASON_NONE: ordinary */
    pg_span method;
    pg_span target;
    pg_span host;                   /* Host as logged; ptr NULL: none */
    unsigned local_port;
    unsigned connect_port;          /* CONNECT target port, 0 if none */
    int status;                     /* -1: not logged or not a number */
    int64_t size;                   /* -1: not logged */
    scan_size_kind size_kind;         /* what size counts */
    pg_span path;                   /* origin-form path, no query: for sizes */
} scan_classified;

/* Splits %r (or %m %U %q), builds the pg_request and calls pg_decide. */
void scan_classify(const scan_config *cfg, const scan_line_fields *lf,
                   scan_classified *out);

/* The status and size fields: -1 when absent or malformed; *kind says
 * what the size counts. */
int scan_status(const scan_line_fields *lf);
int64_t scan_size(const scan_line_fields *lf, scan_size_kind *kind);

/* What the line alone says of a hit (docs/scan.md, "Did it work?").  When
 * only the sizes of ordinary answers can decide, *compare is set and the
 * rule returned is the one for no match (new-size or new-redirect). */
scan_rule scan_judge(const scan_classified *c, int *compare);

/* HEAD and OPTIONS: answers without a body as a rule. */
int scan_bodiless_method(pg_span method);

/* ------------------------------------------------------------------ */
/* Aggregation                                                           */

#define SCAN_TEXT_MAX 120        /* host names and targets kept, cut */
#define SCAN_CLIENT_MAX 48       /* client text kept (IPv6 fits) */
#define SCAN_EXAMPLES 5          /* examples kept per verdict */
#define SCAN_EXAMPLE_MAX 320     /* bytes of an example line kept */
#define SCAN_TABLE_DEFAULT 131072
#define SCAN_TABLE_MIN 64
#define SCAN_TABLE_MAX 1048576

typedef struct scan_client {
    unsigned char bytes[16];
    unsigned char family;           /* 0 free, 4, 6, or 'n' (a host name) */
    char text[SCAN_CLIENT_MAX];
    uint32_t hits[SCAN_REASONS];
    uint32_t total;
    uint32_t verdicts[SCAN_VERDICT_COUNT];
    uint64_t id;                    /* hash of the key: pending verdicts
                                       find their row by it */
    scan_time first;
    scan_time last;
} scan_client;

typedef struct scan_net {
    unsigned char bytes[16];        /* the prefix, the rest zero */
    unsigned char family;           /* 0 free, 4 or 6 */
    unsigned char prefix;           /* 24, 16, 64 or 48 */
    uint32_t hits[SCAN_REASONS];
    uint32_t total;
    uint32_t hosts;                 /* clients first seen in it */
    scan_time first;
    scan_time last;
} scan_net;

typedef struct scan_text {
    char text[SCAN_TEXT_MAX];
    uint32_t hits;
    uint32_t hash;
} scan_text;

typedef struct scan_period {
    int64_t key;                    /* day or month number */
    uint32_t hits[SCAN_REASONS];
    uint32_t used;
} scan_period;

typedef struct scan_example {
    char where[64];                 /* "file:line" (the file cut) */
    char text[SCAN_EXAMPLE_MAX];
    int reason;                     /* index, -1 for unparsed lines */
    scan_rule rule;              /* why its verdict */
    uint32_t pending;               /* pending slot + 1 until the end; 0 */
    uint64_t client;                /* hash of the client: examples differ */
    int used;
} scan_example;

typedef struct scan_tables scan_tables;

scan_tables *scan_tables_create(uint32_t client_rows, uint32_t seed);
void scan_tables_destroy(scan_tables *t);

/* An ordinary request (not a hit): its size, when it is one a hit's may
 * be compared with (a 2xx or 3xx with a body, not to HEAD or OPTIONS). */
void scan_tables_ordinary(scan_tables *t, const scan_classified *c);

/* One hit; returns the rule of its verdict, or SCAN_RULE_COUNT when it is
 * pending until the end, where ordinary requests later in the logs may
 * still explain its size. */
scan_rule scan_tables_hit(scan_tables *t, const scan_classified *c,
                          pg_span client, const scan_time *when,
                          const char *where, const char *line, size_t len);

/* From now on hits are decided at once, with the sizes seen so far (for
 * --lines, which prints each line as it is read: after a first pass
 * over the files has seen every ordinary answer). */
void scan_tables_decide_now(scan_tables *t);

void scan_tables_unparsed(scan_tables *t, const char *where, const char *line,
                          size_t len);

/* Resolves pending verdicts; call once, after the last line. */
void scan_tables_finish(scan_tables *t);

/* ------------------------------------------------------------------ */
/* Results, for the outputs                                              */

typedef struct scan_results {
    /* what was read */
    const char **files;
    size_t n_files;
    uint64_t lines;
    uint64_t unparsed;
    uint64_t cut;                   /* overlong lines */
    int read_errors;
    const scan_format *format;        /* the first file's */
    const scan_format **file_formats; /* each file's, in the order read */
    int *file_detected;             /* ... found from its first lines */
    uint64_t *file_lines;
    uint64_t *file_unparsed;
    int has[SCAN_F_COUNT];            /* what any file's format logs */
    int format_given;               /* --format */
    uint64_t outside;               /* lines outside --since/--until */
    uint64_t excluded;              /* lines from --exclude clients */
    uint64_t undated;               /* kept: their time could not be read */
    int windowed;                   /* --since or --until given */
    size_t n_exclude;
    size_t names_incomplete;        /* vhosts whose aliases -S did not give
                                       and their config could not supply */
    size_t vhosts;                  /* from -S output */
    size_t names;                   /* their names */
    size_t host_patterns;           /* --host */
    /* counts */
    uint64_t hits[SCAN_REASONS];
    uint64_t verdicts[SCAN_VERDICT_COUNT];
    uint64_t by_reason[SCAN_REASONS][SCAN_VERDICT_COUNT];
    uint64_t rules[SCAN_RULE_COUNT];
    uint64_t module_hits;           /* lines %{PROXYGUARD}e marks as hits */
    uint64_t module_disagree;       /* ... where the module's reason differs */
    scan_time first;             /* first and last hit */
    scan_time last;
    /* sorted views (by hits, most first) */
    const scan_client **clients;
    size_t n_clients;
    const scan_net **nets;       /* /24 and /64 */
    size_t n_nets;
    const scan_net **wide;       /* /16 and /48 */
    size_t n_wide;
    const scan_text **hosts;     /* foreign hosts named */
    size_t n_hosts;
    const scan_text **targets;   /* CONNECT targets */
    size_t n_targets;
    uint32_t *ports;                /* [65536]: CONNECTs by target port */
    uint32_t ports_none;            /* CONNECTs without a port */
    uint16_t *port_order;           /* ports with hits, most first */
    size_t n_ports;
    const scan_period *days;     /* oldest first */
    size_t n_days;
    const scan_period *months;
    size_t n_months;
    /* examples */
    const scan_example *examples[SCAN_VERDICT_COUNT][SCAN_EXAMPLES];
    size_t n_examples[SCAN_VERDICT_COUNT];
    const scan_example *unparsed_examples;
    size_t n_unparsed_examples;
    /* what the bounds cost */
    uint64_t clients_evicted;
    uint64_t nets_evicted;
    uint64_t texts_evicted;
    uint64_t periods_dropped;
    uint64_t sizes_evicted;
    uint64_t pending_early;         /* verdicts decided before the end */
    uint64_t verdicts_unattributed; /* ... whose client row was evicted */
    /* options that shape the outputs */
    size_t top;                     /* 0: all */
    unsigned min_hits;
    unsigned min_hosts;
    const char *set_name;
} scan_results;

/* Fills the counts and sorted views; the views live in t. */
void scan_tables_results(scan_tables *t, scan_results *r);

/* What may have worked: absolute-URI hits suspect or undetermined, CONNECT
 * tunnels accepted, and hits whose status is not logged. */
typedef struct scan_outcome {
    uint64_t relayed;               /* suspect + undetermined */
    uint64_t relayed_suspect;
    uint64_t relayed_undetermined;
    uint64_t tunnels;
    uint64_t unjudged;              /* no status logged */
} scan_outcome;

void scan_outcome_of(const scan_results *r, scan_outcome *o);

/* The sentence the report and the HTML lead with ("N requests may have
 * been relayed through this server; M CONNECT tunnels were accepted"), or
 * the one saying that nothing in the logs shows either. */
const char *scan_headline(const scan_outcome *o, char *buf, size_t size);

/* Address text of a network ("205.209.140.0/24"), buf at least 64. */
const char *scan_net_text(const scan_net *n, char *buf, size_t size);

/* ------------------------------------------------------------------ */
/* Outputs                                                               */

/* Terminal text: control bytes, '\\' sequences stay, bytes >= 0x7f as a
 * visible \xNN; at most max bytes of s (0: all), "..." when cut. */
void scan_put_text(FILE *to, const char *s, size_t max);

/* A file name: its last max bytes, "..." before them when cut (the end
 * of a path names the file); scan_tail gives where they start. */
void scan_put_path(FILE *to, const char *s, size_t max);
const char *scan_tail(const char *s, size_t max);
void scan_put_span(FILE *to, pg_span s);

/* n with thousands separators ("1,000,000") into buf. */
const char *scan_count(uint64_t n, char *buf, size_t size);

void scan_report(FILE *to, const scan_results *r);
void scan_json(const pg_out *out, const scan_results *r);
void scan_html(const pg_out *out, const scan_results *r);

typedef enum scan_emit_kind {
    SCAN_EMIT_NONE = 0,
    SCAN_EMIT_APACHE,
    SCAN_EMIT_NFTABLES,
    SCAN_EMIT_IPSET
} scan_emit_kind;

/* Returns the number of rules written. */
size_t scan_emit(FILE *to, scan_emit_kind kind, const scan_results *r);

/* A pg_out writing to a FILE. */
void scan_out_file(pg_out *out, FILE *f);

#endif /* SCAN_H */

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
 * scan_report.c: the readable report on standard output.
 *
 * A terminal is an interpreter too: text from a log line goes out only
 * through scan_put_text, which shows control bytes (an ESC would start
 * a terminal escape sequence) and non-ASCII bytes as a visible \xNN.  This
 * output may change between versions; --json is the contract.
 */

#include <string.h>

#include "cli.h"
#include "scan.h"

/* ------------------------------------------------------------------ */
/* Helpers shared by the outputs                                        */

void scan_out_file(pg_out *out, FILE *f)
{
    out->write = pg_write_stdio;
    out->baton = f;
}

/* Terminal text goes through pg_out's one escaper (pg_put_text_n). */
void scan_put_span(FILE *to, pg_span s)
{
    pg_out out;

    scan_out_file(&out, to);
    pg_put_text_n(&out, s.ptr, s.ptr ? s.len : 0, NULL);
}

void scan_put_text(FILE *to, const char *s, size_t max)
{
    size_t len = s ? strlen(s) : 0;

    if (max && len > max) {
        scan_put_span(to, (pg_span){ s, max });
        fputs("...", to);
        return;
    }
    scan_put_span(to, (pg_span){ s, len });
}

const char *scan_tail(const char *s, size_t max)
{
    size_t len = strlen(s);

    return len > max ? s + len - max : s;
}

void scan_put_path(FILE *to, const char *s, size_t max)
{
    const char *tail = scan_tail(s, max);

    if (tail != s) {
        fputs("...", to);
    }
    scan_put_text(to, tail, 0);
}

const char *scan_count(uint64_t n, char *buf, size_t size)
{
    char digits[32];
    size_t len, i, o = 0;

    snprintf(digits, sizeof(digits), "%llu", (unsigned long long)n);
    len = strlen(digits);
    for (i = 0; i < len && o + 2 < size; i++) {
        if (i > 0 && (len - i) % 3 == 0) {
            buf[o++] = ',';
        }
        buf[o++] = digits[i];
    }
    buf[o] = '\0';
    return buf;
}

/* ------------------------------------------------------------------ */
/* Sections                                                             */

static const char *scan_reason_word(int i)
{
    return pg_reason_name(scan_reason_of(i));
}

static size_t scan_shown(size_t n, size_t top)
{
    return top && n > top ? top : n;
}

/* "combined (found from its first lines): %h %l ..." */
static void scan_put_format(FILE *to, const scan_format *f, int detected)
{
    const char *name = scan_format_name(f);

    if (name) {
        fprintf(to, "%s%s: ", name,
                detected ? " (found from its first lines)" : "");
    }
    scan_put_text(to, f->expanded, 0);
}

/* The format, or each file's when they differ. */
static void scan_formats(FILE *to, const scan_results *r)
{
    size_t i;
    int same = 1;

    for (i = 1; i < r->n_files; i++) {
        same &= r->file_formats[i] == r->file_formats[0];
    }
    if (same || r->format_given) {
        fputs("  format: ", to);
        scan_put_format(to, r->format, r->n_files && r->file_detected[0]);
        fputc('\n', to);
        return;
    }
    fputs("  formats:\n", to);
    for (i = 0; i < r->n_files; i++) {
        fputs("    ", to);
        scan_put_path(to, r->files[i], 60);
        fputs(": ", to);
        scan_put_format(to, r->file_formats[i], r->file_detected[i]);
        fputc('\n', to);
    }
}

/* What --since, --until and --exclude left out. */
static void scan_selection(FILE *to, const scan_results *r)
{
    if (r->windowed) {
        fprintf(to, "  --since/--until: %llu lines outside, left out",
                (unsigned long long)r->outside);
        if (r->undated) {
            fprintf(to, "; %llu lines kept whose time could not be read",
                    (unsigned long long)r->undated);
        }
        fputc('\n', to);
    }
    if (r->n_exclude) {
        fprintf(to, "  --exclude: %zu network%s, %llu lines left out\n",
                r->n_exclude, r->n_exclude == 1 ? "" : "s",
                (unsigned long long)r->excluded);
    }
}

static void scan_header(FILE *to, const scan_results *r)
{
    char a[32], b[32], t1[40], t2[40];
    pg_out out = { pg_write_stdio, to };
    size_t i;

    cli_report_title(&out, SCAN_NAME, ": ");
    fprintf(to, "%zu file%s, %s lines, %s unparsed\n",
            r->n_files, r->n_files == 1 ? "" : "s",
            scan_count(r->lines, a, sizeof(a)),
            scan_count(r->unparsed, b, sizeof(b)));
    fputs("  read (oldest first):", to);
    for (i = 0; i < r->n_files; i++) {
        fputc(' ', to);
        scan_put_path(to, r->files[i], 80);
    }
    fputc('\n', to);
    scan_formats(to, r);
    scan_selection(to, r);
    fputs("  our names: ", to);
    if (r->vhosts == 0 && r->host_patterns == 0) {
        fputs(r->has[SCAN_F_VHOST] ? "each line's %v only"
                                   : "none given (--host, -S): every "
                                     "absolute URI is foreign",
              to);
    }
    else {
        fprintf(to, "%zu --host pattern%s, %zu vhost%s from apachectl -S "
                "(%zu names)", r->host_patterns,
                r->host_patterns == 1 ? "" : "s", r->vhosts,
                r->vhosts == 1 ? "" : "s", r->names);
        if (r->has[SCAN_F_VHOST]) {
            fputs(", judged per vhost (%v)", to);
        }
    }
    fputc('\n', to);
    if (r->names_incomplete) {
        fprintf(to, "  %zu vhost%s may have names not known here (see "
                "standard error): give them with --host\n",
                r->names_incomplete, r->names_incomplete == 1 ? "" : "s");
    }
    if (r->first.valid) {
        fprintf(to, "  hits from %s to %s\n",
                scan_time_iso(&r->first, t1, sizeof(t1)),
                scan_time_iso(&r->last, t2, sizeof(t2)));
    }
}

static int scan_verdict_width(scan_verdict v)
{
    int len = (int)strlen(scan_verdict_name(v));

    return len > 8 ? len : 8;
}

static void scan_verdict_cells(FILE *to, const uint64_t *counts)
{
    int i;

    for (i = 0; i < SCAN_VERDICT_COUNT; i++) {
        scan_verdict v = scan_verdict_in_order(i);

        fprintf(to, " %*llu", scan_verdict_width(v),
                (unsigned long long)counts[v]);
    }
    fputc('\n', to);
}

static void scan_hits_table(FILE *to, const scan_results *r)
{
    uint64_t total = 0;
    int i;

    fprintf(to, "\n%-14s %8s", "Hits", "total");
    for (i = 0; i < SCAN_VERDICT_COUNT; i++) {
        fprintf(to, " %*s", scan_verdict_width(scan_verdict_in_order(i)),
                scan_verdict_name(scan_verdict_in_order(i)));
    }
    fputc('\n', to);
    for (i = 0; i < SCAN_REASONS; i++) {
        fprintf(to, "  %-12s %8llu", scan_reason_word(i),
                (unsigned long long)r->hits[i]);
        scan_verdict_cells(to, r->by_reason[i]);
        total += r->hits[i];
    }
    fprintf(to, "  %-12s %8llu", "all", (unsigned long long)total);
    scan_verdict_cells(to, r->verdicts);
    if (!r->has[SCAN_F_HOST]) {
        fputs("  (unknown-host needs %{Host}i in the format)\n", to);
    }
}

/* The sentence the report leads with when anything may have worked. */
static void scan_report_headline(FILE *to, const scan_results *r)
{
    scan_outcome o;
    char text[256];

    scan_outcome_of(r, &o);
    if (o.relayed == 0 && o.tunnels == 0) {
        return;
    }
    fprintf(to, "!! %s.\n   List them: proxyguard scan --lines ... | "
            "awk -F'\\t' '$3 == \"suspect\" || $3 == \"undetermined\"'\n\n",
            scan_headline(&o, text, sizeof(text)));
}

static void scan_verdicts(FILE *to, const scan_results *r)
{
    scan_outcome o;
    char text[256];
    int i, rule;
    size_t k;

    scan_outcome_of(r, &o);
    fprintf(to, "\nDid it work?  %s.\n", scan_headline(&o, text, sizeof(text)));
    for (i = 0; i < SCAN_VERDICT_COUNT; i++) {
        scan_verdict v = scan_verdict_in_order(i);

        if (r->verdicts[v] == 0 && v == SCAN_VERDICT_UNKNOWN) {
            continue;
        }
        fprintf(to, "  %-18s %8llu\n", scan_verdict_name(v),
                (unsigned long long)r->verdicts[v]);
        for (rule = 0; rule < SCAN_RULE_COUNT; rule++) {
            if (r->rules[rule] && scan_rule_verdict(rule) == v) {
                fprintf(to, "    %-16s %8llu  %s\n", scan_rule_name(rule),
                        (unsigned long long)r->rules[rule],
                        scan_rule_meaning(rule));
            }
        }
    }
    for (i = 0; i < SCAN_VERDICT_COUNT; i++) {
        scan_verdict v = scan_verdict_in_order(i);

        if (r->n_examples[v] == 0) {
            continue;
        }
        fprintf(to, "  examples, %s:\n", scan_verdict_name(v));
        for (k = 0; k < r->n_examples[v]; k++) {
            fputs("    ", to);
            scan_put_text(to, r->examples[v][k]->where, 0);
            fprintf(to, "  %s  ", scan_rule_name(r->examples[v][k]->rule));
            scan_put_text(to, r->examples[v][k]->text, 200);
            fputc('\n', to);
        }
    }
}

/* Escaped text in a column of width characters. */
static void scan_put_padded(FILE *to, const char *s, size_t width)
{
    size_t i, used = 0;

    for (i = 0; s[i] && used < width; i++) {
        scan_put_span(to, (pg_span){ s + i, 1 });
        used += (size_t)pg_text_width((unsigned char)s[i], NULL);
    }
    for (; used < width; used++) {
        fputc(' ', to);
    }
}

static void scan_clients(FILE *to, const scan_results *r)
{
    size_t i, n = scan_shown(r->n_clients, r->top);
    char t1[40], t2[40];

    if (r->n_clients == 0) {
        return;
    }
    fprintf(to, "\nClients (%zu of %zu)\n  %-40s %7s %7s %7s %7s %8s %7s %7s "
            "%7s  %-25s  %s\n", n, r->n_clients, "address", "hits", "connect",
            "abs-uri", "unk-host", "rejected", "local", "suspect", "undet.",
            "first", "last");
    for (i = 0; i < n; i++) {
        const scan_client *c = r->clients[i];

        fputs("  ", to);
        scan_put_padded(to, c->text, 40);
        fprintf(to, " %7u %7u %7u %8u %8u %7u %7u %7u  %-25s  %s\n",
                c->total, c->hits[0], c->hits[1], c->hits[2],
                c->verdicts[SCAN_VERDICT_REJECTED],
                c->verdicts[SCAN_VERDICT_SERVED_LOCALLY],
                c->verdicts[SCAN_VERDICT_SUSPECT],
                c->verdicts[SCAN_VERDICT_UNDETERMINED],
                scan_time_iso(&c->first, t1, sizeof(t1)),
                scan_time_iso(&c->last, t2, sizeof(t2)));
    }
}

static void scan_nets(FILE *to, const char *title, const scan_net *const *nets,
                      size_t count, size_t top)
{
    size_t i, n = scan_shown(count, top);
    char net[64];

    if (count == 0) {
        return;
    }
    fprintf(to, "\n%s (%zu of %zu)\n  %-44s %8s %6s %8s %12s %12s\n", title,
            n, count, "network", "hits", "hosts", "connect", "absolute-uri",
            "unknown-host");
    for (i = 0; i < n; i++) {
        fprintf(to, "  %-44s %8u %6u %8u %12u %12u\n",
                scan_net_text(nets[i], net, sizeof(net)), nets[i]->total,
                nets[i]->hosts, nets[i]->hits[0], nets[i]->hits[1],
                nets[i]->hits[2]);
    }
}

static void scan_texts(FILE *to, const char *title,
                       const scan_text *const *rows, size_t count, size_t top)
{
    size_t i, n = scan_shown(count, top);

    if (count == 0) {
        return;
    }
    fprintf(to, "\n%s (%zu of %zu)\n", title, n, count);
    for (i = 0; i < n; i++) {
        fprintf(to, "  %8u  ", rows[i]->hits);
        scan_put_text(to, rows[i]->text, 0);
        fputc('\n', to);
    }
}

static void scan_ports(FILE *to, const scan_results *r)
{
    size_t i;

    if (r->n_ports == 0 && r->ports_none == 0) {
        return;
    }
    fputs("\nCONNECT target ports\n", to);
    for (i = 0; i < r->n_ports; i++) {
        unsigned p = r->port_order[i];

        fprintf(to, "  %5u %8u%s\n", p, r->ports[p],
                p == 25 || p == 465 || p == 587 ? "  mail: a spam relay probe"
                : "");
    }
    if (r->ports_none) {
        fprintf(to, "  %5s %8u\n", "none", r->ports_none);
    }
}

static void scan_periods(FILE *to, const char *title, const scan_period *p,
                         size_t n, size_t keep, int months)
{
    size_t i, from = n > keep ? n - keep : 0;
    char key[16];

    if (n == 0) {
        return;
    }
    fprintf(to, "\n%s%s\n  %-10s %8s %12s %12s\n", title,
            from ? " (the latest)" : "", months ? "month" : "day", "connect",
            "absolute-uri", "unknown-host");
    for (i = from; i < n; i++) {
        fprintf(to, "  %-10s %8u %12u %12u\n",
                months ? scan_month_text(p[i].key, key, sizeof(key))
                       : scan_day_text(p[i].key, key, sizeof(key)),
                p[i].hits[0], p[i].hits[1], p[i].hits[2]);
    }
}

static void scan_unparsed(FILE *to, const scan_results *r)
{
    size_t i;

    if (r->unparsed == 0) {
        return;
    }
    fprintf(to, "\nUnparsed lines: %llu (not in the format; overlong: %llu)\n",
            (unsigned long long)r->unparsed, (unsigned long long)r->cut);
    for (i = 0; i < r->n_unparsed_examples; i++) {
        fputs("    ", to);
        scan_put_text(to, r->unparsed_examples[i].where, 0);
        fputs("  ", to);
        scan_put_text(to, r->unparsed_examples[i].text, 200);
        fputc('\n', to);
    }
}

static void scan_notes(FILE *to, const scan_results *r)
{
    if (r->has[SCAN_F_PROXYGUARD]) {
        fprintf(to,
                "\nThe module's own PROXYGUARD field: %llu hits; %llu lines "
                "where it and scan differ\n  (scan cannot see proxy headers, "
                "bans or proxy clients; the module had other names or was "
                "off)\n",
                (unsigned long long)r->module_hits,
                (unsigned long long)r->module_disagree);
    }
    if (r->clients_evicted || r->nets_evicted || r->texts_evicted
        || r->periods_dropped || r->sizes_evicted || r->pending_early
        || r->verdicts_unattributed) {
        fprintf(to, "\nBounded tables were full (counts above are partial): "
                "%llu clients and %llu networks evicted, %llu names, %llu "
                "days dropped, %llu sizes forgotten, %llu verdicts decided "
                "early, %llu verdicts of evicted clients.  --table-size "
                "raises the client and network rows.\n",
                (unsigned long long)r->clients_evicted,
                (unsigned long long)r->nets_evicted,
                (unsigned long long)r->texts_evicted,
                (unsigned long long)r->periods_dropped,
                (unsigned long long)r->sizes_evicted,
                (unsigned long long)r->pending_early,
                (unsigned long long)r->verdicts_unattributed);
    }
}

void scan_report(FILE *to, const scan_results *r)
{
    scan_report_headline(to, r);
    scan_header(to, r);
    scan_hits_table(to, r);
    scan_verdicts(to, r);
    scan_clients(to, r);
    scan_nets(to, "Networks /24 and /64", r->nets, r->n_nets, r->top);
    scan_nets(to, "Wider networks /16 and /48", r->wide, r->n_wide, r->top);
    scan_ports(to, r);
    scan_texts(to, "CONNECT targets", r->targets, r->n_targets, r->top);
    scan_texts(to, "Foreign hosts named", r->hosts, r->n_hosts, r->top);
    scan_periods(to, "Per month", r->months, r->n_months, 120, 1);
    scan_periods(to, "Per day", r->days, r->n_days, 31, 0);
    scan_unparsed(to, r);
    scan_notes(to, r);
}

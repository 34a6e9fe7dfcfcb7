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
 * scan_html.c: --html FILE, one self-contained page in the status page's
 * look: pg_out's style sheet, reason colours and SVG bar chart, no script,
 * nothing loaded from elsewhere.  Every log text goes through pg_put_html.
 */

#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "scan.h"

#define SCAN_MONTH_BARS 240           /* 20 years */
#define SCAN_DAY_BARS 366

static size_t scan_cut(size_t n, size_t top)
{
    return top && n > top ? top : n;
}

static void scan_td_num(const pg_out *out, uint64_t n, const char *id)
{
    char buf[32];

    if (id) {
        pg_printf(out, "<td class=\"n\" id=\"%s\">", id);
    }
    else {
        pg_puts(out, "<td class=\"n\">");
    }
    pg_puts(out, scan_count(n, buf, sizeof(buf)));
    pg_puts(out, "</td>");
}

static void scan_td_text(const pg_out *out, const char *s)
{
    pg_puts(out, "<td><code>");
    pg_put_html(out, s);
    pg_puts(out, "</code></td>");
}

static void scan_swatch(const pg_out *out, pg_reason reason)
{
    pg_printf(out, "<span class=\"swatch\" style=\"background:%s\"></span>",
              pg_reason_color(reason));
}

/* ------------------------------------------------------------------ */
/* Charts                                                               */

typedef struct scan_chart_ctx {
    const scan_period *p;
    size_t n;
    int64_t first;              /* key of bar 0 */
    int months;
} scan_chart_ctx;

static const scan_period *scan_find_period(const scan_chart_ctx *c, int64_t key)
{
    size_t lo = 0, hi = c->n;

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;

        if (c->p[mid].key < key) {
            lo = mid + 1;
        }
        else {
            hi = mid;
        }
    }
    return lo < c->n && c->p[lo].key == key ? &c->p[lo] : NULL;
}

static apr_uint32_t scan_chart_hits(const void *ctx, apr_uint32_t bar,
                                    int reason)
{
    const scan_chart_ctx *c = ctx;
    const scan_period *p = scan_find_period(c, c->first + (int64_t)bar);
    int i = scan_reason_index((pg_reason)reason);

    return p && i >= 0 ? p->hits[i] : 0;
}

static const char *scan_chart_label(const void *ctx, apr_uint32_t bar,
                                    char *buf, apr_size_t size)
{
    const scan_chart_ctx *c = ctx;
    int64_t key = c->first + (int64_t)bar;

    return c->months ? scan_month_text(key, buf, size)
                     : scan_day_text(key, buf, size);
}

static void scan_chart_of(const pg_out *out, const char *id, const char *title,
                          const scan_period *p, size_t n, int months,
                          int64_t max_bars)
{
    scan_chart_ctx ctx;
    pg_chart chart;
    char first[16], last[16];
    int64_t span;

    if (n == 0) {
        return;
    }
    span = p[n - 1].key - p[0].key + 1;
    ctx.p = p;
    ctx.n = n;
    ctx.months = months;
    ctx.first = span > max_bars ? p[n - 1].key - max_bars + 1 : p[0].key;
    memset(&chart, 0, sizeof(chart));
    chart.id = id;
    chart.title = title;
    chart.bars = (apr_uint32_t)(span > max_bars ? max_bars : span);
    chart.hits = scan_chart_hits;
    chart.label = scan_chart_label;
    chart.first = scan_chart_label(&ctx, 0, first, sizeof(first));
    chart.last = scan_chart_label(&ctx, chart.bars - 1, last, sizeof(last));
    chart.ctx = &ctx;
    pg_html_chart(out, &chart);
}

/* ------------------------------------------------------------------ */
/* Sections                                                             */

static void scan_summary(const pg_out *out, const scan_results *r)
{
    char t1[40], t2[40];
    size_t i;

    pg_puts(out, "<p>Proxy abuse found in access "
            "logs: CONNECT, absolute URIs for foreign hosts, unknown Host "
            "names; who, from where, and whether it worked.</p>\n");
    pg_puts(out, "<table>\n<tr><th>files (oldest first)</th><td>");
    for (i = 0; i < r->n_files; i++) {
        pg_puts(out, i ? ", <code>" : "<code>");
        pg_put_html(out, r->files[i]);
        pg_puts(out, "</code>");
    }
    pg_puts(out, "</td></tr>\n<tr><th>lines</th>");
    scan_td_num(out, r->lines, "lines");
    pg_puts(out, "</tr>\n<tr><th>unparsed</th>");
    scan_td_num(out, r->unparsed, "unparsed");
    pg_puts(out, "</tr>\n<tr><th>format</th>");
    scan_td_text(out, r->format->expanded);
    pg_puts(out, "</tr>\n");
    if (r->first.valid) {
        pg_puts(out, "<tr><th>hits from</th><td>");
        pg_put_html(out, scan_time_iso(&r->first, t1, sizeof(t1)));
        pg_puts(out, " to ");
        pg_put_html(out, scan_time_iso(&r->last, t2, sizeof(t2)));
        pg_puts(out, "</td></tr>\n");
    }
    pg_puts(out, "</table>\n");
}

/* The page leads with what may have worked, in the report's words. */
static void scan_html_headline(const pg_out *out, const scan_results *r)
{
    scan_outcome o;
    char text[256];

    scan_outcome_of(r, &o);
    pg_printf(out, "<p id=\"headline\"%s>", o.relayed || o.tunnels
              ? " class=\"alert\"" : "");
    pg_put_html(out, scan_headline(&o, text, sizeof(text)));
    pg_puts(out, ".</p>\n");
}

static void scan_tr(const pg_out *out, int alert)
{
    pg_puts(out, alert ? "<tr class=\"alert\">" : "<tr>");
}

static void scan_hits(const pg_out *out, const scan_results *r)
{
    uint64_t total = 0;
    int i, v;

    pg_puts(out, "<h2>Hits and whether they worked</h2>\n<table id=\"hits\">\n"
            "<tr><th>reason</th><th>hits</th>");
    for (v = 0; v < SCAN_VERDICT_COUNT; v++) {
        pg_printf(out, "<th>%s</th>",
                  scan_verdict_name(scan_verdict_in_order(v)));
    }
    pg_puts(out, "</tr>\n");
    for (i = 0; i < SCAN_REASONS; i++) {
        char id[32];

        pg_puts(out, "<tr><td>");
        scan_swatch(out, scan_reason_of(i));
        pg_puts(out, pg_reason_name(scan_reason_of(i)));
        pg_puts(out, "</td>");
        snprintf(id, sizeof(id), "hits-%s", pg_reason_name(scan_reason_of(i)));
        scan_td_num(out, r->hits[i], id);
        for (v = 0; v < SCAN_VERDICT_COUNT; v++) {
            scan_td_num(out, r->by_reason[i][scan_verdict_in_order(v)], NULL);
        }
        pg_puts(out, "</tr>\n");
        total += r->hits[i];
    }
    pg_puts(out, "<tr><th>all</th>");
    scan_td_num(out, total, "total");
    for (v = 0; v < SCAN_VERDICT_COUNT; v++) {
        scan_verdict verdict = scan_verdict_in_order(v);
        char id[32];

        snprintf(id, sizeof(id), "verdict-%s", scan_verdict_name(verdict));
        scan_td_num(out, r->verdicts[verdict], id);
    }
    pg_puts(out, "</tr>\n</table>\n");
}

/* Why: every rule that gave a verdict, what may have worked marked. */
static void scan_rules(const pg_out *out, const scan_results *r)
{
    int i, rule;

    pg_puts(out, "<table id=\"rules\">\n<tr><th>verdict</th><th>rule</th>"
            "<th>hits</th><th>meaning</th></tr>\n");
    for (i = 0; i < SCAN_VERDICT_COUNT; i++) {
        scan_verdict v = scan_verdict_in_order(i);

        for (rule = 0; rule < SCAN_RULE_COUNT; rule++) {
            char id[40];

            if (r->rules[rule] == 0 || scan_rule_verdict(rule) != v) {
                continue;
            }
            scan_tr(out, scan_verdict_alarms(v));
            pg_printf(out, "<td>%s</td><td>%s</td>", scan_verdict_name(v),
                      scan_rule_name(rule));
            snprintf(id, sizeof(id), "rule-%s", scan_rule_name(rule));
            scan_td_num(out, r->rules[rule], id);
            pg_puts(out, "<td>");
            pg_put_html(out, scan_rule_meaning(rule));
            pg_puts(out, "</td></tr>\n");
        }
    }
    pg_puts(out, "</table>\n");
}

static void scan_example_rows(const pg_out *out, scan_verdict verdict,
                              const scan_example *const *ex, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++) {
        scan_tr(out,
                verdict < SCAN_VERDICT_COUNT && scan_verdict_alarms(verdict));
        pg_printf(out, "<td>%s</td><td>%s</td>", verdict < SCAN_VERDICT_COUNT
                  ? scan_verdict_name(verdict) : "unparsed",
                  scan_rule_name(ex[i]->rule));
        scan_td_text(out, ex[i]->where);
        scan_td_text(out, ex[i]->text);
        pg_puts(out, "</tr>\n");
    }
}

static void scan_examples(const pg_out *out, const scan_results *r)
{
    const scan_example *unparsed[SCAN_EXAMPLES];
    size_t i;
    int v;

    pg_puts(out, "<h2>Examples</h2>\n<table id=\"examples\">\n"
            "<tr><th>verdict</th><th>rule</th><th>where</th><th>line</th>"
            "</tr>\n");
    for (v = 0; v < SCAN_VERDICT_COUNT; v++) {
        scan_verdict verdict = scan_verdict_in_order(v);

        scan_example_rows(out, verdict, r->examples[verdict],
                          r->n_examples[verdict]);
    }
    for (i = 0; i < r->n_unparsed_examples; i++) {
        unparsed[i] = &r->unparsed_examples[i];
    }
    scan_example_rows(out, SCAN_VERDICT_COUNT, unparsed,
                      r->n_unparsed_examples);
    pg_puts(out, "</table>\n");
}

static void scan_clients(const pg_out *out, const scan_results *r)
{
    size_t i, n = scan_cut(r->n_clients, r->top);
    char t[40];
    int v;

    pg_printf(out, "<h2>Clients (%lu of %lu)</h2>\n<table id=\"clients\">\n"
              "<tr><th>address</th><th>hits</th><th>connect</th>"
              "<th>absolute-uri</th><th>unknown-host</th>", (unsigned long)n,
              (unsigned long)r->n_clients);
    for (v = 0; v < SCAN_VERDICT_COUNT; v++) {
        pg_printf(out, "<th>%s</th>",
                  scan_verdict_name(scan_verdict_in_order(v)));
    }
    pg_puts(out, "<th>first</th><th>last</th></tr>\n");
    for (i = 0; i < n; i++) {
        const scan_client *c = r->clients[i];

        scan_tr(out, c->verdicts[SCAN_VERDICT_SUSPECT] > 0
                         || c->verdicts[SCAN_VERDICT_UNDETERMINED] > 0);
        scan_td_text(out, c->text);
        scan_td_num(out, c->total, NULL);
        scan_td_num(out, c->hits[0], NULL);
        scan_td_num(out, c->hits[1], NULL);
        scan_td_num(out, c->hits[2], NULL);
        for (v = 0; v < SCAN_VERDICT_COUNT; v++) {
            scan_td_num(out, c->verdicts[scan_verdict_in_order(v)], NULL);
        }
        pg_puts(out, "<td>");
        pg_put_html(out, scan_time_iso(&c->first, t, sizeof(t)));
        pg_puts(out, "</td><td>");
        pg_put_html(out, scan_time_iso(&c->last, t, sizeof(t)));
        pg_puts(out, "</td></tr>\n");
    }
    pg_puts(out, "</table>\n");
}

static void scan_nets(const pg_out *out, const char *id, const char *title,
                      const scan_net *const *nets, size_t count, size_t top)
{
    size_t i, n = scan_cut(count, top);
    char text[64];

    pg_puts(out, "<h2>");
    pg_put_html(out, title);
    pg_printf(out, " (%lu of %lu)</h2>\n<table id=\"%s\">\n<tr><th>network</th>"
              "<th>hits</th><th>hosts</th><th>connect</th><th>absolute-uri</th>"
              "<th>unknown-host</th></tr>\n", (unsigned long)n,
              (unsigned long)count, id);
    for (i = 0; i < n; i++) {
        pg_puts(out, "<tr><td>");
        pg_put_html(out, scan_net_text(nets[i], text, sizeof(text)));
        pg_puts(out, "</td>");
        scan_td_num(out, nets[i]->total, NULL);
        scan_td_num(out, nets[i]->hosts, NULL);
        scan_td_num(out, nets[i]->hits[0], NULL);
        scan_td_num(out, nets[i]->hits[1], NULL);
        scan_td_num(out, nets[i]->hits[2], NULL);
        pg_puts(out, "</tr>\n");
    }
    pg_puts(out, "</table>\n");
}

static void scan_ports(const pg_out *out, const scan_results *r)
{
    size_t i;

    pg_puts(out, "<h2>CONNECT target ports</h2>\n<table id=\"ports\">\n"
            "<tr><th>port</th><th>hits</th></tr>\n");
    for (i = 0; i < r->n_ports; i++) {
        pg_printf(out, "<tr><td>%u</td>", (unsigned)r->port_order[i]);
        scan_td_num(out, r->ports[r->port_order[i]], NULL);
        pg_puts(out, "</tr>\n");
    }
    if (r->ports_none) {
        pg_puts(out, "<tr><td>none</td>");
        scan_td_num(out, r->ports_none, NULL);
        pg_puts(out, "</tr>\n");
    }
    pg_puts(out, "</table>\n");
}

static void scan_texts(const pg_out *out, const char *id, const char *title,
                       const scan_text *const *rows, size_t count, size_t top)
{
    size_t i, n = scan_cut(count, top);

    pg_puts(out, "<h2>");
    pg_put_html(out, title);
    pg_printf(out, " (%lu of %lu)</h2>\n<table id=\"%s\">\n"
              "<tr><th>name</th><th>hits</th></tr>\n", (unsigned long)n,
              (unsigned long)count, id);
    for (i = 0; i < n; i++) {
        pg_puts(out, "<tr>");
        scan_td_text(out, rows[i]->text);
        scan_td_num(out, rows[i]->hits, NULL);
        pg_puts(out, "</tr>\n");
    }
    pg_puts(out, "</table>\n");
}

void scan_html(const pg_out *out, const scan_results *r)
{
    pg_html_head(out, "proxyguard scan", 0);
    pg_puts(out, "<h1>proxyguard scan</h1>\n");
    scan_html_headline(out, r);
    scan_summary(out, r);
    scan_hits(out, r);
    scan_rules(out, r);
    scan_chart_of(out, "months", "Hits per month", r->months, r->n_months, 1,
                  SCAN_MONTH_BARS);
    scan_chart_of(out, "days", "Hits per day", r->days, r->n_days, 0,
                  SCAN_DAY_BARS);
    scan_examples(out, r);
    scan_clients(out, r);
    scan_nets(out, "networks", "Networks /24 and /64", r->nets, r->n_nets,
              r->top);
    scan_nets(out, "wide-networks", "Wider networks /16 and /48", r->wide,
              r->n_wide, r->top);
    scan_ports(out, r);
    scan_texts(out, "targets", "CONNECT targets", r->targets, r->n_targets,
               r->top);
    scan_texts(out, "hosts", "Foreign hosts named", r->hosts, r->n_hosts,
               r->top);
    pg_printf(out, "<p>proxyguard %s</p>\n</body></html>\n", PG_VERSION);
}

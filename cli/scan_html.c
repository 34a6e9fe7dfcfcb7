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

#define PG_MONTH_BARS 240           /* 20 years */
#define PG_DAY_BARS 366

static size_t pg_cut(size_t n, size_t top)
{
    return top && n > top ? top : n;
}

static void pg_td_num(const pg_out *out, uint64_t n, const char *id)
{
    char buf[32];

    if (id) {
        pg_printf(out, "<td class=\"n\" id=\"%s\">", id);
    }
    else {
        pg_puts(out, "<td class=\"n\">");
    }
    pg_puts(out, pg_scan_count(n, buf, sizeof(buf)));
    pg_puts(out, "</td>");
}

static void pg_td_text(const pg_out *out, const char *s)
{
    pg_puts(out, "<td><code>");
    pg_put_html(out, s);
    pg_puts(out, "</code></td>");
}

static void pg_swatch(const pg_out *out, pg_reason reason)
{
    pg_printf(out, "<span class=\"swatch\" style=\"background:%s\"></span>",
              pg_reason_color(reason));
}

/* ------------------------------------------------------------------ */
/* Charts                                                               */

typedef struct pg_chart_ctx {
    const pg_scan_period *p;
    size_t n;
    int64_t first;              /* key of bar 0 */
    int months;
} pg_chart_ctx;

static const pg_scan_period *pg_find_period(const pg_chart_ctx *c, int64_t key)
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

static apr_uint32_t pg_chart_hits(const void *ctx, apr_uint32_t bar, int reason)
{
    const pg_chart_ctx *c = ctx;
    const pg_scan_period *p = pg_find_period(c, c->first + (int64_t)bar);
    int i = pg_scan_reason_index((pg_reason)reason);

    return p && i >= 0 ? p->hits[i] : 0;
}

static const char *pg_chart_label(const void *ctx, apr_uint32_t bar, char *buf,
                                  apr_size_t size)
{
    const pg_chart_ctx *c = ctx;
    int64_t key = c->first + (int64_t)bar;

    return c->months ? pg_scan_month_text(key, buf, size)
                     : pg_scan_day_text(key, buf, size);
}

static void pg_chart_of(const pg_out *out, const char *id, const char *title,
                        const pg_scan_period *p, size_t n, int months,
                        int64_t max_bars)
{
    pg_chart_ctx ctx;
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
    chart.hits = pg_chart_hits;
    chart.label = pg_chart_label;
    chart.first = pg_chart_label(&ctx, 0, first, sizeof(first));
    chart.last = pg_chart_label(&ctx, chart.bars - 1, last, sizeof(last));
    chart.ctx = &ctx;
    pg_html_chart(out, &chart);
}

/* ------------------------------------------------------------------ */
/* Sections                                                             */

static void pg_summary(const pg_out *out, const pg_scan_results *r)
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
    pg_td_num(out, r->lines, "lines");
    pg_puts(out, "</tr>\n<tr><th>unparsed</th>");
    pg_td_num(out, r->unparsed, "unparsed");
    pg_puts(out, "</tr>\n<tr><th>format</th>");
    pg_td_text(out, r->format->expanded);
    pg_puts(out, "</tr>\n");
    if (r->first.valid) {
        pg_puts(out, "<tr><th>hits from</th><td>");
        pg_put_html(out, pg_scan_time_iso(&r->first, t1, sizeof(t1)));
        pg_puts(out, " to ");
        pg_put_html(out, pg_scan_time_iso(&r->last, t2, sizeof(t2)));
        pg_puts(out, "</td></tr>\n");
    }
    pg_puts(out, "</table>\n");
}

/* The page leads with what may have worked, in the report's words. */
static void pg_headline(const pg_out *out, const pg_scan_results *r)
{
    pg_scan_outcome o;
    char text[256];

    pg_scan_outcome_of(r, &o);
    pg_printf(out, "<p id=\"headline\"%s>", o.relayed || o.tunnels
              ? " class=\"alert\"" : "");
    pg_put_html(out, pg_scan_headline(&o, text, sizeof(text)));
    pg_puts(out, ".</p>\n");
}

static void pg_tr(const pg_out *out, int alert)
{
    pg_puts(out, alert ? "<tr class=\"alert\">" : "<tr>");
}

static void pg_hits(const pg_out *out, const pg_scan_results *r)
{
    uint64_t total = 0;
    int i, v;

    pg_puts(out, "<h2>Hits and whether they worked</h2>\n<table id=\"hits\">\n"
            "<tr><th>reason</th><th>hits</th>");
    for (v = 0; v < PG_VERDICT_COUNT; v++) {
        pg_printf(out, "<th>%s</th>",
                  pg_scan_verdict_name(pg_scan_verdict_in_order(v)));
    }
    pg_puts(out, "</tr>\n");
    for (i = 0; i < PG_SCAN_REASONS; i++) {
        char id[32];

        pg_puts(out, "<tr><td>");
        pg_swatch(out, pg_scan_reason_of(i));
        pg_puts(out, pg_reason_name(pg_scan_reason_of(i)));
        pg_puts(out, "</td>");
        snprintf(id, sizeof(id), "hits-%s", pg_reason_name(pg_scan_reason_of(i)));
        pg_td_num(out, r->hits[i], id);
        for (v = 0; v < PG_VERDICT_COUNT; v++) {
            pg_td_num(out, r->by_reason[i][pg_scan_verdict_in_order(v)], NULL);
        }
        pg_puts(out, "</tr>\n");
        total += r->hits[i];
    }
    pg_puts(out, "<tr><th>all</th>");
    pg_td_num(out, total, "total");
    for (v = 0; v < PG_VERDICT_COUNT; v++) {
        pg_scan_verdict verdict = pg_scan_verdict_in_order(v);
        char id[32];

        snprintf(id, sizeof(id), "verdict-%s", pg_scan_verdict_name(verdict));
        pg_td_num(out, r->verdicts[verdict], id);
    }
    pg_puts(out, "</tr>\n</table>\n");
}

/* Why: every rule that gave a verdict, what may have worked marked. */
static void pg_rules(const pg_out *out, const pg_scan_results *r)
{
    int i, rule;

    pg_puts(out, "<table id=\"rules\">\n<tr><th>verdict</th><th>rule</th>"
            "<th>hits</th><th>meaning</th></tr>\n");
    for (i = 0; i < PG_VERDICT_COUNT; i++) {
        pg_scan_verdict v = pg_scan_verdict_in_order(i);

        for (rule = 0; rule < PG_RULE_COUNT; rule++) {
            char id[40];

            if (r->rules[rule] == 0 || pg_scan_rule_verdict(rule) != v) {
                continue;
            }
            pg_tr(out, pg_scan_verdict_alarms(v));
            pg_printf(out, "<td>%s</td><td>%s</td>", pg_scan_verdict_name(v),
                      pg_scan_rule_name(rule));
            snprintf(id, sizeof(id), "rule-%s", pg_scan_rule_name(rule));
            pg_td_num(out, r->rules[rule], id);
            pg_puts(out, "<td>");
            pg_put_html(out, pg_scan_rule_meaning(rule));
            pg_puts(out, "</td></tr>\n");
        }
    }
    pg_puts(out, "</table>\n");
}

static void pg_example_rows(const pg_out *out, pg_scan_verdict verdict,
                            const pg_scan_example *const *ex, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++) {
        pg_tr(out, verdict < PG_VERDICT_COUNT
                   && pg_scan_verdict_alarms(verdict));
        pg_printf(out, "<td>%s</td><td>%s</td>", verdict < PG_VERDICT_COUNT
                  ? pg_scan_verdict_name(verdict) : "unparsed",
                  pg_scan_rule_name(ex[i]->rule));
        pg_td_text(out, ex[i]->where);
        pg_td_text(out, ex[i]->text);
        pg_puts(out, "</tr>\n");
    }
}

static void pg_examples(const pg_out *out, const pg_scan_results *r)
{
    const pg_scan_example *unparsed[PG_SCAN_EXAMPLES];
    size_t i;
    int v;

    pg_puts(out, "<h2>Examples</h2>\n<table id=\"examples\">\n"
            "<tr><th>verdict</th><th>rule</th><th>where</th><th>line</th>"
            "</tr>\n");
    for (v = 0; v < PG_VERDICT_COUNT; v++) {
        pg_scan_verdict verdict = pg_scan_verdict_in_order(v);

        pg_example_rows(out, verdict, r->examples[verdict],
                        r->n_examples[verdict]);
    }
    for (i = 0; i < r->n_unparsed_examples; i++) {
        unparsed[i] = &r->unparsed_examples[i];
    }
    pg_example_rows(out, PG_VERDICT_COUNT, unparsed, r->n_unparsed_examples);
    pg_puts(out, "</table>\n");
}

static void pg_clients(const pg_out *out, const pg_scan_results *r)
{
    size_t i, n = pg_cut(r->n_clients, r->top);
    char t[40];
    int v;

    pg_printf(out, "<h2>Clients (%lu of %lu)</h2>\n<table id=\"clients\">\n"
              "<tr><th>address</th><th>hits</th><th>connect</th>"
              "<th>absolute-uri</th><th>unknown-host</th>", (unsigned long)n,
              (unsigned long)r->n_clients);
    for (v = 0; v < PG_VERDICT_COUNT; v++) {
        pg_printf(out, "<th>%s</th>",
                  pg_scan_verdict_name(pg_scan_verdict_in_order(v)));
    }
    pg_puts(out, "<th>first</th><th>last</th></tr>\n");
    for (i = 0; i < n; i++) {
        const pg_scan_client *c = r->clients[i];

        pg_tr(out, c->verdicts[PG_VERDICT_SUSPECT] > 0
                   || c->verdicts[PG_VERDICT_UNDETERMINED] > 0);
        pg_td_text(out, c->text);
        pg_td_num(out, c->total, NULL);
        pg_td_num(out, c->hits[0], NULL);
        pg_td_num(out, c->hits[1], NULL);
        pg_td_num(out, c->hits[2], NULL);
        for (v = 0; v < PG_VERDICT_COUNT; v++) {
            pg_td_num(out, c->verdicts[pg_scan_verdict_in_order(v)], NULL);
        }
        pg_puts(out, "<td>");
        pg_put_html(out, pg_scan_time_iso(&c->first, t, sizeof(t)));
        pg_puts(out, "</td><td>");
        pg_put_html(out, pg_scan_time_iso(&c->last, t, sizeof(t)));
        pg_puts(out, "</td></tr>\n");
    }
    pg_puts(out, "</table>\n");
}

static void pg_nets(const pg_out *out, const char *id, const char *title,
                    const pg_scan_net *const *nets, size_t count, size_t top)
{
    size_t i, n = pg_cut(count, top);
    char text[64];

    pg_puts(out, "<h2>");
    pg_put_html(out, title);
    pg_printf(out, " (%lu of %lu)</h2>\n<table id=\"%s\">\n<tr><th>network</th>"
              "<th>hits</th><th>hosts</th><th>connect</th><th>absolute-uri</th>"
              "<th>unknown-host</th></tr>\n", (unsigned long)n,
              (unsigned long)count, id);
    for (i = 0; i < n; i++) {
        pg_puts(out, "<tr><td>");
        pg_put_html(out, pg_scan_net_text(nets[i], text, sizeof(text)));
        pg_puts(out, "</td>");
        pg_td_num(out, nets[i]->total, NULL);
        pg_td_num(out, nets[i]->hosts, NULL);
        pg_td_num(out, nets[i]->hits[0], NULL);
        pg_td_num(out, nets[i]->hits[1], NULL);
        pg_td_num(out, nets[i]->hits[2], NULL);
        pg_puts(out, "</tr>\n");
    }
    pg_puts(out, "</table>\n");
}

static void pg_ports(const pg_out *out, const pg_scan_results *r)
{
    size_t i;

    pg_puts(out, "<h2>CONNECT target ports</h2>\n<table id=\"ports\">\n"
            "<tr><th>port</th><th>hits</th></tr>\n");
    for (i = 0; i < r->n_ports; i++) {
        pg_printf(out, "<tr><td>%u</td>", (unsigned)r->port_order[i]);
        pg_td_num(out, r->ports[r->port_order[i]], NULL);
        pg_puts(out, "</tr>\n");
    }
    if (r->ports_none) {
        pg_puts(out, "<tr><td>none</td>");
        pg_td_num(out, r->ports_none, NULL);
        pg_puts(out, "</tr>\n");
    }
    pg_puts(out, "</table>\n");
}

static void pg_texts(const pg_out *out, const char *id, const char *title,
                     const pg_scan_text *const *rows, size_t count, size_t top)
{
    size_t i, n = pg_cut(count, top);

    pg_puts(out, "<h2>");
    pg_put_html(out, title);
    pg_printf(out, " (%lu of %lu)</h2>\n<table id=\"%s\">\n"
              "<tr><th>name</th><th>hits</th></tr>\n", (unsigned long)n,
              (unsigned long)count, id);
    for (i = 0; i < n; i++) {
        pg_puts(out, "<tr>");
        pg_td_text(out, rows[i]->text);
        pg_td_num(out, rows[i]->hits, NULL);
        pg_puts(out, "</tr>\n");
    }
    pg_puts(out, "</table>\n");
}

void pg_scan_html(const pg_out *out, const pg_scan_results *r)
{
    pg_html_head(out, "proxyguard scan", 0);
    pg_puts(out, "<h1>proxyguard scan</h1>\n");
    pg_headline(out, r);
    pg_summary(out, r);
    pg_hits(out, r);
    pg_rules(out, r);
    pg_chart_of(out, "months", "Hits per month", r->months, r->n_months, 1,
                PG_MONTH_BARS);
    pg_chart_of(out, "days", "Hits per day", r->days, r->n_days, 0,
                PG_DAY_BARS);
    pg_examples(out, r);
    pg_clients(out, r);
    pg_nets(out, "networks", "Networks /24 and /64", r->nets, r->n_nets, r->top);
    pg_nets(out, "wide-networks", "Wider networks /16 and /48", r->wide,
            r->n_wide, r->top);
    pg_ports(out, r);
    pg_texts(out, "targets", "CONNECT targets", r->targets, r->n_targets, r->top);
    pg_texts(out, "hosts", "Foreign hosts named", r->hosts, r->n_hosts, r->top);
    pg_printf(out, "<p>proxyguard %s</p>\n</body></html>\n", PG_VERSION);
}

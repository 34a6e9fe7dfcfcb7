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
 * scan_json.c: --json.  The names of the contract (files, lines,
 * unparsed, hits, verdicts, clients, networks, connect_ports, months) keep
 * their meaning; fields are only ever added.  Every string that came from
 * a log goes through pg_put_json, the project's one JSON escaper.
 */

#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "scan.h"

static void pg_num(const pg_out *out, uint64_t n)
{
    char buf[32];

    snprintf(buf, sizeof(buf), "%llu", (unsigned long long)n);
    pg_puts(out, buf);
}

static void pg_key(const pg_out *out, const char *key, int *first)
{
    if (!*first) {
        pg_puts(out, ", ");
    }
    *first = 0;
    pg_put_json(out, key);
    pg_puts(out, ": ");
}

static void pg_key_num(const pg_out *out, const char *key, uint64_t n,
                       int *first)
{
    pg_key(out, key, first);
    pg_num(out, n);
}

static void pg_time(const pg_out *out, const pg_scan_time *t)
{
    char buf[40];

    if (!t->valid) {
        pg_puts(out, "null");
        return;
    }
    pg_put_json(out, pg_scan_time_iso(t, buf, sizeof(buf)));
}

/* {"connect": n, "absolute-uri": n, "unknown-host": n} */
static void pg_reasons32(const pg_out *out, const uint32_t *hits)
{
    int i, first = 1;

    pg_puts(out, "{");
    for (i = 0; i < PG_SCAN_REASONS; i++) {
        pg_key_num(out, pg_reason_name(pg_scan_reason_of(i)), hits[i], &first);
    }
    pg_puts(out, "}");
}

static void pg_reasons64(const pg_out *out, const uint64_t *hits)
{
    int i, first = 1;

    pg_puts(out, "{");
    for (i = 0; i < PG_SCAN_REASONS; i++) {
        pg_key_num(out, pg_reason_name(pg_scan_reason_of(i)), hits[i], &first);
    }
    pg_puts(out, "}");
}

static size_t pg_cut(size_t n, size_t top)
{
    return top && n > top ? top : n;
}

static void pg_files(const pg_out *out, const pg_scan_results *r)
{
    size_t i;

    pg_puts(out, "\"files\": [");
    for (i = 0; i < r->n_files; i++) {
        pg_puts(out, i ? ", " : "");
        pg_put_json(out, r->files[i]);
    }
    pg_puts(out, "]");
}

/* {"rejected": n, ...}: every verdict */
static void pg_verdicts32(const pg_out *out, const uint32_t *counts)
{
    int v, first = 1;

    pg_puts(out, "{");
    for (v = 0; v < PG_VERDICT_COUNT; v++) {
        pg_key_num(out, pg_scan_verdict_name(v), counts[v], &first);
    }
    pg_puts(out, "}");
}

/* What may have worked, and the report's headline. */
static void pg_outcome(const pg_out *out, const pg_scan_results *r)
{
    pg_scan_outcome o;
    char text[256];
    int first = 1;

    pg_scan_outcome_of(r, &o);
    pg_puts(out, ",\n \"outcome\": {");
    pg_key_num(out, "relayed", o.relayed, &first);
    pg_key_num(out, "relayed_suspect", o.relayed_suspect, &first);
    pg_key_num(out, "relayed_undetermined", o.relayed_undetermined, &first);
    pg_key_num(out, "tunnels", o.tunnels, &first);
    pg_key_num(out, "unjudged", o.unjudged, &first);
    pg_key(out, "headline", &first);
    pg_put_json(out, pg_scan_headline(&o, text, sizeof(text)));
    pg_puts(out, "}");
}

static void pg_verdicts(const pg_out *out, const pg_scan_results *r)
{
    int i, v, first = 1;

    pg_puts(out, ",\n \"verdicts\": {");
    for (v = 0; v < PG_VERDICT_COUNT; v++) {
        pg_key_num(out, pg_scan_verdict_name(v), r->verdicts[v], &first);
    }
    pg_puts(out, "},\n \"verdicts_by_reason\": {");
    first = 1;
    for (i = 0; i < PG_SCAN_REASONS; i++) {
        int inner = 1;

        pg_key(out, pg_reason_name(pg_scan_reason_of(i)), &first);
        pg_puts(out, "{");
        for (v = 0; v < PG_VERDICT_COUNT; v++) {
            pg_key_num(out, pg_scan_verdict_name(v), r->by_reason[i][v], &inner);
        }
        pg_puts(out, "}");
    }
    pg_puts(out, "},\n \"verdict_rules\": {");
    first = 1;
    for (i = 0; i < PG_RULE_COUNT; i++) {
        pg_key_num(out, pg_scan_rule_name(i), r->rules[i], &first);
    }
    pg_puts(out, "}");
    pg_outcome(out, r);
}

static void pg_clients(const pg_out *out, const pg_scan_results *r)
{
    size_t i, n = pg_cut(r->n_clients, r->top);

    pg_puts(out, ",\n \"clients\": [");
    for (i = 0; i < n; i++) {
        const pg_scan_client *c = r->clients[i];

        pg_puts(out, i ? ",\n   {\"address\": " : "\n   {\"address\": ");
        pg_put_json(out, c->text);
        pg_puts(out, ", \"hits\": ");
        pg_num(out, c->total);
        pg_puts(out, ", \"first\": ");
        pg_time(out, &c->first);
        pg_puts(out, ", \"last\": ");
        pg_time(out, &c->last);
        pg_puts(out, ", \"reasons\": ");
        pg_reasons32(out, c->hits);
        pg_puts(out, ", \"verdicts\": ");
        pg_verdicts32(out, c->verdicts);
        pg_puts(out, "}");
    }
    pg_puts(out, "]");
}

static void pg_nets(const pg_out *out, const char *name,
                    const pg_scan_net *const *nets, size_t count, size_t top)
{
    size_t i, n = pg_cut(count, top);
    char text[64];

    pg_puts(out, ",\n ");
    pg_put_json(out, name);
    pg_puts(out, ": [");
    for (i = 0; i < n; i++) {
        pg_puts(out, i ? ",\n   {\"network\": " : "\n   {\"network\": ");
        pg_put_json(out, pg_scan_net_text(nets[i], text, sizeof(text)));
        pg_puts(out, ", \"hits\": ");
        pg_num(out, nets[i]->total);
        pg_puts(out, ", \"hosts\": ");
        pg_num(out, nets[i]->hosts);
        pg_puts(out, ", \"first\": ");
        pg_time(out, &nets[i]->first);
        pg_puts(out, ", \"last\": ");
        pg_time(out, &nets[i]->last);
        pg_puts(out, ", \"reasons\": ");
        pg_reasons32(out, nets[i]->hits);
        pg_puts(out, "}");
    }
    pg_puts(out, "]");
}

static void pg_ports(const pg_out *out, const pg_scan_results *r)
{
    size_t i;
    int first = 1;
    char port[8];

    pg_puts(out, ",\n \"connect_ports\": {");
    for (i = 0; i < r->n_ports; i++) {
        snprintf(port, sizeof(port), "%u", (unsigned)r->port_order[i]);
        pg_key_num(out, port, r->ports[r->port_order[i]], &first);
    }
    pg_puts(out, "},\n \"connect_ports_none\": ");
    pg_num(out, r->ports_none);
}

static void pg_texts(const pg_out *out, const char *name, const char *field,
                     const pg_scan_text *const *rows, size_t count, size_t top)
{
    size_t i, n = pg_cut(count, top);

    pg_puts(out, ",\n ");
    pg_put_json(out, name);
    pg_puts(out, ": [");
    for (i = 0; i < n; i++) {
        pg_puts(out, i ? ", {" : "{");
        pg_put_json(out, field);
        pg_puts(out, ": ");
        pg_put_json(out, rows[i]->text);
        pg_puts(out, ", \"hits\": ");
        pg_num(out, rows[i]->hits);
        pg_puts(out, "}");
    }
    pg_puts(out, "]");
}

static void pg_periods(const pg_out *out, const char *name,
                       const pg_scan_period *p, size_t n, int months)
{
    size_t i;
    char key[16];
    int first = 1;

    pg_puts(out, ",\n ");
    pg_put_json(out, name);
    pg_puts(out, ": {");
    for (i = 0; i < n; i++) {
        pg_key(out, months ? pg_scan_month_text(p[i].key, key, sizeof(key))
                           : pg_scan_day_text(p[i].key, key, sizeof(key)),
               &first);
        pg_reasons32(out, p[i].hits);
    }
    pg_puts(out, "}");
}

static void pg_example_list(const pg_out *out,
                            const pg_scan_example *const *ex, size_t n)
{
    size_t i;

    pg_puts(out, "[");
    for (i = 0; i < n; i++) {
        pg_puts(out, i ? ", {\"where\": " : "{\"where\": ");
        pg_put_json(out, ex[i]->where);
        pg_puts(out, ", \"reason\": ");
        pg_put_json(out, ex[i]->reason >= 0
                         ? pg_reason_name(pg_scan_reason_of(ex[i]->reason))
                         : "unparsed");
        if (ex[i]->rule < PG_RULE_COUNT) {
            pg_puts(out, ", \"rule\": ");
            pg_put_json(out, pg_scan_rule_name(ex[i]->rule));
        }
        pg_puts(out, ", \"line\": ");
        pg_put_json(out, ex[i]->text);
        pg_puts(out, "}");
    }
    pg_puts(out, "]");
}

static void pg_examples(const pg_out *out, const pg_scan_results *r)
{
    const pg_scan_example *unparsed[PG_SCAN_EXAMPLES];
    int v, first = 1;
    size_t i;

    pg_puts(out, ",\n \"examples\": {");
    for (v = 0; v < PG_VERDICT_COUNT; v++) {
        pg_key(out, pg_scan_verdict_name(v), &first);
        pg_example_list(out, r->examples[v], r->n_examples[v]);
    }
    pg_puts(out, "},\n \"unparsed_examples\": ");
    for (i = 0; i < r->n_unparsed_examples; i++) {
        unparsed[i] = &r->unparsed_examples[i];
    }
    pg_example_list(out, unparsed, r->n_unparsed_examples);
}

/* Each file's format: the preset's name or the LogFormat given. */
static void pg_file_formats(const pg_out *out, const pg_scan_results *r)
{
    size_t i;

    for (i = 0; i < r->n_files; i++) {
        const pg_format *f = r->file_formats[i];
        const char *name = pg_format_name(f);
        int first = 1;

        pg_puts(out, i ? ", {" : "{");
        pg_key(out, "file", &first);
        pg_put_json(out, r->files[i]);
        pg_key(out, "format", &first);
        pg_put_json(out, name ? name : f->expanded);
        pg_key(out, "detected", &first);
        pg_puts(out, r->file_detected[i] ? "true" : "false");
        pg_key_num(out, "lines", r->file_lines[i], &first);
        pg_key_num(out, "unparsed", r->file_unparsed[i], &first);
        pg_puts(out, "}");
    }
}

static void pg_meta(const pg_out *out, const pg_scan_results *r)
{
    int first = 1;

    pg_puts(out, ",\n \"version\": ");
    pg_put_json(out, PG_VERSION);
    pg_puts(out, ", \"format\": ");
    pg_put_json(out, r->format->expanded);
    pg_puts(out, ",\n \"names\": {");
    pg_key_num(out, "host_patterns", r->host_patterns, &first);
    pg_key_num(out, "vhosts", r->vhosts, &first);
    pg_key_num(out, "vhost_names", r->names, &first);
    pg_key(out, "per_vhost", &first);
    pg_puts(out, r->has[PG_F_VHOST] ? "true" : "false");
    pg_key(out, "host_logged", &first);
    pg_puts(out, r->has[PG_F_HOST] ? "true" : "false");
    pg_key_num(out, "incomplete", r->names_incomplete, &first);
    pg_puts(out, "},\n \"file_formats\": [");
    pg_file_formats(out, r);
    pg_puts(out, "],\n \"selection\": {");
    first = 1;
    pg_key_num(out, "outside_window", r->outside, &first);
    pg_key_num(out, "undated", r->undated, &first);
    pg_key_num(out, "excluded", r->excluded, &first);
    pg_key_num(out, "exclude_networks", r->n_exclude, &first);
    pg_puts(out, "},\n \"first\": ");
    pg_time(out, &r->first);
    pg_puts(out, ", \"last\": ");
    pg_time(out, &r->last);
    pg_puts(out, ", \"overlong\": ");
    pg_num(out, r->cut);
    pg_puts(out, ", \"read_errors\": ");
    pg_puts(out, r->read_errors ? "true" : "false");
    if (r->has[PG_F_PROXYGUARD]) {
        first = 1;
        pg_puts(out, ",\n \"module\": {");
        pg_key_num(out, "hits", r->module_hits, &first);
        pg_key_num(out, "disagree", r->module_disagree, &first);
        pg_puts(out, "}");
    }
    first = 1;
    pg_puts(out, ",\n \"bounds\": {");
    pg_key_num(out, "clients_evicted", r->clients_evicted, &first);
    pg_key_num(out, "networks_evicted", r->nets_evicted, &first);
    pg_key_num(out, "names_evicted", r->texts_evicted, &first);
    pg_key_num(out, "periods_dropped", r->periods_dropped, &first);
    pg_key_num(out, "sizes_evicted", r->sizes_evicted, &first);
    pg_key_num(out, "verdicts_decided_early", r->pending_early, &first);
    pg_key_num(out, "verdicts_unattributed", r->verdicts_unattributed, &first);
    pg_puts(out, "}");
}

void pg_scan_json(const pg_out *out, const pg_scan_results *r)
{
    pg_puts(out, "{");
    pg_files(out, r);
    pg_puts(out, ", \"lines\": ");
    pg_num(out, r->lines);
    pg_puts(out, ", \"unparsed\": ");
    pg_num(out, r->unparsed);
    pg_puts(out, ",\n \"hits\": ");
    pg_reasons64(out, r->hits);
    pg_verdicts(out, r);
    pg_clients(out, r);
    pg_nets(out, "networks", r->nets, r->n_nets, r->top);
    pg_nets(out, "wide_networks", r->wide, r->n_wide, r->top);
    pg_ports(out, r);
    pg_texts(out, "connect_targets", "target", r->targets, r->n_targets, r->top);
    pg_texts(out, "foreign_hosts", "host", r->hosts, r->n_hosts, r->top);
    pg_periods(out, "months", r->months, r->n_months, 1);
    pg_periods(out, "days", r->days, r->n_days, 0);
    pg_examples(out, r);
    pg_meta(out, r);
    pg_puts(out, "}\n");
}

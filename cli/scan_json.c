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

static void scan_num(const pg_out *out, uint64_t n)
{
    char buf[32];

    snprintf(buf, sizeof(buf), "%llu", (unsigned long long)n);
    pg_puts(out, buf);
}

static void scan_key(const pg_out *out, const char *key, int *first)
{
    if (!*first) {
        pg_puts(out, ", ");
    }
    *first = 0;
    pg_put_json(out, key);
    pg_puts(out, ": ");
}

static void scan_key_num(const pg_out *out, const char *key, uint64_t n,
                       int *first)
{
    scan_key(out, key, first);
    scan_num(out, n);
}

static void scan_json_time(const pg_out *out, const scan_time *t)
{
    char buf[40];

    if (!t->valid) {
        pg_puts(out, "null");
        return;
    }
    pg_put_json(out, scan_time_iso(t, buf, sizeof(buf)));
}

/* {"connect": n, "absolute-uri": n, "unknown-host": n} */
static void scan_reasons32(const pg_out *out, const uint32_t *hits)
{
    int i, first = 1;

    pg_puts(out, "{");
    for (i = 0; i < SCAN_REASONS; i++) {
        scan_key_num(out, pg_reason_name(scan_reason_of(i)), hits[i], &first);
    }
    pg_puts(out, "}");
}

static void scan_reasons64(const pg_out *out, const uint64_t *hits)
{
    int i, first = 1;

    pg_puts(out, "{");
    for (i = 0; i < SCAN_REASONS; i++) {
        scan_key_num(out, pg_reason_name(scan_reason_of(i)), hits[i], &first);
    }
    pg_puts(out, "}");
}

static size_t scan_cut(size_t n, size_t top)
{
    return top && n > top ? top : n;
}

static void scan_files(const pg_out *out, const scan_results *r)
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
static void scan_verdicts32(const pg_out *out, const uint32_t *counts)
{
    int v, first = 1;

    pg_puts(out, "{");
    for (v = 0; v < SCAN_VERDICT_COUNT; v++) {
        scan_key_num(out, scan_verdict_name(v), counts[v], &first);
    }
    pg_puts(out, "}");
}

/* What may have worked, and the report's headline. */
static void scan_json_outcome(const pg_out *out, const scan_results *r)
{
    scan_outcome o;
    char text[256];
    int first = 1;

    scan_outcome_of(r, &o);
    pg_puts(out, ",\n \"outcome\": {");
    scan_key_num(out, "relayed", o.relayed, &first);
    scan_key_num(out, "relayed_suspect", o.relayed_suspect, &first);
    scan_key_num(out, "relayed_undetermined", o.relayed_undetermined, &first);
    scan_key_num(out, "tunnels", o.tunnels, &first);
    scan_key_num(out, "unjudged", o.unjudged, &first);
    scan_key(out, "headline", &first);
    pg_put_json(out, scan_headline(&o, text, sizeof(text)));
    pg_puts(out, "}");
}

static void scan_verdicts(const pg_out *out, const scan_results *r)
{
    int i, v, first = 1;

    pg_puts(out, ",\n \"verdicts\": {");
    for (v = 0; v < SCAN_VERDICT_COUNT; v++) {
        scan_key_num(out, scan_verdict_name(v), r->verdicts[v], &first);
    }
    pg_puts(out, "},\n \"verdicts_by_reason\": {");
    first = 1;
    for (i = 0; i < SCAN_REASONS; i++) {
        int inner = 1;

        scan_key(out, pg_reason_name(scan_reason_of(i)), &first);
        pg_puts(out, "{");
        for (v = 0; v < SCAN_VERDICT_COUNT; v++) {
            scan_key_num(out, scan_verdict_name(v), r->by_reason[i][v], &inner);
        }
        pg_puts(out, "}");
    }
    pg_puts(out, "},\n \"verdict_rules\": {");
    first = 1;
    for (i = 0; i < SCAN_RULE_COUNT; i++) {
        scan_key_num(out, scan_rule_name(i), r->rules[i], &first);
    }
    pg_puts(out, "}");
    scan_json_outcome(out, r);
}

static void scan_clients(const pg_out *out, const scan_results *r)
{
    size_t i, n = scan_cut(r->n_clients, r->top);

    pg_puts(out, ",\n \"clients\": [");
    for (i = 0; i < n; i++) {
        const scan_client *c = r->clients[i];

        pg_puts(out, i ? ",\n   {\"address\": " : "\n   {\"address\": ");
        pg_put_json(out, c->text);
        pg_puts(out, ", \"hits\": ");
        scan_num(out, c->total);
        pg_puts(out, ", \"first\": ");
        scan_json_time(out, &c->first);
        pg_puts(out, ", \"last\": ");
        scan_json_time(out, &c->last);
        pg_puts(out, ", \"reasons\": ");
        scan_reasons32(out, c->hits);
        pg_puts(out, ", \"verdicts\": ");
        scan_verdicts32(out, c->verdicts);
        pg_puts(out, "}");
    }
    pg_puts(out, "]");
}

static void scan_nets(const pg_out *out, const char *name,
                    const scan_net *const *nets, size_t count, size_t top)
{
    size_t i, n = scan_cut(count, top);
    char text[64];

    pg_puts(out, ",\n ");
    pg_put_json(out, name);
    pg_puts(out, ": [");
    for (i = 0; i < n; i++) {
        pg_puts(out, i ? ",\n   {\"network\": " : "\n   {\"network\": ");
        pg_put_json(out, scan_net_text(nets[i], text, sizeof(text)));
        pg_puts(out, ", \"hits\": ");
        scan_num(out, nets[i]->total);
        pg_puts(out, ", \"hosts\": ");
        scan_num(out, nets[i]->hosts);
        pg_puts(out, ", \"first\": ");
        scan_json_time(out, &nets[i]->first);
        pg_puts(out, ", \"last\": ");
        scan_json_time(out, &nets[i]->last);
        pg_puts(out, ", \"reasons\": ");
        scan_reasons32(out, nets[i]->hits);
        pg_puts(out, "}");
    }
    pg_puts(out, "]");
}

static void scan_ports(const pg_out *out, const scan_results *r)
{
    size_t i;
    int first = 1;
    char port[8];

    pg_puts(out, ",\n \"connect_ports\": {");
    for (i = 0; i < r->n_ports; i++) {
        snprintf(port, sizeof(port), "%u", (unsigned)r->port_order[i]);
        scan_key_num(out, port, r->ports[r->port_order[i]], &first);
    }
    pg_puts(out, "},\n \"connect_ports_none\": ");
    scan_num(out, r->ports_none);
}

static void scan_texts(const pg_out *out, const char *name, const char *field,
                     const scan_text *const *rows, size_t count, size_t top)
{
    size_t i, n = scan_cut(count, top);

    pg_puts(out, ",\n ");
    pg_put_json(out, name);
    pg_puts(out, ": [");
    for (i = 0; i < n; i++) {
        pg_puts(out, i ? ", {" : "{");
        pg_put_json(out, field);
        pg_puts(out, ": ");
        pg_put_json(out, rows[i]->text);
        pg_puts(out, ", \"hits\": ");
        scan_num(out, rows[i]->hits);
        pg_puts(out, "}");
    }
    pg_puts(out, "]");
}

static void scan_periods(const pg_out *out, const char *name,
                       const scan_period *p, size_t n, int months)
{
    size_t i;
    char key[16];
    int first = 1;

    pg_puts(out, ",\n ");
    pg_put_json(out, name);
    pg_puts(out, ": {");
    for (i = 0; i < n; i++) {
        scan_key(out, months ? scan_month_text(p[i].key, key, sizeof(key))
                           : scan_day_text(p[i].key, key, sizeof(key)),
               &first);
        scan_reasons32(out, p[i].hits);
    }
    pg_puts(out, "}");
}

static void scan_example_list(const pg_out *out,
                            const scan_example *const *ex, size_t n)
{
    size_t i;

    pg_puts(out, "[");
    for (i = 0; i < n; i++) {
        pg_puts(out, i ? ", {\"where\": " : "{\"where\": ");
        pg_put_json(out, ex[i]->where);
        pg_puts(out, ", \"reason\": ");
        pg_put_json(out, ex[i]->reason >= 0
                         ? pg_reason_name(scan_reason_of(ex[i]->reason))
                         : "unparsed");
        if (ex[i]->rule < SCAN_RULE_COUNT) {
            pg_puts(out, ", \"rule\": ");
            pg_put_json(out, scan_rule_name(ex[i]->rule));
        }
        pg_puts(out, ", \"line\": ");
        pg_put_json(out, ex[i]->text);
        pg_puts(out, "}");
    }
    pg_puts(out, "]");
}

static void scan_examples(const pg_out *out, const scan_results *r)
{
    const scan_example *unparsed[SCAN_EXAMPLES];
    int v, first = 1;
    size_t i;

    pg_puts(out, ",\n \"examples\": {");
    for (v = 0; v < SCAN_VERDICT_COUNT; v++) {
        scan_key(out, scan_verdict_name(v), &first);
        scan_example_list(out, r->examples[v], r->n_examples[v]);
    }
    pg_puts(out, "},\n \"unparsed_examples\": ");
    for (i = 0; i < r->n_unparsed_examples; i++) {
        unparsed[i] = &r->unparsed_examples[i];
    }
    scan_example_list(out, unparsed, r->n_unparsed_examples);
}

/* Each file's format: the preset's name or the LogFormat given. */
static void scan_file_formats(const pg_out *out, const scan_results *r)
{
    size_t i;

    for (i = 0; i < r->n_files; i++) {
        const scan_format *f = r->file_formats[i];
        const char *name = scan_format_name(f);
        int first = 1;

        pg_puts(out, i ? ", {" : "{");
        scan_key(out, "file", &first);
        pg_put_json(out, r->files[i]);
        scan_key(out, "format", &first);
        pg_put_json(out, name ? name : f->expanded);
        scan_key(out, "detected", &first);
        pg_puts(out, r->file_detected[i] ? "true" : "false");
        scan_key_num(out, "lines", r->file_lines[i], &first);
        scan_key_num(out, "unparsed", r->file_unparsed[i], &first);
        pg_puts(out, "}");
    }
}

static void scan_meta(const pg_out *out, const scan_results *r)
{
    int first = 1;

    pg_puts(out, ",\n \"version\": ");
    pg_put_json(out, PG_VERSION);
    pg_puts(out, ", \"format\": ");
    pg_put_json(out, r->format->expanded);
    pg_puts(out, ",\n \"names\": {");
    scan_key_num(out, "host_patterns", r->host_patterns, &first);
    scan_key_num(out, "vhosts", r->vhosts, &first);
    scan_key_num(out, "vhost_names", r->names, &first);
    scan_key(out, "per_vhost", &first);
    pg_puts(out, r->has[SCAN_F_VHOST] ? "true" : "false");
    scan_key(out, "host_logged", &first);
    pg_puts(out, r->has[SCAN_F_HOST] ? "true" : "false");
    scan_key_num(out, "incomplete", r->names_incomplete, &first);
    pg_puts(out, "},\n \"file_formats\": [");
    scan_file_formats(out, r);
    pg_puts(out, "],\n \"selection\": {");
    first = 1;
    scan_key_num(out, "outside_window", r->outside, &first);
    scan_key_num(out, "undated", r->undated, &first);
    scan_key_num(out, "excluded", r->excluded, &first);
    scan_key_num(out, "exclude_networks", r->n_exclude, &first);
    pg_puts(out, "},\n \"first\": ");
    scan_json_time(out, &r->first);
    pg_puts(out, ", \"last\": ");
    scan_json_time(out, &r->last);
    pg_puts(out, ", \"overlong\": ");
    scan_num(out, r->cut);
    pg_puts(out, ", \"read_errors\": ");
    pg_puts(out, r->read_errors ? "true" : "false");
    if (r->has[SCAN_F_PROXYGUARD]) {
        first = 1;
        pg_puts(out, ",\n \"module\": {");
        scan_key_num(out, "hits", r->module_hits, &first);
        scan_key_num(out, "disagree", r->module_disagree, &first);
        pg_puts(out, "}");
    }
    first = 1;
    pg_puts(out, ",\n \"bounds\": {");
    scan_key_num(out, "clients_evicted", r->clients_evicted, &first);
    scan_key_num(out, "networks_evicted", r->nets_evicted, &first);
    scan_key_num(out, "names_evicted", r->texts_evicted, &first);
    scan_key_num(out, "periods_dropped", r->periods_dropped, &first);
    scan_key_num(out, "sizes_evicted", r->sizes_evicted, &first);
    scan_key_num(out, "verdicts_decided_early", r->pending_early, &first);
    scan_key_num(out, "verdicts_unattributed", r->verdicts_unattributed, &first);
    pg_puts(out, "}");
}

void scan_json(const pg_out *out, const scan_results *r)
{
    pg_puts(out, "{");
    scan_files(out, r);
    pg_puts(out, ", \"lines\": ");
    scan_num(out, r->lines);
    pg_puts(out, ", \"unparsed\": ");
    scan_num(out, r->unparsed);
    pg_puts(out, ",\n \"hits\": ");
    scan_reasons64(out, r->hits);
    scan_verdicts(out, r);
    scan_clients(out, r);
    scan_nets(out, "networks", r->nets, r->n_nets, r->top);
    scan_nets(out, "wide_networks", r->wide, r->n_wide, r->top);
    scan_ports(out, r);
    scan_texts(out, "connect_targets", "target", r->targets, r->n_targets, r->top);
    scan_texts(out, "foreign_hosts", "host", r->hosts, r->n_hosts, r->top);
    scan_periods(out, "months", r->months, r->n_months, 1);
    scan_periods(out, "days", r->days, r->n_days, 0);
    scan_examples(out, r);
    scan_meta(out, r);
    pg_puts(out, "}\n");
}

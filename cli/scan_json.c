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
 * their meaning; fields are only ever added.  The document is written by
 * pg_out's JSON member writers (pg_json_*), so every string that came from
 * a log goes through pg_put_json, the project's one JSON escaper.
 */

#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "scan.h"

/* The document's members: most begin a line of their own. */
#define SCAN_JSON_LINE ",\n "
#define SCAN_JSON_SAME ", "

/* The rows of a list, one a line. */
#define SCAN_JSON_ROW_LEAD "\n   "
#define SCAN_JSON_ROW_SEP ",\n   "

static void scan_json_time(pg_json *j, const char *key, const scan_time *t)
{
    char buf[40];

    pg_json_str(j, key, t->valid ? scan_time_iso(t, buf, sizeof(buf)) : NULL);
}

/* {"connect": n, "absolute-uri": n, "unknown-host": n} */
static void scan_reasons64(pg_json *j, const char *key, const uint64_t *hits)
{
    pg_json o;
    int i;

    pg_json_object(j, key, &o);
    for (i = 0; i < SCAN_REASONS; i++) {
        pg_json_uint(&o, pg_reason_name(scan_reason_of(i)), hits[i]);
    }
    pg_json_end(&o, "}");
}

static void scan_reasons32(pg_json *j, const char *key, const uint32_t *hits)
{
    uint64_t wide[SCAN_REASONS];
    int i;

    for (i = 0; i < SCAN_REASONS; i++) {
        wide[i] = hits[i];
    }
    scan_reasons64(j, key, wide);
}

static size_t scan_cut(size_t n, size_t top)
{
    return top && n > top ? top : n;
}

static void scan_files(pg_json *doc, const scan_results *r)
{
    pg_json list;
    size_t i;

    pg_json_array(doc, "files", &list);
    for (i = 0; i < r->n_files; i++) {
        pg_json_str(&list, NULL, r->files[i]);
    }
    pg_json_end(&list, "]");
}

/* {"rejected": n, ...}: every verdict */
static void scan_verdicts32(pg_json *j, const char *key,
                            const uint32_t *counts)
{
    pg_json o;
    int v;

    pg_json_object(j, key, &o);
    for (v = 0; v < SCAN_VERDICT_COUNT; v++) {
        pg_json_uint(&o, scan_verdict_name(v), counts[v]);
    }
    pg_json_end(&o, "}");
}

/* What may have worked, and the report's headline. */
static void scan_json_outcome(pg_json *doc, const scan_results *r)
{
    scan_outcome o;
    char text[256];
    pg_json j;

    scan_outcome_of(r, &o);
    pg_json_object(doc, "outcome", &j);
    pg_json_uint(&j, "relayed", o.relayed);
    pg_json_uint(&j, "relayed_suspect", o.relayed_suspect);
    pg_json_uint(&j, "relayed_undetermined", o.relayed_undetermined);
    pg_json_uint(&j, "tunnels", o.tunnels);
    pg_json_uint(&j, "unjudged", o.unjudged);
    pg_json_str(&j, "headline", scan_headline(&o, text, sizeof(text)));
    pg_json_end(&j, "}");
}

static void scan_verdicts(pg_json *doc, const scan_results *r)
{
    pg_json o, inner;
    int i, v;

    pg_json_object(doc, "verdicts", &o);
    for (v = 0; v < SCAN_VERDICT_COUNT; v++) {
        pg_json_uint(&o, scan_verdict_name(v), r->verdicts[v]);
    }
    pg_json_end(&o, "}");
    pg_json_object(doc, "verdicts_by_reason", &o);
    for (i = 0; i < SCAN_REASONS; i++) {
        pg_json_object(&o, pg_reason_name(scan_reason_of(i)), &inner);
        for (v = 0; v < SCAN_VERDICT_COUNT; v++) {
            pg_json_uint(&inner, scan_verdict_name(v), r->by_reason[i][v]);
        }
        pg_json_end(&inner, "}");
    }
    pg_json_end(&o, "}");
    pg_json_object(doc, "verdict_rules", &o);
    for (i = 0; i < SCAN_RULE_COUNT; i++) {
        pg_json_uint(&o, scan_rule_name(i), r->rules[i]);
    }
    pg_json_end(&o, "}");
    scan_json_outcome(doc, r);
}

static void scan_clients(pg_json *doc, const scan_results *r)
{
    size_t i, n = scan_cut(r->n_clients, r->top);
    pg_json list, row;

    pg_json_key(doc, "clients");
    pg_json_begin(&list, doc->out, "[", SCAN_JSON_ROW_LEAD,
                  SCAN_JSON_ROW_SEP);
    for (i = 0; i < n; i++) {
        const scan_client *c = r->clients[i];

        pg_json_object(&list, NULL, &row);
        pg_json_str(&row, "address", c->text);
        pg_json_uint(&row, "hits", c->total);
        scan_json_time(&row, "first", &c->first);
        scan_json_time(&row, "last", &c->last);
        scan_reasons32(&row, "reasons", c->hits);
        scan_verdicts32(&row, "verdicts", c->verdicts);
        pg_json_end(&row, "}");
    }
    pg_json_end(&list, "]");
}

static void scan_nets(pg_json *doc, const char *name,
                      const scan_net *const *nets, size_t count, size_t top)
{
    size_t i, n = scan_cut(count, top);
    char text[64];
    pg_json list, row;

    pg_json_key(doc, name);
    pg_json_begin(&list, doc->out, "[", SCAN_JSON_ROW_LEAD,
                  SCAN_JSON_ROW_SEP);
    for (i = 0; i < n; i++) {
        pg_json_object(&list, NULL, &row);
        pg_json_str(&row, "network",
                    scan_net_text(nets[i], text, sizeof(text)));
        pg_json_uint(&row, "hits", nets[i]->total);
        pg_json_uint(&row, "hosts", nets[i]->hosts);
        scan_json_time(&row, "first", &nets[i]->first);
        scan_json_time(&row, "last", &nets[i]->last);
        scan_reasons32(&row, "reasons", nets[i]->hits);
        pg_json_end(&row, "}");
    }
    pg_json_end(&list, "]");
}

static void scan_ports(pg_json *doc, const scan_results *r)
{
    size_t i;
    char port[8];
    pg_json o;

    pg_json_object(doc, "connect_ports", &o);
    for (i = 0; i < r->n_ports; i++) {
        snprintf(port, sizeof(port), "%u", (unsigned)r->port_order[i]);
        pg_json_uint(&o, port, r->ports[r->port_order[i]]);
    }
    pg_json_end(&o, "}");
    pg_json_uint(doc, "connect_ports_none", r->ports_none);
}

static void scan_texts(pg_json *doc, const char *name, const char *field,
                       const scan_text *const *rows, size_t count, size_t top)
{
    size_t i, n = scan_cut(count, top);
    pg_json list, row;

    pg_json_array(doc, name, &list);
    for (i = 0; i < n; i++) {
        pg_json_object(&list, NULL, &row);
        pg_json_str(&row, field, rows[i]->text);
        pg_json_uint(&row, "hits", rows[i]->hits);
        pg_json_end(&row, "}");
    }
    pg_json_end(&list, "]");
}

static void scan_periods(pg_json *doc, const char *name,
                         const scan_period *p, size_t n, int months)
{
    size_t i;
    char key[16];
    pg_json o;

    pg_json_object(doc, name, &o);
    for (i = 0; i < n; i++) {
        scan_reasons32(&o,
                       months ? scan_month_text(p[i].key, key, sizeof(key))
                              : scan_day_text(p[i].key, key, sizeof(key)),
                       p[i].hits);
    }
    pg_json_end(&o, "}");
}

static void scan_example_list(pg_json *j, const char *key,
                              const scan_example *const *ex, size_t n)
{
    pg_json list, row;
    size_t i;

    pg_json_array(j, key, &list);
    for (i = 0; i < n; i++) {
        pg_json_object(&list, NULL, &row);
        pg_json_str(&row, "where", ex[i]->where);
        pg_json_str(&row, "reason", ex[i]->reason >= 0
                    ? pg_reason_name(scan_reason_of(ex[i]->reason))
                    : "unparsed");
        if (ex[i]->rule < SCAN_RULE_COUNT) {
            pg_json_str(&row, "rule", scan_rule_name(ex[i]->rule));
        }
        pg_json_str(&row, "line", ex[i]->text);
        pg_json_end(&row, "}");
    }
    pg_json_end(&list, "]");
}

static void scan_examples(pg_json *doc, const scan_results *r)
{
    const scan_example *unparsed[SCAN_EXAMPLES];
    pg_json o;
    size_t i;
    int v;

    pg_json_object(doc, "examples", &o);
    for (v = 0; v < SCAN_VERDICT_COUNT; v++) {
        scan_example_list(&o, scan_verdict_name(v), r->examples[v],
                          r->n_examples[v]);
    }
    pg_json_end(&o, "}");
    for (i = 0; i < r->n_unparsed_examples; i++) {
        unparsed[i] = &r->unparsed_examples[i];
    }
    scan_example_list(doc, "unparsed_examples", unparsed,
                      r->n_unparsed_examples);
}

/* Each file's format: the preset's name or the LogFormat given. */
static void scan_file_formats(pg_json *doc, const scan_results *r)
{
    pg_json list, row;
    size_t i;

    pg_json_array(doc, "file_formats", &list);
    for (i = 0; i < r->n_files; i++) {
        const scan_format *f = r->file_formats[i];
        const char *name = scan_format_name(f);

        pg_json_object(&list, NULL, &row);
        pg_json_str(&row, "file", r->files[i]);
        pg_json_str(&row, "format", name ? name : f->expanded);
        pg_json_bool(&row, "detected", r->file_detected[i]);
        pg_json_uint(&row, "lines", r->file_lines[i]);
        pg_json_uint(&row, "unparsed", r->file_unparsed[i]);
        pg_json_end(&row, "}");
    }
    pg_json_end(&list, "]");
}

static void scan_meta(pg_json *doc, const scan_results *r)
{
    pg_json o;

    pg_json_str(doc, "version", PG_VERSION);
    pg_json_sep(doc, SCAN_JSON_SAME);
    pg_json_str(doc, "format", r->format->expanded);
    pg_json_sep(doc, SCAN_JSON_LINE);
    pg_json_object(doc, "names", &o);
    pg_json_uint(&o, "host_patterns", r->host_patterns);
    pg_json_uint(&o, "vhosts", r->vhosts);
    pg_json_uint(&o, "vhost_names", r->names);
    pg_json_bool(&o, "per_vhost", r->has[SCAN_F_VHOST]);
    pg_json_bool(&o, "host_logged", r->has[SCAN_F_HOST]);
    pg_json_uint(&o, "incomplete", r->names_incomplete);
    pg_json_end(&o, "}");
    scan_file_formats(doc, r);
    pg_json_object(doc, "selection", &o);
    pg_json_uint(&o, "outside_window", r->outside);
    pg_json_uint(&o, "undated", r->undated);
    pg_json_uint(&o, "excluded", r->excluded);
    pg_json_uint(&o, "exclude_networks", r->n_exclude);
    pg_json_end(&o, "}");
    scan_json_time(doc, "first", &r->first);
    pg_json_sep(doc, SCAN_JSON_SAME);
    scan_json_time(doc, "last", &r->last);
    pg_json_uint(doc, "overlong", r->cut);
    pg_json_bool(doc, "read_errors", r->read_errors);
    pg_json_sep(doc, SCAN_JSON_LINE);
    if (r->has[SCAN_F_PROXYGUARD]) {
        pg_json_object(doc, "module", &o);
        pg_json_uint(&o, "hits", r->module_hits);
        pg_json_uint(&o, "disagree", r->module_disagree);
        pg_json_end(&o, "}");
    }
    pg_json_object(doc, "bounds", &o);
    pg_json_uint(&o, "clients_evicted", r->clients_evicted);
    pg_json_uint(&o, "networks_evicted", r->nets_evicted);
    pg_json_uint(&o, "names_evicted", r->texts_evicted);
    pg_json_uint(&o, "periods_dropped", r->periods_dropped);
    pg_json_uint(&o, "sizes_evicted", r->sizes_evicted);
    pg_json_uint(&o, "verdicts_decided_early", r->pending_early);
    pg_json_uint(&o, "verdicts_unattributed", r->verdicts_unattributed);
    pg_json_end(&o, "}");
}

void scan_json(const pg_out *out, const scan_results *r)
{
    pg_json doc;

    pg_json_begin(&doc, out, "{", NULL, SCAN_JSON_SAME);
    scan_files(&doc, r);
    pg_json_uint(&doc, "lines", r->lines);
    pg_json_uint(&doc, "unparsed", r->unparsed);
    pg_json_sep(&doc, SCAN_JSON_LINE);
    scan_reasons64(&doc, "hits", r->hits);
    scan_verdicts(&doc, r);
    scan_clients(&doc, r);
    scan_nets(&doc, "networks", r->nets, r->n_nets, r->top);
    scan_nets(&doc, "wide_networks", r->wide, r->n_wide, r->top);
    scan_ports(&doc, r);
    scan_texts(&doc, "connect_targets", "target", r->targets, r->n_targets,
               r->top);
    scan_texts(&doc, "foreign_hosts", "host", r->hosts, r->n_hosts, r->top);
    scan_periods(&doc, "months", r->months, r->n_months, 1);
    scan_periods(&doc, "days", r->days, r->n_days, 0);
    scan_examples(&doc, r);
    scan_meta(&doc, r);
    pg_json_end(&doc, "}\n");
}

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
 * pg_status.c: the status page in four formats.  See pg_status.h.
 *
 * Numbers and our own labels go through pg_printf; anything that came from
 * a request (method, target, Host) only ever through the escaper of the
 * format being written.  JSON is written by pg_out's member writers
 * (pg_json_*), straight from the snapshot: nothing allocated per member.
 */

#include <stdlib.h>
#include <string.h>

#include <apr_strings.h>
#include <apr_time.h>

#include "pg_status.h"

/* a snapshot (pg_table_snapshot) holds what the views list */
typedef char pg_snapshot_holds_the_lists[
    PG_STATUS_TOP_HTML <= PG_SNAPSHOT_TOP
    && PG_STATUS_TOP_JSON <= PG_SNAPSHOT_TOP
    && PG_STATUS_TOP_BANS <= PG_SNAPSHOT_ROWS ? 1 : -1];

/* ------------------------------------------------------------------ */
/* Helpers over the snapshot                                            */

static const char *pg_network_text(char *buf, apr_size_t size,
                                   const pg_addr *prefix)
{
    char addr[PG_CLIENT_TEXT_MAX];

    apr_snprintf(buf, size, "%s/%d", pg_addr_format(addr, sizeof(addr), prefix),
                 prefix->family == 6 ? 64 : 24);
    return buf;
}

static const char *pg_time_text(char *buf, apr_size_t size, apr_time_t t)
{
    apr_time_exp_t tm;
    apr_size_t len;

    apr_time_exp_gmt(&tm, t);
    apr_strftime(buf, &len, size, "%Y-%m-%d %H:%M:%S", &tm);
    return buf;
}

static const char *pg_vhost_name(const pg_table *t, apr_uint32_t row)
{
    return row < t->vhosts_used && row < t->n_vhosts
           ? pg_table_vhosts_c(t)[row].name : "?";
}

static apr_uint64_t pg_vhost_total(const pg_vhost_row *row)
{
    apr_uint64_t sum = 0;
    int r, a;

    for (r = 1; r < PG_REASON_COUNT; r++) {
        for (a = 0; a < PG_ACTIONS; a++) {
            sum += row->hits[r][a];
        }
    }
    return sum;
}

/* "absolute-uri" -> "AbsoluteUri", for ?auto keys */
static const char *pg_camel(char *buf, apr_size_t size, const char *name)
{
    apr_size_t i = 0;
    int upper = 1;

    for (; *name && i + 1 < size; name++) {
        if (*name == '-') {
            upper = 1;
            continue;
        }
        buf[i++] = upper && *name >= 'a' && *name <= 'z'
                   ? (char)(*name - 'a' + 'A') : *name;
        upper = 0;
    }
    buf[i] = '\0';
    return buf;
}

static int pg_cmp_clients(const void *a, const void *b)
{
    const pg_client_row *x = *(const pg_client_row *const *)a;
    const pg_client_row *y = *(const pg_client_row *const *)b;

    if (x->total != y->total) {
        return x->total < y->total ? 1 : -1;
    }
    return x->last_seen < y->last_seen   ? 1
           : x->last_seen > y->last_seen ? -1
                                         : 0;
}

static int pg_cmp_networks(const void *a, const void *b)
{
    const pg_network_row *x = *(const pg_network_row *const *)a;
    const pg_network_row *y = *(const pg_network_row *const *)b;

    if (x->hits != y->hits) {
        return x->hits < y->hits ? 1 : -1;
    }
    return x->addresses < y->addresses   ? 1
           : x->addresses > y->addresses ? -1
                                         : 0;
}

/* The used rows of a client or network array (both start with a pg_addr
 * whose family is 0 when the slot is free), sorted by cmp. */
static const void **pg_sorted_rows(apr_pool_t *p, const void *rows,
                                   apr_uint32_t n, apr_size_t row_size,
                                   int (*cmp)(const void *, const void *),
                                   apr_uint32_t *used)
{
    const void **sorted = apr_palloc(p, sizeof(*sorted) * (n + 1));
    apr_uint32_t i;

    *used = 0;
    for (i = 0; i < n; i++) {
        const void *row = (const char *)rows + row_size * i;

        if (((const pg_addr *)row)->family) {
            sorted[(*used)++] = row;
        }
    }
    qsort(sorted, *used, sizeof(*sorted), cmp);
    return sorted;
}

static const pg_client_row **pg_top_clients(apr_pool_t *p, const pg_table *t,
                                            apr_uint32_t *n)
{
    return (const pg_client_row **)pg_sorted_rows(
        p, pg_table_clients_c(t), t->n_clients, sizeof(pg_client_row),
        pg_cmp_clients, n);
}

static const pg_network_row **pg_top_networks(apr_pool_t *p, const pg_table *t,
                                              apr_uint32_t *n)
{
    return (const pg_network_row **)pg_sorted_rows(
        p, pg_table_networks_c(t), t->n_clients, sizeof(pg_network_row),
        pg_cmp_networks, n);
}

/* Recent hits, newest first: *n rows into rows[]. */
static apr_uint32_t pg_recent(const pg_table *t, const pg_recent_row **rows)
{
    apr_uint32_t n = t->recent_next < PG_RECENT_MAX ? t->recent_next
                                                    : PG_RECENT_MAX;
    apr_uint32_t i;

    for (i = 0; i < n; i++) {
        rows[i] = &t->recent[(t->recent_next - 1 - i) % PG_RECENT_MAX];
    }
    return n;
}

/* Active bans, the one running out last first; *n of them. */
static int pg_cmp_bans(const void *a, const void *b)
{
    const pg_ban_row *x = *(const pg_ban_row *const *)a;
    const pg_ban_row *y = *(const pg_ban_row *const *)b;

    return x->until < y->until ? 1 : x->until > y->until ? -1 : 0;
}

static const pg_ban_row **pg_active_bans(apr_pool_t *p, const pg_table *t,
                                         apr_uint32_t now, apr_uint32_t *n)
{
    const pg_ban_row *rows = pg_table_bans_c(t);
    const pg_ban_row **active =
        apr_palloc(p, sizeof(*active) * (t->n_bans + 1));
    apr_uint32_t i;

    *n = 0;
    for (i = 0; i < t->n_bans; i++) {
        if (rows[i].addr.family && rows[i].until > now && !rows[i].lifted) {
            active[(*n)++] = &rows[i];
        }
    }
    qsort(active, *n, sizeof(*active), pg_cmp_bans);
    return active;
}

/* The count of one reason in the bucket for stamp, 0 if it has rolled. */
static apr_uint32_t pg_bucket_hits(const pg_bucket *buckets, apr_uint32_t n,
                                   apr_uint32_t stamp, int reason)
{
    const pg_bucket *b = &buckets[stamp % n];

    return b->stamp == stamp ? b->hits[reason] : 0;
}

/* ------------------------------------------------------------------ */
/* ?auto                                                                */

void pg_status_auto_lines(const pg_out *out, const pg_table *snap)
{
    char key[32];
    int r;

    pg_printf(out, "ProxyGuardTotal: %" APR_UINT64_T_FMT "\n",
              pg_table_total(snap));
    pg_printf(out, "ProxyGuardDenied: %" APR_UINT64_T_FMT "\n",
              pg_table_action_total(snap, PG_ACTION_DENY));
    pg_printf(out, "ProxyGuardDetected: %" APR_UINT64_T_FMT "\n",
              pg_table_action_total(snap, PG_ACTION_DETECT));
    for (r = 1; r < PG_REASON_COUNT; r++) {
        pg_printf(out, "ProxyGuardHits%s: %" APR_UINT64_T_FMT "\n",
                  pg_camel(key, sizeof(key), pg_reason_name((pg_reason)r)),
                  pg_table_reason_total(snap, (pg_reason)r));
    }
    pg_printf(out, "ProxyGuardClientsTracked: %u\n", snap->clients_used);
    pg_printf(out, "ProxyGuardClientsCapacity: %u\n", snap->capacity_clients);
    pg_printf(out, "ProxyGuardClientsEvicted: %u\n", snap->clients_evicted);
    pg_printf(out, "ProxyGuardNetworksTracked: %u\n", snap->networks_used);
    pg_printf(out, "ProxyGuardBansActive: %u\n", snap->bans_active);
    pg_printf(out, "ProxyGuardBansStarted: %u\n", snap->bans_started);
    pg_printf(out, "ProxyGuardBansRefused: %u\n", snap->bans_refused);
    pg_printf(out, "ProxyGuardBansCapacity: %u\n", snap->capacity_bans);
    pg_printf(out, "ProxyGuardNetworkBansActive: %u\n", snap->bans_net_active);
    pg_printf(out, "ProxyGuardNetworkBansStarted: %u\n",
              snap->bans_net_started);
    pg_printf(out, "ProxyGuardDetailsSkipped: %u\n", snap->details_skipped);
    pg_printf(out, "ProxyGuardStartTime: %" APR_TIME_T_FMT "\n",
              apr_time_sec(snap->started));
    pg_printf(out, "ProxyGuardRestarts: %u\n", snap->restarts);
}

/* ------------------------------------------------------------------ */
/* JSON                                                                 */

/* The lists of the document: one row a line, indented under their key. */
#define PG_JSON_ROW_LEAD "\n    "
#define PG_JSON_ROW_SEP ",\n    "
#define PG_JSON_LIST_END "\n  ]"

/* {"connect": n, "absolute-uri": n, ...}: every reason but none */
static void pg_json_reason_counts(const pg_out *out, const apr_uint64_t *v)
{
    pg_json j;
    int r;

    pg_json_begin(&j, out, "{", NULL, NULL);
    for (r = 1; r < PG_REASON_COUNT; r++) {
        pg_json_uint(&j, pg_reason_name((pg_reason)r), v[r]);
    }
    pg_json_end(&j, "}");
}

static void pg_json_vhosts(pg_json *doc, const pg_table *t)
{
    const pg_vhost_row *rows = pg_table_vhosts_c(t);
    apr_uint32_t i;
    pg_json list;
    int r;

    pg_json_key(doc, "vhosts");
    pg_json_begin(&list, doc->out, "[", PG_JSON_ROW_LEAD, PG_JSON_ROW_SEP);
    for (i = 0; i < t->vhosts_used && i < t->n_vhosts; i++) {
        pg_json row, hits, pair;

        pg_json_object(&list, NULL, &row);
        pg_json_str(&row, "vhost", rows[i].name);
        pg_json_uint(&row, "total", pg_vhost_total(&rows[i]));
        pg_json_object(&row, "hits", &hits);
        for (r = 1; r < PG_REASON_COUNT; r++) {
            pg_json_object(&hits, pg_reason_name((pg_reason)r), &pair);
            pg_json_uint(&pair, "deny", rows[i].hits[r][0]);
            pg_json_uint(&pair, "detect", rows[i].hits[r][1]);
            pg_json_end(&pair, "}");
        }
        pg_json_end(&hits, "}");
        pg_json_end(&row, "}");
    }
    pg_json_end(&list, PG_JSON_LIST_END);
}

static void pg_json_clients(pg_json *doc, apr_pool_t *p, const pg_table *t)
{
    apr_uint32_t n, i;
    const pg_client_row **top = pg_top_clients(p, t, &n);
    char addr[PG_CLIENT_TEXT_MAX];
    apr_uint64_t v[PG_REASON_COUNT];
    pg_json list;
    int r;

    pg_json_key(doc, "clients");
    pg_json_begin(&list, doc->out, "[", PG_JSON_ROW_LEAD, PG_JSON_ROW_SEP);
    for (i = 0; i < n && i < PG_STATUS_TOP_JSON; i++) {
        pg_json row;

        pg_json_object(&list, NULL, &row);
        pg_json_str(&row, "address",
                    pg_addr_format(addr, sizeof(addr), &top[i]->addr));
        pg_json_uint(&row, "total", top[i]->total);
        pg_json_uint(&row, "first_seen", top[i]->first_seen);
        pg_json_uint(&row, "last_seen", top[i]->last_seen);
        for (r = 0; r < PG_REASON_COUNT; r++) {
            v[r] = top[i]->hits[r];
        }
        pg_json_key(&row, "hits");
        pg_json_reason_counts(doc->out, v);
        pg_json_end(&row, "}");
    }
    pg_json_end(&list, PG_JSON_LIST_END);
}

static void pg_json_networks(pg_json *doc, apr_pool_t *p, const pg_table *t)
{
    apr_uint32_t n, i;
    const pg_network_row **top = pg_top_networks(p, t, &n);
    char net[PG_CLIENT_TEXT_MAX + 4];
    pg_json list;

    pg_json_key(doc, "networks");
    pg_json_begin(&list, doc->out, "[", PG_JSON_ROW_LEAD, PG_JSON_ROW_SEP);
    for (i = 0; i < n && i < PG_STATUS_TOP_JSON; i++) {
        pg_json row;

        pg_json_object(&list, NULL, &row);
        pg_json_str(&row, "network",
                    pg_network_text(net, sizeof(net), &top[i]->prefix));
        pg_json_uint(&row, "hits", top[i]->hits);
        pg_json_uint(&row, "addresses", top[i]->addresses);
        pg_json_uint(&row, "last_seen", top[i]->last_seen);
        pg_json_end(&row, "}");
    }
    pg_json_end(&list, PG_JSON_LIST_END);
}

static void pg_json_ports(pg_json *doc, const pg_table *t)
{
    char port[8];
    pg_json ports;
    int i;

    pg_json_object(doc, "ports", &ports);
    for (i = 0; i < PG_PORT_SLOTS; i++) {
        if (t->ports[i].port && t->ports[i].hits) {
            apr_snprintf(port, sizeof(port), "%u", t->ports[i].port);
            pg_json_uint(&ports, port, t->ports[i].hits);
        }
    }
    if (t->ports_other) {
        pg_json_uint(&ports, "other", t->ports_other);
    }
    pg_json_end(&ports, "}");
}

static void pg_json_recent(pg_json *doc, const pg_table *t)
{
    const pg_recent_row *rows[PG_RECENT_MAX];
    apr_uint32_t n = pg_recent(t, rows), i;
    pg_json list;

    pg_json_key(doc, "recent");
    pg_json_begin(&list, doc->out, "[", PG_JSON_ROW_LEAD, PG_JSON_ROW_SEP);
    for (i = 0; i < n; i++) {
        const pg_recent_row *row = rows[i];
        pg_json r;

        pg_json_object(&list, NULL, &r);
        pg_json_int(&r, "time", apr_time_sec(row->time));
        pg_json_str(&r, "client", row->client);
        pg_json_str(&r, "vhost", pg_vhost_name(t, row->vhost));
        pg_json_str(&r, "reason", pg_reason_name((pg_reason)row->reason));
        pg_json_str(&r, "action", pg_action_name((pg_action)row->action));
        pg_json_str(&r, "method", row->method);
        pg_json_str(&r, "target", row->target);
        pg_json_str(&r, "host", row->host);
        pg_json_end(&r, "}");
    }
    pg_json_end(&list, PG_JSON_LIST_END);
}

static void pg_json_bans(pg_json *doc, apr_pool_t *p, const pg_table *t,
                         apr_uint32_t now)
{
    apr_uint32_t n, i;
    const pg_ban_row **rows = pg_active_bans(p, t, now, &n);
    char addr[PG_CLIENT_TEXT_MAX];
    pg_json list;

    pg_json_uint(doc, "bans_started", t->bans_started);
    pg_json_uint(doc, "bans_refused", t->bans_refused);
    pg_json_uint(doc, "bans_active", t->bans_active);
    pg_json_uint(doc, "bans_capacity", t->capacity_bans);
    pg_json_uint(doc, "network_bans_active", t->bans_net_active);
    pg_json_uint(doc, "network_bans_started", t->bans_net_started);
    pg_json_key(doc, "bans");
    pg_json_begin(&list, doc->out, "[", PG_JSON_ROW_LEAD, PG_JSON_ROW_SEP);
    for (i = 0; i < n && i < PG_STATUS_TOP_BANS; i++) {
        pg_json row;

        pg_json_object(&list, NULL, &row);
        pg_json_str(&row, "address",
                    pg_addr_format_bare(addr, sizeof(addr), &rows[i]->addr));
        pg_json_bool(&row, "network", pg_addr_is_net(&rows[i]->addr));
        pg_json_uint(&row, "prefix", pg_addr_prefix_len(&rows[i]->addr));
        pg_json_uint(&row, "started", rows[i]->started);
        pg_json_uint(&row, "until", rows[i]->until);
        pg_json_uint(&row, "remaining", (apr_uint32_t)(rows[i]->until - now));
        pg_json_uint(&row, "hits", rows[i]->hits);
        pg_json_uint(&row, "blocked", rows[i]->blocked);
        pg_json_str(&row, "origin", rows[i]->started ? "here" : "shared");
        pg_json_end(&row, "}");
    }
    pg_json_end(&list, PG_JSON_LIST_END);
}

static void pg_json_series(pg_json *timeline, const char *name,
                           const pg_bucket *buckets, apr_uint32_t n,
                           apr_uint32_t last, apr_uint32_t step)
{
    pg_json series, hits, counts;
    apr_uint32_t i;
    int r;

    pg_json_object(timeline, name, &series);
    pg_json_uint(&series, "start", (apr_uint32_t)((last - n + 1) * step));
    pg_json_uint(&series, "step", step);
    pg_json_object(&series, "hits", &hits);
    for (r = 1; r < PG_REASON_COUNT; r++) {
        pg_json_key(&hits, pg_reason_name((pg_reason)r));
        pg_json_begin(&counts, timeline->out, "[", NULL, ",");
        for (i = 0; i < n; i++) {
            pg_json_uint(&counts, NULL,
                         pg_bucket_hits(buckets, n, last - n + 1 + i, r));
        }
        pg_json_end(&counts, "]");
    }
    pg_json_end(&hits, "}");
    pg_json_end(&series, "}");
}

static void pg_render_json(const pg_out *out, apr_pool_t *p,
                           const pg_table *t, const pg_status_opts *o)
{
    apr_uint64_t v[PG_REASON_COUNT];
    apr_uint32_t now = (apr_uint32_t)apr_time_sec(o->now);
    pg_json doc, obj;
    int r;

    for (r = 0; r < PG_REASON_COUNT; r++) {
        v[r] = pg_table_reason_total(t, (pg_reason)r);
    }
    pg_json_begin(&doc, out, "{", "\n  ", ",\n  ");
    pg_json_str(&doc, "version", o->version);
    pg_json_uint(&doc, "now", now);
    pg_json_int(&doc, "since", apr_time_sec(t->started));
    pg_json_uint(&doc, "restarts", t->restarts);
    pg_json_uint(&doc, "total", pg_table_total(t));
    pg_json_key(&doc, "hits");
    pg_json_reason_counts(out, v);
    pg_json_object(&doc, "actions", &obj);
    pg_json_uint(&obj, "deny", pg_table_action_total(t, PG_ACTION_DENY));
    pg_json_uint(&obj, "detect", pg_table_action_total(t, PG_ACTION_DETECT));
    pg_json_end(&obj, "}");
    pg_json_vhosts(&doc, t);
    pg_json_clients(&doc, p, t);
    pg_json_networks(&doc, p, t);
    pg_json_ports(&doc, t);
    pg_json_bans(&doc, p, t, now);
    pg_json_recent(&doc, t);
    pg_json_key(&doc, "timeline");
    pg_json_begin(&obj, out, "{", "\n    ", ",\n    ");
    pg_json_series(&obj, "minutes", t->minutes, PG_MINUTES, now / 60, 60);
    pg_json_series(&obj, "hours", t->hours, PG_HOURS, now / 3600, 3600);
    pg_json_end(&obj, "\n  }");
    pg_json_object(&doc, "table", &obj);
    pg_json_uint(&obj, "capacity", t->capacity_clients);
    pg_json_uint(&obj, "clients", t->clients_used);
    pg_json_uint(&obj, "networks", t->networks_used);
    pg_json_uint(&obj, "clients_evicted", t->clients_evicted);
    pg_json_uint(&obj, "networks_evicted", t->networks_evicted);
    pg_json_uint(&obj, "details_skipped", t->details_skipped);
    pg_json_uint(&obj, "bytes", o->table_bytes);
    pg_json_end(&obj, "}");
    pg_json_object(&doc, "ban_store", &obj);
    pg_json_uint(&obj, "calls", t->store_calls);
    pg_json_uint(&obj, "failures", t->store_failures);
    pg_json_uint(&obj, "down_since", t->store_down_since);
    pg_json_uint(&obj, "checks_dropped", t->checks_dropped);
    pg_json_end(&obj, "}");
    pg_json_end(&doc, "\n}\n");
}

/* ------------------------------------------------------------------ */
/* Prometheus text format 0.0.4                                         */

static void pg_prom_family(const pg_out *out, const char *name,
                           const char *type, const char *help)
{
    pg_printf(out, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* A family of one sample without labels. */
typedef struct pg_prom_scalar {
    const char *name;
    const char *type;
    const char *help;
    apr_uint64_t value;
} pg_prom_scalar;

static void pg_prom_scalars(const pg_out *out, const pg_prom_scalar *m,
                            apr_size_t n)
{
    apr_size_t i;

    for (i = 0; i < n; i++) {
        pg_prom_family(out, m[i].name, m[i].type, m[i].help);
        pg_printf(out, "%s %" APR_UINT64_T_FMT "\n", m[i].name, m[i].value);
    }
}

/* The labels of a reason x action pair; action index 0 is deny. */
static const char *const pg_prom_actions[PG_ACTIONS] = { "deny", "detect" };

/* An info metric, as the naming conventions ask: the value is always 1,
 * the build is in the label, so that dashboards can join on it. */
static void pg_prom_build_info(const pg_out *out, const char *version)
{
    pg_prom_family(out, "proxyguard_build_info", "gauge",
                   "The running mod_proxyguard's version; always 1.");
    pg_puts(out, "proxyguard_build_info{version=");
    pg_put_label(out, version);
    pg_puts(out, "} 1\n");
}

/* The totals over every vhost, every reason x action pair present, zeros
 * included: rate() and alerts need a series before its first hit. */
static void pg_prom_reason_hits(const pg_out *out, const pg_table *t)
{
    int r, a;

    pg_prom_family(out, "proxyguard_reason_hits_total", "counter",
                   "Requests mod_proxyguard counted, over every vhost, by "
                   "reason and action.");
    for (r = 1; r < PG_REASON_COUNT; r++) {
        for (a = 0; a < PG_ACTIONS; a++) {
            pg_printf(out,
                      "proxyguard_reason_hits_total{reason=\"%s\","
                      "action=\"%s\"} %" APR_UINT64_T_FMT "\n",
                      pg_reason_name((pg_reason)r), pg_prom_actions[a],
                      pg_table_reason_action_total(
                          t, (pg_reason)r,
                          a == 0 ? PG_ACTION_DENY : PG_ACTION_DETECT));
        }
    }
}

/* Per vhost, only the pairs hit so far: with every pair, 10,000 vhosts
 * would be 140,000 series per server, nearly all zeros.  A pair's series
 * appears at its first hit (the totals above have every pair from the
 * start). */
static void pg_prom_vhost_hits(const pg_out *out, const pg_table *t)
{
    const pg_vhost_row *rows = pg_table_vhosts_c(t);
    apr_uint32_t i;
    int r, a;

    pg_prom_family(
        out, "proxyguard_hits_total", "counter",
        "Requests mod_proxyguard counted, by vhost, reason and action "
        "(pairs not hit yet are left out).");
    for (i = 0; i < t->vhosts_used && i < t->n_vhosts; i++) {
        for (r = 1; r < PG_REASON_COUNT; r++) {
            for (a = 0; a < PG_ACTIONS; a++) {
                if (rows[i].hits[r][a] == 0) {
                    continue;
                }
                pg_puts(out, "proxyguard_hits_total{vhost=");
                pg_put_label(out, rows[i].name);
                pg_printf(out, ",reason=\"%s\",action=\"%s\"} %u\n",
                          pg_reason_name((pg_reason)r), pg_prom_actions[a],
                          rows[i].hits[r][a]);
            }
        }
    }
}

static void pg_render_prometheus(const pg_out *out, const pg_table *t,
                                 const pg_status_opts *o)
{
    const pg_prom_scalar before_evictions[] = {
        { "proxyguard_bans_active", "gauge",
          "Addresses banned now (ProxyGuardBan), as this server knows them.",
          t->bans_active },
        { "proxyguard_bans_started_total", "counter",
          "Bans this server started.", t->bans_started },
        { "proxyguard_bans_refused_total", "counter",
          "Bans not started because the ban list had no free row.",
          t->bans_refused },
        { "proxyguard_bans_capacity", "gauge",
          "Rows of the ban list (ProxyGuardTableSize).", t->capacity_bans },
        { "proxyguard_network_bans_active", "gauge",
          "Of the bans running now, IPv6 /64 networks (ProxyGuardBanNet6).",
          t->bans_net_active },
        { "proxyguard_network_bans_started_total", "counter",
          "Of the bans this server started, IPv6 /64 networks.",
          t->bans_net_started },
        { "proxyguard_table_clients_capacity", "gauge",
          "Client addresses the table can track (ProxyGuardTableSize).",
          t->capacity_clients },
        { "proxyguard_table_clients_used", "gauge",
          "Client addresses tracked now.", t->clients_used },
        { "proxyguard_table_networks_used", "gauge",
          "Networks (/24, /64) tracked now.", t->networks_used },
    };
    const pg_prom_scalar after_evictions[] = {
        { "proxyguard_details_skipped_total", "counter",
          "Counted-only hits whose detail was skipped: the table's "
          "mutex was busy (the exact counters have them).",
          t->details_skipped },
        { "proxyguard_ban_store_calls_total", "counter",
          "Calls the ban agent made to a shared ban store.", t->store_calls },
        { "proxyguard_ban_store_failures_total", "counter",
          "Calls to a shared ban store that failed or did not answer in time.",
          t->store_failures },
        { "proxyguard_ban_store_up", "gauge",
          "1 while a shared ban store answers (or none is used), 0 while it "
          "is failing.",
          t->store_down_since ? 0 : 1 },
        { "proxyguard_table_size_bytes", "gauge",
          "Size of the shared-memory table.", o->table_bytes },
        { "proxyguard_start_time_seconds", "gauge",
          "When the table was created, seconds since the epoch.",
          (apr_uint64_t)apr_time_sec(t->started) },
        { "proxyguard_table_restarts_total", "counter",
          "httpd restarts the table has lived through.", t->restarts },
    };
    apr_uint32_t i;

    pg_prom_build_info(out, o->version);
    pg_prom_reason_hits(out, t);
    pg_prom_vhost_hits(out, t);
    pg_prom_family(out, "proxyguard_connect_port_hits_total", "counter",
                   "CONNECT requests by target port (25, 465 and 587 always "
                   "there; \"other\": beyond the tracked ports).");
    for (i = 0; i < PG_PORT_SLOTS; i++) {
        if (t->ports[i].port) {
            pg_printf(out,
                      "proxyguard_connect_port_hits_total{port=\"%u\"} %u\n",
                      t->ports[i].port, t->ports[i].hits);
        }
    }
    pg_printf(out, "proxyguard_connect_port_hits_total{port=\"other\"} %u\n",
              t->ports_other);
    pg_prom_scalars(out, before_evictions,
                    sizeof(before_evictions) / sizeof(before_evictions[0]));
    pg_prom_family(out, "proxyguard_table_evictions_total", "counter",
                   "Rows given to a new address because the table was full.");
    pg_printf(out, "proxyguard_table_evictions_total{table=\"clients\"} %u\n"
              "proxyguard_table_evictions_total{table=\"networks\"} %u\n",
              t->clients_evicted, t->networks_evicted);
    pg_prom_scalars(out, after_evictions,
                    sizeof(after_evictions) / sizeof(after_evictions[0]));
}

/* ------------------------------------------------------------------ */
/* HTML                                                                 */

static void pg_html_reason_table(const pg_out *out, const pg_table *t)
{
    int r;

    pg_puts(out, "<h2>Hits by reason</h2>\n<table id=\"reasons\">"
                 "<tr><th>reason</th><th>deny</th><th>detect</th><th>total</"
                 "th></tr>\n");
    for (r = 1; r < PG_REASON_COUNT; r++) {
        apr_uint64_t deny =
            pg_table_reason_action_total(t, (pg_reason)r, PG_ACTION_DENY);
        apr_uint64_t detect =
            pg_table_reason_action_total(t, (pg_reason)r, PG_ACTION_DETECT);

        pg_printf(out,
                  "<tr><td><span class=\"swatch\" style=\"background:%s\">"
                  "</span>%s</td><td class=\"n\">%" APR_UINT64_T_FMT
                  "</td><td class=\"n\">%" APR_UINT64_T_FMT
                  "</td><td class=\"n\">%" APR_UINT64_T_FMT "</td></tr>\n",
                  pg_reason_color(r), pg_reason_name((pg_reason)r), deny,
                  detect, deny + detect);
    }
    pg_printf(out, "<tr><th>total</th><td class=\"n\">%" APR_UINT64_T_FMT
              "</td><td class=\"n\">%" APR_UINT64_T_FMT
              "</td><td class=\"n\" id=\"total\">%" APR_UINT64_T_FMT
              "</td></tr>\n</table>\n",
              pg_table_action_total(t, PG_ACTION_DENY),
              pg_table_action_total(t, PG_ACTION_DETECT), pg_table_total(t));
}

static void pg_html_vhosts(const pg_out *out, const pg_table *t)
{
    const pg_vhost_row *rows = pg_table_vhosts_c(t);
    apr_uint32_t i;
    int r;

    pg_puts(out, "<h2>By vhost</h2>\n<table id=\"vhosts\"><tr><th>vhost</th>");
    for (r = 1; r < PG_REASON_COUNT; r++) {
        pg_printf(out, "<th>%s</th>", pg_reason_name((pg_reason)r));
    }
    pg_puts(out, "<th>total</th></tr>\n");
    for (i = 0; i < t->vhosts_used && i < t->n_vhosts; i++) {
        pg_puts(out, "<tr><td>");
        pg_put_html(out, rows[i].name);
        pg_puts(out, "</td>");
        for (r = 1; r < PG_REASON_COUNT; r++) {
            pg_printf(out, "<td class=\"n\">%u</td>",
                      rows[i].hits[r][0] + rows[i].hits[r][1]);
        }
        pg_printf(out, "<td class=\"n\">%" APR_UINT64_T_FMT "</td></tr>\n",
                  pg_vhost_total(&rows[i]));
    }
    pg_puts(out, "</table>\n");
}

static void pg_html_clients(const pg_out *out, apr_pool_t *p, const pg_table *t)
{
    apr_uint32_t n, i;
    const pg_client_row **top = pg_top_clients(p, t, &n);
    char addr[PG_CLIENT_TEXT_MAX], first[32], last[32];
    int r;

    pg_printf(out, "<h2>Top offenders</h2>\n<p>%u addresses tracked of %u "
              "(%u replaced when the table was full).</p>\n"
              "<table id=\"clients\"><tr><th>address</th><th>hits</th>",
              t->clients_used, t->capacity_clients, t->clients_evicted);
    for (r = 1; r < PG_REASON_COUNT; r++) {
        pg_printf(out, "<th>%s</th>", pg_reason_name((pg_reason)r));
    }
    pg_puts(out, "<th>first seen (UTC)</th><th>last seen (UTC)</th></tr>\n");
    for (i = 0; i < n && i < PG_STATUS_TOP_HTML; i++) {
        pg_printf(out, "<tr><td>%s</td><td class=\"n\">%u</td>",
                  pg_addr_format(addr, sizeof(addr), &top[i]->addr),
                  top[i]->total);
        for (r = 1; r < PG_REASON_COUNT; r++) {
            pg_printf(out, "<td class=\"n\">%u</td>", top[i]->hits[r]);
        }
        pg_printf(out, "<td>%s</td><td>%s</td></tr>\n",
                  pg_time_text(first, sizeof(first),
                               apr_time_from_sec(top[i]->first_seen)),
                  pg_time_text(last, sizeof(last),
                               apr_time_from_sec(top[i]->last_seen)));
    }
    pg_puts(out, "</table>\n");
}

static void pg_html_networks(const pg_out *out, apr_pool_t *p,
                             const pg_table *t)
{
    apr_uint32_t n, i;
    const pg_network_row **top = pg_top_networks(p, t, &n);
    char net[PG_CLIENT_TEXT_MAX + 4], last[32];

    pg_puts(out,
            "<h2>Top networks</h2>\n<table id=\"networks\"><tr><th>network</th>"
            "<th>hits</th><th>addresses</th><th>last seen (UTC)</th></tr>\n");
    for (i = 0; i < n && i < PG_STATUS_TOP_HTML; i++) {
        pg_printf(
            out,
            "<tr><td>%s</td><td class=\"n\">%u</td><td class=\"n\">%u</td>"
            "<td>%s</td></tr>\n",
            pg_network_text(net, sizeof(net), &top[i]->prefix), top[i]->hits,
            top[i]->addresses,
            pg_time_text(last, sizeof(last),
                         apr_time_from_sec(top[i]->last_seen)));
    }
    pg_puts(out, "</table>\n");
}

static void pg_html_ports(const pg_out *out, const pg_table *t)
{
    int i;

    pg_puts(out, "<h2>CONNECT target ports</h2>\n<table id=\"ports\">"
            "<tr><th>port</th><th>hits</th></tr>\n");
    for (i = 0; i < PG_PORT_SLOTS; i++) {
        if (t->ports[i].port && t->ports[i].hits) {
            pg_printf(out, "<tr><td>%u</td><td class=\"n\">%u</td></tr>\n",
                      t->ports[i].port, t->ports[i].hits);
        }
    }
    if (t->ports_other) {
        pg_printf(out, "<tr><td>other</td><td class=\"n\">%u</td></tr>\n",
                  t->ports_other);
    }
    pg_puts(out, "</table>\n");
}

static void pg_html_bans(const pg_out *out, apr_pool_t *p, const pg_table *t,
                         apr_uint32_t now)
{
    apr_uint32_t n, i;
    const pg_ban_row **rows = pg_active_bans(p, t, now, &n);
    char addr[PG_CLIENT_TEXT_MAX], when[32];

    pg_printf(out, "<h2>Active bans</h2>\n<p>%u active of %u rows (%u of "
              "them IPv6 /64 networks); %u started here since the table was "
              "created.</p>\n", t->bans_active, t->capacity_bans,
              t->bans_net_active, t->bans_started);
    if (t->bans_refused) {
        pg_printf(out, "<p id=\"bans-full\"><strong>The ban list was full: %u "
                  "bans could not start</strong> (running bans are never "
                  "replaced; a larger ProxyGuardTableSize makes room).</p>\n",
                  t->bans_refused);
    }
    pg_puts(out, "<table id=\"bans\"><tr><th>address</th><th>kind</th>"
            "<th>started (UTC)</th><th>remaining</th><th>hits</th>"
            "<th>requests blocked</th></tr>\n");
    for (i = 0; i < n && i < PG_STATUS_TOP_BANS; i++) {
        pg_puts(out, "<tr><td>");
        pg_put_html(out, pg_addr_format(addr, sizeof(addr), &rows[i]->addr));
        pg_printf(out, "</td><td>%s</td><td>%s</td><td class=\"n\">%u s</td>"
                  "<td class=\"n\">%u</td><td class=\"n\">%u</td></tr>\n",
                  pg_addr_is_net(&rows[i]->addr) ? "network" : "address",
                  rows[i]->started
                  ? pg_time_text(when, sizeof(when),
                                 apr_time_from_sec(rows[i]->started))
                  : "(another server)",
                  rows[i]->until - now, rows[i]->hits, rows[i]->blocked);
    }
    pg_puts(out, "</table>\n");
}

static void pg_html_recent(const pg_out *out, const pg_table *t)
{
    const pg_recent_row *rows[PG_RECENT_MAX];
    apr_uint32_t n = pg_recent(t, rows), i;
    char when[32];

    pg_puts(out,
            "<h2>Recent hits</h2>\n<table id=\"recent\"><tr><th>time (UTC)</th>"
            "<th>client</th><th>vhost</th><th>reason</th><th>action</th>"
            "<th>method</th><th>target</th><th>Host</th></tr>\n");
    for (i = 0; i < n; i++) {
        pg_printf(out, "<tr><td>%s</td><td>",
                  pg_time_text(when, sizeof(when), rows[i]->time));
        pg_put_html(out, rows[i]->client);
        pg_puts(out, "</td><td>");
        pg_put_html(out, pg_vhost_name(t, rows[i]->vhost));
        pg_printf(out, "</td><td>%s</td><td>%s</td><td><code>",
                  pg_reason_name((pg_reason)rows[i]->reason),
                  pg_action_name((pg_action)rows[i]->action));
        pg_put_html(out, rows[i]->method);
        pg_puts(out, "</code></td><td><code>");
        pg_put_html(out, rows[i]->target);
        pg_puts(out, "</code></td><td><code>");
        pg_put_html(out, rows[i]->host);
        pg_puts(out, "</code></td></tr>\n");
    }
    pg_puts(out, "</table>\n");
}

/* A timeline for pg_html_chart: the n buckets up to last, oldest first. */
typedef struct pg_timeline {
    const pg_bucket *buckets;
    apr_uint32_t n;
    apr_uint32_t last;
    const char *unit;
} pg_timeline;

static apr_uint32_t pg_timeline_hits(const void *ctx, apr_uint32_t bar,
                                     int reason)
{
    const pg_timeline *tl = ctx;

    return pg_bucket_hits(tl->buckets, tl->n, tl->last - tl->n + 1 + bar,
                          reason);
}

static const char *pg_timeline_label(const void *ctx, apr_uint32_t bar,
                                     char *buf, apr_size_t size)
{
    const pg_timeline *tl = ctx;

    apr_snprintf(buf, size, "%u %s ago", tl->n - 1 - bar, tl->unit);
    return buf;
}

static void pg_html_timeline(const pg_out *out, const char *id,
                             const char *title, const pg_bucket *buckets,
                             apr_uint32_t n, apr_uint32_t last,
                             const char *unit)
{
    pg_timeline tl = { buckets, n, last, unit };
    char first[32];
    pg_chart chart;

    apr_snprintf(first, sizeof(first), "-%u %s", n, unit);
    chart.id = id;
    chart.title = title;
    chart.bars = n;
    chart.hits = pg_timeline_hits;
    chart.label = pg_timeline_label;
    chart.first = first;
    chart.last = "now";
    chart.ctx = &tl;
    pg_html_chart(out, &chart);
}

static void pg_render_html(const pg_out *out, apr_pool_t *p, const pg_table *t,
                           const pg_status_opts *o)
{
    char since[32], now[32];
    apr_uint32_t secs = (apr_uint32_t)apr_time_sec(o->now);

    pg_html_head(out, "mod_proxyguard status", o->refresh);
    pg_puts(out, "<h1>mod_proxyguard status</h1>\n<p>Version ");
    pg_put_html(out, o->version);
    pg_printf(
        out,
        ". Now %s UTC; counting since %s UTC, through %u restart(s). "
        "Also as <a href=\"?auto\">?auto</a>, <a href=\"?json\">?json</a>, "
        "<a href=\"?prometheus\">?prometheus</a>.</p>\n",
        pg_time_text(now, sizeof(now), o->now),
        pg_time_text(since, sizeof(since), t->started), t->restarts);
    pg_html_reason_table(out, t);
    pg_puts(out, "<h2>Timeline</h2>\n");
    pg_html_timeline(out, "timeline-minutes", "Hits per minute, last hour",
                  t->minutes, PG_MINUTES, secs / 60, "min");
    pg_html_timeline(out, "timeline-hours", "Hits per hour, last two days",
                  t->hours, PG_HOURS, secs / 3600, "h");
    pg_html_vhosts(out, t);
    pg_html_clients(out, p, t);
    pg_html_networks(out, p, t);
    pg_html_ports(out, t);
    pg_html_bans(out, p, t, secs);
    pg_html_recent(out, t);
    pg_puts(out, "</body></html>\n");
}

void pg_status_html_summary(const pg_out *out, const pg_table *snap)
{
    int r;

    pg_printf(out, "<hr>\n<h2>mod_proxyguard</h2>\n<p>%" APR_UINT64_T_FMT
              " hits (%" APR_UINT64_T_FMT " denied, %" APR_UINT64_T_FMT
              " detected):", pg_table_total(snap),
              pg_table_action_total(snap, PG_ACTION_DENY),
              pg_table_action_total(snap, PG_ACTION_DETECT));
    for (r = 1; r < PG_REASON_COUNT; r++) {
        pg_printf(out, "%s %s %" APR_UINT64_T_FMT, r > 1 ? "," : "",
                  pg_reason_name((pg_reason)r),
                  pg_table_reason_total(snap, (pg_reason)r));
    }
    pg_printf(out, ". %u of %u client addresses tracked.</p>\n",
              snap->clients_used, snap->capacity_clients);
}

/* ------------------------------------------------------------------ */

/* "refresh=N": N from 1 to 3600, else none. */
static int pg_refresh_value(const char *s, size_t len)
{
    unsigned long n;

    return pg_parse_uint(s, len, 3600, &n) && n >= 1 ? (int)n : 0;
}

/* Is the query field (len bytes) the word, alone or with an empty value?
 * "?prometheus=" is what Prometheus sends for params: {prometheus: [""]},
 * the scrape config of docs/status.md. */
static int pg_query_word(const char *field, size_t len, const char *word)
{
    size_t n = strlen(word);

    return (len == n || (len == n + 1 && field[n] == '='))
           && !strncmp(field, word, n);
}

pg_format pg_status_parse_query(const char *args, int *refresh)
{
    pg_format format = PG_FORMAT_HTML;

    *refresh = 0;
    while (args && *args) {
        size_t len = strcspn(args, "&");

        if (pg_query_word(args, len, "auto")) {
            format = PG_FORMAT_AUTO;
        }
        else if (pg_query_word(args, len, "json")) {
            format = PG_FORMAT_JSON;
        }
        else if (pg_query_word(args, len, "prometheus")) {
            format = PG_FORMAT_PROMETHEUS;
        }
        else if (len > 8 && !strncmp(args, "refresh=", 8)) {
            *refresh = pg_refresh_value(args + 8, len - 8);
        }
        args += len;
        args += *args == '&';
    }
    return format;
}

apr_uint32_t pg_status_snapshot_kind(pg_format format)
{
    return format == PG_FORMAT_AUTO || format == PG_FORMAT_PROMETHEUS
           ? PG_SNAPSHOT_SUMMARY : PG_SNAPSHOT_DETAILS;
}

const char *pg_status_content_type(pg_format format)
{
    switch (format) {
    case PG_FORMAT_AUTO:
        return "text/plain; charset=us-ascii";
    case PG_FORMAT_JSON:
        return "application/json";
    case PG_FORMAT_PROMETHEUS:
        return "text/plain; version=0.0.4; charset=utf-8";
    default:
        return "text/html; charset=utf-8";
    }
}

void pg_status_render(const pg_out *out, apr_pool_t *p, pg_format format,
                      const pg_table *snap, const pg_status_opts *opts)
{
    switch (format) {
    case PG_FORMAT_AUTO:
        pg_puts(out, "ProxyGuardVersion: ");
        pg_puts(out, opts->version);    /* ours, a constant */
        pg_puts(out, "\n");
        pg_status_auto_lines(out, snap);
        break;
    case PG_FORMAT_JSON:
        pg_render_json(out, p, snap, opts);
        break;
    case PG_FORMAT_PROMETHEUS:
        pg_render_prometheus(out, snap, opts);
        break;
    default:
        pg_render_html(out, p, snap, opts);
    }
}

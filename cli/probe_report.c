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
 * probe_report.c: the table, the plugin line and --json; see
 * probe_report.h.
 */

#include <string.h>

#include <apr_lib.h>
#include <apr_strings.h>

#include "cli.h"
#include "probe_report.h"
#include "probe_verdict.h"

/* Escaped text as a string, to pad it in a column. */
typedef struct probe_strbuf {
    char data[2048];
    apr_size_t len;
} probe_strbuf;

static void probe_strbuf_write(void *baton, const char *data, apr_size_t len)
{
    probe_strbuf *b = baton;
    apr_size_t room = sizeof(b->data) - 1 - b->len;

    if (len > room) {
        len = room;
    }
    memcpy(b->data + b->len, data, len);
    b->len += len;
    b->data[b->len] = '\0';
}

static const char *probe_esc(apr_pool_t *p, const char *s)
{
    probe_strbuf b;
    pg_out o = { probe_strbuf_write, &b };

    b.len = 0;
    b.data[0] = '\0';
    pg_put_text(&o, s ? s : "", NULL);
    return apr_pstrdup(p, b.data);
}

static const char *probe_upper(apr_pool_t *p, const char *s)
{
    char *u = apr_pstrdup(p, s), *c;

    for (c = u; *c; c++) {
        *c = (char)apr_toupper(*c);
    }
    return u;
}

static const char *probe_canary_cell(const probe_item *pr)
{
    return pr->ev.token ? "token" : pr->ev.tls ? "tls" : pr->ev.stray ? "stray" : "-";
}

/* The reason and action are the status page's text: a server's bytes,
 * escaped like every other. */
static const char *probe_guard_cell(apr_pool_t *p, const probe_item *pr)
{
    return pr->guard_reason ? apr_pstrcat(p, probe_esc(p, pr->guard_reason), "/",
                                          probe_esc(p, pr->guard_action), NULL)
                            : "not seen";
}

/* In probe_echo order: the --json "echo" values (null for none). */
static const char *const probe_echo_names[] = { NULL, "token", "marker" };

static void probe_table_baseline(const pg_out *out, const probe_target *t)
{
    int i;

    pg_printf(out, "\n%-20s %6s %8s  %-16s  %s\n", "baseline", "status", "bytes",
              "body hash", "request");
    for (i = 0; i < t->n_base; i++) {
        const probe_baseline *b = &t->base[i];

        pg_printf(out, "%-20s %6d %8lu  %016" APR_UINT64_T_HEX_FMT "  ", b->name,
                  b->reply.status, (unsigned long)b->reply.body_len, b->reply.hash);
        pg_put_text(out, b->request, NULL);
        if (!b->reply.status) {
            pg_puts(out, "  (");
            pg_put_text(out, b->reply.error, NULL);
            if (b->reply.status_line && *b->reply.status_line) {
                pg_puts(out, ": ");
                pg_put_text(out, b->reply.status_line, NULL);
            }
            pg_puts(out, ")");
        }
        pg_puts(out, "\n");
    }
}

static void probe_table_probe(const pg_out *out, apr_pool_t *p, const probe_run *run,
                           const probe_target *t, const probe_item *pr)
{
    pg_printf(out, "%-20s %6d  %-9s %-6s ", pr->def->name, pr->reply.status,
              probe_pv_name(pr->verdict), probe_canary_cell(pr));
    if (t->guard && !t->guard->error) {
        pg_printf(out, "%-20s ", probe_guard_cell(p, pr));
    }
    pg_puts(out, probe_esc(p, pr->request));
    pg_puts(out, "\n");
    if (pr->verdict != PROBE_PV_REJECTED || run->opts->verbose) {
        if (pr->reply.status_line && *pr->reply.status_line) {
            pg_puts(out, "    reply:  ");
            pg_put_text(out, pr->reply.status_line, NULL);
            pg_printf(out, " (%lu bytes)\n", (unsigned long)pr->reply.bytes);
        }
        if (pr->note) {
            pg_puts(out, "    ");
            pg_put_text(out, pr->note, NULL);
            pg_puts(out, "\n");
        }
        if (pr->ev.token) {
            pg_puts(out, "    canary got: ");
            pg_put_text(out, pr->ev.first_line, NULL);
            pg_puts(out, "\n");
        }
    }
}

static void probe_table_guard(const pg_out *out, const probe_target *t)
{
    const probe_guard *g = t->guard;
    int i, first = 1;

    pg_puts(out, "\nmod_proxyguard (");
    pg_put_text(out, g->url, NULL);
    pg_puts(out, "): ");
    if (g->error) {
        pg_puts(out, "could not read it: ");
        pg_put_text(out, g->error, NULL);
        pg_puts(out, "\n");
        return;
    }
    pg_printf(out, "counted %d of %d probes; hits during the run:", g->probes_counted,
              t->n_probes);
    for (i = 0; i < g->n_reasons; i++) {
        if (g->delta[i]) {
            pg_printf(out, "%s %ld", first ? "" : ",", g->delta[i]);
            pg_puts(out, " ");
            pg_put_text(out, g->reasons[i], NULL);
            first = 0;
        }
    }
    pg_printf(out, "%s (total %ld -> %ld)\n", first ? " none" : "", g->before_total,
              g->after_total);
    if (g->probes_not_seen) {
        int any400 = 0;

        pg_puts(out, "  not counted by the module:");
        for (i = 0, first = 1; i < t->n_probes; i++) {
            const probe_item *pr = &t->probes[i];

            if (!pr->guard_reason) {
                pg_printf(out, "%s %s (%d)", first ? "" : ",", pr->def->name, pr->reply.status);
                any400 |= pr->reply.status == 400;
                first = 0;
            }
        }
        pg_puts(out, any400 ? "\n  (a 400 is httpd's own answer, given before any module runs)\n"
                            : "\n");
    }
    for (i = 0; i < t->n_base; i++) {
        if (t->base[i].guard_reason) {
            pg_printf(out, "  baseline %s counted as ", t->base[i].name);
            pg_put_text(out, t->base[i].guard_reason, NULL);
            pg_puts(out, "\n");
        }
    }
    if (g->status_hits > 0) {
        pg_printf(out, "  %ld hit(s) were this program's own request for the status page\n",
                  g->status_hits);
    }
    if (g->unattributed > 0) {
        pg_printf(out, "  %ld hit(s) not from this run's requests (other clients, or"
                  " beyond the page's 64 recent hits)\n", g->unattributed);
    }
}

void probe_report_table(const pg_out *out, apr_pool_t *p, const probe_run *run,
                     const probe_target *t)
{
    int i;

    pg_puts(out, "proxyguard probe ");
    pg_put_text(out, t->url, NULL);
    pg_puts(out, "\n");
    if (t->local_text[0]) {
        pg_printf(out, "target %s, from %s; canary: http %s, smtp %s\n", t->addr_text,
                  t->local_text, t->canary_text[PROBE_LISTENER_HTTP][0]
                  ? t->canary_text[PROBE_LISTENER_HTTP] : "-",
                  t->canary_text[PROBE_LISTENER_LINE][0] ? t->canary_text[PROBE_LISTENER_LINE] : "-");
    }
    if (t->n_base) {
        probe_table_baseline(out, t);
    }
    if (t->n_probes) {
        pg_printf(out, "\n%-20s %6s  %-9s %-6s ", "probe", "status", "verdict", "canary");
        if (t->guard && !t->guard->error) {
            pg_printf(out, "%-20s ", "module counted");
        }
        pg_puts(out, "request\n");
        for (i = 0; i < t->n_probes; i++) {
            probe_table_probe(out, p, run, t, &t->probes[i]);
        }
    }
    for (i = 0; i < t->n_skipped; i++) {
        pg_printf(out, "%sskipped %s: ", i ? "" : "\n", t->skipped[i].name);
        pg_put_text(out, t->skipped[i].why, NULL);
        pg_puts(out, "\n");
    }
    if (t->guard) {
        probe_table_guard(out, t);
    }
    pg_printf(out, "\n%s - ", probe_upper(p, probe_exit_name(t->exit)));
    pg_put_text(out, probe_verdict_summary(p, t), NULL);
    pg_printf(out, " (%.2f s)\n", t->seconds);
}

/* "name": then the value, for the JSON object's members. */
static void probe_jkey(const pg_out *out, const char *key, int *first)
{
    pg_puts(out, *first ? "" : ", ");
    pg_put_json(out, key);
    pg_puts(out, ": ");
    *first = 0;
}

static void probe_jstr(const pg_out *out, const char *key, const char *value, int *first)
{
    probe_jkey(out, key, first);
    if (value) {
        pg_put_json(out, value);
    }
    else {
        pg_puts(out, "null");
    }
}

static void probe_jint(const pg_out *out, const char *key, long value, int *first)
{
    probe_jkey(out, key, first);
    pg_printf(out, "%ld", value);
}

static void probe_jbool(const pg_out *out, const char *key, int value, int *first)
{
    probe_jkey(out, key, first);
    pg_puts(out, value ? "true" : "false");
}

static void probe_json_reply(const pg_out *out, apr_pool_t *p, const probe_reply *r, int *f)
{
    probe_jint(out, "status", r->status, f);
    probe_jstr(out, "reply", r->status_line, f);
    probe_jint(out, "bytes", (long)r->bytes, f);
    probe_jint(out, "body_bytes", (long)r->body_len, f);
    probe_jstr(out, "body_hash", apr_psprintf(p, "%016" APR_UINT64_T_HEX_FMT, r->hash), f);
    probe_jbool(out, "truncated", r->truncated, f);
}

static void probe_json_probe(const pg_out *out, apr_pool_t *p, const probe_target *t,
                          const probe_item *pr)
{
    int f = 1;

    pg_puts(out, "{");
    probe_jstr(out, "name", pr->def->name, &f);
    probe_jstr(out, "request", pr->request, &f);
    probe_json_reply(out, p, &pr->reply, &f);
    probe_jstr(out, "verdict", probe_pv_name(pr->verdict), &f);
    probe_jbool(out, "canary_hit", pr->ev.token || (pr->ev.tls && pr->verdict == PROBE_PV_PROXIED),
             &f);
    probe_jstr(out, "evidence", pr->ev.token ? "token"
                             : pr->ev.tls && pr->verdict == PROBE_PV_PROXIED ? "tls" : NULL, &f);
    probe_jstr(out, "canary_from", pr->ev.token ? pr->ev.peer : NULL, &f);
    probe_jstr(out, "canary_got", pr->ev.token ? pr->ev.first_line : NULL, &f);
    probe_jint(out, "canary_connections", pr->ev.connections, &f);
    probe_jbool(out, "tunnel", pr->tunnel_open, &f);
    probe_jbool(out, "banner_back", pr->banner_back, &f);
    probe_jbool(out, "reply_back", pr->reply_back, &f);
    probe_jstr(out, "echo", probe_echo_names[pr->echo], &f);
    probe_jstr(out, "stray_from", pr->ev.stray ? pr->ev.stray_peer : NULL, &f);
    probe_jstr(out, "transport", pr->def->transport == PROBE_TRANSPORT_H2C ? "h2c" : "http/1", &f);
    probe_jstr(out, "token", pr->token, &f);
    probe_jstr(out, "note", pr->note, &f);
    probe_jkey(out, "seconds", &f);
    pg_printf(out, "%.3f", pr->seconds);
    if (t->guard && !t->guard->error) {
        probe_jkey(out, "guard", &f);
        if (pr->guard_reason) {
            int g = 1;

            pg_puts(out, "{");
            probe_jstr(out, "reason", pr->guard_reason, &g);
            probe_jstr(out, "action", pr->guard_action, &g);
            pg_puts(out, "}");
        }
        else {
            pg_puts(out, "null");
        }
    }
    pg_puts(out, "}");
}

static void probe_json_guard(const pg_out *out, const probe_target *t)
{
    const probe_guard *g = t->guard;
    int f = 1, i, first = 1;

    pg_puts(out, "{");
    probe_jstr(out, "url", g->url, &f);
    probe_jstr(out, "error", g->error, &f);
    if (!g->error) {
        probe_jint(out, "total_before", g->before_total, &f);
        probe_jint(out, "total_after", g->after_total, &f);
        probe_jkey(out, "counted", &f);
        pg_puts(out, "{");
        for (i = 0; i < g->n_reasons; i++) {
            probe_jint(out, g->reasons[i], g->delta[i], &first);
        }
        pg_puts(out, "}");
        probe_jint(out, "probes_counted", g->probes_counted, &f);
        probe_jkey(out, "probes_not_seen", &f);
        pg_puts(out, "[");
        for (i = 0, first = 1; i < t->n_probes; i++) {
            if (!t->probes[i].guard_reason) {
                pg_puts(out, first ? "" : ", ");
                pg_put_json(out, t->probes[i].def->name);
                first = 0;
            }
        }
        pg_puts(out, "]");
        probe_jint(out, "status_requests", g->status_hits, &f);
        probe_jint(out, "unattributed", g->unattributed, &f);
    }
    pg_puts(out, "}");
}

void probe_report_json(const pg_out *out, apr_pool_t *p, const probe_run *run,
                    const probe_target *t)
{
    int f = 1, i, c;

    pg_puts(out, "{");
    probe_jstr(out, "target", t->url, &f);
    probe_jstr(out, "verdict", probe_exit_name(t->exit), &f);
    probe_jint(out, "exit", t->exit, &f);
    probe_jstr(out, "summary", probe_verdict_summary(p, t), &f);
    probe_jstr(out, "error", t->error, &f);
    probe_jstr(out, "address", t->addr_text[0] ? t->addr_text : NULL, &f);
    probe_jstr(out, "source", t->local_text[0] ? t->local_text : NULL, &f);
    probe_jkey(out, "canary", &f);
    c = 1;
    pg_puts(out, "{");
    probe_jstr(out, "address", t->canary_text[PROBE_LISTENER_HTTP][0]
                            ? t->canary_text[PROBE_LISTENER_HTTP] : NULL, &c);
    probe_jstr(out, "smtp", t->canary_text[PROBE_LISTENER_LINE][0]
                         ? t->canary_text[PROBE_LISTENER_LINE] : NULL, &c);
    pg_puts(out, "}");
    probe_jkey(out, "seconds", &f);
    pg_printf(out, "%.3f", t->seconds);
    probe_jkey(out, "counts", &f);
    pg_puts(out, "{");
    for (i = 0, c = 1; i < PROBE_PV_COUNT; i++) {
        probe_jint(out, probe_pv_name((probe_pv)i), t->counts[i], &c);
    }
    pg_puts(out, "}");
    probe_jkey(out, "baseline", &f);
    pg_puts(out, "[");
    for (i = 0; i < t->n_base; i++) {
        c = 1;
        pg_puts(out, i ? ", {" : "{");
        probe_jstr(out, "name", t->base[i].name, &c);
        probe_jstr(out, "request", t->base[i].request, &c);
        probe_json_reply(out, p, &t->base[i].reply, &c);
        probe_jstr(out, "error", t->base[i].reply.error, &c);
        pg_puts(out, "}");
    }
    pg_puts(out, "]");
    probe_jkey(out, "probes", &f);
    pg_puts(out, "[");
    for (i = 0; i < t->n_probes; i++) {
        pg_puts(out, i ? ", " : "");
        probe_json_probe(out, p, t, &t->probes[i]);
    }
    pg_puts(out, "]");
    probe_jkey(out, "skipped", &f);
    pg_puts(out, "[");
    for (i = 0; i < t->n_skipped; i++) {
        c = 1;
        pg_puts(out, i ? ", {" : "{");
        probe_jstr(out, "name", t->skipped[i].name, &c);
        probe_jstr(out, "why", t->skipped[i].why, &c);
        pg_puts(out, "}");
    }
    pg_puts(out, "]");
    if (t->guard) {
        probe_jkey(out, "guard", &f);
        probe_json_guard(out, t);
    }
    pg_puts(out, "}\n");
    (void)run;
}

void probe_report_plugin(const pg_out *out, apr_pool_t *p, const probe_target *t,
                      int n, int exit, double seconds)
{
    int counts[PROBE_PV_COUNT] = { 0 }, probes = 0, i, v;

    pg_printf(out, "PROXYGUARD %s - ", probe_upper(p, probe_exit_name(exit)));
    for (i = 0; i < n; i++) {
        pg_puts(out, i ? "; " : "");
        pg_put_text(out, t[i].url, "|");
        pg_puts(out, ": ");
        pg_put_text(out, probe_verdict_summary(p, &t[i]), "|");
        for (v = 0; v < PROBE_PV_COUNT; v++) {
            counts[v] += t[i].counts[v];
        }
        probes += t[i].n_probes;
    }
    pg_printf(out, " | probes=%d", probes);
    for (v = 0; v < PROBE_PV_COUNT; v++) {
        pg_printf(out, " %s=%d", probe_pv_name((probe_pv)v), counts[v]);
    }
    pg_printf(out, " time=%.3fs\n", seconds);
}

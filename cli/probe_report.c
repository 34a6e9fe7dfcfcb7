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
    return pr->ev.token   ? "token"
           : pr->ev.tls   ? "tls"
           : pr->ev.stray ? "stray"
                          : "-";
}

/* The reason and action are the status page's text: a server's bytes,
 * escaped like every other. */
static const char *probe_guard_cell(apr_pool_t *p, const probe_item *pr)
{
    return pr->guard_reason
               ? apr_pstrcat(p, probe_esc(p, pr->guard_reason), "/",
                             probe_esc(p, pr->guard_action), NULL)
               : "not seen";
}

/* In probe_echo order: the --json "echo" values (null for none). */
static const char *const probe_echo_names[] = { NULL, "token", "marker" };

static void probe_table_baseline(const pg_out *out, const probe_target *t)
{
    int i;

    pg_printf(out, "\n%-20s %6s %8s  %-16s  %s\n", "baseline", "status",
              "bytes", "body hash", "request");
    for (i = 0; i < t->n_base; i++) {
        const probe_baseline *b = &t->base[i];

        pg_printf(out, "%-20s %6d %8lu  %016" APR_UINT64_T_HEX_FMT "  ",
                  b->name, b->reply.status, (unsigned long)b->reply.body_len,
                  b->reply.hash);
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

static void probe_table_probe(const pg_out *out, apr_pool_t *p,
                              const probe_run *run, const probe_target *t,
                              const probe_item *pr)
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
    pg_printf(out, "counted %d of %d probes; hits during the run:",
              g->probes_counted, t->n_probes);
    for (i = 0; i < g->n_reasons; i++) {
        if (g->delta[i]) {
            pg_printf(out, "%s %ld", first ? "" : ",", g->delta[i]);
            pg_puts(out, " ");
            pg_put_text(out, g->reasons[i], NULL);
            first = 0;
        }
    }
    pg_printf(out, "%s (total %ld -> %ld)\n", first ? " none" : "",
              g->before_total, g->after_total);
    if (g->probes_not_seen) {
        int any400 = 0;

        pg_puts(out, "  not counted by the module:");
        for (i = 0, first = 1; i < t->n_probes; i++) {
            const probe_item *pr = &t->probes[i];

            if (!pr->guard_reason) {
                pg_printf(out, "%s %s (%d)", first ? "" : ",", pr->def->name,
                          pr->reply.status);
                any400 |= pr->reply.status == 400;
                first = 0;
            }
        }
        pg_puts(out, any400 ? "\n  (a 400 is httpd's own answer, given before "
                              "any module runs)\n"
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
        pg_printf(out,
                  "  %ld hit(s) were this program's own request for the status "
                  "page\n",
                  g->status_hits);
    }
    if (g->unattributed > 0) {
        pg_printf(out,
                  "  %ld hit(s) not from this run's requests (other clients, or"
                  " beyond the page's 64 recent hits)\n",
                  g->unattributed);
    }
}

void probe_report_table(const pg_out *out, apr_pool_t *p, const probe_run *run,
                        const probe_target *t)
{
    int i;

    cli_report_title(out, PROBE_NAME, " ");
    pg_put_text(out, t->url, NULL);
    pg_puts(out, "\n");
    if (t->local_text[0]) {
        pg_printf(out, "target %s, from %s; canary: http %s, smtp %s\n",
                  t->addr_text, t->local_text,
                  t->canary_text[PROBE_LISTENER_HTTP][0]
                      ? t->canary_text[PROBE_LISTENER_HTTP]
                      : "-",
                  t->canary_text[PROBE_LISTENER_LINE][0]
                      ? t->canary_text[PROBE_LISTENER_LINE]
                      : "-");
    }
    if (t->n_base) {
        probe_table_baseline(out, t);
    }
    if (t->n_probes) {
        pg_printf(out, "\n%-20s %6s  %-9s %-6s ", "probe", "status", "verdict",
                  "canary");
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

/* A number of seconds as --json writes it: "%.3f". */
static void probe_jseconds(pg_json *j, const char *key, double seconds)
{
    char buf[32];

    apr_snprintf(buf, sizeof(buf), "%.3f", seconds);
    pg_json_raw(j, key, buf);
}

static void probe_json_reply(pg_json *j, apr_pool_t *p, const probe_reply *r)
{
    pg_json_int(j, "status", r->status);
    pg_json_str(j, "reply", r->status_line);
    pg_json_int(j, "bytes", (long)r->bytes);
    pg_json_int(j, "body_bytes", (long)r->body_len);
    pg_json_str(j, "body_hash",
                apr_psprintf(p, "%016" APR_UINT64_T_HEX_FMT, r->hash));
    pg_json_bool(j, "truncated", r->truncated);
}

static void probe_json_probe(const pg_out *out, apr_pool_t *p,
                             const probe_target *t, const probe_item *pr)
{
    int tls = pr->ev.tls && pr->verdict == PROBE_PV_PROXIED;
    pg_json j, g;

    pg_json_begin(&j, out, "{", NULL, NULL);
    pg_json_str(&j, "name", pr->def->name);
    pg_json_str(&j, "request", pr->request);
    probe_json_reply(&j, p, &pr->reply);
    pg_json_str(&j, "verdict", probe_pv_name(pr->verdict));
    pg_json_bool(&j, "canary_hit", pr->ev.token || tls);
    pg_json_str(&j, "evidence", pr->ev.token ? "token" : tls ? "tls" : NULL);
    pg_json_str(&j, "canary_from", pr->ev.token ? pr->ev.peer : NULL);
    pg_json_str(&j, "canary_got", pr->ev.token ? pr->ev.first_line : NULL);
    pg_json_int(&j, "canary_connections", pr->ev.connections);
    pg_json_bool(&j, "tunnel", pr->tunnel_open);
    pg_json_bool(&j, "banner_back", pr->banner_back);
    pg_json_bool(&j, "reply_back", pr->reply_back);
    pg_json_str(&j, "echo", probe_echo_names[pr->echo]);
    pg_json_str(&j, "stray_from", pr->ev.stray ? pr->ev.stray_peer : NULL);
    pg_json_str(&j, "transport",
                pr->def->transport == PROBE_TRANSPORT_H2C ? "h2c" : "http/1");
    pg_json_str(&j, "token", pr->token);
    pg_json_str(&j, "note", pr->note);
    probe_jseconds(&j, "seconds", pr->seconds);
    if (t->guard && !t->guard->error) {
        if (pr->guard_reason) {
            pg_json_object(&j, "guard", &g);
            pg_json_str(&g, "reason", pr->guard_reason);
            pg_json_str(&g, "action", pr->guard_action);
            pg_json_end(&g, "}");
        }
        else {
            pg_json_str(&j, "guard", NULL);
        }
    }
    pg_json_end(&j, "}");
}

static void probe_json_guard(const pg_out *out, const probe_target *t)
{
    const probe_guard *g = t->guard;
    pg_json j, list;
    int i;

    pg_json_begin(&j, out, "{", NULL, NULL);
    pg_json_str(&j, "url", g->url);
    pg_json_str(&j, "error", g->error);
    if (!g->error) {
        pg_json_int(&j, "total_before", g->before_total);
        pg_json_int(&j, "total_after", g->after_total);
        pg_json_object(&j, "counted", &list);
        for (i = 0; i < g->n_reasons; i++) {
            pg_json_int(&list, g->reasons[i], g->delta[i]);
        }
        pg_json_end(&list, "}");
        pg_json_int(&j, "probes_counted", g->probes_counted);
        pg_json_array(&j, "probes_not_seen", &list);
        for (i = 0; i < t->n_probes; i++) {
            if (!t->probes[i].guard_reason) {
                pg_json_str(&list, NULL, t->probes[i].def->name);
            }
        }
        pg_json_end(&list, "]");
        pg_json_int(&j, "status_requests", g->status_hits);
        pg_json_int(&j, "unattributed", g->unattributed);
    }
    pg_json_end(&j, "}");
}

/* A canary listener's address, or null before it listened. */
static const char *probe_json_text(const char *text)
{
    return text[0] ? text : NULL;
}

void probe_report_json(const pg_out *out, apr_pool_t *p, const probe_run *run,
                       const probe_target *t)
{
    pg_json j, obj, list;
    int i;

    pg_json_begin(&j, out, "{", NULL, NULL);
    pg_json_str(&j, "target", t->url);
    pg_json_str(&j, "verdict", probe_exit_name(t->exit));
    pg_json_int(&j, "exit", t->exit);
    pg_json_str(&j, "summary", probe_verdict_summary(p, t));
    pg_json_str(&j, "error", t->error);
    pg_json_str(&j, "address", probe_json_text(t->addr_text));
    pg_json_str(&j, "source", probe_json_text(t->local_text));
    pg_json_object(&j, "canary", &obj);
    pg_json_str(&obj, "address",
                probe_json_text(t->canary_text[PROBE_LISTENER_HTTP]));
    pg_json_str(&obj, "smtp",
                probe_json_text(t->canary_text[PROBE_LISTENER_LINE]));
    pg_json_end(&obj, "}");
    probe_jseconds(&j, "seconds", t->seconds);
    pg_json_object(&j, "counts", &obj);
    for (i = 0; i < PROBE_PV_COUNT; i++) {
        pg_json_int(&obj, probe_pv_name((probe_pv)i), t->counts[i]);
    }
    pg_json_end(&obj, "}");
    pg_json_array(&j, "baseline", &list);
    for (i = 0; i < t->n_base; i++) {
        pg_json_object(&list, NULL, &obj);
        pg_json_str(&obj, "name", t->base[i].name);
        pg_json_str(&obj, "request", t->base[i].request);
        probe_json_reply(&obj, p, &t->base[i].reply);
        pg_json_str(&obj, "error", t->base[i].reply.error);
        pg_json_end(&obj, "}");
    }
    pg_json_end(&list, "]");
    pg_json_array(&j, "probes", &list);
    for (i = 0; i < t->n_probes; i++) {
        pg_json_key(&list, NULL);
        probe_json_probe(out, p, t, &t->probes[i]);
    }
    pg_json_end(&list, "]");
    pg_json_array(&j, "skipped", &list);
    for (i = 0; i < t->n_skipped; i++) {
        pg_json_object(&list, NULL, &obj);
        pg_json_str(&obj, "name", t->skipped[i].name);
        pg_json_str(&obj, "why", t->skipped[i].why);
        pg_json_end(&obj, "}");
    }
    pg_json_end(&list, "]");
    if (t->guard) {
        pg_json_key(&j, "guard");
        probe_json_guard(out, t);
    }
    pg_json_end(&j, "}\n");
    (void)run;
}

void probe_report_plugin(const pg_out *out, apr_pool_t *p,
                         const probe_run *run, const probe_target *t, int n,
                         int exit, double seconds)
{
    int counts[PROBE_PV_COUNT] = { 0 }, probes = 0, i, v;

    pg_printf(out, "PROXYGUARD %s - ", probe_upper(p, probe_exit_name(exit)));
    if (run->expired_in) {
        pg_printf(out, "timed out after %g s (%s), in ",
                  (double)run->opts->max_time / APR_USEC_PER_SEC,
                  run->opts->max_time_from);
        pg_put_text(out, run->expired_in, "|");
        pg_puts(out, "; ");
    }
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

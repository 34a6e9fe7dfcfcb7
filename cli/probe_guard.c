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
 * probe_guard.c: what mod_proxyguard counted; see probe_guard.h.
 *
 * The page keeps the last 64 hits ("recent", newest first: time, client,
 * method, target cut to PROBE_TARGET_CUT bytes, reason, action); the hits
 * of this run are its first (total after - total before).  Each from our
 * address is matched to the request of ours that has its method and
 * target; the status page's own request (which the module may count as
 * unknown-host when the URL names an address) is recognised by its path.
 */

#include <string.h>

#include <apr_strings.h>

#include "pg_table.h"

#include "probe_guard.h"
#include "probe_jread.h"
#include "probe_matrix.h"
#include "probe_net.h"

/* What the page keeps of a target and a method: the table keeps MAX - 1
 * bytes and the NUL. */
#define PROBE_TARGET_CUT (PG_RECENT_TARGET_MAX - 1)
#define PROBE_METHOD_CUT (PG_RECENT_METHOD_MAX - 1)

struct probe_guard_state {
    const char *url;
    const char *host;
    unsigned port;
    const char *path;           /* the page's path, without the query */
    const char *request;        /* what we send for ?json */
    probe_addr addr;
    probe_json *before;
    const char *error;
};

probe_guard_state *probe_guard_open(probe_run *run, const char *url,
                                    const probe_target *t, const char **why)
{
    probe_guard_state *g = apr_pcalloc(run->pool, sizeof(*g));
    const char *path, *hostport;
    probe_addr addrs[8];
    int n, i;

    g->url = url;
    if (probe_url_parse(run->pool, url, &g->host, &g->port, &path) < 0) {
        *why = "not an http:// URL";
        return NULL;
    }
    g->path = apr_pstrndup(run->pool, path, strcspn(path, "?#"));
    n = probe_addr_resolve(g->host, g->port, addrs, 8, why);
    for (i = 0; i < n; i++) {
        if (probe_addr_same_ip(&addrs[i], &t->addr)) {
            break;
        }
    }
    if (i >= n) {
        *why = "it is not on the target's address (the program talks to nobody "
               "else)";
        return NULL;
    }
    g->addr = addrs[i];
    hostport =
        apr_psprintf(run->pool, "%s%s%s", strchr(g->host, ':') ? "[" : "",
                     g->host, strchr(g->host, ':') ? "]" : "");
    if (g->port != 80) {
        hostport = apr_psprintf(run->pool, "%s:%u", hostport, g->port);
    }
    g->request = apr_pstrcat(
        run->pool, "GET ", g->path, strchr(path, '?') ? strchr(path, '?') : "",
        strchr(path, '?') ? "&json" : "?json", " HTTP/1.1\r\nHost: ", hostport,
        "\r\nUser-Agent: proxyguard-probe\r\n"
        "Connection: close\r\n\r\n",
        NULL);
    return g;
}

static probe_json *probe_guard_read(probe_run *run, probe_guard_state *g)
{
    probe_reply r;
    const char *why = NULL;
    probe_json *doc;

    if (probe_matrix_fetch(run, &g->addr, NULL, g->request, &r, NULL) < 0) {
        g->error =
            apr_psprintf(run->pool, "no answer: %s", r.error ? r.error : "?");
        return NULL;
    }
    if (r.status != 200) {
        g->error =
            apr_psprintf(run->pool, "answered %d, not the page", r.status);
        return NULL;
    }
    if (r.truncated) {
        g->error = "the page is larger than this program reads";
        return NULL;
    }
    doc = probe_json_parse(run->pool, r.body, r.body_len, &why);
    if (!doc || !probe_json_get(doc, "hits")) {
        g->error = apr_psprintf(run->pool, "not mod_proxyguard's ?json (%s)",
                                why ? why : "no \"hits\"");
        return NULL;
    }
    return doc;
}

void probe_guard_before(probe_run *run, probe_guard_state *g)
{
    g->before = probe_guard_read(run, g);
}

/* Does a hit's target (cut by the page) stand for this target? */
static int probe_target_matches(const char *ours, const char *seen)
{
    apr_size_t n = strlen(seen);

    if (n >= PROBE_TARGET_CUT) {
        return !strncmp(ours, seen, n);
    }
    return !strcmp(ours, seen);
}

static int probe_method_matches(const char *ours, const char *seen)
{
    apr_size_t n = strlen(seen);

    return n >= PROBE_METHOD_CUT ? !strncmp(ours, seen, n)
                                 : !strcmp(ours, seen);
}

/* The probe of ours a hit stands for, or NULL. */
static probe_item *probe_match_probe(probe_target *t, const char *method,
                                     const char *target, char *taken)
{
    int i;

    for (i = 0; i < t->n_probes; i++) {
        probe_item *pr = &t->probes[i];

        if (!taken[i] && pr->target
            && probe_method_matches(pr->def->method, method)
            && probe_target_matches(pr->target, target)) {
            taken[i] = 1;
            return pr;
        }
    }
    return NULL;
}

static probe_baseline *probe_match_baseline(probe_target *t, const char *method,
                                            const char *target, char *taken)
{
    int i;

    if (strcmp(method, "GET") || strcmp(target, "/")) {
        return NULL;
    }
    for (i = 0; i < t->n_base; i++) {
        if (!taken[i]) {
            taken[i] = 1;
            return &t->base[i];
        }
    }
    return NULL;
}

static void probe_guard_delta(probe_run *run, probe_guard_state *g,
                              const probe_json *after, probe_guard *out)
{
    const probe_json *hits = probe_json_get(after, "hits");
    const probe_json *before_hits = probe_json_get(g->before, "hits");
    const probe_json *m;

    out->before_total = (long)probe_json_num(g->before, "total", 0);
    out->after_total = (long)probe_json_num(after, "total", 0);
    for (m = hits ? hits->child : NULL; m && out->n_reasons < 16; m = m->next) {
        if (!m->key || m->type != PROBE_J_NUMBER) {
            continue;
        }
        out->reasons[out->n_reasons] = apr_pstrdup(run->pool, m->key);
        out->delta[out->n_reasons] =
            (long)(m->num - probe_json_num(before_hits, m->key, 0));
        out->n_reasons++;
    }
}

void probe_guard_after(probe_run *run, probe_guard_state *g, probe_target *t)
{
    probe_guard *out = apr_pcalloc(run->pool, sizeof(*out));
    char taken_probe[PROBE_MAX] = { 0 }, taken_base[PROBE_BASELINE_MAX] = { 0 };
    const probe_json *recent, *e;
    probe_json *after = NULL;
    long ours = 0, status_seen = 0, fresh;
    int i;

    t->guard = out;
    out->url = g->url;
    if (g->before) {
        after = probe_guard_read(run, g);
    }
    if (!g->before || !after) {
        out->error = g->error;
        return;
    }
    probe_guard_delta(run, g, after, out);
    /* "recent" is newest first: the hits since the first read are exactly
     * its first (after - before) entries, whoever else is about */
    fresh = out->after_total - out->before_total;
    recent = probe_json_get(after, "recent");
    for (e = recent && recent->type == PROBE_J_ARRAY ? recent->child : NULL;
         e && fresh > 0; e = e->next, fresh--) {
        const char *client = probe_json_str(e, "client");
        const char *method = probe_json_str(e, "method");
        const char *target = probe_json_str(e, "target");
        const char *reason = probe_json_str(e, "reason");
        const char *action = probe_json_str(e, "action");
        probe_item *pr;
        probe_baseline *b;

        if (!method || !target || !reason) {
            continue;
        }
        if (!strncmp(target, g->path, strlen(g->path))
            && (target[strlen(g->path)] == '?' || !target[strlen(g->path)])) {
            status_seen++;      /* the status page's own request */
            continue;
        }
        if (!client || strcmp(client, t->local_text)) {
            continue;
        }
        if ((pr = probe_match_probe(t, method, target, taken_probe)) != NULL) {
            pr->guard_reason = apr_pstrdup(run->pool, reason);
            pr->guard_action = action ? apr_pstrdup(run->pool, action) : "";
            ours++;
        }
        else if ((b = probe_match_baseline(t, method, target, taken_base))
                 != NULL) {
            b->guard_reason = apr_pstrdup(run->pool, reason);
            ours++;
        }
    }
    for (i = 0; i < t->n_probes; i++) {
        if (t->probes[i].guard_reason) {
            out->probes_counted++;
        }
        else {
            out->probes_not_seen++;
        }
    }
    /* the first read of the page is in the "before" total, so only the
     * second can be among the fresh hits */
    out->status_hits = status_seen;
    out->unattributed =
        out->after_total - out->before_total - ours - out->status_hits;
}

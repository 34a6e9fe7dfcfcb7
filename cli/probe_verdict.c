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
 *
 * probe_verdict.c: proof, not a guess.  A probe is proxied only when the
 * canary received its token from the target (or, for the https:// form,
 * whose token cannot be read inside TLS, a TLS handshake reached the canary
 * while that probe alone was running); a CONNECT is tunneled only when,
 * after a 2xx, bytes sent into the tunnel reached the canary.  Status codes
 * alone never make a target an open proxy.
 */

#include <string.h>
#include <strings.h>

#include <apr_strings.h>

#include "cli.h"
#include "probe_canary.h"
#include "probe_http.h"
#include "probe_verdict.h"

static const char *const pg_pv_names[PG_PV_COUNT] = {
    "rejected", "local", "proxied", "tunneled", "suspect", "error"
};

const char *pg_pv_name(pg_pv v)
{
    return v < PG_PV_COUNT ? pg_pv_names[v] : "error";
}

const char *pg_exit_name(int exit)
{
    switch (exit) {
    case PG_EXIT_OK: return "ok";
    case PG_EXIT_WARNING: return "warning";
    case PG_EXIT_CRITICAL: return "critical";
    default: return "unknown";
    }
}

static int pg_exit_rank(int exit)
{
    switch (exit) {
    case PG_EXIT_OK: return 0;
    case PG_EXIT_UNKNOWN: return 1;
    case PG_EXIT_WARNING: return 2;
    default: return 3;
    }
}

int pg_exit_worse(int a, int b)
{
    return pg_exit_rank(a) >= pg_exit_rank(b) ? a : b;
}

static apr_int64_t pg_content_length(const pg_reply *r)
{
    const char *h = r->head;

    while (h && (h = strchr(h, '\n')) != NULL) {
        h++;
        if (!strncasecmp(h, "Content-Length:", 15)) {
            return apr_atoi64(h + 15);
        }
    }
    return -1;
}

/* The baseline whose content this reply repeats, or NULL.  For HEAD the
 * length announced stands for the body. */
static const pg_baseline *pg_same_as_baseline(const pg_target *t, const pg_probe *pr)
{
    int is_head = !strcasecmp(pr->def->method, "HEAD"), i;
    apr_int64_t announced = is_head ? pg_content_length(&pr->reply) : -1;

    for (i = 0; i < t->n_base; i++) {
        const pg_reply *b = &t->base[i].reply;

        if (b->status < 200 || b->status >= 300) {
            continue;
        }
        if (is_head ? announced >= 0 && (apr_size_t)announced == b->body_len
                    : pr->reply.hash == b->hash && pr->reply.body_len == b->body_len) {
            return &t->base[i];
        }
    }
    return NULL;
}

static void pg_verdict_tunnel(pg_run *run, pg_probe *pr)
{
    if (pr->ev.token) {
        pr->verdict = PG_PV_TUNNELED;
        pr->note = apr_psprintf(run->pool, "answered 2xx, and bytes sent into the tunnel"
                                " reached the canary (from %s)%s", pr->ev.peer,
                                pr->banner_back ? "; the canary's banner came back through it"
                                : pr->reply_back ? "; the canary's reply came back through it"
                                : "");
        return;
    }
    pr->verdict = PG_PV_SUSPECT;
    pr->note = pr->banner_back || pr->reply_back
               ? "answered 2xx and the canary's answer came back, but our token never reached it"
               : "answered 2xx, but nothing sent into the tunnel reached the canary";
}

void pg_verdict_probe(pg_run *run, const pg_target *t, pg_probe *pr)
{
    const pg_reply *r = &pr->reply;
    int is2xx = r->status >= 200 && r->status < 300;
    const pg_baseline *same;

    pr->ev = *pg_canary_evidence(run->canary, pr->id);
    if (pr->def->tunnel && pr->tunnel_open) {
        pg_verdict_tunnel(run, pr);
    }
    else if (pr->ev.token) {
        pr->verdict = PG_PV_PROXIED;
        pr->note = apr_psprintf(run->pool, "the canary received this probe's token from %s",
                                pr->ev.peer);
    }
    else if (pr->ev.tls && pr->def->scheme && !strcasecmp(pr->def->scheme, "https")) {
        pr->verdict = PG_PV_PROXIED;
        pr->note = "a TLS handshake reached the canary while this probe alone ran"
                   " (no token can be read inside TLS)";
    }
    else if (!r->status) {
        pr->verdict = PG_PV_ERROR;
        pr->note = r->error ? r->error : "no answer";
    }
    else if (is2xx && r->incomplete) {
        pr->verdict = PG_PV_ERROR;
        pr->note = apr_pstrcat(run->pool, "answered 2xx, but the body never arrived whole (",
                               r->error ? r->error : "ended early", ")", NULL);
    }
    else if (is2xx && pg_http_contains(r, pg_canary_marker(run->canary))) {
        pr->verdict = PG_PV_PROXIED;
        pr->note = "the reply is the canary's own";
    }
    else if (is2xx && (same = pg_same_as_baseline(t, pr)) != NULL) {
        pr->verdict = PG_PV_LOCAL;
        pr->note = apr_psprintf(run->pool, "answered with its own content (as baseline %s)",
                                same->name);
    }
    else if (is2xx) {
        pr->verdict = PG_PV_SUSPECT;
        pr->note = "answered 2xx with content unlike the baseline, and the canary saw nothing";
    }
    else if (r->status == 502 || r->status == 503 || r->status == 504) {
        pr->verdict = PG_PV_ERROR;
        pr->note = "gateway error: the target may have tried to reach the canary and failed"
                   " (is the canary reachable from it? see --canary)";
    }
    else {
        pr->verdict = PG_PV_REJECTED;
    }
    if (pr->ev.connections && pr->verdict != PG_PV_PROXIED && pr->verdict != PG_PV_TUNNELED) {
        pr->note = apr_psprintf(run->pool, "%s%sthe target opened %d connection(s) to the"
                                " canary while this probe ran, without its token",
                                pr->note ? pr->note : "", pr->note ? "; " : "",
                                pr->ev.connections);
    }
}

void pg_verdict_target(pg_target *t)
{
    int i;

    memset(t->counts, 0, sizeof(t->counts));
    for (i = 0; i < t->n_probes; i++) {
        t->counts[t->probes[i].verdict]++;
    }
    if (t->error || !t->n_probes) {
        t->exit = PG_EXIT_UNKNOWN;
    }
    else if (t->counts[PG_PV_PROXIED] || t->counts[PG_PV_TUNNELED]) {
        t->exit = PG_EXIT_CRITICAL;
    }
    else if (t->counts[PG_PV_LOCAL] || t->counts[PG_PV_SUSPECT]) {
        t->exit = PG_EXIT_WARNING;
    }
    else if (t->counts[PG_PV_ERROR]) {
        t->exit = PG_EXIT_UNKNOWN;
    }
    else {
        t->exit = PG_EXIT_OK;
    }
}

/* "get, head, post" for the probes with one of two verdicts. */
static const char *pg_names_of(apr_pool_t *p, const pg_target *t, pg_pv a, pg_pv b)
{
    const char *list = "";
    int i;

    for (i = 0; i < t->n_probes; i++) {
        if (t->probes[i].verdict == a || t->probes[i].verdict == b) {
            list = apr_pstrcat(p, list, *list ? ", " : "", t->probes[i].def->name, NULL);
        }
    }
    return list;
}

const char *pg_verdict_summary(apr_pool_t *p, const pg_target *t)
{
    const int *n = t->counts;

    if (t->error) {
        return apr_pstrcat(p, "could not test: ", t->error, NULL);
    }
    if (!t->n_probes) {
        return "no probe ran";
    }
    switch (t->exit) {
    case PG_EXIT_CRITICAL:
        return apr_psprintf(p, "OPEN PROXY for this client (%s), proven by the canary:"
                            " %d proxied, %d tunneled (%s)", t->local_text,
                            n[PG_PV_PROXIED], n[PG_PV_TUNNELED],
                            pg_names_of(p, t, PG_PV_PROXIED, PG_PV_TUNNELED));
    case PG_EXIT_WARNING:
        return apr_psprintf(p, "not a proxy, but %d probe(s) answered 2xx (%d local, %d"
                            " suspect: %s): scanners will list it as an open proxy",
                            n[PG_PV_LOCAL] + n[PG_PV_SUSPECT], n[PG_PV_LOCAL],
                            n[PG_PV_SUSPECT], pg_names_of(p, t, PG_PV_LOCAL, PG_PV_SUSPECT));
    case PG_EXIT_UNKNOWN:
        return apr_psprintf(p, "%d of %d probes got no usable answer (%s); the rest"
                            " were rejected", n[PG_PV_ERROR], t->n_probes,
                            pg_names_of(p, t, PG_PV_ERROR, PG_PV_ERROR));
    default:
        return apr_psprintf(p, "not an open proxy for this client (%s): all %d probes"
                            " rejected", t->local_text, t->n_probes);
    }
}

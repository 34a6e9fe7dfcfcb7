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
 * canary received its token on a connection the canary accepted in that
 * probe's window (or, for the https:// form, whose token cannot be read
 * inside TLS, a TLS handshake reached the canary in its window); a CONNECT
 * is tunneled only when, after a 2xx, that is so and the canary's answer
 * came back through the tunnel carrying this probe's proof (a keyed digest
 * the target never saw).  The reply itself can only say how the target
 * answered, never raise a verdict: the target sees every byte we send, so
 * the token, the nonce and the canary's marker in it prove nothing.
 * Status codes alone never make a target an open proxy.
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

/* A CONNECT answered 2xx as a tunnel.  Both ways, or it is not a tunnel
 * we can prove: our token reached the canary in this probe's window, and
 * the canary's answer (the banner for the SMTP form, the reply for the
 * HTTP form) came back carrying this probe's proof. */
static void pg_verdict_tunnel(pg_run *run, pg_probe *pr)
{
    int back = pr->def->tunnel == PG_TUNNEL_SMTP ? pr->banner_back : pr->reply_back;
    const char *what = pr->def->tunnel == PG_TUNNEL_SMTP ? "banner" : "reply";

    if (pr->ev.token && back) {
        pr->verdict = PG_PV_TUNNELED;
        pr->note = apr_psprintf(run->pool, "answered 2xx, and bytes sent into the tunnel"
                                " reached the canary (from %s); the canary's %s came"
                                " back through it, with this probe's proof", pr->ev.peer,
                                what);
        return;
    }
    if (pr->ev.token) {
        /* the target relayed our bytes to the canary: an open proxy, but
         * not a tunnel shown both ways */
        pr->verdict = PG_PV_PROXIED;
        pr->note = apr_psprintf(run->pool, "answered 2xx, and bytes sent into the tunnel"
                                " reached the canary (from %s), but the canary's %s never"
                                " came back through it", pr->ev.peer, what);
        return;
    }
    pr->verdict = PG_PV_SUSPECT;
    pr->note = back ? "answered 2xx and the canary's answer came back, but our token never"
                      " reached it"
                    : "answered 2xx, but nothing sent into the tunnel reached the canary";
}

/* What the reply (or, for a tunnel, what came back through it) repeats
 * or imitates.  Asked only when the canary has no evidence for the probe:
 * a real relay's reply carries the canary's marker too.  The token counts
 * in a 2xx only: error pages quote the URL they refuse (Squid's do). */
static pg_echo pg_verdict_echo(const pg_canary *canary, const pg_probe *pr)
{
    const pg_reply *r = &pr->reply;

    if (pr->echo == PG_ECHO_MARKER || pg_http_contains(r, pg_canary_marker(canary))) {
        return PG_ECHO_MARKER;
    }
    if (pr->echo == PG_ECHO_TOKEN
        || (r->status >= 200 && r->status < 300 && pg_http_contains(r, pr->token))) {
        return PG_ECHO_TOKEN;
    }
    return PG_ECHO_NONE;
}

/* "while probe get ran", "while no probe ran": when a stray token came. */
static const char *pg_stray_when(apr_pool_t *p, const pg_target *t, int window)
{
    if (window >= 0 && window < t->n_probes) {
        return apr_pstrcat(p, "while probe ", t->probes[window].def->name, " ran", NULL);
    }
    return "while no probe ran";
}

static int pg_proven(const pg_probe *pr)
{
    return pr->verdict == PG_PV_PROXIED || pr->verdict == PG_PV_TUNNELED;
}

/* The verdict from what the canary saw; 0 when it saw nothing that
 * decides (the reply's content decides then). */
static int pg_verdict_canary(pg_run *run, const pg_target *t, pg_probe *pr)
{
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
    else if (pr->ev.stray) {
        /* something fetched our URL, but not as this probe's relay: a log
         * reader, a delayed job; worth a look, not proof */
        pr->verdict = PG_PV_SUSPECT;
        pr->note = apr_psprintf(run->pool, "its token reached the canary from %s, but %s"
                                " (outside this probe's window): not proof",
                                pr->ev.stray_peer, pg_stray_when(run->pool, t,
                                                                 pr->ev.stray_window));
    }
    else {
        return 0;
    }
    return 1;
}

/* Without canary evidence: how the target answered. */
static void pg_verdict_reply(pg_run *run, const pg_target *t, pg_probe *pr)
{
    const pg_reply *r = &pr->reply;
    int is2xx = r->status >= 200 && r->status < 300;
    const pg_baseline *same;

    if (pr->echo == PG_ECHO_MARKER) {
        /* whatever its status: the target is imitating the canary */
        pr->verdict = PG_PV_SUSPECT;
        pr->note = "the reply imitates the canary's answer (its marker, built from the"
                   " token we sent), but the canary received nothing: forged, not proof";
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
    if (pr->echo == PG_ECHO_TOKEN) {
        pr->note = apr_pstrcat(run->pool, pr->note ? pr->note : "", pr->note ? "; " : "",
                               "the reply repeats this probe's token, but the canary"
                               " received nothing: an echo, not proof", NULL);
    }
}

void pg_verdict_probe(pg_run *run, const pg_target *t, pg_probe *pr)
{
    pr->ev = *pg_canary_evidence(run->canary, pr->id);
    if (!pg_verdict_canary(run, t, pr)) {
        pr->echo = pg_verdict_echo(run->canary, pr);
        pg_verdict_reply(run, t, pr);
    }
    else if (pg_proven(pr)) {
        pr->echo = PG_ECHO_NONE;    /* a relay's reply is the canary's */
    }
    else {
        pr->echo = pg_verdict_echo(run->canary, pr);
        if (pr->echo == PG_ECHO_MARKER) {
            pr->note = apr_pstrcat(run->pool, pr->note, "; what came back imitates the"
                                   " canary's answer without its proof: forged", NULL);
        }
    }
    if (pr->ev.connections && !pg_proven(pr)) {
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

/* "; 3 replies ... (get, head, post) ...", or "" when no reply echoed. */
static const char *pg_echo_clause(apr_pool_t *p, const pg_target *t)
{
    const char *list = "";
    int i, n = 0;

    for (i = 0; i < t->n_probes; i++) {
        if (t->probes[i].echo) {
            list = apr_pstrcat(p, list, n++ ? ", " : "", t->probes[i].def->name, NULL);
        }
    }
    return n ? apr_psprintf(p, "; %d repl%s repeat this run's token or imitate the"
                            " canary's answer (%s): an echo or a forgery, not proof",
                            n, n == 1 ? "y" : "ies", list)
             : "";
}

/* Did every local or suspect probe answer 2xx?  A forged canary answer
 * is suspect whatever its status. */
static int pg_warned_2xx(const pg_target *t)
{
    int i;

    for (i = 0; i < t->n_probes; i++) {
        const pg_probe *pr = &t->probes[i];

        if ((pr->verdict == PG_PV_LOCAL || pr->verdict == PG_PV_SUSPECT)
            && (pr->reply.status < 200 || pr->reply.status >= 300)) {
            return 0;
        }
    }
    return 1;
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
        return apr_psprintf(p, "not a proxy, but %d probe(s) answered 2xx%s (%d local, %d"
                            " suspect: %s): scanners will list it as an open proxy%s",
                            n[PG_PV_LOCAL] + n[PG_PV_SUSPECT],
                            pg_warned_2xx(t) ? "" : " or imitated the canary",
                            n[PG_PV_LOCAL], n[PG_PV_SUSPECT],
                            pg_names_of(p, t, PG_PV_LOCAL, PG_PV_SUSPECT),
                            pg_echo_clause(p, t));
    case PG_EXIT_UNKNOWN:
        return apr_psprintf(p, "%d of %d probes got no usable answer (%s); the rest"
                            " were rejected", n[PG_PV_ERROR], t->n_probes,
                            pg_names_of(p, t, PG_PV_ERROR, PG_PV_ERROR));
    default:
        return apr_psprintf(p, "not an open proxy for this client (%s): all %d probes"
                            " rejected", t->local_text, t->n_probes);
    }
}

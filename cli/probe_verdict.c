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

static const char *const probe_pv_names[PROBE_PV_COUNT] = {
    "rejected", "local", "proxied", "tunneled", "suspect", "error"
};

const char *probe_pv_name(probe_pv v)
{
    return v < PROBE_PV_COUNT ? probe_pv_names[v] : "error";
}

const char *probe_exit_name(int exit)
{
    switch (exit) {
    case PROXYGUARD_EXIT_OK: return "ok";
    case PROXYGUARD_EXIT_WARNING: return "warning";
    case PROXYGUARD_EXIT_CRITICAL: return "critical";
    default: return "unknown";
    }
}

static int probe_exit_rank(int exit)
{
    switch (exit) {
    case PROXYGUARD_EXIT_OK: return 0;
    case PROXYGUARD_EXIT_UNKNOWN: return 1;
    case PROXYGUARD_EXIT_WARNING: return 2;
    default: return 3;
    }
}

int probe_exit_worse(int a, int b)
{
    return probe_exit_rank(a) >= probe_exit_rank(b) ? a : b;
}

/* The length a HEAD reply announced, or -1 (none, or not a number). */
static apr_int64_t probe_content_length(const probe_reply *r)
{
    apr_uint64_t length;

    if (!r->head
        || probe_http_content_length(r->head, strlen(r->head), &length) <= 0) {
        return -1;
    }
    return (apr_int64_t)length;
}

/* The baseline whose content this reply repeats, or NULL.  For HEAD the
 * length announced stands for the body. */
static const probe_baseline *probe_same_as_baseline(const probe_target *t,
                                                    const probe_item *pr)
{
    int is_head = !strcasecmp(pr->def->method, "HEAD"), i;
    apr_int64_t announced = is_head ? probe_content_length(&pr->reply) : -1;

    for (i = 0; i < t->n_base; i++) {
        const probe_reply *b = &t->base[i].reply;

        if (b->status < 200 || b->status >= 300) {
            continue;
        }
        if (is_head ? announced >= 0 && (apr_size_t)announced == b->body_len
                    : pr->reply.hash == b->hash
                          && pr->reply.body_len == b->body_len) {
            return &t->base[i];
        }
    }
    return NULL;
}

/* A CONNECT answered 2xx as a tunnel.  Both ways, or it is not a tunnel
 * we can prove: our token reached the canary in this probe's window, and
 * the canary's answer (the banner for the SMTP form, the reply for the
 * HTTP form) came back carrying this probe's proof. */
static void probe_verdict_tunnel(probe_run *run, probe_item *pr)
{
    int back =
        pr->def->tunnel == PROBE_TUNNEL_SMTP ? pr->banner_back : pr->reply_back;
    const char *what =
        pr->def->tunnel == PROBE_TUNNEL_SMTP ? "banner" : "reply";

    if (pr->ev.token && back) {
        pr->verdict = PROBE_PV_TUNNELED;
        pr->note =
            apr_psprintf(run->pool,
                         "answered 2xx, and bytes sent into the tunnel"
                         " reached the canary (from %s); the canary's %s came"
                         " back through it, with this probe's proof",
                         pr->ev.peer, what);
        return;
    }
    if (pr->ev.token) {
        /* the target relayed our bytes to the canary: an open proxy, but
         * not a tunnel shown both ways */
        pr->verdict = PROBE_PV_PROXIED;
        pr->note = apr_psprintf(
            run->pool,
            "answered 2xx, and bytes sent into the tunnel"
            " reached the canary (from %s), but the canary's %s never"
            " came back through it",
            pr->ev.peer, what);
        return;
    }
    pr->verdict = PROBE_PV_SUSPECT;
    pr->note = back ? "answered 2xx and the canary's answer came back, but our "
                      "token never"
                      " reached it"
                    : "answered 2xx, but nothing sent into the tunnel reached "
                      "the canary";
}

/* What the reply (or, for a tunnel, what came back through it) repeats
 * or imitates.  Asked only when the canary has no evidence for the probe:
 * a real relay's reply carries the canary's marker too.  The token counts
 * in a 2xx only: error pages quote the URL they refuse (Squid's do). */
static probe_echo probe_verdict_echo(const probe_canary *canary,
                                     const probe_item *pr)
{
    const probe_reply *r = &pr->reply;

    if (pr->echo == PROBE_ECHO_MARKER
        || probe_http_contains(r, probe_canary_marker(canary))) {
        return PROBE_ECHO_MARKER;
    }
    if (pr->echo == PROBE_ECHO_TOKEN
        || (r->status >= 200 && r->status < 300
            && probe_http_contains(r, pr->token))) {
        return PROBE_ECHO_TOKEN;
    }
    return PROBE_ECHO_NONE;
}

/* "while probe get ran", "while no probe ran": when a stray token came. */
static const char *probe_stray_when(apr_pool_t *p, const probe_target *t,
                                    int window)
{
    if (window >= 0 && window < t->n_probes) {
        return apr_pstrcat(p, "while probe ", t->probes[window].def->name,
                           " ran", NULL);
    }
    return "while no probe ran";
}

static int probe_proven(const probe_item *pr)
{
    return pr->verdict == PROBE_PV_PROXIED || pr->verdict == PROBE_PV_TUNNELED;
}

/* The verdict from what the canary saw; 0 when it saw nothing that
 * decides (the reply's content decides then). */
static int probe_verdict_canary(probe_run *run, const probe_target *t,
                                probe_item *pr)
{
    if (pr->def->tunnel && pr->tunnel_open) {
        probe_verdict_tunnel(run, pr);
    }
    else if (pr->ev.token) {
        pr->verdict = PROBE_PV_PROXIED;
        pr->note = apr_psprintf(
            run->pool, "the canary received this probe's token from %s",
            pr->ev.peer);
    }
    else if (pr->ev.tls && pr->def->scheme
             && !strcasecmp(pr->def->scheme, "https")) {
        pr->verdict = PROBE_PV_PROXIED;
        pr->note =
            "a TLS handshake reached the canary while this probe alone ran"
            " (no token can be read inside TLS)";
    }
    else if (pr->ev.stray) {
        /* something fetched our URL, but not as this probe's relay: a log
         * reader, a delayed job; worth a look, not proof */
        pr->verdict = PROBE_PV_SUSPECT;
        pr->note =
            apr_psprintf(run->pool,
                         "its token reached the canary from %s, but %s"
                         " (outside this probe's window): not proof",
                         pr->ev.stray_peer,
                         probe_stray_when(run->pool, t, pr->ev.stray_window));
    }
    else {
        return 0;
    }
    return 1;
}

/* Without canary evidence: how the target answered. */
static void probe_verdict_reply(probe_run *run, const probe_target *t,
                                probe_item *pr)
{
    const probe_reply *r = &pr->reply;
    int is2xx = r->status >= 200 && r->status < 300;
    const probe_baseline *same;

    if (pr->echo == PROBE_ECHO_MARKER) {
        /* whatever its status: the target is imitating the canary */
        pr->verdict = PROBE_PV_SUSPECT;
        pr->note =
            "the reply imitates the canary's answer (its marker, built from the"
            " token we sent), but the canary received nothing: forged, not "
            "proof";
    }
    else if (!r->status) {
        pr->verdict = PROBE_PV_ERROR;
        pr->note = r->error ? r->error : "no answer";
    }
    else if (is2xx && r->incomplete) {
        pr->verdict = PROBE_PV_ERROR;
        pr->note = apr_pstrcat(
            run->pool, "answered 2xx, but the body never arrived whole (",
            r->error ? r->error : "ended early", ")", NULL);
    }
    else if (is2xx && (same = probe_same_as_baseline(t, pr)) != NULL) {
        pr->verdict = PROBE_PV_LOCAL;
        pr->note = apr_psprintf(
            run->pool, "answered with its own content (as baseline %s)",
            same->name);
    }
    else if (is2xx) {
        pr->verdict = PROBE_PV_SUSPECT;
        pr->note = "answered 2xx with content unlike the baseline, and the "
                   "canary saw nothing";
    }
    else if (r->status == 502 || r->status == 503 || r->status == 504) {
        pr->verdict = PROBE_PV_ERROR;
        pr->note = "gateway error: the target may have tried to reach the "
                   "canary and failed"
                   " (is the canary reachable from it? see --canary)";
    }
    else {
        pr->verdict = PROBE_PV_REJECTED;
    }
    if (pr->echo == PROBE_ECHO_TOKEN) {
        pr->note = apr_pstrcat(
            run->pool, pr->note ? pr->note : "", pr->note ? "; " : "",
            "the reply repeats this probe's token, but the canary"
            " received nothing: an echo, not proof",
            NULL);
    }
}

void probe_verdict_probe(probe_run *run, const probe_target *t, probe_item *pr)
{
    pr->ev = *probe_canary_evidence(run->canary, pr->id);
    if (!probe_verdict_canary(run, t, pr)) {
        pr->echo = probe_verdict_echo(run->canary, pr);
        probe_verdict_reply(run, t, pr);
    }
    else if (probe_proven(pr)) {
        pr->echo = PROBE_ECHO_NONE;    /* a relay's reply is the canary's */
    }
    else {
        pr->echo = probe_verdict_echo(run->canary, pr);
        if (pr->echo == PROBE_ECHO_MARKER) {
            pr->note = apr_pstrcat(run->pool, pr->note,
                                   "; what came back imitates the"
                                   " canary's answer without its proof: forged",
                                   NULL);
        }
    }
    if (pr->ev.connections && !probe_proven(pr)) {
        pr->note = apr_psprintf(
            run->pool,
            "%s%sthe target opened %d connection(s) to the"
            " canary while this probe ran, without its token",
            pr->note ? pr->note : "", pr->note ? "; " : "", pr->ev.connections);
    }
}

void probe_verdict_target(probe_target *t)
{
    int i;

    memset(t->counts, 0, sizeof(t->counts));
    for (i = 0; i < t->n_probes; i++) {
        t->counts[t->probes[i].verdict]++;
    }
    if (t->error || !t->n_probes) {
        t->exit = PROXYGUARD_EXIT_UNKNOWN;
    }
    else if (t->counts[PROBE_PV_PROXIED] || t->counts[PROBE_PV_TUNNELED]) {
        t->exit = PROXYGUARD_EXIT_CRITICAL;
    }
    else if (t->counts[PROBE_PV_LOCAL] || t->counts[PROBE_PV_SUSPECT]) {
        t->exit = PROXYGUARD_EXIT_WARNING;
    }
    else if (t->counts[PROBE_PV_ERROR]) {
        t->exit = PROXYGUARD_EXIT_UNKNOWN;
    }
    else {
        t->exit = PROXYGUARD_EXIT_OK;
    }
}

/* "get, head, post" for the probes with one of two verdicts. */
static const char *probe_names_of(apr_pool_t *p, const probe_target *t,
                                  probe_pv a, probe_pv b)
{
    const char *list = "";
    int i;

    for (i = 0; i < t->n_probes; i++) {
        if (t->probes[i].verdict == a || t->probes[i].verdict == b) {
            list = apr_pstrcat(p, list, *list ? ", " : "",
                               t->probes[i].def->name, NULL);
        }
    }
    return list;
}

/* "; 3 replies ... (get, head, post) ...", or "" when no reply echoed. */
static const char *probe_echo_clause(apr_pool_t *p, const probe_target *t)
{
    const char *list = "";
    int i, n = 0;

    for (i = 0; i < t->n_probes; i++) {
        if (t->probes[i].echo) {
            list = apr_pstrcat(p, list, n++ ? ", " : "", t->probes[i].def->name,
                               NULL);
        }
    }
    return n ? apr_psprintf(
               p,
               "; %d repl%s repeat this run's token or imitate the"
               " canary's answer (%s): an echo or a forgery, not proof",
               n, n == 1 ? "y" : "ies", list)
             : "";
}

/* Did every local or suspect probe answer 2xx?  A forged canary answer
 * is suspect whatever its status. */
static int probe_warned_2xx(const probe_target *t)
{
    int i;

    for (i = 0; i < t->n_probes; i++) {
        const probe_item *pr = &t->probes[i];

        if ((pr->verdict == PROBE_PV_LOCAL || pr->verdict == PROBE_PV_SUSPECT)
            && (pr->reply.status < 200 || pr->reply.status >= 300)) {
            return 0;
        }
    }
    return 1;
}

const char *probe_verdict_summary(apr_pool_t *p, const probe_target *t)
{
    const int *n = t->counts;

    if (t->error) {
        return apr_pstrcat(p, "could not test: ", t->error, NULL);
    }
    if (!t->n_probes) {
        return "no probe ran";
    }
    switch (t->exit) {
    case PROXYGUARD_EXIT_CRITICAL:
        return apr_psprintf(
            p,
            "OPEN PROXY for this client (%s), proven by the canary:"
            " %d proxied, %d tunneled (%s)",
            t->local_text, n[PROBE_PV_PROXIED], n[PROBE_PV_TUNNELED],
            probe_names_of(p, t, PROBE_PV_PROXIED, PROBE_PV_TUNNELED));
    case PROXYGUARD_EXIT_WARNING:
        return apr_psprintf(
            p,
            "not a proxy, but %d probe(s) answered 2xx%s (%d local, %d"
            " suspect: %s): scanners will list it as an open proxy%s",
            n[PROBE_PV_LOCAL] + n[PROBE_PV_SUSPECT],
            probe_warned_2xx(t) ? "" : " or imitated the canary",
            n[PROBE_PV_LOCAL], n[PROBE_PV_SUSPECT],
            probe_names_of(p, t, PROBE_PV_LOCAL, PROBE_PV_SUSPECT),
            probe_echo_clause(p, t));
    case PROXYGUARD_EXIT_UNKNOWN:
        return apr_psprintf(
            p,
            "%d of %d probes got no usable answer (%s); the rest"
            " were rejected",
            n[PROBE_PV_ERROR], t->n_probes,
            probe_names_of(p, t, PROBE_PV_ERROR, PROBE_PV_ERROR));
    default:
        return apr_psprintf(
            p,
            "not an open proxy for this client (%s): all %d probes"
            " rejected",
            t->local_text, t->n_probes);
    }
}

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
 * scan_verdict.c: "did it work?", the table of docs/scan.md as code.
 *
 * A verdict may only say what the line proves.  What httpd logs decides
 * what a line can prove (measured on an open mod_proxy, t/cli/scan_relay.t):
 *  - %b and %B count the body alone: "-" or 0 for every CONNECT tunnel,
 *    HEAD, 204 and 304, and for OPTIONS as httpd answers it, however the
 *    answer was produced (locally or relayed).  A size of 0 proves
 *    nothing, and a tunnel is told by its status alone.
 *  - %O counts headers too, so it is never 0 and differs between two
 *    answers of one page by the connection's own headers (Connection:
 *    close, Keep-Alive: ...): compared with a margin, and never for
 *    answers without a body (their %O is headers alone, relayed or not).
 *  - %I and %S count what the client sent: no size of the answer.
 *  - an origin-form request (a path, not a URL) is never relayed by a
 *    forward proxy, whatever it was answered.
 * Each rule below is one cell of the table; its name is what --lines and
 * --json show, so that an operator can see why a line got its verdict.
 */

#include <string.h>

#include "scan.h"

typedef struct scan_rule_info {
    const char *name;
    scan_verdict verdict;
    const char *meaning;
} scan_rule_info;

/* In the order of scan_rule. */
static const scan_rule_info scan_rules[SCAN_RULE_COUNT] = {
    { "no-status", SCAN_VERDICT_UNKNOWN,
      "the format logs no status" },
    { "origin-form", SCAN_VERDICT_ORIGIN_FORM,
      "a path, not a URL: no forward proxy relays it" },
    { "tunnel-accepted", SCAN_VERDICT_SUSPECT,
      "CONNECT answered 2xx: a tunnel was accepted, whatever the size" },
    { "tunnel-refused", SCAN_VERDICT_REJECTED,
      "CONNECT answered without a 2xx: no tunnel" },
    { "refused", SCAN_VERDICT_REJECTED,
      "4xx: refused, by the module, httpd or the site" },
    { "not-reached", SCAN_VERDICT_REJECTED,
      "501 or 503: a method not served, or nothing reached" },
    { "gateway-error", SCAN_VERDICT_UNDETERMINED,
      "502 or 504: a relay may have reached a server that gave no answer" },
    { "server-error", SCAN_VERDICT_UNDETERMINED,
      "another 5xx: local or relayed, the log cannot tell" },
    { "no-body", SCAN_VERDICT_UNDETERMINED,
      "an answer without a body (HEAD, OPTIONS, 1xx, 204, 304, size 0): "
      "local and relayed look the same" },
    { "no-size", SCAN_VERDICT_UNDETERMINED,
      "2xx/3xx, and the format logs no size of the answer" },
    { "own-size", SCAN_VERDICT_SERVED_LOCALLY,
      "the size ordinary requests for that path got: your own page" },
    { "new-size", SCAN_VERDICT_SUSPECT,
      "2xx with a size no ordinary request for that path got: "
      "possibly relayed" },
    { "new-redirect", SCAN_VERDICT_UNDETERMINED,
      "a redirect no ordinary request for that path got: yours (one "
      "naming the request's host, say) or a relayed site's" },
};

static const char *const scan_verdict_names[SCAN_VERDICT_COUNT] = {
    "rejected", "served-locally", "suspect", "unknown", "undetermined",
    "origin-form"
};

const char *scan_verdict_name(scan_verdict v)
{
    return (unsigned)v < SCAN_VERDICT_COUNT ? scan_verdict_names[v] : "unknown";
}

scan_verdict scan_verdict_in_order(int i)
{
    /* failures, your own pages, what may have worked, what was not judged */
    static const scan_verdict order[SCAN_VERDICT_COUNT] = {
        SCAN_VERDICT_REJECTED,    SCAN_VERDICT_SERVED_LOCALLY,
        SCAN_VERDICT_SUSPECT,     SCAN_VERDICT_UNDETERMINED,
        SCAN_VERDICT_ORIGIN_FORM, SCAN_VERDICT_UNKNOWN
    };

    return i >= 0 && i < SCAN_VERDICT_COUNT ? order[i] : SCAN_VERDICT_UNKNOWN;
}

int scan_verdict_alarms(scan_verdict v)
{
    return v == SCAN_VERDICT_SUSPECT || v == SCAN_VERDICT_UNDETERMINED;
}

const char *scan_rule_name(scan_rule rule)
{
    return (unsigned)rule < SCAN_RULE_COUNT ? scan_rules[rule].name : "-";
}

const char *scan_rule_meaning(scan_rule rule)
{
    return (unsigned)rule < SCAN_RULE_COUNT ? scan_rules[rule].meaning : "";
}

scan_verdict scan_rule_verdict(scan_rule rule)
{
    return (unsigned)rule < SCAN_RULE_COUNT ? scan_rules[rule].verdict
                                          : SCAN_VERDICT_UNKNOWN;
}

static int scan_method_is(pg_span method, const char *name)
{
    size_t len = strlen(name);

    return method.len == len && memcmp(method.ptr, name, len) == 0;
}

int scan_bodiless_method(pg_span method)
{
    /* by length first: this runs for every ordinary line */
    return (method.len == 4 && !memcmp(method.ptr, "HEAD", 4))
           || (method.len == 7 && !memcmp(method.ptr, "OPTIONS", 7));
}

/* 4xx and 5xx.  A relay passes a site's 4xx on as it came, but a proxy
 * that relays shows itself by its 2xx answers, which are judged below;
 * 501 (httpd's answer to a method it does not know) and 503 (mod_proxy
 * could not connect) say that nothing was served or reached; 502 and
 * 504 come after mod_proxy connected and sent the request. */
static scan_rule scan_error_rule(int status)
{
    if (status < 500) {
        return SCAN_RULE_REFUSED;
    }
    if (status == 501 || status == 503) {
        return SCAN_RULE_NOT_REACHED;
    }
    if (status == 502 || status == 504) {
        return SCAN_RULE_GATEWAY_ERROR;
    }
    return SCAN_RULE_SERVER_ERROR;
}

scan_rule scan_judge(const scan_classified *c, int *compare)
{
    int redirect;

    *compare = 0;
    if (c->reason != PG_REASON_CONNECT
        && c->reason != PG_REASON_ABSOLUTE_URI) {
        return SCAN_RULE_ORIGIN_FORM;
    }
    if (c->status < 0) {
        return SCAN_RULE_NO_STATUS;
    }
    if (c->reason == PG_REASON_CONNECT) {
        return c->status >= 200 && c->status < 300 ? SCAN_RULE_TUNNEL_ACCEPTED
                                                   : SCAN_RULE_TUNNEL_REFUSED;
    }
    if (c->status >= 400) {
        return scan_error_rule(c->status);
    }
    if (c->status < 200 || c->status == 204 || c->status == 304
        || (c->size_kind == SCAN_SIZE_SENT && scan_bodiless_method(c->method))
        || scan_method_is(c->method, "HEAD")) {
        return SCAN_RULE_NO_BODY;
    }
    if (c->size_kind == SCAN_SIZE_NONE || c->size < 0 || c->path.ptr == NULL) {
        return SCAN_RULE_NO_SIZE;
    }
    if (c->size == 0) {
        return SCAN_RULE_NO_BODY;
    }
    redirect = c->status >= 300;
    *compare = 1;
    return redirect ? SCAN_RULE_NEW_REDIRECT : SCAN_RULE_NEW_SIZE;
}

/* ------------------------------------------------------------------ */
/* What may have worked, in one sentence                                */

void scan_outcome_of(const scan_results *r, scan_outcome *o)
{
    int connect = scan_reason_index(PG_REASON_CONNECT);
    int absolute = scan_reason_index(PG_REASON_ABSOLUTE_URI);

    memset(o, 0, sizeof(*o));
    o->relayed_suspect = r->by_reason[absolute][SCAN_VERDICT_SUSPECT];
    o->relayed_undetermined = r->by_reason[absolute][SCAN_VERDICT_UNDETERMINED];
    o->relayed = o->relayed_suspect + o->relayed_undetermined;
    o->tunnels = r->by_reason[connect][SCAN_VERDICT_SUSPECT];
    o->unjudged = r->by_reason[absolute][SCAN_VERDICT_UNKNOWN]
                  + r->by_reason[connect][SCAN_VERDICT_UNKNOWN];
}

const char *scan_headline(const scan_outcome *o, char *buf, size_t size)
{
    char a[32], b[32], c[32], d[32];
    size_t used;

    if (o->relayed == 0 && o->tunnels == 0) {
        snprintf(buf, size, "%s", o->unjudged
                 ? "Nothing judged shows a relayed request or an accepted "
                   "tunnel, but the format logs no status for some hits"
                 : "Nothing in these logs shows a relayed request or an "
                   "accepted CONNECT tunnel");
        return buf;
    }
    snprintf(buf, size, "%s request%s may have been relayed through this "
             "server (%s suspect, %s undetermined); %s CONNECT tunnel%s "
             "accepted",
             scan_count(o->relayed, a, sizeof(a)),
             o->relayed == 1 ? "" : "s",
             scan_count(o->relayed_suspect, b, sizeof(b)),
             scan_count(o->relayed_undetermined, c, sizeof(c)),
             scan_count(o->tunnels, d, sizeof(d)),
             o->tunnels == 1 ? " was" : "s were");
    used = strlen(buf);
    if (o->unjudged && used < size) {
        snprintf(buf + used, size - used, "; %s more not judged (no status "
                 "logged)", scan_count(o->unjudged, a, sizeof(a)));
    }
    return buf;
}

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
 * scan_classify.c: a log line through the module's own decision.
 *
 * Nothing here decides anything: the line becomes the pg_request the
 * module would have built for that request, and pg_decide() (pg_decide.c,
 * the very code httpd runs) says what it is.  What a log cannot tell is
 * fixed so that the verdict is the one the module reaches for a stranger
 * on a server without forward proxying: proxy_client = 0 and
 * proxy_claimed = 0, no proxy header (Proxy-Connection is not logged),
 * mode On (so a rejection gets its reason) and ProxyGuardUnknownHost
 * Detect.  docs/scan.md lists what each field contributes.
 */

#include <string.h>

#include "scan.h"

int scan_reason_index(pg_reason reason)
{
    switch (reason) {
    case PG_REASON_CONNECT: return 0;
    case PG_REASON_ABSOLUTE_URI: return 1;
    case PG_REASON_UNKNOWN_HOST: return 2;
    default: return -1;
    }
}

pg_reason scan_reason_of(int index)
{
    static const pg_reason reasons[SCAN_REASONS] = {
        PG_REASON_CONNECT, PG_REASON_ABSOLUTE_URI, PG_REASON_UNKNOWN_HOST
    };

    return index >= 0 && index < SCAN_REASONS ? reasons[index]
                                                 : PG_REASON_NONE;
}

/* A field that is there and says something: not absent, not "-". */
static int scan_logged(pg_span s)
{
    return s.ptr != NULL && !(s.len == 1 && s.ptr[0] == '-');
}

/* Digits only, at most max (pg_parse_uint), or -1. */
static int64_t scan_number(pg_span s, int64_t max)
{
    unsigned long v;

    return pg_parse_uint(s.ptr, s.len, (unsigned long)max, &v) ? (int64_t)v
                                                               : -1;
}

int scan_status(const scan_line_fields *lf)
{
    pg_span s = lf->f[SCAN_F_STATUS].ptr ? lf->f[SCAN_F_STATUS]
                                       : lf->f[SCAN_F_STATUS_ORIG];
    int64_t v = s.len == 3 ? scan_number(s, 999) : -1;

    return v >= 100 ? (int)v : -1;
}

/* %b and %B count the body (%b writes "-" for none), %O headers and body;
 * %b or %B wins where both are logged. */
int64_t scan_size(const scan_line_fields *lf, scan_size_kind *kind)
{
    pg_span s = lf->f[SCAN_F_BYTES];

    *kind = SCAN_SIZE_BODY;
    if (s.ptr == NULL) {
        s = lf->f[SCAN_F_BYTES_SENT];
        *kind = SCAN_SIZE_SENT;
    }
    if (s.ptr == NULL) {
        *kind = SCAN_SIZE_NONE;
        return -1;
    }
    if (s.len == 1 && s.ptr[0] == '-') {
        return 0;
    }
    return scan_number(s, INT64_MAX / 2);
}

/* %r is "METHOD target PROTOCOL" as received (HTTP/0.9: no protocol). */
static void scan_split_request(pg_span r, pg_span *method, pg_span *target)
{
    const char *sp, *end, *last;

    method->ptr = r.ptr;
    method->len = r.len;
    target->ptr = NULL;
    target->len = 0;
    if (r.ptr == NULL || (sp = memchr(r.ptr, ' ', r.len)) == NULL) {
        return;
    }
    end = r.ptr + r.len;
    method->len = (size_t)(sp - r.ptr);
    target->ptr = sp + 1;
    target->len = (size_t)(end - target->ptr);
    /* the protocol is the last word, when it is one */
    for (last = end; last > target->ptr && last[-1] != ' '; last--) {
    }
    if (last > target->ptr && end - last >= 5 && !memcmp(last, "HTTP/", 5)) {
        target->len = (size_t)(last - 1 - target->ptr);
    }
}

static unsigned scan_port_field(pg_span s)
{
    int64_t v = scan_number(s, 65535);

    return v > 0 ? (unsigned)v : 0;
}

static int scan_is_tls(const scan_config *cfg, const scan_line_fields *lf,
                       unsigned port)
{
    pg_span https = lf->f[SCAN_F_HTTPS];
    size_t i;

    if (https.ptr != NULL) {
        return https.len == 2 && (https.ptr[0] == 'o' || https.ptr[0] == 'O')
               && (https.ptr[1] == 'n' || https.ptr[1] == 'N');
    }
    for (i = 0; i < cfg->n_https_ports; i++) {
        if (cfg->https_ports[i] == port) {
            return 1;
        }
    }
    return 0;
}

/* The port the request arrived on: %{local}p; else the only port -S shows
 * for the line's vhost; else %p, which is the canonical port (the
 * ServerName's, else 80 or 443 by scheme: right on the usual ports, not on
 * a server listening on 8080); else --port.  *known is 0 for --port. */
static unsigned scan_local_port(const scan_config *cfg,
                                const scan_line_fields *lf, int *known)
{
    unsigned port = scan_port_field(lf->f[SCAN_F_LOCAL_PORT]);

    if (port == 0 && cfg->vhosts && scan_logged(lf->f[SCAN_F_VHOST])) {
        port = scan_vhosts_port_of(cfg->vhosts, lf->f[SCAN_F_VHOST]);
    }
    if (port == 0) {
        port = scan_port_field(lf->f[SCAN_F_CANONICAL_PORT]);
    }
    *known = port != 0;
    return port ? port : cfg->default_port;
}

/* The path a size belongs to: origin-form up to '?'; an absolute URI's
 * path after its authority ("/" when it has none). */
static pg_span scan_size_path(pg_span target)
{
    const char *p = target.ptr, *end, *q;
    pg_span path = { NULL, 0 };

    if (p == NULL || target.len == 0) {
        return path;
    }
    end = p + target.len;
    if (*p != '/') {
        const char *auth = target.len > 3 ? memchr(p, ':', target.len) : NULL;

        if (auth == NULL || end - auth < 3 || auth[1] != '/'
            || auth[2] != '/') {
            return path;
        }
        p = memchr(auth + 3, '/', (size_t)(end - auth - 3));
        if (p == NULL) {
            path.ptr = "/";
            path.len = 1;
            return path;
        }
    }
    q = memchr(p, '?', (size_t)(end - p));
    path.ptr = p;
    path.len = (size_t)((q ? q : end) - p);
    return path;
}

typedef struct scan_own_ctx {
    scan_vhosts *vhosts;
    pg_span vhost;
    unsigned port;
} scan_own_ctx;

static int scan_own_host(void *baton, pg_span host)
{
    scan_own_ctx *ctx = baton;

    return ctx->vhosts
           && scan_vhosts_is_own(ctx->vhosts, ctx->vhost, ctx->port, host);
}

void scan_classify(const scan_config *cfg, const scan_line_fields *lf,
                   scan_classified *out)
{
    pg_request req;
    pg_policy policy;
    scan_own_ctx own;
    pg_decision v;
    int port_known;

    memset(out, 0, sizeof(*out));
    if (lf->f[SCAN_F_REQUEST].ptr) {
        scan_split_request(lf->f[SCAN_F_REQUEST], &out->method, &out->target);
    }
    else {
        /* %m %U: httpd logs the path only, never an absolute URI */
        out->method = lf->f[SCAN_F_METHOD];
        out->target = lf->f[SCAN_F_PATH];
    }
    out->host = scan_logged(lf->f[SCAN_F_HOST]) ? lf->f[SCAN_F_HOST]
                                            : (pg_span){ NULL, 0 };
    out->local_port = scan_local_port(cfg, lf, &port_known);
    out->status = scan_status(lf);
    out->size = scan_size(lf, &out->size_kind);

    memset(&req, 0, sizeof(req));
    req.method = out->method;
    req.uri = out->target;
    req.host = out->host;
    req.local_port = out->local_port;
    req.tls = scan_is_tls(cfg, lf, out->local_port);
    if (scan_logged(lf->f[SCAN_F_LOCAL_ADDR])) {
        req.local_addr = lf->f[SCAN_F_LOCAL_ADDR];
    }
    /* a log cannot say: a stranger, not a proxy request mod_proxy took,
     * no proxy header, no ServerName port */

    own.vhosts = cfg->vhosts;
    own.vhost = lf->f[SCAN_F_VHOST];
    own.port = port_known ? out->local_port : 0;
    memset(&policy, 0, sizeof(policy));
    policy.mode = PG_MODE_ON;
    policy.unknown_host = PG_UNKNOWN_DETECT;
    policy.is_own_host = scan_own_host;
    policy.baton = &own;

    v = pg_decide(&req, &policy);
    out->reason = v.reason;
    if (v.reason == PG_REASON_CONNECT) {
        out->connect_port = pg_connect_port(out->target);
    }
    out->path = scan_size_path(out->target);
}

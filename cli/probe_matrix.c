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
 * probe_matrix.c: the baseline and the probe matrix; see probe_matrix.h.
 *
 * Safety: the host a proxy would connect to is, in every probe, the
 * canary (probe_matrix_authority is the one place an authority is written).
 * Where a trick form has a second part (userinfo, the part before "?@"),
 * that part is the target's own name, never anybody else's.
 */

#include <string.h>
#include <strings.h>

#include <apr_strings.h>

#include "cli.h"
#include "probe_canary.h"
#include "probe_h2.h"
#include "probe_http.h"
#include "probe_matrix.h"
#include "probe_net.h"

#define PROBE_UA "User-Agent: proxyguard-probe/" PG_VERSION "\r\n"
/* for canary connections to finish */
#define PROBE_GRACE apr_time_from_msec(300)
#define PROBE_LINE_MAX 1024

#define PROBE_H1 PROBE_TRANSPORT_HTTP1
#define PROBE_H2 PROBE_TRANSPORT_H2C

const probe_def probe_defs[] = {
    /* name, method, scheme, destination, authority, Host, version,
     * leading CRLF, body, tunnel, transport, what */
    { "get", "GET", "http", PROBE_DEST_HTTP, PROBE_AUTH_PLAIN, PROBE_HOST_URI,
      "HTTP/1.1", 0, 0, PROBE_TUNNEL_NONE, PROBE_H1,
      "absolute-form GET http://CANARY/, Host: the canary" },
    { "head", "HEAD", "http", PROBE_DEST_HTTP, PROBE_AUTH_PLAIN, PROBE_HOST_URI,
      "HTTP/1.1", 0, 0, PROBE_TUNNEL_NONE, PROBE_H1, "the same with HEAD" },
    { "post", "POST", "http", PROBE_DEST_HTTP, PROBE_AUTH_PLAIN, PROBE_HOST_URI,
      "HTTP/1.1", 0, 1, PROBE_TUNNEL_NONE, PROBE_H1,
      "the same with POST and a body carrying the token" },
    { "https", "GET", "https", PROBE_DEST_HTTP, PROBE_AUTH_PLAIN,
      PROBE_HOST_URI, "HTTP/1.1", 0, 0, PROBE_TUNNEL_NONE, PROBE_H1,
      "GET https://CANARY/: a proxy that takes it opens TLS to the canary" },
    { "host-mismatch", "GET", "http", PROBE_DEST_HTTP, PROBE_AUTH_PLAIN,
      PROBE_HOST_TARGET, "HTTP/1.1", 0, 0, PROBE_TUNNEL_NONE, PROBE_H1,
      "GET http://CANARY/ with Host: the target's own name" },
    { "http10-no-host", "GET", "http", PROBE_DEST_HTTP, PROBE_AUTH_PLAIN,
      PROBE_HOST_NONE, "HTTP/1.0", 0, 0, PROBE_TUNNEL_NONE, PROBE_H1,
      "GET http://CANARY/ HTTP/1.0, no Host" },
    { "mixed-case-scheme", "GET", "HtTp", PROBE_DEST_HTTP, PROBE_AUTH_PLAIN,
      PROBE_HOST_URI, "HTTP/1.1", 0, 0, PROBE_TUNNEL_NONE, PROBE_H1,
      "GET HtTp://CANARY/" },
    { "mixed-case-method", "gEt", "http", PROBE_DEST_HTTP, PROBE_AUTH_PLAIN,
      PROBE_HOST_URI, "HTTP/1.1", 0, 0, PROBE_TUNNEL_NONE, PROBE_H1,
      "gEt http://CANARY/" },
    { "userinfo", "GET", "http", PROBE_DEST_HTTP, PROBE_AUTH_USERINFO,
      PROBE_HOST_TARGET, "HTTP/1.1", 0, 0, PROBE_TUNNEL_NONE, PROBE_H1,
      "GET http://OWN@CANARY/: every parser connects to the canary" },
    { "authority-query", "GET", "http", PROBE_DEST_HTTP, PROBE_AUTH_QUERY_AT,
      PROBE_HOST_TARGET, "HTTP/1.1", 0, 0, PROBE_TUNNEL_NONE, PROBE_H1,
      "GET http://OWN?@CANARY/: a URI parser reads OWN, mod_proxy the canary" },
    { "authority-fragment", "GET", "http", PROBE_DEST_HTTP,
      PROBE_AUTH_FRAGMENT_AT, PROBE_HOST_TARGET, "HTTP/1.1", 0, 0,
      PROBE_TUNNEL_NONE, PROBE_H1,
      "GET http://OWN#@CANARY/: the same with '#'" },
    { "authority-backslash", "GET", "http", PROBE_DEST_HTTP,
      PROBE_AUTH_BACKSLASH_AT, PROBE_HOST_TARGET, "HTTP/1.1", 0, 0,
      PROBE_TUNNEL_NONE, PROBE_H1,
      "GET http://OWN\\@CANARY/: WHATWG parsers read OWN, RFC parsers the "
      "canary" },
    { "own-name-port", "GET", "http", PROBE_DEST_HTTP, PROBE_AUTH_OWN_NAME,
      PROBE_HOST_TARGET, "HTTP/1.1", 0, 0, PROBE_TUNNEL_NONE, PROBE_H1,
      "GET http://OWN:CANARYPORT/: the target's own name at a port it does not "
      "serve"
      " (only where OWN resolves to the canary address and nothing else)" },
    { "leading-crlf", "GET", "http", PROBE_DEST_HTTP, PROBE_AUTH_PLAIN,
      PROBE_HOST_URI, "HTTP/1.1", 1, 0, PROBE_TUNNEL_NONE, PROBE_H1,
      "an empty line, then GET http://CANARY/" },
    { "ftp", "GET", "ftp", PROBE_DEST_LINE, PROBE_AUTH_PLAIN, PROBE_HOST_URI,
      "HTTP/1.1", 0, 0, PROBE_TUNNEL_NONE, PROBE_H1,
      "GET ftp://CANARY:SMTPPORT/TOKEN/: the canary greets like FTP, the token "
      "comes as CWD" },
    { "post-smtp", "POST", "http", PROBE_DEST_LINE, PROBE_AUTH_PLAIN,
      PROBE_HOST_NONE, "HTTP/1.0", 0, 1, PROBE_TUNNEL_NONE, PROBE_H1,
      "POST http://CANARY:SMTPPORT/ with SMTP commands in the body (spam "
      "through HTTP)" },
    { "connect", "CONNECT", NULL, PROBE_DEST_HTTP, PROBE_AUTH_PLAIN,
      PROBE_HOST_URI, "HTTP/1.1", 0, 0, PROBE_TUNNEL_HTTP, PROBE_H1,
      "CONNECT CANARY (HTTPS-style), then an HTTP request through the tunnel" },
    { "connect-smtp", "CONNECT", NULL, PROBE_DEST_LINE, PROBE_AUTH_PLAIN,
      PROBE_HOST_NONE, "HTTP/1.0", 0, 0, PROBE_TUNNEL_SMTP, PROBE_H1,
      "CONNECT CANARY:SMTPPORT HTTP/1.0 (spam relay), banner back, EHLO "
      "token" },
    { "connect-mixed-case", "cOnNeCt", NULL, PROBE_DEST_HTTP, PROBE_AUTH_PLAIN,
      PROBE_HOST_URI, "HTTP/1.1", 0, 0, PROBE_TUNNEL_HTTP, PROBE_H1,
      "cOnNeCt CANARY" },
    { "h2-get", "GET", "http", PROBE_DEST_HTTP, PROBE_AUTH_PLAIN,
      PROBE_HOST_URI, "HTTP/2", 0, 0, PROBE_TUNNEL_NONE, PROBE_H2,
      "h2c (--h2c): GET with :authority the canary" },
    { "h2-connect", "CONNECT", NULL, PROBE_DEST_HTTP, PROBE_AUTH_PLAIN,
      PROBE_HOST_URI, "HTTP/2", 0, 0, PROBE_TUNNEL_HTTP, PROBE_H2,
      "h2c (--h2c): CONNECT :authority the canary, then a request through the "
      "stream" },
    { NULL, NULL, NULL, PROBE_DEST_HTTP, PROBE_AUTH_PLAIN, PROBE_HOST_URI, NULL,
      0, 0, PROBE_TUNNEL_NONE, PROBE_H1, NULL }
};

const probe_def *probe_matrix_find(const char *name)
{
    const probe_def *d;

    for (d = probe_defs; d->name; d++) {
        if (!strcmp(d->name, name)) {
            return d;
        }
    }
    return NULL;
}

static int probe_in_list(apr_pool_t *p, const char *list, const char *name)
{
    char *copy = apr_pstrdup(p, list), *last, *item;

    for (item = apr_strtok(copy, ", ", &last); item;
         item = apr_strtok(NULL, ", ", &last)) {
        if (!strcmp(item, name)) {
            return 1;
        }
    }
    return 0;
}

const char *probe_matrix_check_only(apr_pool_t *p, const char *only)
{
    char *copy = apr_pstrdup(p, only), *last, *item;

    for (item = apr_strtok(copy, ", ", &last); item;
         item = apr_strtok(NULL, ", ", &last)) {
        if (!probe_matrix_find(item)) {
            return item;
        }
    }
    return NULL;
}

const char *probe_matrix_hostport(apr_pool_t *p, const probe_addr *a)
{
    char buf[PROBE_ADDR_TEXT];

    return apr_pstrdup(p, probe_addr_text(a, 1, buf, sizeof(buf)));
}

const char *probe_matrix_authority(apr_pool_t *p, const probe_run *run,
                                   const probe_target *t, const probe_def *d)
{
    const probe_addr *canary = probe_canary_addr(
        run->canary,
        d->dest == PROBE_DEST_LINE ? PROBE_LISTENER_LINE : PROBE_LISTENER_HTTP);
    const char *c = probe_matrix_hostport(p, canary);
    const char *own = t->hostport;

    switch (d->auth) {
    case PROBE_AUTH_USERINFO:
        return apr_pstrcat(p, own, "@", c, NULL);
    case PROBE_AUTH_QUERY_AT:
        return apr_pstrcat(p, own, "?@", c, NULL);
    case PROBE_AUTH_FRAGMENT_AT:
        return apr_pstrcat(p, own, "#@", c, NULL);
    case PROBE_AUTH_BACKSLASH_AT:
        return apr_pstrcat(p, own, "\\@", c, NULL);
    case PROBE_AUTH_OWN_NAME:
        /* planned only when t->host resolves to the canary and nothing
         * else (probe_own_name_is_canary) */
        return apr_psprintf(p, "%s%s%s:%u", strchr(t->host, ':') ? "[" : "",
                            t->host, strchr(t->host, ':') ? "]" : "",
                            probe_addr_port(canary));
    case PROBE_AUTH_PLAIN:
    default:
        return c;
    }
}

/* "/?proxyguard=TOKEN", or for ftp "/TOKEN/" (mod_proxy_ftp sends the
 * directory as CWD after logging in). */
static const char *probe_path(apr_pool_t *p, const probe_item *pr)
{
    if (pr->def->scheme && !strcasecmp(pr->def->scheme, "ftp")) {
        return apr_pstrcat(p, "/", pr->token, "/", NULL);
    }
    return apr_pstrcat(p, "/?proxyguard=", pr->token, NULL);
}

/* The request-target exactly as sent. */
static const char *probe_request_target(apr_pool_t *p, const probe_run *run,
                                        const probe_target *t,
                                        const probe_item *pr)
{
    const char *authority = probe_matrix_authority(p, run, t, pr->def);

    if (!pr->def->scheme) {
        return authority;       /* CONNECT: authority-form */
    }
    return apr_pstrcat(p, pr->def->scheme, "://", authority,
                       probe_path(p, pr), NULL);
}

static const char *probe_body(apr_pool_t *p, const probe_item *pr)
{
    if (!pr->def->body) {
        return NULL;
    }
    if (pr->def->dest == PROBE_DEST_LINE) {
        return apr_pstrcat(p, "EHLO ", pr->token, "\r\nQUIT\r\n", NULL);
    }
    return apr_pstrcat(p, "proxyguard=", pr->token, "\r\n", NULL);
}

/* The bytes of an HTTP/1 probe; *line is what the report shows. */
static const char *probe_bytes(apr_pool_t *p, const probe_run *run,
                               const probe_target *t, const probe_item *pr,
                               const char **line)
{
    const probe_def *d = pr->def;
    const char *target = probe_request_target(p, run, t, pr);
    const char *body = probe_body(p, pr);
    const char *host = "";

    *line = apr_pstrcat(p, d->leading_crlf ? "\r\n" : "", d->method, " ",
                        target, " ", d->version, NULL);
    if (d->host == PROBE_HOST_URI) {
        host = apr_pstrcat(p, "Host: ", probe_matrix_authority(p, run, t, d),
                           "\r\n", NULL);
    }
    else if (d->host == PROBE_HOST_TARGET) {
        host = apr_pstrcat(p, "Host: ", t->hostport, "\r\n", NULL);
    }
    return apr_pstrcat(p, *line, "\r\n", host, PROBE_UA,
                       "X-ProxyGuard-Probe: ", pr->token, "\r\n",
                       d->tunnel ? "" : "Connection: close\r\n",
                       body ? "Content-Type: text/plain\r\n" : "",
                       body ? apr_psprintf(p, "Content-Length: %lu\r\n",
                                           (unsigned long)strlen(body)) : "",
                       "\r\n", body ? body : "", NULL);
}

apr_time_t probe_run_step_deadline(const probe_run *run)
{
    apr_time_t d = apr_time_now() + run->opts->timeout;

    return d < run->deadline ? d : run->deadline;
}

static const probe_addr *probe_source(const probe_run *run)
{
    return run->opts->source ? &run->source : NULL;
}

/* One plain request and its reply, for the baseline and --status. */
int probe_matrix_fetch(probe_run *run, const probe_addr *to,
                       const probe_addr *source, const char *bytes,
                       probe_reply *r, probe_addr *local)
{
    probe_conn c;

    memset(r, 0, sizeof(*r));
    if (probe_conn_open(&c, run->pool, to, source, run->canary,
                        probe_run_step_deadline(run))
        < 0) {
        r->error = c.error;
        return -1;
    }
    if (local) {
        probe_conn_local(&c, local);
    }
    if (probe_conn_send(&c, bytes, strlen(bytes)) < 0) {
        r->error = c.error;
        probe_conn_close(&c);
        return -1;
    }
    probe_http_read(&c, run->pool, r, 0);
    probe_conn_close(&c);
    return r->status ? 0 : -1;
}

int probe_matrix_baseline(probe_run *run, probe_target *t)
{
    apr_pool_t *p = run->pool;
    const char *addr_host =
        probe_addr_port(&t->addr) == 80
            ? probe_addr_text(&t->addr, 0, t->addr_text, sizeof(t->addr_text))
            : probe_addr_text(&t->addr, 1, t->addr_text, sizeof(t->addr_text));
    struct { const char *name; const char *line; const char *host; } forms[] = {
        { "own-host", "GET / HTTP/1.1", t->hostport },
        { "address-host", "GET / HTTP/1.1", NULL },
        { "http10-no-host", "GET / HTTP/1.0", "" },
    };
    int i;

    if (probe_addr_is_v6(&t->addr) && probe_addr_port(&t->addr) == 80) {
        addr_host = apr_pstrcat(p, "[", addr_host, "]", NULL);
    }
    forms[1].host = apr_pstrdup(p, addr_host);
    probe_addr_text(&t->addr, 1, t->addr_text, sizeof(t->addr_text));
    for (i = 0; i < PROBE_BASELINE_MAX; i++) {
        probe_baseline *b = &t->base[t->n_base++];
        const char *bytes = apr_pstrcat(
            p, forms[i].line, "\r\n", *forms[i].host ? "Host: " : "",
            forms[i].host, *forms[i].host ? "\r\n" : "", PROBE_UA,
            "Connection: close\r\n\r\n", NULL);

        b->name = forms[i].name;
        b->request = *forms[i].host ? apr_pstrcat(p, forms[i].line, ", Host: ",
                                                  forms[i].host, NULL)
                                    : forms[i].line;
        if (probe_matrix_fetch(run, &t->addr, probe_source(run), bytes,
                               &b->reply, i == 0 ? &t->local : NULL)
                < 0
            && i == 0) {
            /* the first is the plainest request there is: no answer to it
             * and nothing else can be judged (and waiting for two more
             * timeouts would only make the run longer) */
            t->error =
                apr_psprintf(p, "no HTTP answer to GET /: %s",
                             b->reply.error ? b->reply.error : "unknown");
            return -1;
        }
    }
    probe_addr_text(&t->local, 0, t->local_text, sizeof(t->local_text));
    return 0;
}

/* Does the target's own name resolve to the canary's address, and to
 * nothing else?  Only then may a probe name it as its destination. */
static int probe_own_name_is_canary(probe_run *run, const probe_target *t,
                                    const char **why)
{
    probe_addr addrs[16];
    const char *err = NULL;
    int n = probe_addr_resolve(t->host, 80, addrs, 16, &err), i;
    const probe_addr *canary =
        probe_canary_addr(run->canary, PROBE_LISTENER_HTTP);

    if (!n) {
        *why = apr_psprintf(run->pool, "%s does not resolve here (%s)", t->host,
                            err);
        return 0;
    }
    for (i = 0; i < n; i++) {
        if (!probe_addr_same_ip(&addrs[i], canary)) {
            char a[PROBE_ADDR_TEXT];

            char c[PROBE_ADDR_TEXT];

            *why = apr_psprintf(
                run->pool, "%s resolves to %s, which is not the canary (%s)",
                t->host, probe_addr_text(&addrs[i], 0, a, sizeof(a)),
                probe_addr_text(canary, 0, c, sizeof(c)));
            return 0;
        }
    }
    return 1;
}

static void probe_skip(probe_target *t, const char *name, const char *why)
{
    if (t->n_skipped < PROBE_SKIPPED_MAX) {
        t->skipped[t->n_skipped].name = name;
        t->skipped[t->n_skipped].why = why;
        t->n_skipped++;
    }
}

void probe_matrix_plan(probe_run *run, probe_target *t)
{
    const probe_def *d;

    for (d = probe_defs; d->name && t->n_probes < PROBE_MAX; d++) {
        probe_item *pr;
        const char *why = NULL;

        if (run->opts->only
            && !probe_in_list(run->pool, run->opts->only, d->name)) {
            continue;
        }
        /* h2 probes with --h2c, or when --only names them */
        if (d->transport == PROBE_TRANSPORT_H2C && !run->opts->h2c
            && !run->opts->only) {
            continue;
        }
        if (d->auth == PROBE_AUTH_OWN_NAME
            && !probe_own_name_is_canary(run, t, &why)) {
            probe_skip(t, d->name, why);
            continue;
        }
        pr = &t->probes[t->n_probes];
        memset(pr, 0, sizeof(*pr));
        pr->def = d;
        pr->id = t->n_probes++;
        probe_canary_token(run->canary, pr->id, pr->token, sizeof(pr->token));
    }
}

/* A line from the tunnel (at most PROBE_LINE_MAX), without its CRLF; NULL
 * when none came. */
static const char *probe_read_line(probe_conn *c, apr_pool_t *p)
{
    for (;;) {
        const char *nl = memchr(c->buf, '\n', c->len);

        if (nl) {
            apr_size_t n = (apr_size_t)(nl - c->buf);
            const char *line =
                apr_pstrndup(p, c->buf, n && nl[-1] == '\r' ? n - 1 : n);

            probe_conn_consume(c, n + 1);
            return line;
        }
        if (c->len >= PROBE_LINE_MAX || probe_conn_fill(c) <= 0) {
            return NULL;
        }
    }
}

/* Does text (from the tunnel) carry this probe's proof?  Else, what does
 * it imitate?  The marker and the token are in what the target was sent;
 * the proof is not. */
static int probe_tunnel_vouched(probe_run *run, probe_item *pr,
                                const char *text, apr_size_t len)
{
    char proof[PROBE_MAC_HEX];

    probe_canary_proof(run->canary, pr->id, proof);
    if (probe_mem_has(text, len, proof)) {
        return 1;
    }
    if (probe_mem_has(text, len, probe_canary_marker(run->canary))) {
        pr->echo = PROBE_ECHO_MARKER;
    }
    else if (!pr->echo && probe_mem_has(text, len, pr->token)) {
        pr->echo = PROBE_ECHO_TOKEN;
    }
    return 0;
}

/* After "CONNECT canary:smtp" was answered 2xx: the canary's banner must
 * come back through the tunnel, then our EHLO carries the token to it. */
static void probe_tunnel_smtp(probe_run *run, probe_conn *c, probe_item *pr)
{
    const char *line = probe_read_line(c, run->pool);
    const char *ehlo = apr_pstrcat(run->pool, "EHLO ", pr->token, "\r\n", NULL);

    if (line && !strncmp(line, "220 ", 4)
        && probe_tunnel_vouched(run, pr, line, strlen(line))) {
        pr->banner_back = 1;
    }
    if (!line || probe_conn_send(c, ehlo, strlen(ehlo)) < 0) {
        return;
    }
    line = probe_read_line(c, run->pool);
    if (line && !strncmp(line, "250", 3)) {
        probe_conn_send(c, "QUIT\r\n", 6);
        probe_read_line(c, run->pool);
    }
}

/* After "CONNECT canary" was answered 2xx: an HTTP request with the token
 * through the tunnel; the canary's reply should come back. */
static void probe_tunnel_http(probe_run *run, const probe_target *t,
                              probe_conn *c, probe_item *pr)
{
    const char *host = probe_matrix_authority(run->pool, run, t, pr->def);
    const char *req = apr_pstrcat(run->pool, "GET /?proxyguard=", pr->token,
                                  " HTTP/1.1\r\nHost: ", host, "\r\n", PROBE_UA,
                                  "Connection: close\r\n\r\n", NULL);
    probe_reply inner;

    if (probe_conn_send(c, req, strlen(req)) < 0) {
        return;
    }
    memset(&inner, 0, sizeof(inner));
    probe_http_read(c, run->pool, &inner, 0);
    if ((inner.body
         && probe_tunnel_vouched(run, pr, inner.body, inner.body_len))
        || (inner.status_line
            && probe_tunnel_vouched(run, pr, inner.status_line,
                                    strlen(inner.status_line)))) {
        pr->reply_back = 1;
    }
}

static void probe_run_http1(probe_run *run, probe_target *t, probe_item *pr)
{
    const char *line;
    const char *bytes = probe_bytes(run->pool, run, t, pr, &line);
    int is_head = !strcasecmp(pr->def->method, "HEAD");
    probe_conn c;

    pr->request = line;
    pr->target = probe_request_target(run->pool, run, t, pr);
    if (probe_conn_open(&c, run->pool, &t->addr, probe_source(run), run->canary,
                        probe_run_step_deadline(run))
        < 0) {
        pr->reply.error = c.error;
        return;
    }
    if (probe_conn_send(&c, bytes, strlen(bytes)) < 0) {
        pr->reply.error = c.error;
        probe_conn_close(&c);
        return;
    }
    if (!pr->def->tunnel) {
        probe_http_read(&c, run->pool, &pr->reply, is_head);
    }
    else if (probe_http_read_head(&c, run->pool, &pr->reply) == 0) {
        if (pr->reply.status >= 200 && pr->reply.status < 300
            && !pr->reply.has_body_framing) {
            /* a tunnel, it says: prove it */
            pr->tunnel_open = 1;
            if (pr->def->tunnel == PROBE_TUNNEL_SMTP) {
                probe_tunnel_smtp(run, &c, pr);
            }
            else {
                probe_tunnel_http(run, t, &c, pr);
            }
        }
        else {
            /* an answer with a body (an application answering CONNECT
             * like any request): read it as one */
            probe_http_read_body(&c, run->pool, &pr->reply, 0);
        }
        pr->reply.bytes = c.total;
    }
    probe_conn_close(&c);
}

void probe_matrix_run(probe_run *run, probe_target *t, probe_item *pr)
{
    apr_time_t start = apr_time_now(), grace;

    probe_canary_window(run->canary, pr->id);
    if (pr->def->transport == PROBE_TRANSPORT_H2C) {
        probe_h2_run(run, t, pr);
    }
    else {
        probe_run_http1(run, t, pr);
    }
    /* whatever the target opened to the canary finishes before the next
     * probe, so that windows (TLS) do not overlap */
    grace = apr_time_now() + PROBE_GRACE;
    if (grace > run->deadline) {
        grace = run->deadline;  /* the run's bound is the caller's: keep it */
    }
    /* first a connection the kernel queued after our last poll: it came
     * while this window was open, and belongs to it */
    probe_net_pump(run->canary, apr_time_now() + apr_time_from_msec(1));
    while (probe_canary_busy(run->canary) && apr_time_now() < grace) {
        probe_net_pump(run->canary, apr_time_now() + apr_time_from_msec(20));
    }
    probe_canary_window(run->canary, -1);
    pr->seconds = (double)(apr_time_now() - start) / APR_USEC_PER_SEC;
}

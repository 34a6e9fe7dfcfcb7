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
 * mod_proxyguard: reject proxy-style abuse of a web server inline.
 *
 * Every public server is probed as an open proxy ("CONNECT 1.2.3.4:25",
 * "GET http://elsewhere/").  Stock httpd answers the absolute-URI probe
 * with 200 and its default site, which scanners read as "open proxy".  This
 * module decides in post_read_request, after vhost selection, mod_remoteip
 * and mod_proxy's proxy_detect, and answers from a quick handler run right
 * after it:
 *
 *   a banned address (ProxyGuardBan)           403, reason "banned"
 *   CONNECT, any target                        405, reason "connect"
 *   ... from a ProxyGuardProxyClients client   passes if the port is
 *                                              allowed, else 403 "connect-port"
 *   an absolute URI that readers could read    403, reason "absolute-uri"
 *   differently (userinfo, '?', '#', '\' ...)
 *   an absolute URI mod_proxy would forward,   403, reason "absolute-uri"
 *   or naming a host we don't serve
 *   ... from a ProxyGuardProxyClients client   passes if the port is
 *                                              allowed, else 403 "proxy-port"
 *   a Host naming none of our vhosts           counted, "unknown-host"
 *   Proxy-Connection / Proxy-Authorization     counted, "proxy-header"
 *
 * except that an unknown-host verdict on an origin-form request is
 * settled at translate_name, once httpd's <Location> walk tells whether
 * the proxyguard-status handler will answer it (a scrape by address is no
 * hit; pg_req_state, docs/decision.md).
 *
 * Each hit is logged (tag PG0001), published as PROXYGUARD in the
 * request's environment and notes, and counted in a table in shared memory
 * that the handler "proxyguard-status" shows as HTML, ?auto, ?json and
 * ?prometheus.
 *
 * This file is the hub of the request path: it reads the request once,
 * asks pg_decide() (pg_decide.c, which knows nothing of httpd) for the
 * decision, builds the hit, has the table count it
 * (mod_proxyguard_table.c) and the ban code act on the result
 * (mod_proxyguard_ban.c).  The other glue files call none of the hub's
 * functions, and the pure files (pg_*.c) call no glue;
 * mod_proxyguard_private.h lists them all.  The directives and their
 * defaults are in mod_proxyguard_config.c and docs/directives.md.
 */

#include "httpd.h"
#include "http_config.h"
#include "http_core.h"
#include "http_log.h"
#include "http_protocol.h"
#include "http_request.h"
#include "mod_status.h"
#include "apr_atomic.h"
#include "apr_optional_hooks.h"
#include "apr_strings.h"

#include "pg_addr.h"

#include "mod_proxyguard_private.h"
#include "mod_proxyguard_config.h"
#include "mod_proxyguard_table.h"
#include "mod_proxyguard_ban.h"
#include "mod_proxyguard_status.h"
#include "mod_proxyguard_backend.h"

/* Set on a request whose proxy backend was a hit: counted once. */
#define PG_NOTE_BACKEND "proxyguard-backend"

/* Attacker-controlled fields are cut to this many bytes before escaping. */
#define PG_LOG_FIELD_MAX 200

/* ------------------------------------------------------------------ */
/* What a hit leaves behind                                             */

/* An attacker-controlled field for the log line: cut to PG_LOG_FIELD_MAX
 * bytes first (an escape sequence is never split, the line stays bounded),
 * '"' written as %22 so that a raw quote in the line only ever delimits a
 * field, then ap_escape_logitem for control bytes, bytes >= 0x80 and '\'.
 * A stock httpd escapes the message once more when it writes the error log
 * (backslashes doubled); builds with AP_UNSAFE_ERROR_LOG_UNESCAPED don't,
 * and are safe all the same. */
static const char *pg_log_field(apr_pool_t *p, const char *s)
{
    apr_size_t len, i;
    char *copy;
    const char *escaped;

    if (s == NULL) {
        return "";
    }
    len = strlen(s);
    if (len > PG_LOG_FIELD_MAX) {
        len = PG_LOG_FIELD_MAX;
    }
    copy = apr_palloc(p, len * 3 + 1);
    for (i = 0; len > 0; s++, len--) {
        if (*s == '"') {
            memcpy(copy + i, "%22", 3);
            i += 3;
        }
        else {
            copy[i++] = *s;
        }
    }
    copy[i] = '\0';
    escaped = ap_escape_logitem(p, copy);
    return s[0] ? apr_pstrcat(p, escaped, "...", NULL) : escaped;
}

/* Rejections (and DetectOnly's would-be rejections) are warnings; hits
 * that only count are info. */
static int pg_log_level(const pg_decision *v)
{
    return v->status ? APLOG_WARNING : APLOG_INFO;
}

/* backend: the URL a reverse-proxy rule made of the request, for a
 * dynamic-backend hit (else NULL, and the field is left out). */
static void pg_log_hit(request_rec *r, const pg_decision *v, const char *host,
                       const char *backend)
{
    ap_log_rerror(APLOG_MARK, pg_log_level(v), 0, r,
                  PG_TAG_HIT ": action=%s reason=%s vhost=%s "
                  "method=\"%s\" uri=\"%s\" host=\"%s\"%s%s%s",
                  pg_action_name(v->action), pg_reason_name(v->reason),
                  r->server->server_hostname,
                  pg_log_field(r->pool, r->method),
                  pg_log_field(r->pool, r->unparsed_uri),
                  pg_log_field(r->pool, host),
                  backend ? " backend=\"" : "",
                  backend ? pg_log_field(r->pool, backend) : "",
                  backend ? "\"" : "");
}

/* The hits of this client that ProxyGuardLogLimit kept out of the log. */
static void pg_log_suppressed(request_rec *r, const pg_record_result *res)
{
    ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, r, PG_TAG_SUPPRESSED
                  ": %u more hits from this client in the last %u s were "
                  "counted but not logged (ProxyGuardLogLimit)",
                  res->suppressed, res->log_window);
}

/* PROXYGUARD=reason for mod_log_config (%{PROXYGUARD}e, env=PROXYGUARD),
 * SetEnvIf and mod_rewrite; the same in r->notes for %{PROXYGUARD}n.
 * Added, not set: this runs once per request, in post_read_request before
 * any module that sets variables (mod_setenvif, mod_env, mod_rewrite run
 * later), on tables that cannot hold them yet (an internal redirect's
 * environment has them renamed to REDIRECT_*); apr_table_setn would look
 * for them first, which costs a flood of hits more than the adding. */
static void pg_publish(request_rec *r, const char *reason, const char *action)
{
    apr_table_addn(r->subprocess_env, "PROXYGUARD", reason);
    apr_table_addn(r->subprocess_env, "PROXYGUARD_ACTION", action);
    apr_table_addn(r->notes, "PROXYGUARD", reason);
    apr_table_addn(r->notes, "PROXYGUARD_ACTION", action);
}

/* An internal redirect (a local ErrorDocument for our 403 among them) is a
 * new request that is decided no more, and whose environment httpd renames
 * to REDIRECT_*: the request that gets logged is the last one, so the
 * decision of the first must be published there too. */
static void pg_publish_again(request_rec *r)
{
    const request_rec *first = r->prev;
    const char *reason;

    while (first->prev) {
        first = first->prev;
    }
    if ((reason = apr_table_get(first->notes, "PROXYGUARD")) != NULL) {
        pg_publish(r, reason, apr_table_get(first->notes, "PROXYGUARD_ACTION"));
    }
}

/* ------------------------------------------------------------------ */
/* Request headers                                                      */

/* Is the header name key (any case) the lower-case name want?  want has
 * letters and '-' only: for those, setting bit 5 is an exact case fold
 * ('-' has it already; of the bytes a header name may hold, only 'H' and
 * 'h' fold to 'h', and so on). */
static int pg_is_header(const char *key, const char *want, apr_size_t len)
{
    apr_size_t i;

    for (i = 0; i < len; i++) {
        if ((key[i] | 0x20) != want[i]) {
            return 0;
        }
    }
    return key[len] == '\0';
}

/* pg_is_header(key, "host", 4), written out: it runs on every request. */
static int pg_is_host_header(const char *key)
{
    return (key[0] | 0x20) == 'h' && (key[1] | 0x20) == 'o'
           && (key[2] | 0x20) == 's' && (key[3] | 0x20) == 't'
           && key[4] == '\0';
}

/* Headers past which one apr_table_get per header looked for is cheaper
 * than a pass over them all (measured: bench/callgrind.pl). */
#define PG_HEADER_SCAN_MAX 8

/* ------------------------------------------------------------------ */
/* What the module keeps per connection                                 */

/* An HTTP/1.1 request with "Upgrade: h2c" that passes becomes stream 1 of
 * an HTTP/2 connection (RFC 7540 3.2), which httpd reads again as a new
 * request on a secondary connection.  The first reading is decided,
 * counted and logged; it leaves this mark on its connection, and the
 * stream that repeats it (same method, same path) takes the mark and is
 * only published. */
typedef struct pg_upgrade_mark {
    volatile apr_uint32_t pending;
    const char *method;
    const char *path;           /* what stream 1 carries as :path */
} pg_upgrade_mark;

/* The decision on the last origin-form request of a kept-alive connection.
 * pg_decide's decision on an origin-form request depends only on the method
 * being CONNECT, the Host header, the proxy headers, the client being a
 * proxy client and the vhost's policy (pg_decide.h); so the next request
 * on the connection that repeats them, as browsers and clients do, reuses
 * it instead of parsing and comparing the Host again. */
#define PG_REMEMBER_HOST_MAX 128

typedef struct pg_remembered {
    const server_rec *server;   /* NULL: nothing remembered */
    int host_present;
    char host[PG_REMEMBER_HOST_MAX];    /* NUL-terminated */
    int proxy_header;
    int proxy_client;
    pg_decision decision;
} pg_remembered;

typedef struct pg_conn_state {
    pg_upgrade_mark upgrade;
    pg_remembered last;
    pg_ban_memo ban;
    pg_backend_memo backend;
} pg_conn_state;

/* The module's slot in a configuration vector (a connection's, a
 * request's), zeroed from p the first time it is asked for. */
static APR_INLINE void *pg_slot_of(ap_conf_vector_t *cv, apr_pool_t *p,
                                   apr_size_t size)
{
    void *slot = ap_get_module_config(cv, &proxyguard_module);

    if (slot == NULL) {
        slot = apr_pcalloc(p, size);
        ap_set_module_config(cv, &proxyguard_module, slot);
    }
    return slot;
}

static APR_INLINE pg_conn_state *pg_conn_state_of(conn_rec *c)
{
    return pg_slot_of(c->conn_config, c->pool, sizeof(pg_conn_state));
}

/* What a decision on an origin-form request depends on besides the vhost
 * (pg_decide.h): read from the request on every request, compared with
 * what is remembered. */
typedef struct pg_head {
    const char *host;           /* the Host header as httpd keeps it, or NULL */
    int proxy_header;
    int proxy_client;
} pg_head;

/* What the module keeps per request, in r->request_config (only for a
 * hit).  An unknown-host verdict on an origin-form request is left
 * pending in post_read_request and settled at translate_name, where the
 * <Location> the request falls in is known: a request for the
 * proxyguard-status handler (a scrape by address, Host 127.0.0.1:9100) is
 * then neither counted nor refused; the handler's access rules decide.  A
 * request that ends before translate_name (a quick handler answered it,
 * the URI was refused) is settled when it ends (pg_settle_at_end); so is
 * one left unsettled for the handler that the handler did not take. */
typedef enum pg_settle_state {
    PG_SETTLED = 0,             /* nothing (left) to do */
    PG_PENDING,                 /* verdict published, not yet counted */
    PG_FOR_HANDLER              /* left to the handler; counted at the
                                 * request's end unless it answered */
} pg_settle_state;

typedef struct pg_req_state {
    int status;                 /* what pg_quick_handler answers; 0: none */
    pg_settle_state settle;
    pg_decision decision;       /* the verdict waiting to be settled */
    pg_head head;               /* what it was decided on */
} pg_req_state;

static pg_req_state *pg_req_state_of(request_rec *r)
{
    return pg_slot_of(r->request_config, r->pool, sizeof(pg_req_state));
}

/* The remembered decision, if this request repeats what it depends on. */
static int pg_recall(const pg_remembered *m, const request_rec *r,
                     const pg_head *head, pg_decision *v)
{
    if (m->server != r->server || m->proxy_header != head->proxy_header
        || m->proxy_client != head->proxy_client
        || m->host_present != (head->host != NULL)
        || (head->host && strcmp(m->host, head->host))) {
        return 0;
    }
    *v = m->decision;
    return 1;
}

static void pg_remember(pg_remembered *m, const request_rec *r,
                        const pg_request *req, const pg_decision *v)
{
    if (req->host.len >= sizeof(m->host)) {
        m->server = NULL;
        return;
    }
    m->server = r->server;
    m->host_present = req->host.ptr != NULL;
    if (req->host.ptr) {
        memcpy(m->host, req->host.ptr, req->host.len);
    }
    m->host[req->host.len] = '\0';
    m->proxy_header = req->has_proxy_header;
    m->proxy_client = req->proxy_client;
    m->decision = *v;
}

/* Only asked of a hit that passes (rare): pg_head_of's pass over the
 * headers, which every request pays, does not look for it. */
static int pg_asks_h2c(request_rec *r)
{
    const char *upgrade = apr_table_get(r->headers_in, "Upgrade");

    return upgrade && ap_find_token(r->pool, upgrade, "h2c");
}

static void pg_mark_upgrade(request_rec *r)
{
    conn_rec *c = r->connection;
    pg_upgrade_mark *mark = &pg_conn_state_of(c)->upgrade;

    mark->method = apr_pstrdup(c->pool, r->method);
    mark->path = apr_uri_unparse(c->pool, &r->parsed_uri,
                                 APR_URI_UNP_OMITSITEPART);
    apr_atomic_set32(&mark->pending, 1);
}

static int pg_is_upgraded_stream(const request_rec *r)
{
    const conn_rec *master = r->connection->master;
    pg_conn_state *st = master ? ap_get_module_config(master->conn_config,
                                                      &proxyguard_module)
                               : NULL;
    pg_upgrade_mark *mark = st ? &st->upgrade : NULL;

    return mark && apr_atomic_read32(&mark->pending)
           && !strcmp(mark->method, r->method)
           && !strcmp(mark->path, r->unparsed_uri)
           && apr_atomic_cas32(&mark->pending, 0, 1) == 1;
}

/* ------------------------------------------------------------------ */
/* The hooks                                                            */

static pg_span pg_span_of(const char *s)
{
    pg_span span;

    span.ptr = s;
    span.len = s ? strlen(s) : 0;
    return span;
}

/* pg_own_host_fn: a name of the vhost httpd selected, which has compared
 * the name it routed on with every vhost of this address and port. */
static int pg_is_own_host(void *baton, pg_span host)
{
    return pg_server_has_name(((const request_rec *)baton)->server, host);
}

/* The request's pg_head: Host (the first, as apr_table_get gives it) and
 * the proxy headers.  A short list of headers is read in one pass, most
 * passed over on their first byte, where each apr_table_get would pay a
 * locale-aware strcasecmp; a long list is looked up. */
static void pg_head_of(request_rec *r, const pg_vhost_conf *conf,
                       pg_head *head)
{
    const apr_array_header_t *headers = apr_table_elts(r->headers_in);
    const apr_table_entry_t *e = (const apr_table_entry_t *)headers->elts;
    int i;

    head->proxy_client = conf->proxy_clients
                         && pg_subnets_match(conf->proxy_clients,
                                             r->useragent_addr);
    if (headers->nelts > PG_HEADER_SCAN_MAX) {
        head->proxy_header = apr_table_get(r->headers_in, "Proxy-Connection")
                             || apr_table_get(r->headers_in,
                                              "Proxy-Authorization");
        head->host = apr_table_get(r->headers_in, "Host");
        return;
    }
    head->proxy_header = 0;
    head->host = NULL;
    for (i = 0; i < headers->nelts; i++) {
        const char *key = e[i].key;

        switch (key[0] | 0x20) {        /* 'H' and 'h' alike, 'P' and 'p' */
        case 'h':
            if (head->host == NULL && pg_is_host_header(key)) {
                head->host = e[i].val;
            }
            break;
        case 'p':
            head->proxy_header |= pg_is_header(key, "proxy-connection", 16)
                                  || pg_is_header(key, "proxy-authorization",
                                                  19);
            break;
        }
    }
}

/* The whole request, for pg_decide. */
static void pg_request_of(request_rec *r, const pg_head *head,
                          pg_request *req)
{
    const char *uri = r->unparsed_uri;

    req->host = pg_span_of(head->host);
    req->has_proxy_header = head->proxy_header;
    req->proxy_client = head->proxy_client;
    req->method = pg_span_of(r->method);
    req->uri = pg_span_of(uri);
    /* mod_proxy's proxy_detect ran before us (pg_register_hooks) */
    req->proxy_claimed = r->proxyreq == PROXYREQ_PROXY;
    /* only an absolute URI asks which scheme is the connection's */
    req->tls = uri && uri[0] != '/' && ap_http_scheme(r)[4] == 's';
    req->local_addr = pg_span_of(r->connection->local_ip);
    req->local_port = r->connection->local_addr->port;
    req->server_port = r->server->port;
}

/* pg_decide's decision on the request (and remembered in last, if given),
 * under the vhost's policy with ProxyGuardUnknownHost set to unknown. */
static PG_NOINLINE pg_decision pg_decide_now(request_rec *r,
                                            const pg_vhost_conf *conf,
                                            const pg_head *head,
                                            pg_unknown_host unknown,
                                            pg_remembered *last)
{
    pg_request req;
    pg_policy policy;
    pg_decision v;

    pg_request_of(r, head, &req);
    policy = conf->policy;
    policy.unknown_host = unknown;
    policy.is_own_host = pg_is_own_host;
    policy.baton = r;
    v = pg_decide(&req, &policy);
    if (last) {
        pg_remember(last, r, &req, &v);
    }
    return v;
}

/* pg_decide's decision: remembered from the connection's last origin-form
 * request when this one repeats it, else decided (and remembered).  st:
 * the connection's state, NULL on an HTTP/2 stream.  *head: what was read
 * of the request's headers. */
static pg_decision pg_decision_of(request_rec *r, const pg_vhost_conf *conf,
                                pg_conn_state *st, pg_head *head)
{
    int origin_form = r->unparsed_uri && r->unparsed_uri[0] == '/'
                      && r->method_number != M_CONNECT;
    pg_remembered *last = origin_form && st ? &st->last : NULL;
    pg_decision v;

    pg_head_of(r, conf, head);
    if (last && pg_recall(last, r, head, &v)) {
        return v;
    }
    return pg_decide_now(r, conf, head, conf->policy.unknown_host, last);
}

/* The answer to a rejected request is given by pg_quick_handler, the first
 * thing httpd runs after post_read_request: before translate_name,
 * map_to_storage, access control and any content or proxy handler.  Not
 * returning it from post_read_request itself matters: a request that dies
 * there makes httpd drop the connection, so every probe of a flood would
 * cost a new TCP connection where stock httpd keeps it alive. */
static int pg_reject_later(request_rec *r, const pg_decision *v)
{
    const char *scheme = r->parsed_uri.scheme;

    if (v->action != PG_ACTION_DENY) {
        return DECLINED;
    }
    /* httpd itself answers 400 to a scheme other than http(s) right after
     * post_read_request (protocol.c), unless mod_proxy took the request:
     * such a rejection has to be given here to be ours */
    if (scheme && !r->proxyreq && ap_cstr_casecmp(scheme, "http")
        && ap_cstr_casecmp(scheme, "https")) {
        return v->status;
    }
    pg_req_state_of(r)->status = v->status;
    return DECLINED;
}

/* The hit as the table records it. */
static void pg_hit_of(request_rec *r, const pg_vhost_conf *conf,
                      const pg_decision *v, const char *host, int loggable,
                      pg_hit *hit)
{
    const pg_global_conf *g = conf->global;

    hit->vhost = (apr_uint32_t)conf->vhost_row;
    hit->reason = v->reason;
    hit->action = v->action;
    pg_addr_of(r->useragent_addr, &hit->addr);
    hit->client = r->useragent_ip;
    /* the port as pg_decide reads it: apr's would wrap 65561 to 25 */
    hit->connect_port = r->method_number == M_CONNECT
                        ? pg_connect_port(pg_span_of(r->unparsed_uri)) : 0;
    hit->method = r->method;
    hit->target = r->unparsed_uri;
    hit->host = host;
    hit->now = r->request_time;
    hit->log_lines = (apr_uint32_t)g->log_lines;
    hit->log_window = (apr_uint32_t)g->log_window;
    hit->loggable = loggable;
    pg_ban_terms(r, g, v, hit);
}

/* Counted (always), recorded (a banned client's flood only counts, and
 * takes no lock), and what the record decided: a ban, the log budget. */
static void pg_count(request_rec *r, const pg_vhost_conf *conf,
                     const pg_decision *v, const pg_hit *hit,
                     pg_record_result *res)
{
    apr_status_t rv;

    memset(res, 0, sizeof(*res));
    res->log = hit->loggable;   /* unless the table says otherwise */
    pg_shm_count(hit);
    if (v->reason == PG_REASON_BANNED) {
        res->log = 0;
        return;
    }
    rv = pg_shm_record(hit, v->status != 0, res);
    if (rv != APR_SUCCESS && !APR_STATUS_IS_EBUSY(rv)) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, rv, r, PG_TAG_TABLE_ERROR
                      ": cannot lock %s; hit counted, details skipped",
                      PG_MUTEX_TYPE);
    }
    if (res->ban_hits) {
        pg_ban_started(r, conf->global, res);
    }
    else if (res->ban_refused) {
        pg_ban_refused(r);
    }
}

/* Count and log a published hit.  host: the Host header (NULL for a
 * banned client's request, whose hit is only counted); backend: as
 * pg_log_hit. */
static void pg_tally(request_rec *r, const pg_vhost_conf *conf,
                     const pg_decision *v, const char *host,
                     const char *backend)
{
    int loggable = v->reason != PG_REASON_BANNED
                   && APLOG_R_IS_LEVEL(r, pg_log_level(v));
    pg_record_result res;
    pg_hit hit;

    pg_hit_of(r, conf, v, host, loggable, &hit);
    pg_count(r, conf, v, &hit, &res);
    if (res.suppressed) {
        pg_log_suppressed(r, &res);
    }
    if (res.log) {
        pg_log_hit(r, v, host, backend);
    }
}

/* Count, log, and answer later if it rejects, a hit already published. */
static int pg_act(request_rec *r, const pg_vhost_conf *conf,
                  const pg_decision *v, const char *host)
{
    if (pg_is_upgraded_stream(r)) {
        return pg_reject_later(r, v);   /* counted as the HTTP/1.1 request */
    }
    if (v->action != PG_ACTION_DENY && !r->connection->master
        && pg_asks_h2c(r)) {
        pg_mark_upgrade(r);
    }
    pg_tally(r, conf, v, host, NULL);
    return pg_reject_later(r, v);
}

/* Publish, count, log, and answer later if it rejects.  host: the Host
 * header, as pg_head_of found it (NULL for a banned client's request, whose
 * hit is only counted). */
static int pg_on_hit(request_rec *r, const pg_vhost_conf *conf,
                     const pg_decision *v, const char *host)
{
    pg_publish(r, pg_reason_name(v->reason), pg_action_name(v->action));
    return pg_act(r, conf, v, host);
}

/* The last chance to count a pending verdict, when the request ends (a
 * cleanup of its pool, registered by pg_wait, so that the requests
 * without one pay nothing): the request ended before translate_name, or
 * was left to the status handler, which did not take it (its access
 * rules refused it; a rewrite sent it elsewhere).  Nothing can be refused
 * any more, the access log is written; no h2c upgrade is marked (none is
 * to come). */
static apr_status_t pg_settle_at_end(void *data)
{
    request_rec *r = data;
    pg_req_state *rs = ap_get_module_config(r->request_config,
                                            &proxyguard_module);

    if (rs->settle == PG_SETTLED
        || (rs->settle == PG_FOR_HANDLER && pg_status_answered(r))) {
        return APR_SUCCESS;
    }
    rs->settle = PG_SETTLED;
    if (!pg_is_upgraded_stream(r)) {
        pg_tally(r, pg_conf_of(r->server), &rs->decision, rs->head.host,
                 NULL);
    }
    return APR_SUCCESS;
}

/* Only this verdict waits for translate_name (pg_req_state): every other
 * one is settled before anything else runs, as the request arrived. */
static int pg_may_wait(const request_rec *r, const pg_decision *v)
{
    return v->reason == PG_REASON_UNKNOWN_HOST && r->unparsed_uri
           && r->unparsed_uri[0] == '/' && r->method_number != M_CONNECT;
}

/* Published now, so that server-wide SetEnvIf and mod_rewrite see it as
 * they see every other verdict; counted when settled. */
static int pg_wait(request_rec *r, const pg_decision *v, const pg_head *head)
{
    pg_req_state *rs = pg_req_state_of(r);

    pg_publish(r, pg_reason_name(v->reason), pg_action_name(v->action));
    rs->settle = PG_PENDING;
    rs->decision = *v;
    rs->head = *head;
    /* a pre-cleanup: the request and its tables are still whole */
    apr_pool_pre_cleanup_register(r->pool, r, pg_settle_at_end);
    return DECLINED;
}

static void pg_unpublish(request_rec *r)
{
    apr_table_unset(r->subprocess_env, "PROXYGUARD");
    apr_table_unset(r->subprocess_env, "PROXYGUARD_ACTION");
    apr_table_unset(r->notes, "PROXYGUARD");
    apr_table_unset(r->notes, "PROXYGUARD_ACTION");
}

/* A request for the status handler: its Host does not matter, the rest of
 * the decision does (the verdict with every Host taken for ours: a proxy
 * header is still a hit).  Counted at the request's end if the handler
 * did not take it after all. */
static int pg_leave_to_handler(request_rec *r, const pg_vhost_conf *conf,
                               pg_req_state *rs)
{
    pg_decision v = pg_decide_now(r, conf, &rs->head, PG_UNKNOWN_ALLOW, NULL);

    pg_unpublish(r);
    if (v.reason == PG_REASON_NONE) {
        rs->settle = PG_FOR_HANDLER;
        return DECLINED;
    }
    rs->settle = PG_SETTLED;
    pg_on_hit(r, conf, &v, rs->head.host);
    return DECLINED;            /* a hit that only counts: a proxy header */
}

static int pg_post_read_request(request_rec *r)
{
    const pg_vhost_conf *conf;
    pg_conn_state *st;
    pg_head head;
    pg_decision v;

    /* Decide once, on the request as the client sent it: internal
     * redirects (ErrorDocument among them) and subrequests run this hook
     * again. */
    if (r->prev) {
        pg_publish_again(r);
        return DECLINED;
    }
    if (r->main) {
        return DECLINED;
    }
    conf = pg_conf_of(r->server);
    if (conf->policy.mode == PG_MODE_OFF) {
        return DECLINED;
    }
    /* what an HTTP/1 connection remembers between requests (HTTP/2
     * streams are each decided on their own) */
    st = r->connection->master ? NULL : pg_conn_state_of(r->connection);
    if (pg_bans_configured(conf->global)
        && pg_is_banned(r, conf->global, st ? &st->ban : NULL)) {
        v = pg_decide_banned(&conf->policy);
        return pg_on_hit(r, conf, &v, NULL);
    }
    v = pg_decision_of(r, conf, st, &head);
    if (v.reason == PG_REASON_NONE) {
        return DECLINED;
    }
    return pg_may_wait(r, &v) ? pg_wait(r, &v, &head)
                              : pg_on_hit(r, conf, &v, head.host);
}

/* Settles a pending unknown-host verdict (pg_req_state) at translate_name.
 * A refusal is returned from there, before any other module translates
 * (mod_proxy's ProxyPass, mod_rewrite), the connection kept alive. */
static PG_NOINLINE int pg_settle_pending(request_rec *r, pg_req_state *rs)
{
    const pg_vhost_conf *conf = pg_conf_of(r->server);

    if (pg_status_location(r)) {
        return pg_leave_to_handler(r, conf, rs);
    }
    rs->settle = PG_SETTLED;
    pg_act(r, conf, &rs->decision, rs->head.host);
    return rs->decision.action == PG_ACTION_DENY ? rs->decision.status
                                                 : DECLINED;
}

/* Runs first at translate_name, after httpd's <Location> walk.  Every
 * request (and subrequest) passes here: the test is all it pays. */
static int pg_translate_name(request_rec *r)
{
    pg_req_state *rs = ap_get_module_config(r->request_config,
                                            &proxyguard_module);

    return rs && rs->settle == PG_PENDING ? pg_settle_pending(r, rs)
                                          : DECLINED;
}

/* mod_proxy's scheme_handler hook, run first (pg_backend_hook): the URL
 * and worker mod_proxy is about to connect with, balancer member chosen.
 * A backend a reverse-proxy rule took from the request is refused here,
 * once per request (a failover or a ProxyRemote runs the hook again). */
static int pg_proxy_scheme_handler(request_rec *r, proxy_worker *worker,
                                   proxy_server_conf *proxy_conf, char *url,
                                   const char *proxyhost,
                                   apr_port_t proxyport)
{
    const pg_vhost_conf *conf = pg_conf_of(r->server);
    pg_backend_memo *memo = r->connection->master
                            ? NULL : &pg_conn_state_of(r->connection)->backend;
    pg_decision v;

    (void)proxyhost;
    (void)proxyport;
    v = pg_backend_decide(r, conf, worker, proxy_conf, url, memo);
    if (v.reason == PG_REASON_NONE) {
        return DECLINED;
    }
    /* a passing DetectOnly hit runs into this hook again on a retry */
    if (!apr_table_get(r->notes, PG_NOTE_BACKEND)) {
        apr_table_setn(r->notes, PG_NOTE_BACKEND, "1");
        pg_publish(r, pg_reason_name(v.reason), pg_action_name(v.action));
        pg_tally(r, conf, &v, apr_table_get(r->headers_in, "Host"), url);
    }
    return v.action == PG_ACTION_DENY ? v.status : DECLINED;
}

static int pg_quick_handler(request_rec *r, int lookup_uri)
{
    const pg_req_state *rs;

    if (lookup_uri) {
        return DECLINED;        /* a subrequest's lookup: nothing decided */
    }
    rs = ap_get_module_config(r->request_config, &proxyguard_module);
    if (rs == NULL || rs->status == 0) {
        return DECLINED;
    }
    if (rs->status == HTTP_METHOD_NOT_ALLOWED) {
        /* ap_send_error_response builds Allow from r->allowed_methods */
        ap_allow_methods(r, REPLACE_ALLOW, "GET", "HEAD", "POST", "OPTIONS",
                         NULL);
    }
    return rs->status;
}

/* ------------------------------------------------------------------ */
/* Start-up                                                             */

/* mod_proxy's scheme_handler hook has pg_proxy_scheme_handler. */
static int pg_proxy_hooked;

static int pg_pre_config(apr_pool_t *pconf, apr_pool_t *plog,
                         apr_pool_t *ptemp)
{
    (void)plog;
    (void)ptemp;
    pg_proxy_hooked = pg_backend_hook(pg_proxy_scheme_handler);
    return pg_shm_pre_config(pconf);
}

/* Runs for `apache2 -t` too: defaults are resolved here, and a bad ban
 * store stops the configuration test, not only the start. */
static int pg_check_config(apr_pool_t *pconf, apr_pool_t *plog,
                           apr_pool_t *ptemp, server_rec *s)
{
    (void)plog;
    pg_config_finish(pconf, s);
    return pg_ban_check_config(s, ptemp);
}

static int pg_post_config(apr_pool_t *pconf, apr_pool_t *plog,
                          apr_pool_t *ptemp, server_rec *s)
{
    (void)plog;
    /* the first pass only checks the configuration */
    if (ap_state_query(AP_SQ_MAIN_STATE) == AP_SQ_MS_CREATE_PRE_CONFIG) {
        return OK;
    }
    if (pg_shm_post_config(s, ptemp) != OK
        || pg_ban_post_config(s, pconf, ptemp) != OK) {
        return !OK;
    }
    pg_config_warn(pconf, s);
    pg_backend_post_config(pconf, s, pg_proxy_hooked);
    return OK;
}

static void pg_child_init(apr_pool_t *pchild, server_rec *s)
{
    pg_shm_child_init(pchild, s);
}

static void pg_register_hooks(apr_pool_t *p)
{
    /* after mod_remoteip, so r->useragent_ip is the real client; after
     * mod_proxy's proxy_detect, whose claim on a forward-proxy request
     * decides (docs/decision.md) */
    static const char *const pg_after[] = { "mod_remoteip.c", "mod_proxy.c",
                                            NULL };

    (void)p;
    ap_hook_post_read_request(pg_post_read_request, pg_after, NULL,
                              APR_HOOK_FIRST);
    /* answers what pg_post_read_request rejected, before anything else */
    ap_hook_quick_handler(pg_quick_handler, NULL, NULL, APR_HOOK_REALLY_FIRST);
    /* settles a pending unknown-host verdict (pg_req_state) before any
     * other module translates the URI */
    ap_hook_translate_name(pg_translate_name, NULL, NULL,
                           APR_HOOK_REALLY_FIRST);
    ap_hook_pre_config(pg_pre_config, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_check_config(pg_check_config, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_post_config(pg_post_config, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_child_init(pg_child_init, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_handler(pg_status_handler, NULL, NULL, APR_HOOK_MIDDLE);
    APR_OPTIONAL_HOOK(ap, status_hook, pg_server_status_hook, NULL, NULL,
                      APR_HOOK_MIDDLE);
}

module AP_MODULE_DECLARE_DATA proxyguard_module = {
    STANDARD20_MODULE_STUFF,
    NULL,                       /* create per-directory config */
    NULL,                       /* merge per-directory config */
    pg_create_server_conf,      /* create per-server config */
    pg_merge_server_conf,       /* merge per-server config */
    pg_cmds,                    /* directives */
    pg_register_hooks,          /* hooks */
    AP_MODULE_FLAG_ALWAYS_MERGE /* every vhost gets its own merged config */
};

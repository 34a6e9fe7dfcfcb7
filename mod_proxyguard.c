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
 * Each hit is logged (tag PG0001), published as PROXYGUARD in the
 * request's environment and notes, and counted in a table in shared memory
 * that the handler "proxyguard-status" shows as HTML, ?auto, ?json and
 * ?prometheus.  The decision itself is pg_decide() (pg_decide.c), which
 * knows nothing of httpd; mod_proxyguard.h lists the other glue files.
 *
 * Directives (server config and virtual host):
 *   ProxyGuard On|Off|DetectOnly           default On
 *   ProxyGuardAllowHost name ...           extra names that are ours
 *   ProxyGuardUnknownHost Allow|Detect|Deny  default Detect
 *   ProxyGuardProxyClients cidr ...        who may use us as a forward proxy
 *   ProxyGuardConnectPorts port|lo-hi ...  where they may CONNECT, 443
 *   ProxyGuardProxyPorts port|lo-hi ...    where their URIs may go, 80 443
 * Server config only:
 *   ProxyGuardTableSize n                  clients tracked, bans held, 4096
 *   ProxyGuardBan hits seconds duration    ban persistent probers
 *   ProxyGuardBanExempt cidr ...           never banned
 *   ProxyGuardBanCache provider[:args]     ban store (ap_socache), shmcb
 *   ProxyGuardLogLimit lines seconds       log lines per client, 10 60
 *
 * Example:
 *   LoadModule proxyguard_module modules/mod_proxyguard.so
 *   ProxyGuardAllowHost *.cdn.example.com 192.0.2.10
 *   <VirtualHost *:80>
 *       ServerName www.example.com
 *       ProxyGuard DetectOnly
 *   </VirtualHost>
 *   CustomLog logs/abuse.log combined env=PROXYGUARD
 *   <Location "/proxyguard-status">
 *       SetHandler proxyguard-status
 *       Require local
 *   </Location>
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

#include "mod_proxyguard.h"

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
static int pg_log_level(const pg_verdict *v)
{
    return v->status ? APLOG_WARNING : APLOG_INFO;
}

static void pg_log_hit(request_rec *r, const pg_verdict *v)
{
    ap_log_rerror(APLOG_MARK, pg_log_level(v), 0, r,
                  PG_TAG_HIT ": action=%s reason=%s vhost=%s "
                  "method=\"%s\" uri=\"%s\" host=\"%s\"",
                  pg_action_name(v->action), pg_reason_name(v->reason),
                  r->server->server_hostname,
                  pg_log_field(r->pool, r->method),
                  pg_log_field(r->pool, r->unparsed_uri),
                  pg_log_field(r->pool, apr_table_get(r->headers_in, "Host")));
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
 * SetEnvIf and mod_rewrite; the same in r->notes for %{PROXYGUARD}n. */
static void pg_publish(request_rec *r, const char *reason, const char *action)
{
    apr_table_setn(r->subprocess_env, "PROXYGUARD", reason);
    apr_table_setn(r->subprocess_env, "PROXYGUARD_ACTION", action);
    apr_table_setn(r->notes, "PROXYGUARD", reason);
    apr_table_setn(r->notes, "PROXYGUARD_ACTION", action);
}

/* An internal redirect (a local ErrorDocument for our 403 among them) is a
 * new request that is decided no more, and whose environment httpd renames
 * to REDIRECT_*: the request that gets logged is the last one, so the
 * verdict of the first must be published there too. */
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
/* h2c: one request, read twice                                         */

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

static int pg_asks_h2c(const request_rec *r)
{
    const char *upgrade = apr_table_get(r->headers_in, "Upgrade");

    return upgrade && ap_find_token(r->pool, upgrade, "h2c");
}

static void pg_mark_upgrade(request_rec *r)
{
    conn_rec *c = r->connection;
    pg_upgrade_mark *mark = apr_pcalloc(c->pool, sizeof(*mark));

    mark->method = apr_pstrdup(c->pool, r->method);
    mark->path = apr_uri_unparse(c->pool, &r->parsed_uri,
                                 APR_URI_UNP_OMITSITEPART);
    apr_atomic_set32(&mark->pending, 1);
    ap_set_module_config(c->conn_config, &proxyguard_module, mark);
}

static int pg_is_upgraded_stream(const request_rec *r)
{
    const conn_rec *master = r->connection->master;
    pg_upgrade_mark *mark = master ? ap_get_module_config(master->conn_config,
                                                          &proxyguard_module)
                                   : NULL;

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

static void pg_request_from(request_rec *r, const pg_vhost_conf *conf,
                            pg_request *req)
{
    const char *uri = r->unparsed_uri;

    req->method = pg_span_of(r->method);
    req->uri = pg_span_of(uri);
    req->host = pg_span_of(apr_table_get(r->headers_in, "Host"));
    req->has_proxy_header = apr_table_get(r->headers_in, "Proxy-Connection")
                            || apr_table_get(r->headers_in,
                                             "Proxy-Authorization");
    req->proxy_client = conf->proxy_clients && pg_is_proxy_client(r, conf);
    /* mod_proxy's proxy_detect ran before us (pg_register_hooks) */
    req->proxy_claimed = r->proxyreq == PROXYREQ_PROXY;
    /* only an absolute URI asks which scheme is the connection's */
    req->tls = uri && uri[0] != '/' && ap_http_scheme(r)[4] == 's';
    req->local_addr = pg_span_of(r->connection->local_ip);
    req->local_port = r->connection->local_addr->port;
    req->server_port = r->server->port;
}

/* The answer to a rejected request is given by pg_quick_handler, the first
 * thing httpd runs after post_read_request: before translate_name,
 * map_to_storage, access control and any content or proxy handler.  Not
 * returning it from post_read_request itself matters: a request that dies
 * there makes httpd drop the connection, so every probe of a flood would
 * cost a new TCP connection where stock httpd keeps it alive. */
static int pg_reject_later(request_rec *r, const pg_verdict *v)
{
    const char *scheme = r->parsed_uri.scheme;
    int *status;

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
    status = apr_palloc(r->pool, sizeof(*status));
    *status = v->status;
    ap_set_module_config(r->request_config, &proxyguard_module, status);
    return DECLINED;
}

/* Publish, count, log, and answer later if it rejects. */
static int pg_on_hit(request_rec *r, const pg_verdict *v)
{
    int loggable = v->reason != PG_REASON_BANNED
                   && APLOG_R_IS_LEVEL(r, pg_log_level(v));
    pg_record_result res;

    pg_publish(r, pg_reason_name(v->reason), pg_action_name(v->action));
    if (pg_is_upgraded_stream(r)) {
        return pg_reject_later(r, v);   /* counted as the HTTP/1.1 request */
    }
    if (v->action != PG_ACTION_DENY && !r->connection->master
        && pg_asks_h2c(r)) {
        pg_mark_upgrade(r);
    }
    pg_count_hit(r, v, loggable, &res);
    if (res.suppressed) {
        pg_log_suppressed(r, &res);
    }
    if (res.log) {
        pg_log_hit(r, v);
    }
    return pg_reject_later(r, v);
}

static int pg_post_read_request(request_rec *r)
{
    const pg_vhost_conf *conf;
    pg_request req;
    pg_policy policy;
    pg_verdict v;

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
    if (pg_is_banned(r)) {
        v = pg_decide_banned(&conf->policy);
        return pg_on_hit(r, &v);
    }
    policy = conf->policy;
    policy.is_own_host = pg_is_own_host;
    policy.baton = r;
    pg_request_from(r, conf, &req);
    v = pg_decide(&req, &policy);
    return v.reason == PG_REASON_NONE ? DECLINED : pg_on_hit(r, &v);
}

static int pg_quick_handler(request_rec *r, int lookup_uri)
{
    const int *status = ap_get_module_config(r->request_config,
                                             &proxyguard_module);

    if (status == NULL || lookup_uri) {
        return DECLINED;
    }
    if (*status == HTTP_METHOD_NOT_ALLOWED) {
        /* ap_send_error_response builds Allow from r->allowed_methods */
        ap_allow_methods(r, REPLACE_ALLOW, "GET", "HEAD", "POST", "OPTIONS",
                         NULL);
    }
    return *status;
}

/* ------------------------------------------------------------------ */
/* Start-up                                                             */

static int pg_pre_config(apr_pool_t *pconf, apr_pool_t *plog,
                         apr_pool_t *ptemp)
{
    (void)plog;
    (void)ptemp;
    return pg_table_pre_config(pconf);
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
    if (pg_table_post_config(s, ptemp) != OK
        || pg_ban_post_config(s, pconf, ptemp) != OK) {
        return !OK;
    }
    pg_config_warn(pconf, s);
    return OK;
}

static void pg_child_init(apr_pool_t *pchild, server_rec *s)
{
    pg_table_child_init(pchild, s);
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
    ap_hook_pre_config(pg_pre_config, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_check_config(pg_check_config, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_post_config(pg_post_config, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_child_init(pg_child_init, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_handler(pg_status_handler, NULL, NULL, APR_HOOK_MIDDLE);
    APR_OPTIONAL_HOOK(ap, status_hook, pg_server_status_hook, NULL, NULL,
                      APR_HOOK_MIDDLE);
}

AP_DECLARE_MODULE(proxyguard) = {
    STANDARD20_MODULE_STUFF,
    NULL,                       /* create per-directory config */
    NULL,                       /* merge per-directory config */
    pg_create_server_conf,      /* create per-server config */
    pg_merge_server_conf,       /* merge per-server config */
    pg_cmds,                    /* directives */
    pg_register_hooks,          /* hooks */
    AP_MODULE_FLAG_ALWAYS_MERGE /* every vhost gets its own merged config */
};

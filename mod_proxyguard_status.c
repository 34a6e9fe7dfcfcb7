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
 * mod_proxyguard_status.c: the proxyguard-status handler (HTML, ?auto,
 * ?json, ?prometheus: rendered by pg_status.c from a snapshot), the
 * POST unban=ADDRESS form, and the section in /server-status.
 */

#include "httpd.h"
#include "http_config.h"
#include "http_core.h"
#include "http_log.h"
#include "http_protocol.h"
#include "http_request.h"
#include "util_script.h"
#include "mod_status.h"
#include "apr_strings.h"

#include "mod_proxyguard_private.h"
#include "mod_proxyguard_config.h"
#include "mod_proxyguard_table.h"
#include "mod_proxyguard_ban.h"
#include "mod_proxyguard_status.h"

#include "pg_status.h"
#include "pg_version.h"

static void pg_write_to_request(void *baton, const char *data, apr_size_t len)
{
    ap_rwrite(data, (int)len, baton);
}

/* The value of one field of a POSTed form (its length in *len, NUL bytes
 * and all), or NULL. */
static const char *pg_form_field(request_rec *r, const char *name,
                                 apr_size_t *len)
{
    apr_array_header_t *pairs = NULL;
    int i;

    if (ap_parse_form_data(r, NULL, &pairs, 16, 4096) != OK || !pairs) {
        return NULL;
    }
    for (i = 0; i < pairs->nelts; i++) {
        ap_form_pair_t *pair = &APR_ARRAY_IDX(pairs, i, ap_form_pair_t);
        apr_off_t length;
        char *value;

        if (strcmp(pair->name, name)
            || apr_brigade_length(pair->value, 1, &length) != APR_SUCCESS
            || length > 256) {
            continue;
        }
        *len = (apr_size_t)length;
        value = apr_palloc(r->pool, *len + 1);
        apr_brigade_flatten(pair->value, value, len);
        value[*len] = '\0';
        return value;
    }
    return NULL;
}

/* A state change asked by a browser must come from this server's own
 * pages: a cross-site form could otherwise lift bans with the operator's
 * credentials and address (mod_proxy_balancer's manager has the same
 * problem, solved there with a nonce).  Refused: Sec-Fetch-Site other than
 * same-origin or none, and an Origin other than this server as the
 * browser addressed it (scheme://Host).  Clients that send neither (curl,
 * scripts) are no browsers; who may post at all is the location's Require.
 * Returns the header that refused the request, or NULL. */
static const char *pg_cross_origin(request_rec *r)
{
    const char *site = apr_table_get(r->headers_in, "Sec-Fetch-Site");
    const char *origin = apr_table_get(r->headers_in, "Origin");
    const char *host = apr_table_get(r->headers_in, "Host");

    if (site && strcmp(site, "same-origin") && strcmp(site, "none")) {
        return "Sec-Fetch-Site";
    }
    if (origin
        && (host == NULL
            || ap_cstr_casecmp(origin, apr_pstrcat(r->pool, ap_http_scheme(r),
                                                   "://", host, NULL)))) {
        return "Origin";
    }
    return NULL;
}

/* The Host of a state change must name this server: a ServerName or
 * ServerAlias of the vhost, or the address the connection arrived on (any
 * port: a NAT or a tunnel may have changed it, and no web page can make a
 * browser send an address it did not connect to).  pg_cross_origin alone
 * is beaten by DNS rebinding: a page of rebind.attacker.example, once the
 * name points at this server, posts with Host and Origin both its own
 * name, same-origin to the browser. */
static int pg_host_names_us(const request_rec *r)
{
    const char *host = apr_table_get(r->headers_in, "Host");
    const char *local = r->connection->local_ip;
    pg_span name;

    if (host == NULL
        || !pg_parse_host_header((pg_span){ host, strlen(host) }, &name)) {
        return 0;
    }
    return pg_server_has_name(r->server, name)
           || pg_ip_same(name, (pg_span){ local, strlen(local) });
}

/* Why a state change is refused (for the log), or NULL. */
static const char *pg_unban_refusal(request_rec *r)
{
    const char *header = pg_cross_origin(r);

    if (header) {
        return apr_pstrcat(r->pool, "a cross-origin request (", header, ")",
                           NULL);
    }
    if (!pg_host_names_us(r)) {
        return "its Host names neither this vhost nor this server's address";
    }
    return NULL;
}

/* POST unban=ADDRESS: lift a ban without a restart. */
static int pg_status_unban(request_rec *r)
{
    const char *refused = pg_unban_refusal(r);
    const char *text;
    apr_size_t len = 0;
    pg_addr addr;
    char shown[PG_CLIENT_TEXT_MAX];
    pg_lift lift;

    if (!pg_bans_configured(pg_conf_of(r->server)->global)) {
        return HTTP_NOT_FOUND;
    }
    if (refused) {
        ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, r, PG_TAG_UNBAN_REFUSED
                      ": unban refused: %s", refused);
        return HTTP_FORBIDDEN;
    }
    text = pg_form_field(r, "unban", &len);
    if (text == NULL || !pg_addr_parse((pg_span){ text, len }, &addr)) {
        return HTTP_BAD_REQUEST;
    }
    lift = pg_ban_lift(r, &addr);
    if (lift == PG_LIFT_FAILED) {
        return HTTP_SERVICE_UNAVAILABLE;        /* no lock: PG0003 says so */
    }
    pg_addr_format(shown, sizeof(shown), &addr);
    ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, r, PG_TAG_BAN_LIFTED
                  ": ban on %s lifted by an operator%s", shown,
                  lift == PG_LIFT_LIFTED ? "" : " (none was listed here)");
    ap_set_content_type(r, "text/plain; charset=us-ascii");
    ap_rprintf(r, "ban on %s lifted%s\n", shown,
               lift == PG_LIFT_LIFTED
               ? "" : " (none was listed here; removed from the ban cache)");
    return OK;
}

/* The page, in the format asked for, from a snapshot. */
static PG_NOINLINE int pg_status_page(request_rec *r)
{
    pg_status_opts opts;
    pg_format format;
    const pg_table *snap;
    pg_out out;

    if (r->method_number == M_POST) {
        return pg_status_unban(r);
    }
    if (r->method_number != M_GET) {            /* GET, and so HEAD */
        ap_allow_methods(r, REPLACE_ALLOW, "GET", "HEAD", "POST", NULL);
        return HTTP_METHOD_NOT_ALLOWED;
    }
    if (pg_shm_table() == NULL) {
        return HTTP_SERVICE_UNAVAILABLE;
    }
    format = pg_status_parse_query(r->args, &opts.refresh);
    ap_set_content_type(r, pg_status_content_type(format));
    apr_table_setn(r->headers_out, "Cache-Control", "no-store");
    if (r->header_only) {
        return OK;      /* HEAD: no need to copy the table */
    }
    snap = pg_shm_snapshot(r->pool, pg_status_snapshot_kind(format));
    if (snap == NULL) {
        return HTTP_SERVICE_UNAVAILABLE;
    }
    opts.now = apr_time_now();
    opts.version = PG_VERSION;
    opts.table_bytes = pg_shm_bytes();
    out.write = pg_write_to_request;
    out.baton = r;
    pg_status_render(&out, r->pool, format, snap, &opts);
    return OK;
}

/* Will the handler answer r, as far as the <Location> walk that precedes
 * translate_name can tell?  What core's fixups will set r->handler to
 * (core_override_type): SetHandler, which httpd 2.4 keeps as a string
 * expression even when it is a plain word, evaluated and lower-cased; else
 * a handler forced by another module.  A SetHandler in <Directory>,
 * <Files> or .htaccess is not seen this early. */
int pg_status_location(request_rec *r)
{
    const core_dir_config *d = ap_get_core_module_config(r->per_dir_config);
    const char *err = NULL;
    const char *handler;

    if (d->expr_handler) {
        handler = ap_expr_str_exec(r, d->expr_handler, &err);
        return err == NULL && handler && !ap_cstr_casecmp(handler, PG_HANDLER);
    }
    return d->handler && !strcmp(d->handler, PG_HANDLER);
}

/* Did the handler take r (fixups named it: the access rules admitted
 * the request)? */
static APR_INLINE int pg_names_handler(const char *handler)
{
    return handler[0] == PG_HANDLER[0] && !strcmp(handler, PG_HANDLER);
}

int pg_status_answered(const request_rec *r)
{
    return r->handler && pg_names_handler(r->handler);
}

/* Every request of the server passes here: the first byte of the handler
 * settles almost all of them, in a function small enough to cost nothing
 * else. */
int pg_status_handler(request_rec *r)
{
    if (!pg_names_handler(r->handler)) {
        return DECLINED;
    }
    return pg_status_page(r);
}

/* mod_status's optional hook: a few lines in /server-status (and ?auto),
 * from a summary snapshot (header and vhost rows only). */
int pg_server_status_hook(request_rec *r, int flags)
{
    const pg_table *snap = pg_shm_snapshot(r->pool, PG_SNAPSHOT_SUMMARY);
    pg_out out;

    if (snap == NULL) {
        return OK;
    }
    out.write = pg_write_to_request;
    out.baton = r;
    if (flags & AP_STATUS_SHORT) {
        pg_status_auto_lines(&out, snap);
    }
    else {
        pg_status_html_summary(&out, snap);
    }
    return OK;
}

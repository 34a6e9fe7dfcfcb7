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
 * mod_proxyguard_backend.c: reverse-proxy rules whose backend comes from
 * the request.
 *
 * `ProxyPassMatch "^/pm/([^/]+)/(.*)$" "http://$1/$2"`, or a RewriteRule
 * [P] to "http://%{HTTP_HOST}/", connects wherever an origin-form request
 * says: an open proxy that post_read_request cannot see, since these rules
 * run after it.  The check is made where mod_proxy has the URL and the
 * worker it will use: its scheme_handler hook, which proxy_handler runs
 * after the balancer has picked a member and before any scheme handler
 * connects.  A backend passes when the worker is one the configuration
 * defined for it (ProxyPass to a named backend, a BalancerMember), when the
 * configuration names it literally somewhere (collected at start-up from
 * the configuration tree), or when ProxyGuardDynamicBackends lists it.
 *
 * mod_proxy's hooks are not optional hooks: registering one calls a
 * function of mod_proxy.so.  Linking to it would keep the module from
 * loading without mod_proxy, so the function is looked up once the
 * configuration has loaded every module.
 */

#ifndef _GNU_SOURCE
#define _GNU_SOURCE             /* RTLD_DEFAULT */
#endif
#include <dlfcn.h>

#include "httpd.h"
#include "http_config.h"
#include "http_log.h"
#include "apr_hash.h"
#include "apr_strings.h"

#include "pg_backend.h"
#include "mod_proxyguard_private.h"
#include "mod_proxyguard_backend.h"

/* The longest key: a host name, brackets, ':' and a port. */
#define PG_BACKEND_KEY_MAX (PG_HOSTNAME_MAX + 9)

typedef void pg_hook_scheme_handler_fn(proxy_HOOK_scheme_handler_t *pf,
                                       const char *const *pre,
                                       const char *const *succ, int order);

int pg_backend_hook(proxy_HOOK_scheme_handler_t *fn)
{
    pg_hook_scheme_handler_fn *hook;

    if (ap_find_linked_module("mod_proxy.c") == NULL) {
        return 0;
    }
    *(void **)&hook = dlsym(RTLD_DEFAULT, "proxy_hook_scheme_handler");
    if (hook == NULL) {
        return 0;
    }
    hook(fn, NULL, NULL, APR_HOOK_REALLY_FIRST);
    return 1;
}

/* ------------------------------------------------------------------ */
/* Start-up: the backends the configuration names                       */

/* The target word of a directive's arguments, or NULL. */
typedef struct pg_rule {
    const char *target;
    const char *what;           /* for the warning */
} pg_rule;

static int pg_is(const ap_directive_t *d, const char *name)
{
    return !ap_cstr_casecmp(d->directive, name);
}

/* The words of d's arguments, at most max. */
static int pg_words(apr_pool_t *p, const ap_directive_t *d, const char **w,
                    int max)
{
    const char *args = d->args;
    int n = 0;

    while (n < max && *args) {
        w[n] = ap_getword_conf(p, &args);
        if (*w[n]) {
            n++;
        }
    }
    return n;
}

/* RewriteRule's flags say [P] (or [proxy]). */
static int pg_rewrite_proxies(apr_pool_t *p, const char *flags)
{
    char *list, *flag, *last;
    size_t len = strlen(flags);

    if (len < 2 || flags[0] != '[' || flags[len - 1] != ']') {
        return 0;
    }
    list = apr_pstrmemdup(p, flags + 1, len - 2);
    for (flag = apr_strtok(list, ",", &last); flag;
         flag = apr_strtok(NULL, ",", &last)) {
        if (!ap_cstr_casecmp(flag, "P") || !ap_cstr_casecmp(flag, "proxy")) {
            return 1;
        }
    }
    return 0;
}

/* The word holding a URL among BalancerMember's, skipping the balancer. */
static const char *pg_member_url(const char **w, int n)
{
    int i;

    for (i = 0; i < n; i++) {
        if (ap_strstr_c(w[i], "://")
            && ap_cstr_casecmpn(w[i], "balancer://", 11)) {
            return w[i];
        }
    }
    return NULL;
}

/* Inside <Location> and <LocationMatch>, ProxyPass takes no path. */
static int pg_in_location(const ap_directive_t *d)
{
    const ap_directive_t *up = d->parent;

    return up && (!ap_cstr_casecmp(up->directive, "<Location")
                  || !ap_cstr_casecmp(up->directive, "<LocationMatch"));
}

/* What d says of a backend, if it is a proxy rule. */
static pg_rule pg_rule_of(apr_pool_t *p, const ap_directive_t *d)
{
    pg_rule rule = { NULL, d->directive };
    const char *w[4];
    int n;

    if (d->args == NULL) {
        return rule;
    }
    n = pg_words(p, d, w, 4);
    if (pg_is(d, "ProxyPass") || pg_is(d, "ProxyPassMatch")) {
        int at = pg_in_location(d) ? 0 : 1;

        rule.target = n > at ? w[at] : NULL;
    }
    else if (pg_is(d, "RewriteRule")) {
        rule.target = n >= 3 && pg_rewrite_proxies(p, w[2]) ? w[1] : NULL;
    }
    else if (pg_is(d, "BalancerMember")) {
        rule.target = pg_member_url(w, n);
    }
    else if (pg_is(d, "SetHandler") || pg_is(d, "AddHandler")) {
        rule.target = n >= 1 && !ap_cstr_casecmpn(w[0], "proxy:", 6)
                      ? w[0] + 6 : NULL;
    }
    else if (pg_is(d, "<Proxy")) {
        char *url = n >= 1 ? apr_pstrdup(p, w[0]) : NULL;
        size_t len = url ? strlen(url) : 0;

        if (len > 0 && url[len - 1] == '>') {
            url[len - 1] = '\0';
        }
        rule.target = url;
    }
    return rule;
}

static void pg_warn_rule(apr_pool_t *p, server_rec *s,
                         const ap_directive_t *d, const pg_rule *rule)
{
    ap_log_error(APLOG_MARK, APLOG_WARNING, 0, s, PG_TAG_DYNAMIC_BACKEND
                 ": %s:%d: %s takes its backend from the request (%s): "
                 "mod_proxyguard refuses (403, dynamic-backend) every "
                 "backend it names that the configuration does not name "
                 "and ProxyGuardDynamicBackends does not list",
                 d->filename, d->line_num, rule->what,
                 ap_escape_logitem(p, rule->target));
}

static void pg_add_fixed(apr_pool_t *p, apr_hash_t *fixed, const char *url)
{
    char key[PG_BACKEND_KEY_MAX + 1];
    pg_backend b;
    pg_span span;

    span.ptr = url;
    span.len = strlen(url);
    if (pg_backend_of(span, &b) && pg_backend_key(&b, key, sizeof(key))) {
        apr_hash_set(fixed, apr_pstrdup(p, key), APR_HASH_KEY_STRING, "");
    }
}

static void pg_scan(apr_pool_t *p, server_rec *s, apr_hash_t *fixed,
                    const ap_directive_t *d)
{
    for (; d; d = d->next) {
        pg_rule rule = pg_rule_of(p, d);

        if (rule.target) {
            pg_span t;

            t.ptr = rule.target;
            t.len = strlen(rule.target);
            switch (pg_target_kind_of(t)) {
            case PG_TARGET_FIXED:
                pg_add_fixed(p, fixed, rule.target);
                break;
            case PG_TARGET_FROM_REQUEST:
                pg_warn_rule(p, s, d, &rule);
                break;
            default:
                break;
            }
        }
        pg_scan(p, s, fixed, d->first_child);
    }
}

void pg_backend_post_config(apr_pool_t *pconf, server_rec *s, int hooked)
{
    pg_global_conf *g = pg_conf_of(s)->global;

    g->fixed_backends = apr_hash_make(pconf);
    pg_scan(pconf, s, g->fixed_backends, ap_conftree);
    if (!hooked && ap_find_linked_module("mod_proxy.c")) {
        ap_log_error(APLOG_MARK, APLOG_ERR, 0, s, PG_TAG_DYNAMIC_BACKEND
                     ": mod_proxy is loaded but its scheme_handler hook "
                     "could not be found: backends taken from the request "
                     "are not checked");
    }
}

/* ------------------------------------------------------------------ */
/* The request                                                          */

/* A worker the configuration defined for one backend (ProxyPass to a named
 * backend, a BalancerMember, <Proxy>): not mod_proxy's default workers,
 * which take any URL, nor one whose name has substitutions
 * (ProxyPassMatch's "http://$1/"), which matches many. */
static int pg_worker_is_named(const proxy_worker *worker,
                              const proxy_server_conf *proxy_conf)
{
    return worker && worker != proxy_conf->forward
           && worker != proxy_conf->reverse && worker->s
           && !worker->s->is_name_matchable;
}

static int pg_backend_is_fixed(const pg_global_conf *g, const pg_backend *b)
{
    char key[PG_BACKEND_KEY_MAX + 1];
    size_t len = pg_backend_key(b, key, sizeof(key));

    return g->fixed_backends && len
           && apr_hash_get(g->fixed_backends, key, (apr_ssize_t)len);
}

static int pg_backend_is_listed(const pg_vhost_conf *conf,
                                const pg_backend *b)
{
    const apr_array_header_t *list = conf->dynamic_backends;

    return list && pg_backend_listed((const pg_backend_pat *)list->elts,
                                     (size_t)list->nelts, b);
}

/* Is the backend url, whose "scheme://authority" is len bytes long, named
 * by the configuration? */
static int pg_backend_is_named(const pg_vhost_conf *conf, pg_span url)
{
    pg_backend b;

    return pg_backend_of(url, &b)
           && (pg_backend_is_fixed(conf->global, &b)
               || pg_backend_is_listed(conf, &b));
}

static int pg_memo_has(const pg_backend_memo *memo, const pg_vhost_conf *conf,
                       pg_span url, apr_size_t len)
{
    return memo && memo->conf == conf && memo->len == len
           && memcmp(memo->prefix, url.ptr, len) == 0;
}

static void pg_memo_set(pg_backend_memo *memo, const pg_vhost_conf *conf,
                        pg_span url, apr_size_t len)
{
    if (memo && len <= sizeof(memo->prefix)) {
        memcpy(memo->prefix, url.ptr, len);
        memo->len = len;
        memo->conf = conf;
    }
}

pg_decision pg_backend_decide(request_rec *r, const pg_vhost_conf *conf,
                              const proxy_worker *worker,
                              const proxy_server_conf *proxy_conf,
                              const char *url, pg_backend_memo *memo)
{
    static const pg_decision pass = { PG_REASON_NONE, PG_ACTION_PASS, 0 };
    pg_span span;
    apr_size_t len;

    /* forward-proxy requests were decided in post_read_request */
    if (r->proxyreq != PROXYREQ_REVERSE
        || pg_worker_is_named(worker, proxy_conf)) {
        return pass;
    }
    span.ptr = url;
    span.len = url ? strlen(url) : 0;
    len = pg_backend_prefix_len(span);
    if (len && pg_memo_has(memo, conf, span, len)) {
        return pass;
    }
    if (pg_backend_is_named(conf, span)) {
        pg_memo_set(memo, conf, span, len);
        return pass;
    }
    return pg_decide_dynamic_backend(&conf->policy);
}

/* Licensed under the Apache License, Version 2.0.  See LICENSE.
 *
 * libFuzzer target over the pure decision code, fed what an attacker
 * controls.  Input: one flag byte, then method, request-target and Host
 * separated by '\n' (a missing Host field means no Host header); the flag
 * byte picks the mode, ProxyGuardUnknownHost, proxy headers, whether the
 * client is a proxy client, whether mod_proxy claimed the request and
 * whether it came over TLS.
 *
 * Besides crashes and sanitizer reports it stops on:
 *  - a decision outside the contract (status, action and reason that do not
 *    go together);
 *  - an absolute-form target the decision lets through whose host or port
 *    any reader that acts on it reads differently: httpd (the real
 *    apr_uri_parse) or mod_proxy (a model of ap_proxy_canon_netloc with the
 *    real apr_parse_addr_port, t/unit/readers.h);
 *  - a stranger's request that mod_proxy claimed and that is not refused;
 *  - a proxy client's forwarded request to a port outside its list;
 *  - an origin-form decision that changes with what it must not depend on
 *    (the rest of the target, the method unless CONNECT, TLS, mod_proxy's
 *    claim, the local address and ports): a kept-alive connection reuses
 *    it.
 */

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <apr_general.h>
#include <apr_pools.h>
#include <apr_strings.h>
#include <apr_uri.h>

#include "../../pg_decide.h"
#include "../../pg_backend.h"
#include "../unit/readers.h"

static apr_pool_t *pool;
static pg_hostpat allow[3];
static const pg_port_range connect_ports[] = { { 443, 443 }, { 8443, 8443 } };
static const pg_port_range proxy_ports[] = { { 80, 80 }, { 443, 443 },
                                             { 8000, 8099 } };

static int own_host(void *baton, pg_span host)
{
    (void)baton;
    return pg_name_equals("www.example.com", host)
           || pg_name_matches("*.example.org", host)
           || pg_name_matches("w?w.*.test", host);
}

static void check(int cond, const char *what)
{
    if (!cond) {
        fprintf(stderr, "invariant broken: %s\n", what);
        abort();
    }
}

static void check_verdict(const pg_request *req, const pg_policy *pol,
                          pg_decision v)
{
    check((unsigned)v.reason < PG_REASON_COUNT, "reason in range");
    check(v.status == 0 || v.status == 403 || v.status == 405, "status");
    if (v.reason == PG_REASON_NONE) {
        check(v.action == PG_ACTION_PASS && v.status == 0, "a pass is a pass");
        return;
    }
    check(pol->mode != PG_MODE_OFF, "Off decides nothing");
    check(v.action != PG_ACTION_PASS, "a hit has an action");
    check(v.action != PG_ACTION_DENY || v.status != 0, "deny has a status");
    check(v.action != PG_ACTION_DENY || pol->mode == PG_MODE_ON,
          "only On denies");
    check(v.reason != PG_REASON_CONNECT || v.status == 405, "connect is 405");
    check(v.reason != PG_REASON_CONNECT || !req->proxy_client,
          "proxy clients' CONNECTs are connect-port or pass");
    check((v.reason != PG_REASON_CONNECT_PORT
           && v.reason != PG_REASON_PROXY_PORT) || req->proxy_client,
          "only proxy clients get port decisions");
    check(v.reason != PG_REASON_PROXY_PORT || v.status == 403,
          "proxy-port is 403");
    check(v.reason != PG_REASON_PROXY_HEADER || req->has_proxy_header,
          "proxy-header needs the header");
    check(v.reason != PG_REASON_BANNED, "bans are not decided here");
}

/* An absolute-form target that passes (or is only counted) must be read
 * alike by every reader; a stranger's claimed request must be refused; a
 * proxy client's forwarded one must go to one of its ports. */
static void check_readers(const pg_request *req, const pg_policy *pol,
                          pg_decision v)
{
    pg_absolute_uri abs;
    char why[256], *text;
    size_t len = 0;

    if (pol->mode == PG_MODE_OFF || !pg_parse_absolute_uri(req->uri, &abs)
        || (req->method.len == 7 && !memcmp(req->method.ptr, "CONNECT", 7))) {
        return;
    }
    if (v.reason == PG_REASON_ABSOLUTE_URI || v.reason == PG_REASON_PROXY_PORT) {
        return;         /* refused */
    }
    check(abs.valid, "only a valid authority passes");
    check(!req->proxy_claimed || req->proxy_client,
          "a stranger's request mod_proxy claimed is refused");
    while (len < req->uri.len && req->uri.ptr[len] != '\0') {
        len++;          /* httpd sees the C string */
    }
    text = apr_pstrmemdup(pool, req->uri.ptr, len);
    if (!readers_agree(pool, text, &abs, why, sizeof(why))) {
        fprintf(stderr, "readers disagree on %s: %s\n", text, why);
        check(0, "every reader names the host and port we decided on");
    }
    if (req->proxy_client && req->proxy_claimed) {
        check(pg_port_in(pol->proxy_ports, pol->n_proxy_ports,
                         abs.has_port ? abs.port : pg_scheme_port(abs.scheme)),
              "a proxy client's forwarded request goes to one of its ports");
    }
}

static int same_verdict(pg_decision a, pg_decision b)
{
    return a.reason == b.reason && a.action == b.action && a.status == b.status;
}

/* pg_decide.h: an origin-form request's decision depends on the method
 * being CONNECT, the Host header, the proxy header, the client being a
 * proxy client and the policy only (a kept-alive connection reuses it).
 * Everything else is changed here; the decision must not. */
static void check_origin_form(const pg_request *req, const pg_policy *pol,
                              pg_decision v)
{
    static const char *const methods[] = { "GET", "POST", "connect", "" };
    pg_request other = *req;
    int i;

    if (req->uri.len == 0 || req->uri.ptr[0] != '/'
        || (req->method.len == 7 && !memcmp(req->method.ptr, "CONNECT", 7))) {
        return;
    }
    other.uri.ptr = "/";
    other.uri.len = 1;
    other.tls = !req->tls;
    other.proxy_claimed = !req->proxy_claimed;
    other.local_addr.ptr = "2001:db8::1";
    other.local_addr.len = 11;
    other.local_port = req->local_port + 1;
    other.server_port = req->server_port ? 0 : 443;
    for (i = 0; i < 4; i++) {
        other.method.ptr = methods[i];
        other.method.len = strlen(methods[i]);
        check(same_verdict(pg_decide(&other, pol), v),
              "an origin-form decision depends only on CONNECT, Host, the "
              "proxy header, proxy_client and the policy");
    }
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    apr_initialize();
    apr_pool_create(&pool, NULL);
    pg_hostpat_parse("*.cdn.example.net", &allow[0]);
    pg_hostpat_parse("192.0.2.10", &allow[1]);
    pg_hostpat_parse("2001:db8::10", &allow[2]);
    return 0;
}

/* pg_backend.h on hostile text: a pattern, a URL, a rule's target.  A
 * backend's key is what the start-up set is looked up by: it must hold
 * the host exactly, in lower case, and a port mod_proxy could use. */
static void check_backend(const char *arg, pg_span url)
{
    pg_backend_pat pat;
    pg_backend b;
    char key[300];

    (void)pg_target_kind_of(url);
    if (pg_backend_of(url, &b)) {
        size_t n = pg_backend_key(&b, key, sizeof(key));

        if (b.port == 0 || b.port > 65535 || b.host.len == 0
            || (n != 0 && (strlen(key) != n || key[n - 1] < '0'
                           || key[n - 1] > '9'))) {
            abort();
        }
        if (pg_backend_pat_parse(arg, &pat) == NULL) {
            (void)pg_backend_listed(&pat, 1, &b);
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    pg_request req;
    pg_policy pol;
    pg_span field[3] = { { NULL, 0 }, { NULL, 0 }, { NULL, 0 } };
    const char *p = (const char *)data + 1, *end = (const char *)data + size;
    pg_hostpat pat;
    pg_span name;
    int i;

    if (size < 1) {
        return 0;
    }
    for (i = 0; i < 3 && p <= end; i++) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));

        field[i].ptr = p;
        field[i].len = nl ? (size_t)(nl - p) : (size_t)(end - p);
        p += field[i].len + 1;
    }

    memset(&pol, 0, sizeof(pol));
    pol.mode = (pg_mode)(data[0] % 3);
    pol.unknown_host = (pg_unknown_host)((data[0] >> 2) % 3);
    pol.allow = allow;
    pol.n_allow = 3;
    pol.connect_ports = connect_ports;
    pol.n_connect_ports = 2;
    pol.proxy_ports = proxy_ports;
    pol.n_proxy_ports = 3;
    pol.proxy_schemes = (data[0] & 1) ? pg_default_proxy_schemes() : 0x7ffu;
    pol.is_own_host = own_host;

    memset(&req, 0, sizeof(req));
    req.method = field[0];
    req.uri = field[1];
    req.host = field[2];
    req.has_proxy_header = (data[0] >> 4) & 1;
    req.proxy_client = (data[0] >> 5) & 1;
    req.proxy_claimed = (data[0] >> 6) & 1;
    req.tls = (data[0] >> 7) & 1;
    req.local_addr.ptr = "192.0.2.80";
    req.local_addr.len = 10;
    req.local_port = 8080;
    req.server_port = (data[0] >> 2) & 1 ? 80 : 0;

    {
        pg_decision v = pg_decide(&req, &pol);

        check_verdict(&req, &pol, v);
        check_readers(&req, &pol, v);
        check_origin_form(&req, &pol, v);
    }

    /* the helpers on hostile text too */
    pg_parse_host_header(field[2], &name);
    (void)pg_connect_port(field[1]);
    if (field[2].ptr && field[2].len < 300) {
        char *arg = apr_pstrmemdup(pool, field[2].ptr, field[2].len);

        if (pg_hostpat_parse(arg, &pat) == NULL) {
            (void)pg_hostpat_matches(&pat, field[1]);
        }
        (void)pg_name_matches(arg, field[1]);
        check_backend(arg, field[1]);
    }
    apr_pool_clear(pool);
    return 0;
}

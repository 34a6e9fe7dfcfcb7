/* Licensed under the Apache License, Version 2.0.  See LICENSE.
 *
 * readers.h: the other readers of an absolute-form request-target, for the
 * unit tests and the fuzzer, which check that wherever pg_decide's parser
 * accepts a target, every reader that acts on it names the same host and
 * port.  The readers (docs/testing.md says what is modelled):
 *
 *  - httpd's: apr_uri_parse itself (protocol.c, ap_parse_uri), linked from
 *    the real APR;
 *  - mod_proxy's: a model of what every scheme handler does with the
 *    target once proxy_detect (mod_proxy.c) has put r->unparsed_uri into
 *    r->filename: strip "scheme:", then ap_proxy_canon_netloc (proxy_util.c)
 *    -- the authority runs from "//" to the first '/' (not '?' or '#'),
 *    the userinfo up to the LAST '@', and the real apr_parse_addr_port
 *    splits host and port (digits after the last ':'; a port of 0 or none
 *    is the scheme's default; a scope id or a missing host is an error,
 *    answered 400).  The host is then lower-cased (ap_str_tolower).
 *
 * Header-only on purpose: both test programs include it.
 */

#ifndef PG_TEST_READERS_H
#define PG_TEST_READERS_H

#include <ctype.h>
#include <string.h>

#include <apr_network_io.h>
#include <apr_strings.h>
#include <apr_uri.h>

#include "../../pg_decide.h"

typedef struct reader_view {
    int ok;             /* the reader accepts the target */
    char *host;         /* as the reader will use it */
    unsigned port;      /* 0: none given (the scheme's default) */
} reader_view;

/* httpd: apr_uri_parse. */
static reader_view reader_httpd(apr_pool_t *p, const char *uri)
{
    reader_view v = { 0, NULL, 0 };
    apr_uri_t u;

    if (apr_uri_parse(p, uri, &u) == APR_SUCCESS) {
        v.ok = 1;
        v.host = u.hostname;
        v.port = u.port_str && *u.port_str ? u.port : 0;
    }
    return v;
}

/* mod_proxy: the scheme handlers' ap_proxy_canon_netloc. */
static reader_view reader_mod_proxy(apr_pool_t *p, const char *uri)
{
    reader_view v = { 0, NULL, 0 };
    const char *s = uri;
    char *host, *end, *at, *addr, *scope;
    apr_port_t port;

    /* the scheme, as apr reads it; the handlers match it by prefix */
    if (!isalpha((unsigned char)*s)) {
        return v;
    }
    while (isalnum((unsigned char)*s) || *s == '+' || *s == '-' || *s == '.') {
        s++;
    }
    if (*s++ != ':' || s[0] != '/' || s[1] != '/') {
        return v;       /* "Malformed URL" */
    }
    host = apr_pstrdup(p, s + 2);
    if ((end = strchr(host, '/')) != NULL) {
        *end = '\0';
    }
    if ((at = strrchr(host, '@')) != NULL) {
        host = at + 1;
    }
    if (apr_parse_addr_port(&addr, &scope, &port, host, p) != APR_SUCCESS
        || addr == NULL || scope != NULL) {
        return v;       /* "Invalid host/port" */
    }
    for (end = addr; *end; end++) {
        *end = (char)tolower((unsigned char)*end);
    }
    v.ok = 1;
    v.host = addr;
    v.port = port;
    return v;
}

/* Do both readers name the host and port pg_parse_absolute_uri found?
 * Called only for targets it accepts (valid).  On a disagreement, why says
 * which reader and what it read. */
static int readers_agree(apr_pool_t *p, const char *uri,
                         const pg_absolute_uri *pu, char *why, size_t size)
{
    reader_view h = reader_httpd(p, uri);
    reader_view m = reader_mod_proxy(p, uri);
    unsigned port = pu->has_port ? pu->port : 0;
    size_t n = pu->host.len;

    if (!h.ok || strlen(h.host ? h.host : "") != n
        || memcmp(h.host ? h.host : "", pu->host.ptr, n) != 0
        || h.port != port) {
        snprintf(why, size, "httpd reads host '%s' port %u",
                 h.ok && h.host ? h.host : "(error)", h.port);
        return 0;
    }
    if (!m.ok || strlen(m.host) != n
        || strncasecmp(m.host, pu->host.ptr, n) != 0 || m.port != port) {
        snprintf(why, size, "mod_proxy reads host '%s' port %u",
                 m.ok ? m.host : "(error)", m.port);
        return 0;
    }
    return 1;
}

#endif /* PG_TEST_READERS_H */

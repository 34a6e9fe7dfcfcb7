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
 * pg_decide.c: the request decision of mod_proxyguard.  See pg_decide.h.
 *
 * The URI and Host parsing here deliberately mirrors apr_uri_parse(), the
 * parser httpd and mod_proxy route on: if the two disagreed about which host
 * a request names, an attacker could pass our check with one reading and be
 * served (or proxied) under the other.  Where apr is more lenient than the
 * RFCs (a signed port, junk after an IPv6 literal) we call the URI invalid,
 * which only ever leads to a rejection.
 */

#include <string.h>
#include <arpa/inet.h>

#include "pg_decide.h"

static const char *const pg_reason_names[PG_REASON_COUNT] = {
    "none", "connect", "absolute-uri", "unknown-host", "proxy-header",
    "connect-port", "proxy-port", "banned"
};

const char *pg_reason_name(pg_reason reason)
{
    if ((unsigned)reason >= PG_REASON_COUNT) {
        return "none";
    }
    return pg_reason_names[reason];
}

const char *pg_action_name(pg_action action)
{
    switch (action) {
    case PG_ACTION_DENY:
        return "deny";
    case PG_ACTION_DETECT:
        return "detect";
    default:
        return "pass";
    }
}

/* ASCII-only case folding: locale-independent, like apr_tolower in the C
 * locale, and never undefined for bytes >= 0x80. */
static unsigned char pg_lower(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') ? (unsigned char)(c + ('a' - 'A')) : c;
}

static int pg_is_alpha(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static int pg_is_digit(unsigned char c)
{
    return c >= '0' && c <= '9';
}

static int pg_span_eq_nocase(pg_span a, const char *b, size_t blen)
{
    size_t i;

    if (a.len != blen) {
        return 0;
    }
    for (i = 0; i < blen; i++) {
        if (pg_lower((unsigned char)a.ptr[i]) != pg_lower((unsigned char)b[i])) {
            return 0;
        }
    }
    return 1;
}

/* "www.example.com." and "www.example.com" are the same DNS name. */
static pg_span pg_strip_trailing_dot(pg_span s)
{
    if (s.len > 1 && s.ptr[s.len - 1] == '.') {
        s.len--;
    }
    return s;
}

/* Port digits as found after a ':'.  Empty is "no port" (apr: scheme
 * default).  Anything but 1-5 digits up to 65535 is malformed. */
static int pg_parse_port(const char *p, size_t len, unsigned *port)
{
    unsigned long value = 0;
    size_t i;

    *port = 0;
    for (i = 0; i < len; i++) {
        if (!pg_is_digit((unsigned char)p[i])) {
            return 0;
        }
        value = value * 10 + (unsigned long)(p[i] - '0');
        if (value > 65535) {
            return 0;
        }
    }
    *port = (unsigned)value;
    return 1;
}

/* host[:port] or [v6]:port, the part of an authority after any userinfo.
 * Shared by absolute URIs and Host headers: both have this grammar. */
static int pg_parse_hostport(const char *p, size_t len, pg_span *host,
                             unsigned *port)
{
    const char *colon;

    *port = 0;
    if (len > 0 && p[0] == '[') {
        const char *close = memchr(p, ']', len);
        size_t rest;

        if (close == NULL) {
            return 0;
        }
        host->ptr = p + 1;
        host->len = (size_t)(close - p) - 1;
        rest = len - (size_t)(close - p) - 1;
        if (rest == 0) {
            return 1;
        }
        if (close[1] != ':') {
            return 0;
        }
        return pg_parse_port(close + 2, rest - 1, port);
    }
    colon = memchr(p, ':', len);
    host->ptr = p;
    host->len = colon ? (size_t)(colon - p) : len;
    if (colon == NULL) {
        return 1;
    }
    return pg_parse_port(colon + 1, len - host->len - 1, port);
}

/* Where apr_uri_parse ends an authority. */
static int pg_ends_authority(unsigned char c)
{
    return c == '/' || c == '?' || c == '#' || c == '\0';
}

int pg_parse_absolute_uri(pg_span uri, pg_absolute_uri *out)
{
    const char *p = uri.ptr;
    size_t n = uri.len;
    size_t i = 0;
    size_t start, end, at;

    memset(out, 0, sizeof(*out));
    if (p == NULL || n == 0 || !pg_is_alpha((unsigned char)p[0])) {
        return 0;       /* origin-form ("/..."), asterisk-form, or garbage */
    }
    while (i < n && (pg_is_alpha((unsigned char)p[i])
                     || pg_is_digit((unsigned char)p[i])
                     || p[i] == '+' || p[i] == '-' || p[i] == '.')) {
        i++;
    }
    if (i == n || p[i] != ':') {
        return 0;
    }
    out->scheme.ptr = p;
    out->scheme.len = i;
    out->host.ptr = p + i;      /* empty, but not absent */
    out->valid = 1;
    i++;
    if (n - i < 2 || p[i] != '/' || p[i + 1] != '/') {
        return 1;               /* "http:foo": absolute, without authority */
    }
    start = i + 2;
    end = start;
    while (end < n && !pg_ends_authority((unsigned char)p[end])) {
        end++;
    }
    /* userinfo ends at the *last* '@', as in apr_uri_parse */
    for (at = end; at > start && p[at - 1] != '@'; at--) {
    }
    out->valid = pg_parse_hostport(p + at, end - at, &out->host, &out->port);
    return 1;
}

unsigned pg_connect_port(pg_span target)
{
    pg_span host;
    unsigned port;

    if (target.ptr == NULL
        || !pg_parse_hostport(target.ptr, target.len, &host, &port)) {
        return 0;
    }
    return port;
}

int pg_parse_host_header(pg_span value, pg_span *name)
{
    const char *p = value.ptr;
    size_t n = value.len;
    unsigned port;

    name->ptr = NULL;
    name->len = 0;
    if (p == NULL) {
        return 0;
    }
    while (n > 0 && (p[0] == ' ' || p[0] == '\t')) {
        p++;
        n--;
    }
    while (n > 0 && (p[n - 1] == ' ' || p[n - 1] == '\t')) {
        n--;
    }
    if (!pg_parse_hostport(p, n, name, &port) || name->len == 0) {
        return 0;
    }
    *name = pg_strip_trailing_dot(*name);
    return 1;
}

/* Case-insensitive glob with '*' and '?', as ServerAlias uses.  Iterative,
 * remembering only the last '*': linear in practice and never recursive, so
 * a hostile host name cannot make it blow up. */
static int pg_glob_nocase(const char *pat, size_t plen, pg_span host)
{
    size_t p = 0, h = 0;
    size_t star = (size_t)-1, mark = 0;

    while (h < host.len) {
        if (p < plen && (pat[p] == '?'
                         || pg_lower((unsigned char)pat[p])
                            == pg_lower((unsigned char)host.ptr[h]))) {
            p++;
            h++;
        }
        else if (p < plen && pat[p] == '*') {
            star = p++;
            mark = h;
        }
        else if (star != (size_t)-1) {
            p = star + 1;
            h = ++mark;
        }
        else {
            return 0;
        }
    }
    while (p < plen && pat[p] == '*') {
        p++;
    }
    return p == plen;
}

/* Both sides of a name comparison lose what does not change the name:
 * brackets around an IPv6 literal and one trailing dot. */
static pg_span pg_normalize_name(pg_span s)
{
    if (s.len > 2 && s.ptr[0] == '[' && s.ptr[s.len - 1] == ']') {
        s.ptr++;
        s.len -= 2;
    }
    return pg_strip_trailing_dot(s);
}

size_t pg_name_canon(const char *name, char *out, size_t size)
{
    pg_span n;
    size_t i;

    if (name == NULL || size == 0) {
        return 0;
    }
    n = pg_normalize_name((pg_span){ name, strlen(name) });
    if (n.len == 0 || n.len >= size) {
        out[0] = '\0';
        return 0;
    }
    for (i = 0; i < n.len; i++) {
        out[i] = (char)pg_lower((unsigned char)n.ptr[i]);
    }
    out[n.len] = '\0';
    return n.len;
}

int pg_name_is(pg_span canon, pg_span host)
{
    size_t i;

    if (host.ptr == NULL || canon.len == 0) {
        return 0;
    }
    host = pg_normalize_name(host);
    if (host.len != canon.len) {
        return 0;
    }
    if (memcmp(host.ptr, canon.ptr, host.len) == 0) {
        return 1;       /* the common case: a Host in lower case already */
    }
    for (i = 0; i < host.len; i++) {
        if (pg_lower((unsigned char)host.ptr[i]) != (unsigned char)canon.ptr[i]) {
            return 0;
        }
    }
    return 1;
}

int pg_name_equals(const char *name, pg_span host)
{
    char buf[PG_HOSTNAME_MAX + 4];
    pg_span canon;

    canon.ptr = buf;
    canon.len = pg_name_canon(name, buf, sizeof(buf));
    return pg_name_is(canon, host);
}

int pg_name_matches(const char *pattern, pg_span host)
{
    pg_span p;

    if (pattern == NULL || host.ptr == NULL || host.len == 0) {
        return 0;
    }
    p = pg_normalize_name((pg_span){ pattern, strlen(pattern) });
    return pg_glob_nocase(p.ptr, p.len, pg_normalize_name(host));
}

/* Letters, digits, '-', '_' in dot-separated, non-empty labels. */
static int pg_is_valid_name(const char *s, size_t len)
{
    size_t i, label = 0;

    if (len == 0 || len > PG_HOSTNAME_MAX) {
        return 0;
    }
    for (i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];

        if (c == '.') {
            if (label == 0) {
                return 0;
            }
            label = 0;
        }
        else if (pg_is_alpha(c) || pg_is_digit(c) || c == '-' || c == '_') {
            label++;
        }
        else {
            return 0;
        }
    }
    return label > 0;
}

/* inet_pton wants a NUL-terminated string; IP literals are short. */
static int pg_parse_ip(int family, const char *s, size_t len,
                       unsigned char addr[16])
{
    char buf[64];

    if (len == 0 || len >= sizeof(buf) || memchr(s, '\0', len)) {
        return 0;
    }
    memcpy(buf, s, len);
    buf[len] = '\0';
    return inet_pton(family, buf, addr) == 1;
}

const char *pg_hostpat_parse(const char *arg, pg_hostpat *out)
{
    size_t len = arg ? strlen(arg) : 0;
    size_t i;

    memset(out, 0, sizeof(*out));
    if (len == 0) {
        return "empty host name";
    }
    if (arg[0] == '[') {
        if (len < 3 || arg[len - 1] != ']'
            || !pg_parse_ip(AF_INET6, arg + 1, len - 2, out->addr)) {
            return "not a valid IPv6 address";
        }
        out->kind = PG_HOSTPAT_IPV6;
        return NULL;
    }
    if (strchr(arg, ':')) {
        if (!pg_parse_ip(AF_INET6, arg, len, out->addr)) {
            return "not a valid IPv6 address";
        }
        out->kind = PG_HOSTPAT_IPV6;
        return NULL;
    }
    if (pg_parse_ip(AF_INET, arg, len, out->addr)) {
        out->kind = PG_HOSTPAT_IPV4;
        return NULL;
    }
    if (len > 1 && arg[len - 1] == '.') {
        len--;
    }
    if (len > 2 && arg[0] == '*' && arg[1] == '.') {
        if (!pg_is_valid_name(arg + 2, len - 2)) {
            return "not a valid *.suffix wildcard";
        }
        out->kind = PG_HOSTPAT_SUFFIX;
        arg++;          /* keep the dot: ".example.com" */
        len--;
    }
    else if (!pg_is_valid_name(arg, len)) {
        return "not a host name, *.suffix wildcard or IP address";
    }
    for (i = 0; i < len; i++) {
        out->name[i] = (char)pg_lower((unsigned char)arg[i]);
    }
    out->name[len] = '\0';
    out->len = len;
    return NULL;
}

int pg_hostpat_matches(const pg_hostpat *pat, pg_span host)
{
    unsigned char addr[16];

    if (host.ptr == NULL || host.len == 0) {
        return 0;
    }
    switch (pat->kind) {
    case PG_HOSTPAT_IPV4:
        return pg_parse_ip(AF_INET, host.ptr, host.len, addr)
               && memcmp(addr, pat->addr, 4) == 0;
    case PG_HOSTPAT_IPV6:
        return pg_parse_ip(AF_INET6, host.ptr, host.len, addr)
               && memcmp(addr, pat->addr, 16) == 0;
    case PG_HOSTPAT_SUFFIX:
        host = pg_strip_trailing_dot(host);
        return host.len > pat->len
               && pg_span_eq_nocase((pg_span){ host.ptr + host.len - pat->len,
                                               pat->len },
                                    pat->name, pat->len);
    default:
        return pg_span_eq_nocase(pg_strip_trailing_dot(host), pat->name,
                                 pat->len);
    }
}

static int pg_is_ours(const pg_policy *policy, pg_span host)
{
    size_t i;

    if (host.ptr == NULL || host.len == 0) {
        return 0;
    }
    host = pg_strip_trailing_dot(host);
    if (policy->is_own_host && policy->is_own_host(policy->baton, host)) {
        return 1;
    }
    for (i = 0; i < policy->n_allow; i++) {
        if (pg_hostpat_matches(&policy->allow[i], host)) {
            return 1;
        }
    }
    return 0;
}

/* An absolute URI names us only with no port or one of our ports: a name of
 * ours at another port is a request to somewhere else (mod_proxy would
 * connect there). */
static int pg_absolute_names_us(const pg_absolute_uri *abs,
                                const pg_request *req, const pg_policy *policy)
{
    if (!abs->valid) {
        return 0;
    }
    if (abs->port != 0 && abs->port != req->local_port
        && abs->port != req->server_port) {
        return 0;
    }
    return pg_is_ours(policy, abs->host);
}

/* Origin-form: does the Host header name us?  The port is ignored, as httpd
 * ignores it when it picks the vhost. */
static int pg_host_header_names_us(const pg_request *req,
                                   const pg_policy *policy)
{
    pg_span name;

    if (!pg_parse_host_header(req->host, &name)) {
        return 0;
    }
    return pg_is_ours(policy, name);
}

static int pg_is_connect(pg_span method)
{
    return method.ptr != NULL && method.len == 7
           && memcmp(method.ptr, "CONNECT", 7) == 0;
}

static int pg_port_allowed(const pg_policy *policy, unsigned port)
{
    size_t i;

    for (i = 0; port != 0 && i < policy->n_connect_ports; i++) {
        if (policy->connect_ports[i] == port) {
            return 1;
        }
    }
    return 0;
}

static int pg_is_asterisk_form(pg_span uri)
{
    return uri.ptr != NULL && uri.len == 1 && uri.ptr[0] == '*';
}

/* Host header missing, or empty: HTTP/1.0 without Host, or a URI without
 * an authority.  httpd answers HTTP/1.1 without Host with 400 itself. */
static int pg_has_host(pg_span host)
{
    size_t i;

    if (host.ptr == NULL) {
        return 0;
    }
    for (i = 0; i < host.len; i++) {
        if (host.ptr[i] != ' ' && host.ptr[i] != '\t') {
            return 1;
        }
    }
    return 0;
}

/* A hit that rejects: enforced under On, only reported under DetectOnly. */
static pg_verdict pg_reject(const pg_policy *policy, pg_reason reason,
                            int status)
{
    pg_verdict v;

    v.reason = reason;
    v.status = status;
    v.action = policy->mode == PG_MODE_DETECT_ONLY ? PG_ACTION_DETECT
                                                   : PG_ACTION_DENY;
    return v;
}

static pg_verdict pg_detect(pg_reason reason)
{
    pg_verdict v;

    v.reason = reason;
    v.action = PG_ACTION_DETECT;
    v.status = 0;
    return v;
}

pg_verdict pg_decide(const pg_request *req, const pg_policy *policy)
{
    static const pg_verdict pass = { PG_REASON_NONE, PG_ACTION_PASS, 0 };
    pg_absolute_uri abs;

    if (policy->mode == PG_MODE_OFF) {
        return pass;
    }
    if (pg_is_connect(req->method)) {
        if (!req->proxy_client) {
            return pg_reject(policy, PG_REASON_CONNECT, 405);
        }
        /* before mod_proxy_connect opens anything */
        if (!pg_port_allowed(policy, pg_connect_port(req->uri))) {
            return pg_reject(policy, PG_REASON_CONNECT_PORT, 403);
        }
        return pass;
    }
    if (pg_parse_absolute_uri(req->uri, &abs)) {
        /* RFC 9112 3.2.2: the URI's host wins over the Host header */
        if (!pg_absolute_names_us(&abs, req, policy)) {
            /* a proxy client using us as its forward proxy, proxy
             * headers and all: that is what it is allowed to do */
            return req->proxy_client ? pass
                                     : pg_reject(policy, PG_REASON_ABSOLUTE_URI, 403);
        }
    }
    else if (!pg_is_asterisk_form(req->uri) && pg_has_host(req->host)
             && policy->unknown_host != PG_UNKNOWN_ALLOW
             && !pg_host_header_names_us(req, policy)) {
        if (policy->unknown_host == PG_UNKNOWN_DENY) {
            return pg_reject(policy, PG_REASON_UNKNOWN_HOST, 403);
        }
        return pg_detect(PG_REASON_UNKNOWN_HOST);
    }
    if (req->has_proxy_header && !req->proxy_client) {
        return pg_detect(PG_REASON_PROXY_HEADER);
    }
    return pass;
}

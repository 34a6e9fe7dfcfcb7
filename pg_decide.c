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
 * A decision must hold under every reader that acts on the same bytes:
 * httpd's URI parse and vhost selection (which host it routes on), mod_proxy's
 * proxy_detect (whether it forwards the request) and its scheme handlers' own
 * reading of the authority (where it connects).  So the absolute-form parser
 * accepts only authorities that every one of them must read alike, the host
 * checked is the one httpd routes on, and where mod_proxy has claimed a
 * request, its claim decides.  docs/decision.md states the rule; the fuzzer
 * (t/fuzz/) checks it against apr_uri_parse and a model of mod_proxy's
 * ap_proxy_canon_netloc.
 */

#include <string.h>
#include <arpa/inet.h>

#include "pg_decide.h"

static const char *const pg_reason_names[PG_REASON_COUNT] = {
    "none", "connect", "absolute-uri", "unknown-host", "proxy-header",
    "connect-port", "proxy-port", "banned", "proxy-scheme",
    "dynamic-backend"
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
        if (pg_lower((unsigned char)a.ptr[i])
            != pg_lower((unsigned char)b[i])) {
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

int pg_parse_uint(const char *s, size_t len, unsigned long max,
                  unsigned long *out)
{
    unsigned long value = 0;
    size_t i;

    if (s == NULL || len == 0) {
        return 0;
    }
    for (i = 0; i < len; i++) {
        unsigned long digit = (unsigned long)(s[i] - '0');

        /* digit > max first: max - digit must not wrap */
        if (!pg_is_digit((unsigned char)s[i]) || digit > max
            || value > (max - digit) / 10) {
            return 0;
        }
        value = value * 10 + digit;
    }
    *out = value;
    return 1;
}

/* Port digits as found after a ':'.  Empty is "no port" (apr: scheme
 * default).  Anything but digits with a value from 1 to 65535 is malformed:
 * port 0 is no port anybody can connect to, and apr_parse_addr_port refuses
 * it where apr_uri_parse takes it. */
static int pg_parse_port(const char *p, size_t len, unsigned *port)
{
    unsigned long value = 0;

    *port = 0;
    if (len == 0) {
        return 1;
    }
    if (!pg_parse_uint(p, len, 65535, &value)) {
        return 0;
    }
    *port = (unsigned)value;
    return value != 0;
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

int pg_ip_fold(int family, unsigned char bytes[16])
{
    static const unsigned char mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
                                              0xff, 0xff };

    if (family == 6 && memcmp(bytes, mapped, sizeof(mapped)) == 0) {
        memmove(bytes, bytes + 12, 4);
        memset(bytes + 4, 0, 12);
        return 4;
    }
    return family;
}

int pg_ip_parse(pg_span text, unsigned char bytes[16])
{
    memset(bytes, 0, 16);
    if (text.ptr == NULL) {
        return 0;
    }
    if (pg_parse_ip(AF_INET, text.ptr, text.len, bytes)) {
        return 4;
    }
    if (pg_parse_ip(AF_INET6, text.ptr, text.len, bytes)) {
        return pg_ip_fold(6, bytes);
    }
    return 0;
}

/* A byte of a host name in an authority that every reader reads alike. */
static int pg_is_host_byte(unsigned char c)
{
    return pg_is_alpha(c) || pg_is_digit(c) || c == '-' || c == '.'
           || c == '_';
}

/* The authority of an absolute URI, strictly (see pg_decide.h): a host of
 * host bytes or a valid bracketed IPv6 literal, then an optional ":port",
 * then nothing.  Whatever else would be read differently by apr_uri_parse
 * (which ends the authority at '?' or '#' and takes userinfo up to the last
 * '@') and ap_proxy_canon_netloc (which reads up to the first '/' and
 * splits host and port with apr_parse_addr_port). */
static int pg_parse_strict_authority(const char *p, size_t len,
                                     pg_absolute_uri *out)
{
    unsigned char addr[16];
    size_t i = 0;

    if (len > 0 && p[0] == '[') {
        const char *close = memchr(p, ']', len);

        if (close == NULL
            || !pg_parse_ip(AF_INET6, p + 1, (size_t)(close - p) - 1, addr)) {
            return 0;
        }
        out->host.ptr = p + 1;
        out->host.len = (size_t)(close - p) - 1;
        i = (size_t)(close - p) + 1;
    }
    else {
        int digits_only = 1;

        while (i < len && pg_is_host_byte((unsigned char)p[i])) {
            digits_only &= pg_is_digit((unsigned char)p[i]);
            i++;
        }
        out->host.ptr = p;
        out->host.len = i;
        if (digits_only) {
            return 0;   /* apr_parse_addr_port reads digits alone as a port */
        }
    }
    if (out->host.len == 0) {
        return 0;
    }
    if (i == len) {
        return 1;
    }
    if (p[i] != ':' || i + 1 == len) {
        return 0;       /* '@', '?', '#', '\\', '%', ...; or an empty port */
    }
    out->has_port = 1;
    return pg_parse_port(p + i + 1, len - i - 1, &out->port);
}

int pg_parse_absolute_uri(pg_span uri, pg_absolute_uri *out)
{
    const char *p = uri.ptr;
    size_t n = uri.len;
    size_t i = 0;
    size_t start, end;

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
    i++;
    if (n - i < 2 || p[i] != '/' || p[i + 1] != '/') {
        return 1;               /* "http:foo": absolute, without authority */
    }
    /* mod_proxy's reading ends the authority at the first '/' only; a '?'
     * or '#' before it, where apr_uri_parse ends it, makes it invalid */
    start = i + 2;
    end = start;
    while (end < n && p[end] != '/') {
        end++;
    }
    out->valid = pg_parse_strict_authority(p + start, end - start, out);
    if (!out->valid) {
        out->has_port = 0;
        out->port = 0;
    }
    return 1;
}

typedef struct pg_scheme_default {
    const char *name;
    size_t len;
    unsigned port;
} pg_scheme_default;

/* The schemes mod_proxy has a handler for: the index in this list is the
 * scheme's bit for ProxyGuardProxySchemes. */
static const pg_scheme_default pg_schemes[] = {
    { "http", 4, 80 }, { "https", 5, 443 }, { "ws", 2, 80 },
    { "wss", 3, 443 }, { "h2c", 3, 80 }, { "h2", 2, 443 },
    { "ftp", 3, 21 }, { "fcgi", 4, 8000 }, { "scgi", 4, 4000 },
    { "uwsgi", 5, 3031 }, { "ajp", 3, 8009 }
};
#define PG_N_SCHEMES (sizeof(pg_schemes) / sizeof(pg_schemes[0]))

static const pg_scheme_default *pg_scheme_of(pg_span scheme, unsigned *bit)
{
    size_t i;

    for (i = 0; i < PG_N_SCHEMES; i++) {
        if (pg_span_eq_nocase(scheme, pg_schemes[i].name,
                              pg_schemes[i].len)) {
            *bit = 1u << i;
            return &pg_schemes[i];
        }
    }
    *bit = 0;
    return NULL;
}

unsigned pg_scheme_port(pg_span scheme)
{
    unsigned bit;
    const pg_scheme_default *d = pg_scheme_of(scheme, &bit);

    return d ? d->port : 0;
}

unsigned pg_scheme_bit(pg_span scheme)
{
    unsigned bit;

    pg_scheme_of(scheme, &bit);
    return bit;
}

unsigned pg_default_proxy_schemes(void)
{
    return 0xfu;                /* http https ws wss: the first four */
}

int pg_port_in(const pg_port_range *ranges, size_t n, unsigned port)
{
    size_t i;

    for (i = 0; port != 0 && i < n; i++) {
        if (port >= ranges[i].lo && port <= ranges[i].hi) {
            return 1;
        }
    }
    return 0;
}

/* A port number in a directive: 1 to 65535, digits only. */
static const char *pg_parse_config_port(const char *s, size_t len,
                                        unsigned *port)
{
    if (len == 0 || !pg_parse_port(s, len, port)) {
        return "not a port from 1 to 65535";
    }
    return NULL;
}

const char *pg_port_range_parse(const char *arg, pg_port_range *out)
{
    const char *dash = arg ? strchr(arg, '-') : NULL;
    const char *err;

    out->lo = out->hi = 0;
    if (arg == NULL || *arg == '\0') {
        return "empty";
    }
    if (dash == NULL) {
        err = pg_parse_config_port(arg, strlen(arg), &out->lo);
        out->hi = out->lo;
        return err;
    }
    if ((err = pg_parse_config_port(arg, (size_t)(dash - arg), &out->lo))
        || (err = pg_parse_config_port(dash + 1, strlen(dash + 1), &out->hi))) {
        return "not a port (1-65535) or a range of ports (low-high)";
    }
    if (out->lo > out->hi) {
        return "a range whose low end is above its high end";
    }
    return NULL;
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
        if (pg_lower((unsigned char)host.ptr[i])
            != (unsigned char)canon.ptr[i]) {
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

const char *pg_hostpat_parse(const char *arg, pg_hostpat *out)
{
    size_t len = arg ? strlen(arg) : 0;
    size_t i;

    memset(out, 0, sizeof(*out));
    if (len == 0) {
        return "empty host name";
    }
    if (strchr(arg, '/') || strchr(arg, '@')) {
        return "not a host name: give the name alone, without scheme, "
               "userinfo or path (www.example.com, *.example.com, an IP "
               "address)";
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

/* A name of the vhost serving the request, or ProxyGuardAllowHost. */
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

int pg_ip_same(pg_span a, pg_span b)
{
    unsigned char x[16], y[16];
    int family = pg_ip_parse(a, x);

    return family && family == pg_ip_parse(b, y)
           && memcmp(x, y, family == 4 ? 4 : 16) == 0;
}

/* The address the connection arrived on: RFC 9112 3.2.2, a server
 * recognises its own numeric address. */
static int pg_is_own_address(const pg_request *req, pg_span host)
{
    return pg_ip_same(host, req->local_addr);
}

/* Does an absolute URI name this server?  Its host must be a name of the
 * vhost serving the request (or an AllowHost, or our own address), and a
 * port, when given, the port the request arrived on or the vhost's
 * ServerName port: a name of ours at another port is a request to
 * somewhere else. */
static int pg_absolute_names_us(const pg_absolute_uri *abs,
                                const pg_request *req, const pg_policy *policy)
{
    if (abs->has_port && abs->port != req->local_port
        && abs->port != req->server_port) {
        return 0;
    }
    return pg_is_ours(policy, abs->host) || pg_is_own_address(req, abs->host);
}

/* httpd routes an absolute-form request on the URI's host only when its
 * scheme is the connection's (protocol.c, ap_parse_uri); otherwise on the
 * Host header, like an origin-form request. */
static int pg_routes_on_uri(const pg_absolute_uri *abs, const pg_request *req)
{
    return req->tls ? pg_span_eq_nocase(abs->scheme, "https", 5)
                    : pg_span_eq_nocase(abs->scheme, "http", 4);
}

static int pg_is_connect(pg_span method)
{
    return method.ptr != NULL && method.len == 7
           && memcmp(method.ptr, "CONNECT", 7) == 0;
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

/* The name in the Host header, for the unknown-host check: ptr NULL when
 * there is no Host; empty when it is malformed (it names nothing of ours). */
static pg_span pg_host_header_name(pg_span host)
{
    pg_span name = { NULL, 0 };

    if (pg_has_host(host) && !pg_parse_host_header(host, &name)) {
        name.ptr = host.ptr;
        name.len = 0;
    }
    return name;
}

/* A hit that rejects: enforced under On, only reported under DetectOnly. */
static pg_decision pg_reject(const pg_policy *policy, pg_reason reason,
                            int status)
{
    pg_decision v;

    v.reason = reason;
    v.status = status;
    v.action = policy->mode == PG_MODE_DETECT_ONLY ? PG_ACTION_DETECT
                                                   : PG_ACTION_DENY;
    return v;
}

static pg_decision pg_detect(pg_reason reason)
{
    pg_decision v;

    v.reason = reason;
    v.action = PG_ACTION_DETECT;
    v.status = 0;
    return v;
}

static const pg_decision pg_pass = { PG_REASON_NONE, PG_ACTION_PASS, 0 };

/* CONNECT: only proxy clients, and only to their ports (checked before
 * mod_proxy_connect opens anything). */
static pg_decision pg_decide_connect(const pg_request *req,
                                    const pg_policy *policy)
{
    if (!req->proxy_client) {
        return pg_reject(policy, PG_REASON_CONNECT, 405);
    }
    if (!pg_port_in(policy->connect_ports, policy->n_connect_ports,
                    pg_connect_port(req->uri))) {
        return pg_reject(policy, PG_REASON_CONNECT_PORT, 403);
    }
    return pg_pass;
}

/* A forward-proxy request of a client allowed to make them: the port
 * policy, on the port mod_proxy will connect to, then the scheme policy,
 * which keeps out the handlers that open connections of their own
 * (mod_proxy_ftp's data connection). */
static pg_decision pg_decide_proxied(const pg_policy *policy,
                                     const pg_absolute_uri *abs)
{
    unsigned port = abs->has_port ? abs->port : pg_scheme_port(abs->scheme);

    if (!pg_port_in(policy->proxy_ports, policy->n_proxy_ports, port)) {
        return pg_reject(policy, PG_REASON_PROXY_PORT, 403);
    }
    if (!(pg_scheme_bit(abs->scheme) & policy->proxy_schemes)) {
        return pg_reject(policy, PG_REASON_PROXY_SCHEME, 403);
    }
    return pg_pass;
}

/* An absolute-form request.  Returns a hit, or pass with *proxied set when
 * a proxy client uses us as its proxy (nothing more to check), or pass
 * with *routed set to the host httpd routes on (NULL ptr: none). */
static pg_decision pg_decide_absolute(const pg_request *req,
                                     const pg_policy *policy,
                                     const pg_absolute_uri *abs,
                                     int *proxied, pg_span *routed)
{
    int names_us;

    /* readers could disagree on the host: nobody's request, proxy
     * clients' included, is worth that */
    if (!abs->valid) {
        return pg_reject(policy, PG_REASON_ABSOLUTE_URI, 403);
    }
    names_us = pg_absolute_names_us(abs, req, policy);
    if (req->proxy_client && (req->proxy_claimed || !names_us)) {
        *proxied = 1;
        return pg_decide_proxied(policy, abs);
    }
    /* mod_proxy's claim decides: it would connect wherever the URI says,
     * even to a name of ours at a port it does not take for ours */
    if (req->proxy_claimed || !names_us) {
        return pg_reject(policy, PG_REASON_ABSOLUTE_URI, 403);
    }
    *routed = pg_routes_on_uri(abs, req) ? pg_strip_trailing_dot(abs->host)
                                         : pg_host_header_name(req->host);
    return pg_pass;
}

pg_decision pg_decide_banned(const pg_policy *policy)
{
    return pg_reject(policy, PG_REASON_BANNED, 403);
}

pg_decision pg_decide_dynamic_backend(const pg_policy *policy)
{
    if (policy->mode == PG_MODE_OFF) {
        return pg_pass;
    }
    return pg_reject(policy, PG_REASON_DYNAMIC_BACKEND, 403);
}

pg_decision pg_decide(const pg_request *req, const pg_policy *policy)
{
    pg_absolute_uri abs;
    pg_span routed = { NULL, 0 };
    int proxied = 0;

    if (policy->mode == PG_MODE_OFF) {
        return pg_pass;
    }
    if (pg_is_connect(req->method)) {
        return pg_decide_connect(req, policy);
    }
    if (pg_parse_absolute_uri(req->uri, &abs)) {
        pg_decision v = pg_decide_absolute(req, policy, &abs, &proxied,
                                           &routed);

        if (v.reason != PG_REASON_NONE || proxied) {
            return v;
        }
    }
    else if (!pg_is_asterisk_form(req->uri)) {
        routed = pg_host_header_name(req->host);
    }
    /* the host httpd routes on must name the vhost it routed to */
    if (routed.ptr != NULL && policy->unknown_host != PG_UNKNOWN_ALLOW
        && !pg_is_ours(policy, routed)) {
        if (policy->unknown_host == PG_UNKNOWN_DENY) {
            return pg_reject(policy, PG_REASON_UNKNOWN_HOST, 403);
        }
        return pg_detect(PG_REASON_UNKNOWN_HOST);
    }
    if (req->has_proxy_header && !req->proxy_client) {
        return pg_detect(PG_REASON_PROXY_HEADER);
    }
    return pg_pass;
}

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
 * pg_backend.c: reading proxy targets and backend URLs, and the
 * ProxyGuardDynamicBackends list (pg_backend.h).
 */

#include <string.h>

#include "pg_backend.h"

static unsigned char pg_lower_byte(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') ? (unsigned char)(c + ('a' - 'A')) : c;
}

/* Where a byte that only a substitution writes appears: mod_proxy's $N,
 * mod_rewrite's $N, %N, %{VAR} and ${map:key}, ProxyPass interpolate's
 * ${VAR}.  None of them can be part of a literal host name or port. */
static int pg_has_substitution(const char *p, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++) {
        if (p[i] == '$' || p[i] == '%' || p[i] == '{' || p[i] == '}') {
            return 1;
        }
    }
    return 0;
}

/* A "unix:/path|" prefix (mod_proxy's Unix-socket backends) passed over. */
static pg_span pg_skip_unix_socket(pg_span url)
{
    size_t i;

    if (url.len < 5 || memcmp(url.ptr, "unix:", 5) != 0) {
        return url;
    }
    for (i = 5; i < url.len; i++) {
        if (url.ptr[i] == '|') {
            url.ptr += i + 1;
            url.len -= i + 1;
            return url;
        }
    }
    return url;
}

/* The offset of "://" in s, or s.len when there is none. */
static size_t pg_find_authority_mark(pg_span s)
{
    size_t i;

    for (i = 0; i + 2 < s.len; i++) {
        if (s.ptr[i] == ':' && s.ptr[i + 1] == '/' && s.ptr[i + 2] == '/') {
            return i;
        }
    }
    return s.len;
}

size_t pg_backend_prefix_len(pg_span url)
{
    size_t mark = pg_find_authority_mark(url);
    size_t end;

    if (url.ptr == NULL || mark == url.len) {
        return 0;
    }
    for (end = mark + 3; end < url.len && url.ptr[end] != '/'; end++) {
    }
    return end;
}

pg_target_kind pg_target_kind_of(pg_span target)
{
    pg_span t = pg_skip_unix_socket(target);
    size_t mark = pg_find_authority_mark(t);
    size_t end;

    if (t.ptr == NULL) {
        return PG_TARGET_NONE;
    }
    if (mark == t.len) {
        /* "$1" or "%{VAR}" alone may be a whole URL */
        return pg_has_substitution(t.ptr, t.len) ? PG_TARGET_FROM_REQUEST
                                                 : PG_TARGET_NONE;
    }
    for (end = mark + 3; end < t.len && t.ptr[end] != '/'; end++) {
    }
    return pg_has_substitution(t.ptr, end) ? PG_TARGET_FROM_REQUEST
                                           : PG_TARGET_FIXED;
}

int pg_backend_of(pg_span url, pg_backend *out)
{
    pg_absolute_uri abs;
    pg_span u = pg_skip_unix_socket(url);

    memset(out, 0, sizeof(*out));
    if (u.ptr == NULL || !pg_parse_absolute_uri(u, &abs) || !abs.valid
        || abs.host.len == 0) {
        return 0;
    }
    out->scheme = abs.scheme;
    out->host = abs.host;
    out->port = abs.has_port ? abs.port : pg_scheme_port(abs.scheme);
    return out->port != 0;
}

/* Appends the decimal port to out at *at; 0 when it does not fit. */
static int pg_put_port(char *out, size_t size, size_t *at, unsigned port)
{
    char digits[5];
    size_t n = 0;

    do {
        digits[n++] = (char)('0' + port % 10);
        port /= 10;
    } while (port != 0 && n < sizeof(digits));
    if (*at + n + 1 > size) {
        return 0;
    }
    while (n > 0) {
        out[(*at)++] = digits[--n];
    }
    return 1;
}

size_t pg_backend_key(const pg_backend *b, char *out, size_t size)
{
    int v6 = memchr(b->host.ptr, ':', b->host.len) != NULL;
    size_t at = 0;
    size_t i;

    /* host, two brackets, ':', five digits, NUL */
    if (size < b->host.len + 9) {
        return 0;
    }
    if (v6) {
        out[at++] = '[';
    }
    for (i = 0; i < b->host.len; i++) {
        out[at++] = (char)pg_lower_byte((unsigned char)b->host.ptr[i]);
    }
    if (v6) {
        out[at++] = ']';
    }
    out[at++] = ':';
    if (!pg_put_port(out, size, &at, b->port)) {
        return 0;
    }
    out[at] = '\0';
    return at;
}

int pg_backend_listed(const pg_backend_pat *pats, size_t n,
                      const pg_backend *b)
{
    size_t i;

    for (i = 0; i < n; i++) {
        unsigned port = pats[i].port ? pats[i].port
                                     : pg_scheme_port(b->scheme);

        if (port == b->port && pg_hostpat_matches(&pats[i].host, b->host)) {
            return 1;
        }
    }
    return 0;
}

/* Where the host ends and a ":port" starts in a pattern: after "]" for a
 * bracketed address, at the only ':' for a name or IPv4 address; an
 * unbracketed IPv6 address (two ':' or more) has no port. */
static size_t pg_pat_host_len(const char *arg, size_t len)
{
    const char *colon = memchr(arg, ':', len);
    const char *close;

    if (arg[0] == '[') {
        close = memchr(arg, ']', len);
        return close ? (size_t)(close - arg) + 1 : len;
    }
    if (colon && memchr(colon + 1, ':', len - (size_t)(colon - arg) - 1)) {
        return len;
    }
    return colon ? (size_t)(colon - arg) : len;
}

const char *pg_backend_pat_parse(const char *arg, pg_backend_pat *out)
{
    char host[PG_HOSTNAME_MAX + 4];
    size_t len = arg ? strlen(arg) : 0;
    size_t host_len;
    unsigned long port;
    const char *err;

    memset(out, 0, sizeof(*out));
    if (len == 0) {
        return "empty";
    }
    host_len = pg_pat_host_len(arg, len);
    if (host_len >= sizeof(host)) {
        return "too long for a host name";
    }
    memcpy(host, arg, host_len);
    host[host_len] = '\0';
    if ((err = pg_hostpat_parse(host, &out->host)) != NULL) {
        return err;
    }
    if (host_len == len) {
        return NULL;
    }
    if (arg[host_len] != ':'
        || !pg_parse_uint(arg + host_len + 1, len - host_len - 1, 65535,
                          &port)
        || port == 0) {
        return "not host[:port] with a port from 1 to 65535";
    }
    out->port = (unsigned)port;
    return NULL;
}

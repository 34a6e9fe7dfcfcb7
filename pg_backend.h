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
 * pg_backend.h: the backends of reverse-proxy rules.
 *
 * A ProxyPassMatch or RewriteRule [P] whose target's authority is a
 * substitution ("http://$1/$2", "http://%{HTTP_HOST}/") takes the host and
 * port it connects to from the request: a stranger's origin-form request
 * then reaches any host and port.  The module checks, where mod_proxy has
 * the URL it will connect to (its scheme_handler hook,
 * mod_proxyguard_backend.c), that the backend is one the configuration
 * names literally or one ProxyGuardDynamicBackends lists.  This file is
 * the part that needs no httpd: reading targets and URLs, and the list.
 * Plain C99 and libc, like pg_decide.h.
 */

#ifndef PG_BACKEND_H
#define PG_BACKEND_H

#include "pg_decide.h"

/* One ProxyGuardDynamicBackends entry: a host pattern (as
 * ProxyGuardAllowHost: a name, *.suffix, an address) and a port. */
typedef struct pg_backend_pat {
    pg_hostpat host;
    unsigned port;              /* 0: the URL scheme's default port only */
} pg_backend_pat;

/* Parses "name", "*.example.com", "192.0.2.1", "[2001:db8::1]", each with
 * an optional ":port".  Returns NULL on success or a static string saying
 * what is wrong. */
const char *pg_backend_pat_parse(const char *arg, pg_backend_pat *out);

/* The backend a proxy URL connects to. */
typedef struct pg_backend {
    pg_span scheme;
    pg_span host;               /* without brackets */
    unsigned port;              /* the scheme's default when none is given */
} pg_backend;

/* Reads the backend of url ("http://host:port/path"; a leading
 * "unix:/path|" is passed over: the scheme and authority after it are
 * what mod_proxy names the backend by).  Returns 1, or 0 when url has no
 * authority that pg_parse_absolute_uri takes as valid or a scheme mod_proxy
 * has no handler for (balancer:// among them). */
int pg_backend_of(pg_span url, pg_backend *out);

/* The backend as a key, "name:port" or "[v6]:port", lower case, written
 * to out (size bytes, NUL-terminated).  Returns its length, 0 when it does
 * not fit. */
size_t pg_backend_key(const pg_backend *b, char *out, size_t size);

/* Does one of the patterns list the backend (host pattern matches, and
 * the port is the pattern's, or the scheme's default for a pattern
 * without one)? */
int pg_backend_listed(const pg_backend_pat *pats, size_t n,
                      const pg_backend *b);

/* The length of url's "scheme://authority" (up to the first '/' after
 * "://", or the end), 0 when it has no "://".  Two URLs with the same such
 * prefix name the same backend: what a memo of a decided backend keys on. */
size_t pg_backend_prefix_len(pg_span url);

/* What the target of a proxy rule says of its backend. */
typedef enum pg_target_kind {
    PG_TARGET_NONE = 0,         /* no backend ("!", a local path) */
    PG_TARGET_FIXED,            /* a literal scheme and authority */
    PG_TARGET_FROM_REQUEST      /* the scheme or authority holds a
                                 * substitution: $N, %N, %{VAR}, ${map} */
} pg_target_kind;

pg_target_kind pg_target_kind_of(pg_span target);

#endif /* PG_BACKEND_H */

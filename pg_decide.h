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
 * pg_decide.h: the request decision of mod_proxyguard.
 *
 * Plain C99 and libc only: no httpd or APR headers, no allocation, no
 * global state.  The httpd glue (mod_proxyguard.c), the unit tests and the
 * fuzzer all link this same code.  Every input is attacker-controlled and
 * is passed as pointer + length, so embedded NUL bytes cannot hide the rest
 * of a field.
 */

#ifndef PG_DECIDE_H
#define PG_DECIDE_H

#include <stddef.h>

/* A byte range inside somebody else's buffer.  ptr == NULL means "absent",
 * which is different from present-but-empty (ptr != NULL, len == 0). */
typedef struct pg_span {
    const char *ptr;
    size_t len;
} pg_span;

/* Why a request is a hit.  The names (pg_reason_name) are a contract: they
 * appear in logs, in the PROXYGUARD variable and, later, on the status page. */
typedef enum pg_reason {
    PG_REASON_NONE = 0,
    PG_REASON_CONNECT,          /* CONNECT method, any target */
    PG_REASON_ABSOLUTE_URI,     /* absolute-form request-URI for a foreign host */
    PG_REASON_UNKNOWN_HOST,     /* origin-form, Host names none of our vhosts */
    PG_REASON_PROXY_HEADER,     /* Proxy-Connection / Proxy-Authorization sent */
    PG_REASON_CONNECT_PORT,     /* a proxy client's CONNECT to a port not allowed */
    PG_REASON_PROXY_PORT,       /* a proxy client's absolute URI, port not allowed */
    PG_REASON_BANNED,           /* any request from a banned address */
    PG_REASON_COUNT
} pg_reason;

/* What happens to a hit: DENY changes the response, DETECT only counts and
 * logs it. */
typedef enum pg_action {
    PG_ACTION_PASS = 0,         /* not a hit */
    PG_ACTION_DETECT,
    PG_ACTION_DENY
} pg_action;

/* ProxyGuard On|Off|DetectOnly */
typedef enum pg_mode {
    PG_MODE_OFF = 0,
    PG_MODE_ON,
    PG_MODE_DETECT_ONLY
} pg_mode;

/* ProxyGuardUnknownHost Allow|Detect|Deny */
typedef enum pg_unknown_host {
    PG_UNKNOWN_ALLOW = 0,
    PG_UNKNOWN_DETECT,
    PG_UNKNOWN_DENY
} pg_unknown_host;

/* One ProxyGuardAllowHost entry, parsed once at configuration time. */
typedef enum pg_hostpat_kind {
    PG_HOSTPAT_NAME = 0,        /* exact name, case-insensitive */
    PG_HOSTPAT_SUFFIX,          /* "*.example.com": any name under it */
    PG_HOSTPAT_IPV4,
    PG_HOSTPAT_IPV6
} pg_hostpat_kind;

#define PG_HOSTNAME_MAX 253     /* longest DNS name, without trailing dot */

typedef struct pg_hostpat {
    pg_hostpat_kind kind;
    size_t len;                         /* NAME: name; SUFFIX: ".example.com" */
    char name[PG_HOSTNAME_MAX + 2];     /* lower case, no trailing dot */
    unsigned char addr[16];             /* IPV4: 4 bytes, IPV6: 16 bytes */
} pg_hostpat;

/* Asks the caller whether a host name (brackets, port and trailing dot
 * already removed) is a name of one of the vhosts serving this connection. */
typedef int pg_own_host_fn(void *baton, pg_span host);

typedef struct pg_policy {
    pg_mode mode;
    pg_unknown_host unknown_host;
    const pg_hostpat *allow;            /* ProxyGuardAllowHost */
    size_t n_allow;
    const unsigned *connect_ports;      /* ProxyGuardConnectPorts */
    size_t n_connect_ports;
    pg_own_host_fn *is_own_host;        /* may be NULL: nothing is ours */
    void *baton;
} pg_policy;

typedef struct pg_request {
    pg_span method;
    pg_span uri;                /* request-target exactly as received */
    pg_span host;               /* Host header; ptr NULL when absent */
    int has_proxy_header;       /* Proxy-Connection or Proxy-Authorization */
    int proxy_client;           /* in ProxyGuardProxyClients */
    unsigned local_port;        /* port the request arrived on */
    unsigned server_port;       /* port of the vhost's ServerName, 0 if none */
} pg_request;

typedef struct pg_verdict {
    pg_reason reason;
    pg_action action;
    /* The status that rejects this hit (403/405), also under DetectOnly,
     * where it is what *would* have been sent; 0 for pass-and-count hits. */
    int status;
} pg_verdict;

/* The decision: pure, total (defined for every input) and allocation-free. */
pg_verdict pg_decide(const pg_request *req, const pg_policy *policy);

const char *pg_reason_name(pg_reason reason);
const char *pg_action_name(pg_action action);

/* The pieces of a request-target in absolute form, as apr_uri_parse (and so
 * httpd and mod_proxy) see them: the host is what follows the last '@' of
 * the authority, IPv6 literals lose their brackets. */
typedef struct pg_absolute_uri {
    pg_span scheme;
    pg_span host;               /* empty when there is no authority */
    unsigned port;              /* 0 when absent or empty */
    int valid;                  /* 0: malformed authority or port */
} pg_absolute_uri;

/* Returns 1 and fills *out when uri is in absolute form (scheme ":"),
 * 0 for origin-form, asterisk-form and anything else. */
int pg_parse_absolute_uri(pg_span uri, pg_absolute_uri *out);

/* The port of a CONNECT target (authority-form "host:port", "[v6]:port"),
 * 0 when there is none or it is malformed. */
unsigned pg_connect_port(pg_span target);

/* Extracts the name from a Host header value ("name", "name:port",
 * "[v6]:port"), trailing dot removed.  Returns 0 when malformed. */
int pg_parse_host_header(pg_span value, pg_span *name);

/* Is host the configured name (a ServerName, an exact ServerAlias, the
 * name of a <VirtualHost>)?  Case-insensitive; a trailing dot on either side
 * and brackets around an IPv6 literal are ignored.  No wildcards: the
 * "*" of <VirtualHost *:80> is an address, not a pattern. */
int pg_name_equals(const char *name, pg_span host);

/* A configured name made ready for pg_name_is: lower case, without
 * brackets or a trailing dot, written to out (size bytes, NUL-terminated).
 * Returns its length; 0 when it is empty or does not fit. */
size_t pg_name_canon(const char *name, char *out, size_t size);

/* pg_name_equals for a name already through pg_name_canon: what the
 * request path uses, so that the configured side costs nothing per
 * request. */
int pg_name_is(pg_span canon, pg_span host);

/* Does host match a wildcard ServerAlias ('*' and '?', as httpd's
 * ap_strcasecmp_match)?  Same normalisation as pg_name_equals. */
int pg_name_matches(const char *pattern, pg_span host);

/* Parses one ProxyGuardAllowHost argument.  Returns NULL on success or a
 * static string saying what is wrong with it. */
const char *pg_hostpat_parse(const char *arg, pg_hostpat *out);

int pg_hostpat_matches(const pg_hostpat *pat, pg_span host);

#endif /* PG_DECIDE_H */

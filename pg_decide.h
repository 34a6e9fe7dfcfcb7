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
    PG_REASON_ABSOLUTE_URI,     /* absolute-form URI for a foreign host */
    PG_REASON_UNKNOWN_HOST,     /* origin-form, Host names none of ours */
    PG_REASON_PROXY_HEADER,     /* Proxy-Connection or -Authorization */
    PG_REASON_CONNECT_PORT,     /* a proxy client's CONNECT, port refused */
    PG_REASON_PROXY_PORT,       /* a proxy client's absolute URI, port
                                 * refused */
    PG_REASON_BANNED,           /* any request from a banned address */
    PG_REASON_PROXY_SCHEME,     /* a proxy client's absolute URI, scheme
                                 * not in ProxyGuardProxySchemes */
    PG_REASON_DYNAMIC_BACKEND,  /* a reverse-proxy backend taken from the
                                 * request, not in ProxyGuardDynamicBackends
                                 * (decided in mod_proxy's scheme_handler
                                 * hook, pg_backend.h) */
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
 * already removed) names the vhost that serves this request: in httpd, the
 * vhost httpd selected (r->server), whose ServerName, ServerAlias and
 * <VirtualHost> names httpd has just compared with the host it routed on.
 * For the host httpd routed on, that is the same as "any vhost on this
 * address and port" (httpd would have picked a matching one); for another
 * host (an absolute URI whose scheme is not the connection's, which httpd
 * routes on the Host header) it is stricter, as it must be. */
typedef int pg_own_host_fn(void *baton, pg_span host);

/* A port or a range of ports (lo == hi for one port). */
typedef struct pg_port_range {
    unsigned lo;
    unsigned hi;
} pg_port_range;

typedef struct pg_policy {
    pg_mode mode;
    pg_unknown_host unknown_host;
    const pg_hostpat *allow;            /* ProxyGuardAllowHost */
    size_t n_allow;
    const pg_port_range *connect_ports; /* ProxyGuardConnectPorts */
    size_t n_connect_ports;
    const pg_port_range *proxy_ports;   /* ProxyGuardProxyPorts */
    size_t n_proxy_ports;
    unsigned proxy_schemes;             /* ProxyGuardProxySchemes: bits of
                                         * pg_scheme_bit */
    pg_own_host_fn *is_own_host;        /* may be NULL: nothing is ours */
    void *baton;
} pg_policy;

typedef struct pg_request {
    pg_span method;
    pg_span uri;                /* request-target exactly as received */
    pg_span host;               /* Host header; ptr NULL when absent */
    int has_proxy_header;       /* Proxy-Connection or Proxy-Authorization */
    int proxy_client;           /* in ProxyGuardProxyClients */
    /* mod_proxy's proxy_detect took the request as a forward-proxy request
     * (r->proxyreq == PROXYREQ_PROXY): it will connect where the URI says */
    int proxy_claimed;
    int tls;                    /* the connection's scheme is https */
    pg_span local_addr;         /* address it arrived on (text), or none */
    unsigned local_port;        /* port it arrived on */
    unsigned server_port;       /* port of the vhost's ServerName, 0 if none */
} pg_request;

typedef struct pg_decision {
    pg_reason reason;
    pg_action action;
    /* The status that rejects this hit (403/405), also under DetectOnly,
     * where it is what *would* have been sent; 0 for pass-and-count hits. */
    int status;
} pg_decision;

/* The decision: pure, total (defined for every input) and allocation-free.
 *
 * For an origin-form request (the target starts with '/') the decision
 * depends on the method being CONNECT or not, the Host header,
 * has_proxy_header, proxy_client and the policy only: not on the rest of
 * the target, tls, the local address and ports, or proxy_claimed.  The
 * module relies on it to reuse a decision on a kept-alive connection
 * (mod_proxyguard.c, pg_decision_of); the unit tests and the fuzzer check
 * it. */
pg_decision pg_decide(const pg_request *req, const pg_policy *policy);

/* The decision on any request from a banned address (ProxyGuardBan): 403,
 * only reported under DetectOnly. */
pg_decision pg_decide_banned(const pg_policy *policy);

/* The decision on a reverse-proxy backend taken from the request that the
 * configuration does not name (pg_backend.h): 403, only reported under
 * DetectOnly, nothing under Off. */
pg_decision pg_decide_dynamic_backend(const pg_policy *policy);

const char *pg_reason_name(pg_reason reason);
const char *pg_action_name(pg_action action);

/* The pieces of a request-target in absolute form ("scheme://authority...").
 *
 * Two readers act on such a target and must never disagree: httpd
 * (apr_uri_parse: the authority ends at the first '/', '?' or '#', the
 * userinfo at the last '@', the port after the first ':') routes on it, and
 * mod_proxy's scheme handlers (ap_proxy_canon_netloc: the authority ends
 * only at '/', the host follows the last '@', apr_parse_addr_port takes the
 * port) connect to it.  So an authority is valid only where both must read
 * it alike: a host of letters, digits, '-', '.' and '_' or a bracketed IPv6
 * literal (not digits alone, which apr_parse_addr_port takes for a port),
 * then an optional ':' and a port from 1 to 65535, and nothing
 * else up to the first '/' -- no userinfo (RFC 9110 4.2.4 forbids it in
 * http(s) URIs), no '?', '#', '\', '%', '@', space or control byte. */
typedef struct pg_absolute_uri {
    pg_span scheme;
    pg_span host;               /* without brackets; empty when no authority */
    unsigned port;              /* as given; 0 when has_port is 0 */
    int has_port;
    int valid;                  /* 0: no authority, or one the readers could
                                 * read differently */
} pg_absolute_uri;

/* Returns 1 and fills *out when uri is in absolute form (scheme ":"),
 * 0 for origin-form, asterisk-form and anything else. */
int pg_parse_absolute_uri(pg_span uri, pg_absolute_uri *out);

/* The port mod_proxy connects to for a scheme when the URI names none
 * (ap_proxy_port_of_scheme and the scheme handlers: http 80, https 443,
 * ws 80, wss 443, h2c 80, h2 443, ftp 21, fcgi 8000, scgi 4000,
 * uwsgi 3031, ajp 8009); 0 for a scheme it has no handler for. */
unsigned pg_scheme_port(pg_span scheme);

/* The bit of a scheme mod_proxy has a handler for (the list of
 * pg_scheme_port), for ProxyGuardProxySchemes; 0 for any other scheme,
 * which no setting lets a proxy client use. */
unsigned pg_scheme_bit(pg_span scheme);

/* The schemes a proxy client may use when ProxyGuardProxySchemes is not
 * given: http https ws wss.  Not ftp: mod_proxy_ftp opens a second, data
 * connection to whatever address and port the FTP server's PASV or EPSV
 * reply names, which no port policy of ours sees (docs/decision.md). */
unsigned pg_default_proxy_schemes(void);

/* Decimal digits only (no sign, no blank), not empty, at most max: the
 * value in *out and 1; else 0.  Every number read from a request, a
 * directive or the ban store goes through this one. */
int pg_parse_uint(const char *s, size_t len, unsigned long max,
                  unsigned long *out);

/* Is port in one of the ranges? */
int pg_port_in(const pg_port_range *ranges, size_t n, unsigned port);

/* Parses "443" or "1024-65535" (a directive argument).  Returns NULL on
 * success or a static string saying what is wrong. */
const char *pg_port_range_parse(const char *arg, pg_port_range *out);

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

/* An IP address literal ("192.0.2.1", "2001:db8::1", no brackets) into
 * bytes[16]: returns 4 (the address in the first 4 bytes) or 6, 0 when
 * text is no address.  An IPv4-mapped IPv6 address (::ffff:192.0.2.1) is
 * that IPv4 address, as a dual-stack listener sees IPv4 clients. */
int pg_ip_parse(pg_span text, unsigned char bytes[16]);

/* Are a and b the same IP address literal (as pg_ip_parse reads them, an
 * IPv4-mapped address and its IPv4 address alike)?  0 when either is no
 * address. */
int pg_ip_same(pg_span a, pg_span b);

/* The same folding for an address already in binary: returns the family
 * (4 or 6) it is, moving a mapped IPv4 address to the first 4 bytes. */
int pg_ip_fold(int family, unsigned char bytes[16]);

/* Parses one ProxyGuardAllowHost argument.  Returns NULL on success or a
 * static string saying what is wrong with it. */
const char *pg_hostpat_parse(const char *arg, pg_hostpat *out);

int pg_hostpat_matches(const pg_hostpat *pat, pg_span host);

#endif /* PG_DECIDE_H */

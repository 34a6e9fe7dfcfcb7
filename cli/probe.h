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
 * probe.h: the types `proxyguard probe` passes between its parts.
 *
 *   probe.c          options, one run per target, the exit code
 *   probe_net.c      addresses, bounded sockets; waiting pumps the canary
 *   probe_canary.c   the canary: an HTTP and an SMTP-like listener that
 *                    record which probe's token reached them, in whose
 *                    window
 *   probe_mac.c      the canary's proof: a keyed digest the target never
 *                    sees
 *   probe_http.c     reading a reply from a possibly hostile server
 *   probe_matrix.c   the baseline and every probe: what is sent, and how
 *   probe_h2.c       the same over h2c (nghttp2), with --h2c
 *   probe_verdict.c  what each reply proves, and the verdict
 *   probe_guard.c    --status: what mod_proxyguard counted
 *   probe_jread.c    a small, bounded JSON reader for the status page
 *   probe_report.c   the table, the plugin line, --json
 *
 * The rule every part keeps: a probe's destination (the authority of an
 * absolute URI, a CONNECT target) is always the canary, an address this
 * program listens on.  Nothing is sent to any address but the targets and
 * the canary.
 */

#ifndef PG_PROBE_H
#define PG_PROBE_H

#include <sys/socket.h>

#include <apr_pools.h>
#include <apr_time.h>

#define PG_PROBE_MAX      32    /* probes per target */
#define PG_BASELINE_MAX   3
#define PG_SKIPPED_MAX    8
#define PG_TOKEN_SIZE     32
#define PG_ADDR_TEXT      64    /* "[v6 address]:port" and NUL */

/* An address with its length, as connect() and bind() want it. */
typedef struct pg_addr {
    struct sockaddr_storage ss;
    socklen_t len;
} pg_addr;

typedef enum pg_format {
    PG_FORMAT_TABLE = 0,
    PG_FORMAT_PLUGIN,
    PG_FORMAT_JSON
} pg_format;

typedef struct pg_probe_opts {
    const char *canary_host;            /* NULL: the local address */
    unsigned canary_port;               /* 0: any free port */
    const char *source;                 /* bind client sockets here */
    const char *address;                /* connect here, not the URL's host */
    apr_interval_time_t timeout;        /* per probe */
    apr_interval_time_t max_time;       /* the whole run */
    pg_format format;
    int verbose;
    int h2c;
    const char *status_url;
    const char *only;                   /* comma-separated probe names */
} pg_probe_opts;

/* A reply as read, bounded: never more than PG_BODY_MAX body bytes kept. */
typedef struct pg_reply {
    int status;                 /* 0: no HTTP answer */
    const char *status_line;    /* as received: attacker's text */
    const char *content_type;
    const char *head;           /* status line and headers, raw */
    const char *body;           /* decoded (chunked), NUL-terminated copy */
    apr_size_t body_len;
    apr_size_t bytes;           /* every byte received, head included */
    int truncated;              /* more was there; we stopped reading */
    int incomplete;             /* the body ended early or timed out */
    int has_body_framing;       /* Content-Length > 0 or chunked */
    apr_uint64_t hash;          /* FNV-1a 64 of the kept body */
    const char *error;          /* why there is no HTTP answer */
} pg_reply;

/* What the canary saw of one probe. */
typedef enum pg_listener {
    PG_LISTENER_HTTP = 0,
    PG_LISTENER_LINE,           /* greets like SMTP (and FTP): "220 ..." */
    PG_LISTENER_COUNT
} pg_listener;

/* A canary connection belongs to the probe whose window was open when the
 * canary accepted it (probe_canary.c); only such a connection can prove
 * anything about that probe. */
typedef struct pg_evidence {
    int token;                  /* the probe's token reached the canary, on
                                 * a connection accepted in its window */
    pg_listener via;            /* ... on this listener */
    int tls;                    /* a TLS ClientHello arrived in its window */
    int connections;            /* canary connections opened in its window */
    char peer[PG_ADDR_TEXT];    /* who delivered the token */
    char first_line[160];       /* the first line it sent (raw bytes) */
    int stray;                  /* its token came on a connection accepted
                                 * outside its window: never proof */
    int stray_window;           /* ... in that probe's window (-1: none) */
    char stray_peer[PG_ADDR_TEXT];
} pg_evidence;

/* Text in a reply that only the canary should have written, or that the
 * target could only have copied from the request, with no canary evidence
 * behind it: how the target answered, never proof. */
typedef enum pg_echo {
    PG_ECHO_NONE = 0,
    PG_ECHO_TOKEN,              /* the reply repeats the probe's token */
    PG_ECHO_MARKER              /* it imitates the canary's answer */
} pg_echo;

/* What a probe's reply proves (the names are the --json contract). */
typedef enum pg_pv {
    PG_PV_REJECTED = 0,
    PG_PV_LOCAL,
    PG_PV_PROXIED,
    PG_PV_TUNNELED,
    PG_PV_SUSPECT,
    PG_PV_ERROR,
    PG_PV_COUNT
} pg_pv;

typedef enum pg_dest {
    PG_DEST_HTTP = 0,           /* the canary's HTTP listener */
    PG_DEST_LINE                /* the canary's SMTP-like listener */
} pg_dest;

/* How the authority of an absolute-form probe is written.  The host that
 * a proxy connects to is the canary in every form; the other part, where
 * there is one, is the target's own name (what a guard may take for
 * "ours"), never a third party. */
typedef enum pg_auth {
    PG_AUTH_PLAIN = 0,          /* http://CANARY/ */
    PG_AUTH_USERINFO,           /* http://OWN@CANARY/ */
    PG_AUTH_QUERY_AT,           /* http://OWN?@CANARY/ */
    PG_AUTH_FRAGMENT_AT,        /* http://OWN#@CANARY/ */
    PG_AUTH_BACKSLASH_AT,       /* http://OWN\@CANARY/ */
    PG_AUTH_OWN_NAME            /* http://OWN:CANARYPORT/ where OWN resolves
                                 * to the canary address and nothing else */
} pg_auth;

typedef enum pg_host_mode {
    PG_HOST_URI = 0,            /* Host: the URI's authority */
    PG_HOST_TARGET,             /* Host: the target's own name */
    PG_HOST_NONE                /* no Host (HTTP/1.0) */
} pg_host_mode;

typedef enum pg_tunnel {
    PG_TUNNEL_NONE = 0,
    PG_TUNNEL_HTTP,             /* after 2xx: an HTTP request with the token */
    PG_TUNNEL_SMTP              /* after 2xx: the banner back, EHLO token */
} pg_tunnel;

typedef enum pg_transport {
    PG_TRANSPORT_HTTP1 = 0,
    PG_TRANSPORT_H2C
} pg_transport;

/* One entry of the matrix (probe_matrix.c). */
typedef struct pg_probe_def {
    const char *name;
    const char *method;         /* sent exactly so (case included) */
    const char *scheme;         /* NULL for CONNECT */
    pg_dest dest;
    pg_auth auth;
    pg_host_mode host;
    const char *version;        /* "HTTP/1.1", "HTTP/1.0" */
    int leading_crlf;
    int body;                   /* a POST body carrying the token */
    pg_tunnel tunnel;
    pg_transport transport;
    const char *what;           /* one line for --list and the docs */
} pg_probe_def;

typedef struct pg_probe {
    const pg_probe_def *def;
    int id;                     /* its token's number */
    char token[PG_TOKEN_SIZE];
    const char *request;        /* as shown: the request line (h2: pseudo) */
    const char *target;         /* its request-target (h2: :path or
                                 * :authority, as the module logs it) */
    pg_reply reply;
    int tunnel_open;            /* CONNECT answered 2xx without a body */
    int banner_back;            /* the canary's banner came back (SMTP),
                                 * carrying this probe's proof */
    int reply_back;             /* the canary's reply came back to us,
                                 * carrying this probe's proof */
    pg_echo echo;               /* set from the reply and the tunnel's
                                 * answer (probe_verdict.c) */
    pg_evidence ev;
    pg_pv verdict;
    const char *note;
    double seconds;
    /* --status: what the module counted for it (NULL: not seen) */
    const char *guard_reason;
    const char *guard_action;
} pg_probe;

typedef struct pg_baseline {
    const char *name;
    const char *request;
    pg_reply reply;
    const char *guard_reason;
} pg_baseline;

typedef struct pg_skipped {
    const char *name;
    const char *why;
} pg_skipped;

/* mod_proxyguard's own account (--status). */
typedef struct pg_guard {
    const char *url;
    const char *error;          /* could not read it */
    long before_total;
    long after_total;
    const char *reasons[16];    /* reason names as the page lists them */
    long delta[16];             /* hits per reason during the run */
    int n_reasons;
    int probes_counted;
    int probes_not_seen;
    long status_hits;           /* hits that were the page's own requests */
    long unattributed;          /* hits in the delta no request of ours explains */
} pg_guard;

typedef struct pg_target {
    const char *url;
    const char *host;           /* the URL's host, no brackets */
    unsigned port;
    const char *hostport;       /* the Host header for our own requests */
    pg_addr addr;
    char addr_text[PG_ADDR_TEXT];
    pg_addr local;              /* our end of the connection to it */
    char local_text[PG_ADDR_TEXT];
    char canary_text[PG_LISTENER_COUNT][PG_ADDR_TEXT];
    pg_baseline base[PG_BASELINE_MAX];
    int n_base;
    pg_probe probes[PG_PROBE_MAX];
    int n_probes;
    pg_skipped skipped[PG_SKIPPED_MAX];
    int n_skipped;
    const char *error;          /* could not test it at all */
    int exit;                   /* PG_EXIT_* */
    int counts[PG_PV_COUNT];
    double seconds;
    apr_time_t started;
    pg_guard *guard;
} pg_target;

struct pg_canary;

/* Everything one run shares. */
typedef struct pg_run {
    apr_pool_t *pool;
    const pg_probe_opts *opts;
    struct pg_canary *canary;
    apr_time_t deadline;        /* the whole run's bound */
    pg_addr source;             /* valid when opts->source */
} pg_run;

/* The deadline of a step that starts now: the per-probe timeout, never
 * past the run's bound. */
apr_time_t pg_run_step_deadline(const pg_run *run);

#endif /* PG_PROBE_H */

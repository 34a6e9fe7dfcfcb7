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
 *   probe_bounds.c   the per-request and whole-run bounds; --plugin's
 *                    -t, and its backstop
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

#ifndef PROBE_H
#define PROBE_H

#include <sys/socket.h>

#include <apr_pools.h>
#include <apr_time.h>

#define PROBE_NAME     "probe"  /* the subcommand, in messages */
#define PROBE_MAX      32    /* probes per target */
#define PROBE_BASELINE_MAX   3
#define PROBE_SKIPPED_MAX    8
#define PROBE_TOKEN_SIZE     32
#define PROBE_ADDR_TEXT      64    /* "[v6 address]:port" and NUL */

/* An address with its length, as connect() and bind() want it. */
typedef struct probe_addr {
    struct sockaddr_storage ss;
    socklen_t len;
} probe_addr;

typedef enum probe_format {
    PROBE_FORMAT_TABLE = 0,
    PROBE_FORMAT_PLUGIN,
    PROBE_FORMAT_JSON
} probe_format;

typedef struct probe_opts {
    const char *canary_host;            /* NULL: the local address */
    unsigned canary_port;               /* 0: any free port */
    const char *source;                 /* bind client sockets here */
    const char *address;                /* connect here, not the URL's host */
    apr_interval_time_t timeout;        /* per request */
    apr_interval_time_t max_time;       /* the whole run */
    const char *max_time_from;          /* the option that set it, for
                                         * messages (probe_bounds.c) */
    probe_format format;
    int verbose;
    int h2c;
    const char *status_url;
    const char *only;                   /* comma-separated probe names */
} probe_opts;

/* A reply as read, bounded: never more than PROBE_BODY_MAX body bytes kept. */
typedef struct probe_reply {
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
} probe_reply;

/* What the canary saw of one probe. */
typedef enum probe_listener {
    PROBE_LISTENER_HTTP = 0,
    PROBE_LISTENER_LINE,           /* greets like SMTP (and FTP): "220 ..." */
    PROBE_LISTENER_COUNT
} probe_listener;

/* A canary connection belongs to the probe whose window was open when the
 * canary accepted it (probe_canary.c); only such a connection can prove
 * anything about that probe. */
typedef struct probe_evidence {
    int token;                  /* the probe's token reached the canary, on
                                 * a connection accepted in its window */
    probe_listener via;            /* ... on this listener */
    int tls;                    /* a TLS ClientHello arrived in its window */
    int connections;            /* canary connections opened in its window */
    char peer[PROBE_ADDR_TEXT];    /* who delivered the token */
    char first_line[160];       /* the first line it sent (raw bytes) */
    int stray;                  /* its token came on a connection accepted
                                 * outside its window: never proof */
    int stray_window;           /* ... in that probe's window (-1: none) */
    char stray_peer[PROBE_ADDR_TEXT];
} probe_evidence;

/* Text in a reply that only the canary should have written, or that the
 * target could only have copied from the request, with no canary evidence
 * behind it: how the target answered, never proof. */
typedef enum probe_echo {
    PROBE_ECHO_NONE = 0,
    PROBE_ECHO_TOKEN,              /* the reply repeats the probe's token */
    PROBE_ECHO_MARKER              /* it imitates the canary's answer */
} probe_echo;

/* What a probe's reply proves (the names are the --json contract). */
typedef enum probe_pv {
    PROBE_PV_REJECTED = 0,
    PROBE_PV_LOCAL,
    PROBE_PV_PROXIED,
    PROBE_PV_TUNNELED,
    PROBE_PV_SUSPECT,
    PROBE_PV_ERROR,
    PROBE_PV_COUNT
} probe_pv;

typedef enum probe_dest {
    PROBE_DEST_HTTP = 0,           /* the canary's HTTP listener */
    PROBE_DEST_LINE                /* the canary's SMTP-like listener */
} probe_dest;

/* How the authority of an absolute-form probe is written.  The host that
 * a proxy connects to is the canary in every form; the other part, where
 * there is one, is the target's own name (what a guard may take for
 * "ours"), never a third party. */
typedef enum probe_auth {
    PROBE_AUTH_PLAIN = 0,          /* http://CANARY/ */
    PROBE_AUTH_USERINFO,           /* http://OWN@CANARY/ */
    PROBE_AUTH_QUERY_AT,           /* http://OWN?@CANARY/ */
    PROBE_AUTH_FRAGMENT_AT,        /* http://OWN#@CANARY/ */
    PROBE_AUTH_BACKSLASH_AT,       /* http://OWN\@CANARY/ */
    PROBE_AUTH_OWN_NAME            /* http://OWN:CANARYPORT/ where OWN resolves
                                 * to the canary address and nothing else */
} probe_auth;

typedef enum probe_host_mode {
    PROBE_HOST_URI = 0,            /* Host: the URI's authority */
    PROBE_HOST_TARGET,             /* Host: the target's own name */
    PROBE_HOST_NONE                /* no Host (HTTP/1.0) */
} probe_host_mode;

typedef enum probe_tunnel {
    PROBE_TUNNEL_NONE = 0,
    PROBE_TUNNEL_HTTP, /* after 2xx: an HTTP request with the token */
    PROBE_TUNNEL_SMTP  /* after 2xx: the banner back, EHLO token */
} probe_tunnel;

typedef enum probe_transport {
    PROBE_TRANSPORT_HTTP1 = 0,
    PROBE_TRANSPORT_H2C
} probe_transport;

/* One entry of the matrix (probe_matrix.c). */
typedef struct probe_def {
    const char *name;
    const char *method;         /* sent exactly so (case included) */
    const char *scheme;         /* NULL for CONNECT */
    probe_dest dest;
    probe_auth auth;
    probe_host_mode host;
    const char *version;        /* "HTTP/1.1", "HTTP/1.0" */
    int leading_crlf;
    int body;                   /* a POST body carrying the token */
    probe_tunnel tunnel;
    probe_transport transport;
    const char *what;           /* one line for --list and the docs */
} probe_def;

typedef struct probe_item {
    const probe_def *def;
    int id;                     /* its token's number */
    char token[PROBE_TOKEN_SIZE];
    const char *request;        /* as shown: the request line (h2: pseudo) */
    const char *target;         /* its request-target (h2: :path or
                                 * :authority, as the module logs it) */
    probe_reply reply;
    int tunnel_open;            /* CONNECT answered 2xx without a body */
    int banner_back;            /* the canary's banner came back (SMTP),
                                 * carrying this probe's proof */
    int reply_back;             /* the canary's reply came back to us,
                                 * carrying this probe's proof */
    probe_echo echo;               /* set from the reply and the tunnel's
                                 * answer (probe_verdict.c) */
    probe_evidence ev;
    probe_pv verdict;
    const char *note;
    double seconds;
    /* --status: what the module counted for it (NULL: not seen) */
    const char *guard_reason;
    const char *guard_action;
} probe_item;

typedef struct probe_baseline {
    const char *name;
    const char *request;
    probe_reply reply;
    const char *guard_reason;
} probe_baseline;

typedef struct probe_skipped {
    const char *name;
    const char *why;
} probe_skipped;

/* mod_proxyguard's own account (--status). */
typedef struct probe_guard {
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
    /* hits in the delta that no request of ours explains */
    long unattributed;
} probe_guard;

typedef struct probe_target {
    const char *url;
    const char *host;           /* the URL's host, no brackets */
    unsigned port;
    const char *hostport;       /* the Host header for our own requests */
    probe_addr addr;
    char addr_text[PROBE_ADDR_TEXT];
    probe_addr local;              /* our end of the connection to it */
    char local_text[PROBE_ADDR_TEXT];
    char canary_text[PROBE_LISTENER_COUNT][PROBE_ADDR_TEXT];
    probe_baseline base[PROBE_BASELINE_MAX];
    int n_base;
    probe_item probes[PROBE_MAX];
    int n_probes;
    probe_skipped skipped[PROBE_SKIPPED_MAX];
    int n_skipped;
    const char *error;          /* could not test it at all */
    int exit;                   /* PROXYGUARD_EXIT_* */
    int counts[PROBE_PV_COUNT];
    double seconds;
    apr_time_t started;
    probe_guard *guard;
} probe_target;

struct probe_canary;

/* Everything one run shares. */
typedef struct probe_run {
    apr_pool_t *pool;
    const probe_opts *opts;
    struct probe_canary *canary;
    apr_time_t deadline;        /* the whole run's bound */
    const char *expired_in;     /* the step the run reached it in, or NULL */
    probe_addr source;             /* valid when opts->source */
} probe_run;

/* The deadline of a step that starts now: the per-probe timeout, never
 * past the run's bound. */
apr_time_t probe_run_step_deadline(const probe_run *run);

#endif /* PROBE_H */

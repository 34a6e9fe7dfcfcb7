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
 * pg_table.h: mod_proxyguard's hit table, one block of memory shared by
 * every child process and thread.
 *
 * No httpd headers: the block is plain memory (apr_shm in the module,
 * malloc in the unit tests), so the same code is tested without a server.
 * Nothing in it is a pointer, and every index read from it is bounded
 * before use, so a torn or stale value can skew a count, never crash.
 *
 * Two kinds of update:
 *  - pg_table_count(): the exact counters (vhost x reason x action, CONNECT
 *    ports).  apr_atomic_*32 only, no lock: no update is ever lost.
 *  - pg_table_record(): the per-client and per-network rows, the recent
 *    hits and the timeline.  The caller holds the table's global mutex.
 * Requests that are not hits call neither.
 */

#ifndef PG_TABLE_H
#define PG_TABLE_H

#include <apr.h>
#include <apr_time.h>

#include "pg_addr.h"
#include "pg_decide.h"

#define PG_TABLE_MAGIC      0x50475442u     /* "PGTB" */
#define PG_TABLE_VERSION    4u     /* 4: /64 network bans */

#define PG_VHOST_NAME_MAX   96      /* ServerName, cut */
#define PG_PORT_SLOTS       64      /* distinct CONNECT ports tracked */
/* The mail ports (SMTP, submissions, submission): their CONNECT counters
 * are claimed when the table is made, so that no flood of other ports can
 * push them into "other" (the mail-port alert reads them). */
#define PG_MAIL_PORTS { 25, 465, 587 }
#define PG_RECENT_MAX       64      /* most recent hits kept */
#define PG_RECENT_TARGET_MAX 120    /* request-target bytes kept */
#define PG_RECENT_HOST_MAX  64      /* Host header bytes kept */
#define PG_RECENT_METHOD_MAX 16
#define PG_CLIENT_TEXT_MAX  48      /* longest IPv6 text + NUL */
#define PG_MINUTES          60      /* timeline: per minute, last hour */
#define PG_HOURS            48      /* timeline: per hour, last two days */
#define PG_PROBE            16      /* slots searched per address */
#define PG_ACTIONS          2       /* deny, detect */
#define PG_BAN_BUCKET       8       /* ban rows per bucket; two buckets
                                     * per address (see pg_table.c) */
#define PG_PENDING_MAX      1024    /* addresses waiting for the shared
                                     * ban store's answer */

#define PG_TABLE_SIZE_MIN     16    /* ProxyGuardTableSize */
#define PG_TABLE_SIZE_MAX     1048576


typedef struct pg_vhost_row {
    volatile apr_uint32_t hits[PG_REASON_COUNT][PG_ACTIONS];
    char name[PG_VHOST_NAME_MAX];
} pg_vhost_row;

typedef struct pg_port_row {
    volatile apr_uint32_t port;     /* 0: free slot */
    volatile apr_uint32_t hits;
} pg_port_row;

typedef struct pg_client_row {
    pg_addr addr;                   /* family 0: free slot */
    apr_uint32_t hits[PG_REASON_COUNT];
    apr_uint32_t total;
    apr_uint32_t first_seen;        /* seconds since the epoch */
    apr_uint32_t last_seen;
    apr_uint32_t ban_window_start;  /* ProxyGuardBan: the current window */
    apr_uint32_t ban_window_hits;
    apr_uint32_t log_window_start;  /* ProxyGuardLogLimit: the current window */
    apr_uint32_t log_lines;         /* lines logged in it */
    apr_uint32_t log_suppressed;    /* hits not logged in it */
    apr_uint32_t ban_pending;       /* a ban was due but refused: try again */
} pg_client_row;

/* A /24 (IPv4) or /64 (IPv6): addr holds the prefix, the rest zero. */
typedef struct pg_network_row {
    pg_addr prefix;
    apr_uint32_t hits;
    apr_uint32_t addresses;         /* clients first seen in it */
    apr_uint32_t last_seen;
} pg_network_row;

typedef struct pg_recent_row {
    apr_time_t time;                /* 0: unused */
    apr_uint32_t vhost;             /* row index */
    apr_uint32_t reason;
    apr_uint32_t action;
    char client[PG_CLIENT_TEXT_MAX];
    char method[PG_RECENT_METHOD_MAX];
    char target[PG_RECENT_TARGET_MAX];
    char host[PG_RECENT_HOST_MAX];
} pg_recent_row;

/* A ban this server started, or found in the shared ban store; or, with a
 * shared store, what the store last said of an address (checked, until 0:
 * not banned).  addr is an address or an IPv6 /64 (PG_ADDR_NET6: a network
 * ban, ProxyGuardBanNet6).  A row whose ban runs (until > now, not lifted) is never
 * given to another address: a new ban is refused instead. */
typedef struct pg_ban_row {
    pg_addr addr;                   /* family 0: never used */
    apr_uint32_t started;           /* 0 when started elsewhere */
    volatile apr_uint32_t until;    /* written last: readers take no lock */
    apr_uint32_t hits;              /* hits that started it */
    volatile apr_uint32_t blocked;  /* requests answered 403 since */
    apr_uint32_t lifted;            /* lifted by an operator */
    volatile apr_uint32_t checked;  /* shared store last asked, seconds */
    volatile apr_uint32_t sync;     /* PG_SYNC_*: the store must learn it */
} pg_ban_row;

#define PG_SYNC_NONE   0u
#define PG_SYNC_PUT    1u           /* a ban started here */
#define PG_SYNC_REMOVE 2u           /* a ban lifted here */

/* An address waiting for the shared store's answer: claimed by the
 * request path with a CAS from FREE, read by the ban agent. */
typedef struct pg_pending {
    volatile apr_uint32_t state;    /* PG_PENDING_* */
    pg_addr addr;
} pg_pending;

#define PG_PENDING_FREE    0u
#define PG_PENDING_WRITING 1u
#define PG_PENDING_READY   2u
#define PG_PENDING_TAKEN   3u


typedef struct pg_bucket {
    apr_uint32_t stamp;             /* minute or hour since the epoch */
    apr_uint32_t hits[PG_REASON_COUNT];
} pg_bucket;

/* The header; vhost, client, network and ban rows follow it in the block. */
typedef struct pg_table {
    apr_uint32_t magic;
    apr_uint32_t version;
    apr_uint32_t reasons;           /* PG_REASON_COUNT when formatted */
    apr_uint32_t n_vhosts;          /* vhost rows */
    apr_uint32_t n_clients;         /* ProxyGuardTableSize */
    apr_uint32_t vhosts_used;
    apr_uint32_t seed;              /* hash seed: no address aims at a slot */
    apr_uint32_t restarts;          /* restarts the table has lived through */
    apr_time_t started;
    volatile apr_uint32_t ports_other;  /* CONNECTs to ports beyond the slots */
    apr_uint32_t clients_used;
    apr_uint32_t clients_evicted;
    apr_uint32_t networks_used;
    apr_uint32_t networks_evicted;
    apr_uint32_t recent_next;       /* total recorded; next slot = % MAX */
    apr_uint32_t bans_started;      /* bans this server started, ever */
    apr_uint32_t bans_refused;      /* bans not started: no row was free */
    apr_uint32_t bans_net_started;  /* of bans_started, /64 networks */
    apr_uint32_t ban_net6;          /* ProxyGuardBanNet6 (the parent sets
                                     * it at each start); 0: never */
    apr_uint32_t n_bans;            /* ban rows: ProxyGuardTableSize */
    apr_uint32_t capacity_clients;  /* n_clients and n_bans of the table */
    apr_uint32_t capacity_bans;     /* (a copy has fewer rows) */
    apr_uint32_t snapshot;          /* in a copy: PG_SNAPSHOT_* it holds */
    apr_uint32_t bans_active;       /* in a copy: running bans when taken */
    apr_uint32_t bans_net_active;   /* ... of them, /64 networks */
    volatile apr_uint32_t ban_horizon;  /* no ban listed lasts past this */
    volatile apr_uint32_t ban_generation;   /* + 1 at each ban that starts
                                             * or is lifted */
    /* the shared ban store, as its agent (mod_proxyguard_ban.c) keeps it */
    volatile apr_uint32_t sync_pending;     /* rows with a PG_SYNC_* */
    volatile apr_uint32_t store_down_since; /* failing since; 0: answers */
    volatile apr_uint32_t store_logged;     /* last PG0012 line */
    volatile apr_uint32_t store_calls;      /* calls made, ever */
    volatile apr_uint32_t store_failures;   /* calls failed or timed out */
    volatile apr_uint32_t checks_dropped;   /* no free pending slot */
    volatile apr_uint32_t details_skipped;  /* counted-only hits whose
                                             * detail met a busy mutex */
    pg_bucket minutes[PG_MINUTES];
    pg_bucket hours[PG_HOURS];
    pg_port_row ports[PG_PORT_SLOTS];
    pg_recent_row recent[PG_RECENT_MAX];
    pg_pending pending[PG_PENDING_MAX];
} pg_table;

/* One hit, as the module hands it over. */
typedef struct pg_hit {
    apr_uint32_t vhost;             /* from pg_table_vhost_row() */
    pg_reason reason;
    pg_action action;
    pg_addr addr;
    const char *client;             /* address as text */
    unsigned connect_port;          /* CONNECT target port, 0 if none */
    const char *method;
    const char *target;
    const char *host;               /* may be NULL */
    apr_time_t now;
    apr_uint32_t ban_hits;          /* ProxyGuardBan hits and seconds, when */
    apr_uint32_t ban_window;        /* this hit counts towards a ban; else 0 */
    apr_uint32_t ban_duration;      /* ... and how long a ban lasts */
    int ban_sync;                   /* a shared store must learn the ban */
    apr_uint32_t log_lines;         /* ProxyGuardLogLimit; 0: log every hit */
    apr_uint32_t log_window;
    int loggable;                   /* the hit's line would be written (its
                                     * level is enabled): only such lines
                                     * spend the client's log budget */
} pg_hit;

/* What pg_table_record decided for one hit. */
typedef struct pg_record_result {
    apr_uint32_t ban_hits;          /* > 0: this hit started a ban ... */
    apr_uint32_t ban_until;         /* ... that lasts until then */
    int ban_refused;                /* the ban was due, but no row was free */
    pg_addr ban_key;                /* what is banned: the address, or its
                                     * /64 (PG_ADDR_NET6) when the ban made
                                     * it a network ban */
    int log;                        /* write this hit's log line */
    apr_uint32_t suppressed;        /* > 0: report that many unlogged hits
                                     * of the client's previous window */
    apr_uint32_t log_window;        /* ... which lasted this many seconds */
} pg_record_result;

/* Bytes the block needs. */
apr_size_t pg_table_bytes(apr_uint32_t n_vhosts, apr_uint32_t n_clients);

/* Formats a zeroed block of pg_table_bytes() bytes. */
void pg_table_init(pg_table *t, apr_uint32_t n_vhosts, apr_uint32_t n_clients,
                   apr_time_t now, apr_uint32_t seed);

/* Can a block formatted earlier be reused for this configuration? */
int pg_table_fits(const pg_table *t, apr_size_t bytes, apr_uint32_t n_vhosts,
                  apr_uint32_t n_clients);

/* A new row for a name the caller knows is not in the table yet; -1 when
 * all rows are taken.  Called by the parent at configuration time only;
 * the caller assigns many through a hash of its own. */
int pg_table_vhost_claim(pg_table *t, const char *name);

pg_vhost_row *pg_table_vhosts(pg_table *t);
pg_client_row *pg_table_clients(pg_table *t);
pg_network_row *pg_table_networks(pg_table *t);
pg_ban_row *pg_table_bans(pg_table *t);
const pg_vhost_row *pg_table_vhosts_c(const pg_table *t);
const pg_client_row *pg_table_clients_c(const pg_table *t);
const pg_network_row *pg_table_networks_c(const pg_table *t);
const pg_ban_row *pg_table_bans_c(const pg_table *t);

/* Lock-free, exact: vhost x reason x action, and the target port of a
 * CONNECT hit (connect or connect-port). */
void pg_table_count(pg_table *t, const pg_hit *hit);

/* Under the mutex: client, network, recent hits, timeline; and the two
 * per-client decisions that need the client's row: is this hit logged (a
 * client gets log_lines written lines per log_window seconds; the rest are
 * counted, then reported in one line), and does it start a ban (then the
 * ban is listed here, or refused when no row is free: it is tried again at
 * the client's next hit). */
void pg_table_record(pg_table *t, const pg_hit *hit, pg_record_result *res);

/* Without the mutex: the same details for a hit that needs no decision (not
 * loggable, no ban window) from a client and network the table already
 * has, in a minute and hour the timeline already has; returns 0, having
 * done nothing, for any other hit (then pg_table_record, under the mutex).
 * A flood from a few addresses (scanners asking for the server by its IP)
 * so never queues on the mutex.  The counters are atomic in both; a hit
 * racing the eviction of its own row, or its minute's turn, may lose its
 * detail (the exact counters of pg_table_count keep it). */
int pg_table_record_known(pg_table *t, const pg_hit *hit);

/* Sum of a vhost row, of one reason over all vhosts, of everything. */
apr_uint64_t pg_table_reason_total(const pg_table *t, pg_reason reason);
apr_uint64_t pg_table_action_total(const pg_table *t, pg_action action);
apr_uint64_t pg_table_reason_action_total(const pg_table *t, pg_reason reason,
                                          pg_action action);
apr_uint64_t pg_table_total(const pg_table *t);

#endif /* PG_TABLE_H */

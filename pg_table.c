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
 * pg_table.c: the shared hit table.  See pg_table.h.
 *
 * Client and network rows live in fixed arrays addressed by a seeded hash.
 * An address is looked for in the PG_PROBE slots from its hash position;
 * when none holds it and none is free, the slot with the fewest hits among
 * those PG_PROBE is given to the newcomer.  So memory never grows, a hit
 * never fails, and a heavy hitter is only displaced when every other
 * address in its window has more hits than it: the heavy hitters stay.
 * Rows are given and taken under the mutex; a known row's counters are
 * atomic, so that a counted-only hit of a known client needs no mutex
 * (pg_table_record_known).
 *
 * Ban rows are different: a running ban must never end because others
 * began.  They live in buckets of PG_BAN_BUCKET rows; an address may use
 * the rows of two buckets (two seeded hashes, the emptier one first), so a
 * lookup reads at most 16 rows, and a new ban is refused (and counted) only
 * when all 16 hold running bans.  With random addresses that first happens
 * past 70 % of the rows (t/unit/test_table.c measures it).
 */

#include <stddef.h>
#include <string.h>
#include <arpa/inet.h>

#include <apr_atomic.h>
#include <apr_strings.h>

#include "pg_table.h"

static apr_size_t pg_align8(apr_size_t n)
{
    return (n + 7) & ~(apr_size_t)7;
}

static apr_size_t pg_vhosts_offset(void)
{
    return pg_align8(sizeof(pg_table));
}

static apr_size_t pg_clients_offset(apr_uint32_t n_vhosts)
{
    return pg_vhosts_offset() + pg_align8(sizeof(pg_vhost_row) * n_vhosts);
}

static apr_size_t pg_networks_offset(apr_uint32_t n_vhosts,
                                     apr_uint32_t n_clients)
{
    return pg_clients_offset(n_vhosts)
           + pg_align8(sizeof(pg_client_row) * n_clients);
}

/* Ban rows: ProxyGuardTableSize of them, in whole buckets. */
static apr_uint32_t pg_ban_rows(apr_uint32_t n_clients)
{
    return (n_clients + PG_BAN_BUCKET - 1) / PG_BAN_BUCKET * PG_BAN_BUCKET;
}

static apr_size_t pg_bans_offset(apr_uint32_t n_vhosts, apr_uint32_t n_clients)
{
    return pg_networks_offset(n_vhosts, n_clients)
           + pg_align8(sizeof(pg_network_row) * n_clients);
}

/* The weights: each client row's total and each network row's hits again,
 * in two arrays of their own (0: the row is free; a used row has had a
 * hit), so that the status page finds the heaviest rows reading 4 bytes a
 * row rather than a row (pg_table_snapshot). */
static apr_size_t pg_weights_offset(apr_uint32_t n_vhosts,
                                    apr_uint32_t n_clients)
{
    return pg_bans_offset(n_vhosts, n_clients)
           + pg_align8(sizeof(pg_ban_row) * pg_ban_rows(n_clients));
}

apr_size_t pg_table_bytes(apr_uint32_t n_vhosts, apr_uint32_t n_clients)
{
    return pg_weights_offset(n_vhosts, n_clients)
           + 2 * pg_align8(sizeof(apr_uint32_t) * n_clients);
}

apr_size_t pg_table_bytes_per_client(void)
{
    return sizeof(pg_client_row) + sizeof(pg_network_row) + sizeof(pg_ban_row)
           + 2 * sizeof(apr_uint32_t);
}

static volatile apr_uint32_t *pg_client_weights(const pg_table *t)
{
    return (volatile apr_uint32_t *)((char *)t
                                     + pg_weights_offset(t->n_vhosts,
                                                         t->n_clients));
}

static volatile apr_uint32_t *pg_network_weights(const pg_table *t)
{
    return pg_client_weights(t) + pg_align8(sizeof(apr_uint32_t) * t->n_clients)
                                  / sizeof(apr_uint32_t);
}

pg_vhost_row *pg_table_vhosts(pg_table *t)
{
    return (pg_vhost_row *)((char *)t + pg_vhosts_offset());
}

pg_client_row *pg_table_clients(pg_table *t)
{
    return (pg_client_row *)((char *)t + pg_clients_offset(t->n_vhosts));
}

pg_network_row *pg_table_networks(pg_table *t)
{
    return (pg_network_row *)((char *)t + pg_networks_offset(t->n_vhosts,
                                                            t->n_clients));
}

pg_ban_row *pg_table_bans(pg_table *t)
{
    return (pg_ban_row *)((char *)t + pg_bans_offset(t->n_vhosts, t->n_clients));
}

const pg_ban_row *pg_table_bans_c(const pg_table *t)
{
    return pg_table_bans((pg_table *)t);
}

const pg_vhost_row *pg_table_vhosts_c(const pg_table *t)
{
    return pg_table_vhosts((pg_table *)t);
}

const pg_client_row *pg_table_clients_c(const pg_table *t)
{
    return pg_table_clients((pg_table *)t);
}

const pg_network_row *pg_table_networks_c(const pg_table *t)
{
    return pg_table_networks((pg_table *)t);
}

void pg_table_init(pg_table *t, apr_uint32_t n_vhosts, apr_uint32_t n_clients,
                   apr_time_t now, apr_uint32_t seed)
{
    memset(t, 0, pg_table_bytes(n_vhosts, n_clients));
    t->magic = PG_TABLE_MAGIC;
    t->version = PG_TABLE_VERSION;
    t->reasons = PG_REASON_COUNT;
    t->n_vhosts = n_vhosts;
    t->n_clients = n_clients;
    t->n_bans = pg_ban_rows(n_clients);
    t->capacity_clients = n_clients;
    t->capacity_bans = t->n_bans;
    t->seed = seed;
    t->started = now;
}

int pg_table_fits(const pg_table *t, apr_size_t bytes, apr_uint32_t n_vhosts,
                  apr_uint32_t n_clients)
{
    return t->magic == PG_TABLE_MAGIC && t->version == PG_TABLE_VERSION
           && t->reasons == PG_REASON_COUNT && t->n_clients == n_clients
           && t->n_vhosts >= n_vhosts
           && bytes >= pg_table_bytes(t->n_vhosts, t->n_clients);
}

/* A vhost row keeps at most PG_VHOST_NAME_MAX - 1 bytes of the name. */
static apr_size_t pg_vhost_name_len(const char *name)
{
    apr_size_t len = strlen(name);

    return len >= PG_VHOST_NAME_MAX ? PG_VHOST_NAME_MAX - 1 : len;
}

int pg_table_vhost_claim(pg_table *t, const char *name)
{
    pg_vhost_row *rows = pg_table_vhosts(t);
    apr_size_t len = pg_vhost_name_len(name);

    if (t->vhosts_used >= t->n_vhosts) {
        return -1;
    }
    memcpy(rows[t->vhosts_used].name, name, len);
    rows[t->vhosts_used].name[len] = '\0';
    return (int)t->vhosts_used++;
}

int pg_table_vhost_row(pg_table *t, const char *name)
{
    pg_vhost_row *rows = pg_table_vhosts(t);
    apr_size_t len = pg_vhost_name_len(name);
    apr_uint32_t i;

    for (i = 0; i < t->vhosts_used && i < t->n_vhosts; i++) {
        if (strncmp(rows[i].name, name, len) == 0 && rows[i].name[len] == '\0') {
            return (int)i;
        }
    }
    return pg_table_vhost_claim(t, name);
}

static int pg_action_index(pg_action action)
{
    return action == PG_ACTION_DENY ? 0 : 1;
}

static int pg_reason_index(pg_reason reason)
{
    return (unsigned)reason < PG_REASON_COUNT ? (int)reason : PG_REASON_NONE;
}

/* Lock-free open addressing: a slot is claimed by a CAS of its port from 0;
 * a racing claimer of the same port finds it there and counts in it. */
static void pg_count_port(pg_table *t, unsigned port)
{
    apr_uint32_t i;

    if (port == 0 || port > 65535) {
        apr_atomic_inc32(&t->ports_other);
        return;
    }
    for (i = 0; i < PG_PORT_SLOTS; i++) {
        pg_port_row *slot = &t->ports[(port + i) % PG_PORT_SLOTS];
        apr_uint32_t seen = apr_atomic_read32(&slot->port);

        if (seen == 0) {
            seen = apr_atomic_cas32(&slot->port, port, 0);
            if (seen == 0) {
                seen = port;
            }
        }
        if (seen == port) {
            apr_atomic_inc32(&slot->hits);
            return;
        }
    }
    apr_atomic_inc32(&t->ports_other);
}

void pg_table_count(pg_table *t, const pg_hit *hit)
{
    if (hit->vhost < t->n_vhosts) {
        apr_atomic_inc32(&pg_table_vhosts(t)[hit->vhost]
                             .hits[pg_reason_index(hit->reason)]
                                  [pg_action_index(hit->action)]);
    }
    if (hit->reason == PG_REASON_CONNECT
        || hit->reason == PG_REASON_CONNECT_PORT) {
        pg_count_port(t, hit->connect_port);
    }
}

/* ------------------------------------------------------------------ */
/* Under the mutex                                                      */

/* A 64-bit mix of the address, seeded per table: two multiply-xorshift
 * rounds over the address as two words (a few instructions where a
 * byte-wise hash took a hundred; the request path hashes every client
 * while bans run).  The two halves serve as two independent choices. */
static apr_uint64_t pg_addr_mix(const pg_addr *a, apr_uint32_t seed)
{
    apr_uint64_t w0, w1, h;

    memcpy(&w0, a->bytes, 8);
    memcpy(&w1, a->bytes + 8, 8);
    h = ((apr_uint64_t)seed << 32 | seed) ^ 0x9e3779b97f4a7c15ULL ^ a->family;
    h = (h ^ w0) * 0xbf58476d1ce4e5b9ULL;
    h = (h ^ (h >> 31) ^ w1) * 0x94d049bb133111ebULL;
    h ^= h >> 29;
    h *= 0xbf58476d1ce4e5b9ULL;
    return h ^ (h >> 32);
}

static apr_uint32_t pg_addr_hash(const pg_addr *a, apr_uint32_t seed)
{
    return (apr_uint32_t)pg_addr_mix(a, seed);
}

static int pg_addr_equal(const pg_addr *a, const pg_addr *b)
{
    return a->family == b->family && memcmp(a->bytes, b->bytes, 16) == 0;
}

pg_addr pg_addr_network(const pg_addr *addr)
{
    pg_addr net;

    memset(&net, 0, sizeof(net));
    net.family = addr->family;
    memcpy(net.bytes, addr->bytes, addr->family == 6 ? 8 : 3);
    return net;
}

/* The slot of key's row among n rows (each starting with its pg_addr), in
 * its probe window; n if it has none. */
static apr_uint32_t pg_find_row(const pg_addr *key, apr_uint32_t seed,
                                apr_uint32_t n, const void *rows,
                                apr_size_t row_size)
{
    apr_uint32_t start = pg_addr_hash(key, seed) % n;
    apr_uint32_t window = n < PG_PROBE ? n : PG_PROBE;
    apr_uint32_t i;

    for (i = 0; i < window; i++) {
        apr_uint32_t slot = (start + i) % n;
        const pg_addr *addr = (const pg_addr *)((const char *)rows
                                                + row_size * slot);

        if (addr->family && pg_addr_equal(addr, key)) {
            return slot;
        }
    }
    return n;
}

/* The slot for key among the PG_PROBE from its hash: its own, else a free
 * one (*fresh = 1), else the one with the fewest hits (*evicted = 1). */
static apr_uint32_t pg_find_slot(const pg_addr *key, apr_uint32_t seed,
                                 apr_uint32_t n, const void *rows,
                                 apr_size_t row_size, apr_size_t hits_offset,
                                 int *fresh, int *evicted)
{
    apr_uint32_t start = pg_addr_hash(key, seed) % n;
    apr_uint32_t window = n < PG_PROBE ? n : PG_PROBE;
    apr_uint32_t i, free_slot = n, weakest = start;
    apr_uint32_t weakest_hits = 0xffffffffu;

    *fresh = 0;
    *evicted = 0;
    for (i = 0; i < window; i++) {
        apr_uint32_t slot = (start + i) % n;
        const char *row = (const char *)rows + row_size * slot;
        const pg_addr *addr = (const pg_addr *)row;
        apr_uint32_t hits;

        if (addr->family == 0) {
            if (free_slot == n) {
                free_slot = slot;
            }
            continue;
        }
        if (pg_addr_equal(addr, key)) {
            return slot;
        }
        memcpy(&hits, row + hits_offset, sizeof(hits));
        if (hits < weakest_hits) {
            weakest_hits = hits;
            weakest = slot;
        }
    }
    *fresh = 1;
    if (free_slot != n) {
        return free_slot;
    }
    *evicted = 1;
    return weakest;
}

static apr_uint32_t pg_seconds(apr_time_t t)
{
    return (apr_uint32_t)apr_time_sec(t);
}

/* The ban window: hits counted from the first one, for ban_window
 * seconds.  Is a ban due with this hit?  It is at the hit that reaches
 * ban_hits, and at every later one while an earlier attempt found no free
 * ban row. */
static int pg_ban_due(pg_client_row *row, const pg_hit *hit)
{
    apr_uint32_t now = (apr_uint32_t)apr_time_sec(hit->now);

    if (hit->ban_window == 0 || hit->ban_hits == 0) {
        return 0;
    }
    if (row->ban_window_hits == 0
        || now - row->ban_window_start >= hit->ban_window) {
        row->ban_window_start = now;
        row->ban_window_hits = 0;
    }
    return ++row->ban_window_hits == hit->ban_hits || row->ban_pending;
}

/* A due ban: listed, or refused when no row is free (then the client's
 * next hit tries again). */
static void pg_ban_start(pg_table *t, pg_client_row *row, const pg_hit *hit,
                         pg_record_result *res)
{
    apr_uint32_t now = (apr_uint32_t)apr_time_sec(hit->now);
    pg_ban_row *ban = pg_table_ban_add(t, &hit->addr, now, now,
                                       now + hit->ban_duration,
                                       row->ban_window_hits);

    row->ban_pending = ban == NULL;
    if (ban) {
        res->ban_hits = row->ban_window_hits;
        res->ban_until = ban->until;
        if (hit->ban_sync) {
            ban->sync = PG_SYNC_PUT;
            t->sync_pending = 1;
        }
    }
    else {
        res->ban_refused = 1;
    }
}

/* The log budget: log_lines written lines per log_window seconds per
 * client.  A line that would not be written (its level is off) spends
 * nothing: otherwise counted-only hits at info could use up the budget of
 * the warnings that fail2ban reads. */
static void pg_log_budget(pg_client_row *row, const pg_hit *hit,
                          pg_record_result *res)
{
    apr_uint32_t now = (apr_uint32_t)apr_time_sec(hit->now);

    if (!hit->loggable) {
        res->log = 0;
        return;
    }
    if (hit->log_lines == 0) {
        return;                 /* unlimited: res->log stays 1 */
    }
    if (row->log_lines == 0 || now - row->log_window_start >= hit->log_window) {
        res->suppressed = row->log_suppressed;
        res->log_window = now - row->log_window_start;
        row->log_window_start = now;
        row->log_lines = 0;
        row->log_suppressed = 0;
    }
    if (row->log_lines < hit->log_lines) {
        row->log_lines++;
    }
    else {
        row->log_suppressed++;
        res->log = 0;
    }
}

/* A hit on a client or network row: atomic, since known clients' hits are
 * also recorded without the lock (pg_table_record_known). */
static void pg_client_add(pg_table *t, apr_uint32_t slot, const pg_hit *hit)
{
    pg_client_row *row = &pg_table_clients(t)[slot];

    apr_atomic_inc32(&row->hits[pg_reason_index(hit->reason)]);
    pg_client_weights(t)[slot] = apr_atomic_inc32(&row->total) + 1;
    row->last_seen = pg_seconds(hit->now);
}

static void pg_network_add(pg_table *t, apr_uint32_t slot, const pg_hit *hit)
{
    pg_network_row *row = &pg_table_networks(t)[slot];

    pg_network_weights(t)[slot] = apr_atomic_inc32(&row->hits) + 1;
    row->last_seen = pg_seconds(hit->now);
}

/* Returns 1 when the address is new to the table. */
static int pg_record_client(pg_table *t, const pg_hit *hit,
                            pg_record_result *res)
{
    pg_client_row *rows = pg_table_clients(t);
    int fresh, evicted;
    apr_uint32_t slot = pg_find_slot(&hit->addr, t->seed, t->n_clients, rows,
                                     sizeof(*rows),
                                     offsetof(pg_client_row, total),
                                     &fresh, &evicted);
    pg_client_row *row = &rows[slot];

    if (fresh) {
        memset(row, 0, sizeof(*row));
        row->addr = hit->addr;
        row->first_seen = pg_seconds(hit->now);
        if (evicted) {
            t->clients_evicted++;
        }
        else {
            t->clients_used++;
        }
    }
    pg_client_add(t, slot, hit);
    if (pg_ban_due(row, hit)) {
        pg_ban_start(t, row, hit, res);
    }
    pg_log_budget(row, hit, res);
    return fresh;
}

static void pg_record_network(pg_table *t, const pg_hit *hit, int new_client)
{
    pg_network_row *rows = pg_table_networks(t);
    pg_addr prefix = pg_addr_network(&hit->addr);
    int fresh, evicted;
    apr_uint32_t slot = pg_find_slot(&prefix, t->seed, t->n_clients, rows,
                                     sizeof(*rows),
                                     offsetof(pg_network_row, hits),
                                     &fresh, &evicted);
    pg_network_row *row = &rows[slot];

    if (fresh) {
        memset(row, 0, sizeof(*row));
        row->prefix = prefix;
        if (evicted) {
            t->networks_evicted++;
        }
        else {
            t->networks_used++;
        }
    }
    pg_network_add(t, slot, hit);
    if (new_client || fresh) {
        row->addresses++;
    }
    row->last_seen = pg_seconds(hit->now);
}

/* Copies at most size-1 bytes and always terminates. */
static void pg_copy_cut(char *dst, apr_size_t size, const char *src)
{
    apr_size_t len = src ? strlen(src) : 0;

    if (len >= size) {
        len = size - 1;
    }
    if (len) {
        memcpy(dst, src, len);
    }
    dst[len] = '\0';
}

/* A row of the ring is claimed atomically; a reader may copy one while it
 * is written by a hit recorded without the lock, and see it half old, half
 * new (its texts stay terminated: pg_copy_cut never writes their last
 * byte but as NUL). */
static void pg_record_recent(pg_table *t, const pg_hit *hit)
{
    pg_recent_row *row = &t->recent[apr_atomic_inc32(&t->recent_next)
                                    % PG_RECENT_MAX];

    row->time = hit->now;
    row->vhost = hit->vhost;
    row->reason = (apr_uint32_t)pg_reason_index(hit->reason);
    row->action = (apr_uint32_t)hit->action;
    pg_copy_cut(row->client, sizeof(row->client), hit->client);
    pg_copy_cut(row->method, sizeof(row->method), hit->method);
    pg_copy_cut(row->target, sizeof(row->target), hit->target);
    pg_copy_cut(row->host, sizeof(row->host), hit->host);
}

static void pg_bucket_add(pg_bucket *buckets, apr_uint32_t n,
                          apr_uint32_t stamp, pg_reason reason)
{
    pg_bucket *b = &buckets[stamp % n];

    if (b->stamp != stamp) {
        memset(b, 0, sizeof(*b));
        b->stamp = stamp;
    }
    apr_atomic_inc32(&b->hits[pg_reason_index(reason)]);
}

int pg_table_record_known(pg_table *t, const pg_hit *hit)
{
    apr_uint32_t now = pg_seconds(hit->now);
    pg_bucket *minute = &t->minutes[now / 60 % PG_MINUTES];
    pg_bucket *hour = &t->hours[now / 3600 % PG_HOURS];
    pg_addr prefix;
    apr_uint32_t client, network;

    if (hit->loggable || hit->ban_hits
        || (hit->addr.family != 4 && hit->addr.family != 6)
        || minute->stamp != now / 60 || hour->stamp != now / 3600) {
        return 0;
    }
    client = pg_find_row(&hit->addr, t->seed, t->n_clients,
                         pg_table_clients(t), sizeof(pg_client_row));
    prefix = pg_addr_network(&hit->addr);
    network = pg_find_row(&prefix, t->seed, t->n_clients,
                          pg_table_networks(t), sizeof(pg_network_row));
    if (client == t->n_clients || network == t->n_clients) {
        return 0;
    }
    pg_client_add(t, client, hit);
    pg_network_add(t, network, hit);
    pg_record_recent(t, hit);
    apr_atomic_inc32(&minute->hits[pg_reason_index(hit->reason)]);
    apr_atomic_inc32(&hour->hits[pg_reason_index(hit->reason)]);
    return 1;
}

void pg_table_record(pg_table *t, const pg_hit *hit, pg_record_result *res)
{
    apr_uint32_t now = pg_seconds(hit->now);
    int new_client;

    memset(res, 0, sizeof(*res));
    res->log = hit->loggable;
    if (hit->addr.family == 4 || hit->addr.family == 6) {
        new_client = pg_record_client(t, hit, res);
        pg_record_network(t, hit, new_client);
    }
    pg_record_recent(t, hit);
    pg_bucket_add(t->minutes, PG_MINUTES, now / 60, hit->reason);
    pg_bucket_add(t->hours, PG_HOURS, now / 3600, hit->reason);
}

/* ------------------------------------------------------------------ */
/* Bans                                                                 */

static int pg_ban_running(const pg_ban_row *row, apr_uint32_t now)
{
    return row->until > now && !row->lifted;
}

/* The first rows of the two buckets an address may use. */
static void pg_ban_buckets(pg_table *t, const pg_addr *addr,
                           pg_ban_row *bucket[2])
{
    pg_ban_row *rows = pg_table_bans(t);
    apr_uint32_t n = t->n_bans / PG_BAN_BUCKET;
    apr_uint64_t h = pg_addr_mix(addr, t->seed ^ 0x9e3779b9u);

    bucket[0] = rows + (apr_uint32_t)h % n * PG_BAN_BUCKET;
    bucket[1] = rows + (apr_uint32_t)(h >> 32) % n * PG_BAN_BUCKET;
}

pg_ban_row *pg_table_ban_find(pg_table *t, const pg_addr *addr,
                              apr_uint32_t now)
{
    pg_ban_row *bucket[2];
    int b, i;

    if (apr_atomic_read32(&t->ban_horizon) <= now || t->n_bans == 0) {
        return NULL;            /* every listed ban has run out */
    }
    pg_ban_buckets(t, addr, bucket);
    for (b = 0; b < 2; b++) {
        for (i = 0; i < PG_BAN_BUCKET; i++) {
            pg_ban_row *row = &bucket[b][i];

            if (pg_ban_running(row, now) && pg_addr_equal(&row->addr, addr)) {
                return row;
            }
        }
    }
    return NULL;
}

/* A row that may be given to another address: no running ban, and
 * nothing the shared store has yet to learn.  A put of a ban that has
 * ended is no longer needed (the store's copy would have expired too), so
 * bans started while the store is down do not pin their rows; a lift
 * waits until it is told (only an operator makes those). */
static int pg_ban_spare(const pg_ban_row *row, apr_uint32_t now)
{
    return !pg_ban_running(row, now)
           && (row->sync == PG_SYNC_NONE
               || (row->sync == PG_SYNC_PUT && row->until <= now));
}

/* Where a ban (or a store's answer) for addr goes: its own row if listed,
 * else a spare row in the bucket holding fewer running bans (of two, the
 * one whose store answer is older), else one in the other bucket; NULL
 * when none of the 16 is spare.  *own says which. */
static pg_ban_row *pg_ban_slot_own(pg_table *t, const pg_addr *addr,
                                   apr_uint32_t now, int *own)
{
    pg_ban_row *bucket[2], *spare[2] = { NULL, NULL };
    int running[2] = { 0, 0 };
    int b, i;

    *own = 0;
    pg_ban_buckets(t, addr, bucket);
    for (b = 0; b < 2; b++) {
        for (i = 0; i < PG_BAN_BUCKET; i++) {
            pg_ban_row *row = &bucket[b][i];

            if (row->addr.family && pg_addr_equal(&row->addr, addr)) {
                *own = 1;
                return row;
            }
            running[b] += pg_ban_running(row, now);
            if (pg_ban_spare(row, now)
                && (spare[b] == NULL || row->checked < spare[b]->checked)) {
                spare[b] = row;
            }
        }
    }
    b = running[1] < running[0];
    return spare[b] ? spare[b] : spare[!b];
}

static pg_ban_row *pg_ban_slot(pg_table *t, const pg_addr *addr,
                               apr_uint32_t now)
{
    int own;

    return pg_ban_slot_own(t, addr, now, &own);
}

/* A row given to addr: no ban, nothing asked or to sync yet; the address
 * is written after until is cleared (readers match a running ban first). */
static void pg_ban_row_claim(pg_ban_row *row, const pg_addr *addr)
{
    apr_atomic_set32(&row->until, 0);
    row->addr = *addr;
    row->started = 0;
    row->hits = 0;
    row->lifted = 0;
    row->checked = 0;
    row->sync = PG_SYNC_NONE;
    apr_atomic_set32(&row->blocked, 0);
}

/* The list's horizon (the end of its last ban) covers until: lock-free
 * readers and the agent skip the list after the horizon. */
static void pg_ban_horizon_raise(pg_table *t, apr_uint32_t until)
{
    if (until > apr_atomic_read32(&t->ban_horizon)) {
        apr_atomic_set32(&t->ban_horizon, until);
    }
}

pg_ban_row *pg_table_ban_add(pg_table *t, const pg_addr *addr,
                             apr_uint32_t now, apr_uint32_t started,
                             apr_uint32_t until, apr_uint32_t hits)
{
    pg_ban_row *row = t->n_bans ? pg_ban_slot(t, addr, now) : NULL;

    if (row == NULL) {
        t->bans_refused++;
        return NULL;
    }
    /* lock-free readers match on a running ban first: clear until before
     * the address changes, set it last */
    pg_ban_row_claim(row, addr);
    row->started = started;
    row->hits = hits;
    apr_atomic_set32(&row->until, until);
    if (started) {
        t->bans_started++;
    }
    pg_ban_horizon_raise(t, until);
    if (until > now) {
        apr_atomic_inc32(&t->ban_generation);  /* after the row: see .h */
    }
    return row;
}

/* The client row of addr, if the table has one (its probe window only). */
static pg_client_row *pg_client_find(pg_table *t, const pg_addr *addr)
{
    pg_client_row *rows = pg_table_clients(t);
    apr_uint32_t slot = pg_find_row(addr, t->seed, t->n_clients, rows,
                                    sizeof(*rows));

    return slot < t->n_clients ? &rows[slot] : NULL;
}

int pg_table_ban_lift(pg_table *t, const pg_addr *addr)
{
    pg_ban_row *bucket[2];
    pg_client_row *client;
    int b, i, found = 0;

    if (t->n_bans) {
        pg_ban_buckets(t, addr, bucket);
    }
    for (b = 0; b < 2 && t->n_bans; b++) {
        for (i = 0; i < PG_BAN_BUCKET; i++) {
            pg_ban_row *row = &bucket[b][i];

            if (row->addr.family && pg_addr_equal(&row->addr, addr)
                && !row->lifted) {
                row->lifted = 1;
                found = 1;
            }
        }
    }
    if (found) {
        apr_atomic_inc32(&t->ban_generation);
    }
    /* and the count towards the next ban starts again */
    if ((client = pg_client_find(t, addr)) != NULL) {
        client->ban_window_hits = 0;
        client->ban_pending = 0;
    }
    return found;
}

pg_ban_state pg_table_ban_state(pg_table *t, const pg_addr *addr,
                                apr_uint32_t now, apr_uint32_t ttl,
                                pg_ban_row **found, apr_uint32_t *fresh_until)
{
    pg_ban_row *bucket[2];
    int b, i;

    *found = NULL;
    *fresh_until = 0;
    if (t->n_bans == 0) {
        return PG_BAN_STATE_UNKNOWN;
    }
    pg_ban_buckets(t, addr, bucket);
    for (b = 0; b < 2; b++) {
        for (i = 0; i < PG_BAN_BUCKET; i++) {
            pg_ban_row *row = &bucket[b][i];

            if (!row->addr.family || !pg_addr_equal(&row->addr, addr)) {
                continue;
            }
            if (pg_ban_running(row, now)) {
                *found = row;
                return PG_BAN_STATE_BANNED;
            }
            if (now - row->checked >= ttl) {
                return PG_BAN_STATE_UNKNOWN;
            }
            *fresh_until = row->checked + ttl;
            return PG_BAN_STATE_CLEAR;
        }
    }
    return PG_BAN_STATE_UNKNOWN;
}

/* The pending slots an address may use: two, from a seeded hash. */
static pg_pending *pg_pending_slot(pg_table *t, const pg_addr *addr, int k)
{
    return &t->pending[(pg_addr_hash(addr, t->seed ^ 0x5bd1e995u) + (apr_uint32_t)k)
                       % PG_PENDING_MAX];
}

void pg_table_check_request(pg_table *t, const pg_addr *addr)
{
    int k;

    for (k = 0; k < 2; k++) {
        pg_pending *slot = pg_pending_slot(t, addr, k);
        apr_uint32_t state = apr_atomic_read32(&slot->state);

        if (state == PG_PENDING_READY && pg_addr_equal(&slot->addr, addr)) {
            return;             /* already asked for */
        }
        if (state == PG_PENDING_FREE
            && apr_atomic_cas32(&slot->state, PG_PENDING_WRITING,
                                PG_PENDING_FREE) == PG_PENDING_FREE) {
            slot->addr = *addr;
            apr_atomic_set32(&slot->state, PG_PENDING_READY);
            return;
        }
    }
    apr_atomic_inc32(&t->checks_dropped);
}

int pg_table_check_take(pg_table *t, pg_addr *addr)
{
    apr_uint32_t i;

    for (i = 0; i < PG_PENDING_MAX; i++) {
        pg_pending *slot = &t->pending[i];

        if (apr_atomic_read32(&slot->state) == PG_PENDING_READY
            && apr_atomic_cas32(&slot->state, PG_PENDING_TAKEN,
                                PG_PENDING_READY) == PG_PENDING_READY) {
            *addr = slot->addr;
            apr_atomic_set32(&slot->state, PG_PENDING_FREE);
            return 1;
        }
    }
    return 0;
}

void pg_table_check_answer(pg_table *t, const pg_addr *addr, apr_uint32_t now,
                           apr_uint32_t until)
{
    int own;
    pg_ban_row *row = t->n_bans ? pg_ban_slot_own(t, addr, now, &own) : NULL;

    if (row && own && row->sync == PG_SYNC_REMOVE) {
        row->checked = now;     /* lifted here: the store has yet to hear */
        return;
    }
    if (until > now) {
        /* banned in the store: a ban of ours keeps its row and story */
        if (!(row && own && pg_ban_running(row, now))) {
            row = pg_table_ban_add(t, addr, now, 0, until, 0);
        }
        else if (until > row->until) {
            apr_atomic_set32(&row->until, until);
            pg_ban_horizon_raise(t, until);
        }
        if (row) {
            row->checked = now;
        }
        return;
    }
    if (row == NULL) {
        return;                 /* 16 running bans: nowhere to note it */
    }
    if (!own) {
        pg_ban_row_claim(row, addr);
    }
    else if (pg_ban_running(row, now) && row->sync != PG_SYNC_PUT) {
        row->lifted = 1;        /* lifted elsewhere (or ended there) */
        apr_atomic_inc32(&t->ban_generation);
    }
    row->checked = now;
}

void pg_table_ban_mark_sync(pg_table *t, const pg_addr *addr, apr_uint32_t now,
                            apr_uint32_t op)
{
    int own;
    pg_ban_row *row = t->n_bans ? pg_ban_slot_own(t, addr, now, &own) : NULL;

    if (row == NULL) {
        return;
    }
    if (!own) {
        pg_ban_row_claim(row, addr);
    }
    row->sync = op;
    t->sync_pending = 1;
}

void pg_table_ban_synced(pg_table *t, const pg_addr *addr, apr_uint32_t op)
{
    int own;
    pg_ban_row *row = t->n_bans ? pg_ban_slot_own(t, addr, 0, &own) : NULL;

    if (row && own && row->sync == op) {
        row->sync = PG_SYNC_NONE;
    }
}

apr_uint32_t pg_table_bans_active(const pg_table *t, apr_uint32_t now)
{
    const pg_ban_row *rows = pg_table_bans_c(t);
    apr_uint32_t i, n = 0;

    if (t->ban_horizon <= now) {
        return 0;               /* every listed ban has run out */
    }
    for (i = 0; i < t->n_bans; i++) {
        n += rows[i].addr.family && pg_ban_running(&rows[i], now);
    }
    return n;
}

apr_size_t pg_ban_key(char *buf, apr_size_t size, const pg_addr *addr)
{
    char text[PG_CLIENT_TEXT_MAX];

    return (apr_size_t)apr_snprintf(buf, size, "pgban:%s",
                                    pg_addr_format(text, sizeof(text), addr));
}

apr_size_t pg_ban_value(char *buf, apr_size_t size, apr_uint32_t until)
{
    return (apr_size_t)apr_snprintf(buf, size, "%u", until);
}

apr_uint32_t pg_ban_value_until(const unsigned char *value, apr_size_t len)
{
    unsigned long n;

    return pg_parse_uint((const char *)value, len, 0xffffffffUL, &n)
           ? (apr_uint32_t)n : 0;
}

const char *pg_addr_format(char *buf, apr_size_t size, const pg_addr *addr)
{
    if (!inet_ntop(addr->family == 6 ? AF_INET6 : AF_INET, addr->bytes, buf,
                   (socklen_t)size)) {
        apr_cpystrn(buf, "?", size);
    }
    return buf;
}

int pg_addr_parse(pg_span text, pg_addr *addr)
{
    memset(addr, 0, sizeof(*addr));
    addr->family = (apr_uint32_t)pg_ip_parse(text, addr->bytes);
    return addr->family != 0;
}

void pg_addr_from_bytes(pg_addr *addr, int ipv6, const unsigned char *bytes)
{
    memset(addr, 0, sizeof(*addr));
    memcpy(addr->bytes, bytes, ipv6 ? 16 : 4);
    addr->family = (apr_uint32_t)pg_ip_fold(ipv6 ? 6 : 4, addr->bytes);
}

/* ------------------------------------------------------------------ */
/* Snapshots                                                            */

static apr_uint32_t pg_snapshot_rows(const pg_table *t)
{
    return t->n_clients < PG_SNAPSHOT_ROWS ? t->n_clients : PG_SNAPSHOT_ROWS;
}

apr_size_t pg_table_snapshot_bytes(const pg_table *t, apr_uint32_t kind)
{
    return kind == PG_SNAPSHOT_DETAILS
           ? pg_table_bytes(t->n_vhosts, pg_snapshot_rows(t))
           : pg_clients_offset(t->n_vhosts);
}

/* The heaviest rows of an array (clients or networks), in two passes: the
 * array's weights are read without the lock, keeping the indexes of the
 * heaviest in a min-heap on their weight (a row changing meanwhile can
 * only change which rows are picked); then the picked rows are copied
 * under the lock, in one hold as short as the copy.  A reader that held
 * the lock over the whole array (1,048,576 rows: milliseconds, with the
 * holder liable to lose its CPU meanwhile) would stall every counted hit;
 * one that read whole rows for their weight would take the CPU from them
 * for as long (100 MB, where the weights are 4 MB). */
typedef struct pg_pick {
    apr_uint32_t index;
    apr_uint32_t weight;
} pg_pick;

typedef struct pg_rows {
    const char *src;                /* the table's rows */
    const volatile apr_uint32_t *weights;   /* ... and their weights */
    char *dst;                      /* the copy's rows */
    apr_size_t size;                /* bytes of one row */
    apr_uint32_t n;                 /* source rows */
    apr_uint32_t cap;               /* rows the copy has */
} pg_rows;

static void pg_pick_swap(pg_pick *heap, apr_uint32_t a, apr_uint32_t b)
{
    pg_pick tmp = heap[a];

    heap[a] = heap[b];
    heap[b] = tmp;
}

static void pg_pick_down(pg_pick *heap, apr_uint32_t used, apr_uint32_t i)
{
    for (;;) {
        apr_uint32_t l = 2 * i + 1, r = l + 1, m = i;

        if (l < used && heap[l].weight < heap[m].weight) {
            m = l;
        }
        if (r < used && heap[r].weight < heap[m].weight) {
            m = r;
        }
        if (m == i) {
            return;
        }
        pg_pick_swap(heap, i, m);
        i = m;
    }
}

static void pg_pick_up(pg_pick *heap, apr_uint32_t i)
{
    while (i > 0 && heap[(i - 1) / 2].weight > heap[i].weight) {
        pg_pick_swap(heap, i, (i - 1) / 2);
        i = (i - 1) / 2;
    }
}

static void pg_pick_offer(pg_pick *heap, apr_uint32_t *used, apr_uint32_t cap,
                          apr_uint32_t index, apr_uint32_t weight)
{
    pg_pick pick;

    pick.index = index;
    pick.weight = weight;
    if (*used < cap) {
        heap[*used] = pick;
        pg_pick_up(heap, (*used)++);
    }
    else if (cap && weight > heap[0].weight) {
        heap[0] = pick;
        pg_pick_down(heap, *used, 0);
    }
}

/* Pass one, no lock: the indexes of the cap heaviest used rows.  The
 * weights are read 8 at a time, and a block none of whose weights would
 * enter the heap (free rows: 0) is passed over on its maximum: a few
 * instructions per row, where this pass is nearly all of a page's work
 * on a large table. */
#define PG_PICK_BLOCK 8

static apr_uint32_t pg_pick_heaviest(const pg_rows *r, pg_pick *heap)
{
    /* racing writers only change which rows are picked */
    const apr_uint32_t *w = (const apr_uint32_t *)r->weights;
    apr_uint32_t i, j, used = 0;

    for (i = 0; i < r->n; i += PG_PICK_BLOCK) {
        apr_uint32_t end = r->n - i < PG_PICK_BLOCK ? r->n : i + PG_PICK_BLOCK;
        apr_uint32_t floor = used < r->cap ? 0 : heap[0].weight;
        apr_uint32_t max = 0;

        for (j = i; j < end; j++) {
            max = w[j] > max ? w[j] : max;
        }
        if (max <= floor) {
            continue;
        }
        for (j = i; j < end; j++) {
            apr_uint32_t weight = w[j];

            if (weight) {
                pg_pick_offer(heap, &used, r->cap, j, weight);
            }
        }
    }
    return used;
}

/* Pass two, one hold of the lock: the picked rows as they are now (one
 * freed meanwhile is left out). */
static int pg_copy_picked(const pg_rows *r, const pg_pick *picks,
                          apr_uint32_t n, const pg_locker *locker)
{
    apr_uint32_t i, kept = 0;

    if (locker->lock(locker->baton) != 0) {
        return 0;
    }
    for (i = 0; i < n; i++) {
        const char *row = r->src + (apr_size_t)picks[i].index * r->size;

        if (((const pg_addr *)row)->family) {
            memcpy(r->dst + (apr_size_t)kept++ * r->size, row, r->size);
        }
    }
    locker->unlock(locker->baton);
    return 1;
}

static int pg_copy_heaviest(const pg_rows *r, const pg_locker *locker)
{
    pg_pick picks[PG_SNAPSHOT_TOP];

    return pg_copy_picked(r, picks, pg_pick_heaviest(r, picks), locker);
}

/* The running bans, as many as dst has rows: ban rows are written for
 * readers that take no lock (pg_table_ban_find), so neither does this. */
static void pg_copy_running_bans(pg_table *dst, const pg_table *src,
                                 apr_uint32_t now)
{
    const pg_ban_row *from = pg_table_bans_c(src);
    pg_ban_row *to = pg_table_bans(dst);
    apr_uint32_t i, n = 0;

    for (i = 0; i < src->n_bans && n < dst->n_bans && src->ban_horizon > now;
         i++) {
        if (from[i].addr.family && pg_ban_running(&from[i], now)) {
            to[n++] = from[i];
        }
    }
}

int pg_table_snapshot(pg_table *dst, pg_table *src, apr_uint32_t kind,
                      apr_uint32_t now, const pg_locker *locker)
{
    apr_size_t head = pg_clients_offset(src->n_vhosts);
    apr_uint32_t rows = pg_snapshot_rows(src);
    pg_rows clients, networks;

    /* the header and vhost rows in one piece: the counters agree */
    if (locker->lock(locker->baton) != 0) {
        return 0;
    }
    memcpy(dst, src, head);
    locker->unlock(locker->baton);
    dst->snapshot = kind;
    /* bans are read without the lock anyway (pg_table_ban_find) */
    dst->bans_active = pg_table_bans_active(src, now);
    if (kind != PG_SNAPSHOT_DETAILS) {
        return 1;
    }
    dst->n_clients = rows;
    dst->n_bans = pg_ban_rows(rows);
    memset((char *)dst + head, 0, pg_table_bytes(dst->n_vhosts, rows) - head);
    clients.src = (const char *)pg_table_clients(src);
    clients.weights = pg_client_weights(src);
    clients.dst = (char *)pg_table_clients(dst);
    clients.size = sizeof(pg_client_row);
    clients.n = src->n_clients;
    clients.cap = rows < PG_SNAPSHOT_TOP ? rows : PG_SNAPSHOT_TOP;
    networks = clients;
    networks.src = (const char *)pg_table_networks(src);
    networks.weights = pg_network_weights(src);
    networks.dst = (char *)pg_table_networks(dst);
    networks.size = sizeof(pg_network_row);
    if (!pg_copy_heaviest(&clients, locker)
        || !pg_copy_heaviest(&networks, locker)) {
        return 0;
    }
    pg_copy_running_bans(dst, src, now);
    return 1;
}

/* ------------------------------------------------------------------ */
/* Sums                                                                 */

/* Hits over every vhost row, of one reason and/or one action (-1: all). */
static apr_uint64_t pg_sum(const pg_table *t, int reason, int action)
{
    const pg_vhost_row *rows = pg_table_vhosts_c(t);
    apr_uint64_t sum = 0;
    apr_uint32_t i;
    int r, a;

    for (i = 0; i < t->vhosts_used && i < t->n_vhosts; i++) {
        for (r = 1; r < PG_REASON_COUNT; r++) {
            for (a = 0; a < PG_ACTIONS; a++) {
                if ((reason < 0 || r == reason) && (action < 0 || a == action)) {
                    sum += rows[i].hits[r][a];
                }
            }
        }
    }
    return sum;
}

apr_uint64_t pg_table_reason_total(const pg_table *t, pg_reason reason)
{
    return pg_sum(t, pg_reason_index(reason), -1);
}

apr_uint64_t pg_table_action_total(const pg_table *t, pg_action action)
{
    return pg_sum(t, -1, pg_action_index(action));
}

apr_uint64_t pg_table_total(const pg_table *t)
{
    return pg_sum(t, -1, -1);
}

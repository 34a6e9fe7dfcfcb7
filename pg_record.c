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
 * pg_record.c: a hit recorded in the shared hit table: client and network
 * rows, the log budget, a due ban, recent hits, the timeline.  See
 * pg_table.h.
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
 */

#include <string.h>

#include <apr_atomic.h>
#include <apr_strings.h>

#include "pg_ban.h"
#include "pg_table.h"
#include "pg_table_rows.h"

/* ------------------------------------------------------------------ */
/* Under the mutex                                                      */

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
        res->ban_key = ban->addr;
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

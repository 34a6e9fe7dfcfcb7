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
 * pg_ban.c: the ban list, the addresses waiting for the shared ban store,
 * and the store's key and value.  See pg_ban.h.
 *
 * Ban rows are different: a running ban must never end because others
 * began.  They live in buckets of PG_BAN_BUCKET rows; an address may use
 * the rows of two buckets (two seeded hashes, the emptier one first), so a
 * lookup reads at most 16 rows, and a new ban is refused (and counted) only
 * when all 16 hold running bans.  With random addresses that first happens
 * past 70 % of the rows (t/unit/test_table.c measures it).
 */

#include <string.h>

#include <apr_atomic.h>
#include <apr_strings.h>

#include "pg_ban.h"
#include "pg_table_rows.h"

/* ------------------------------------------------------------------ */
/* Bans                                                                 */

/* The first rows of the two buckets an address may use.  An IPv6 address
 * uses its /64's: the bans of one /64 and its network ban share 16 rows,
 * so counting them (ProxyGuardBanNet6) and looking up an address and its
 * /64 read the same rows, and one /64 never reaches the others. */
static void pg_ban_buckets(pg_table *t, const pg_addr *addr,
                           pg_ban_row *bucket[2])
{
    pg_ban_row *rows = pg_table_bans(t);
    apr_uint32_t n = t->n_bans / PG_BAN_BUCKET;
    pg_addr net;
    apr_uint64_t h;

    if (addr->family == 6) {
        net = pg_addr_net6(addr);
        addr = &net;
    }
    h = pg_addr_mix(addr, t->seed ^ 0x9e3779b9u);

    bucket[0] = rows + (apr_uint32_t)h % n * PG_BAN_BUCKET;
    bucket[1] = rows + (apr_uint32_t)(h >> 32) % n * PG_BAN_BUCKET;
}

/* An IPv6 address is also banned by its /64's ban: its key is compared
 * in the same pass over the same rows (pg_ban_buckets), so only IPv6
 * clients pay, one compare per running ban. */
pg_ban_row *pg_table_ban_find(pg_table *t, const pg_addr *addr,
                              apr_uint32_t now)
{
    pg_ban_row *bucket[2];
    pg_addr net;
    int v6 = addr->family == 6, b, i;

    if (apr_atomic_read32(&t->ban_horizon) <= now || t->n_bans == 0) {
        return NULL;            /* every listed ban has run out */
    }
    if (v6) {
        net = pg_addr_net6(addr);
    }
    pg_ban_buckets(t, addr, bucket);
    for (b = 0; b < 2; b++) {
        for (i = 0; i < PG_BAN_BUCKET; i++) {
            pg_ban_row *row = &bucket[b][i];

            if (pg_ban_running(row, now)
                && (pg_addr_equal(&row->addr, addr)
                    || (v6 && pg_addr_equal(&row->addr, &net)))) {
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

/* ProxyGuardBanNet6: the running bans of other addresses of addr's /64,
 * in the rows addr may use (all of them: pg_ban_buckets); the first in
 * *first.  release: and free their rows, once its network ban is written
 * (nothing to tell a shared store: its copies end on their own, and the
 * network ban covers them meanwhile); until is cleared first, as lock-free
 * readers match a running ban first. */
static apr_uint32_t pg_ban_net_rows(pg_table *t, const pg_addr *addr,
                                    apr_uint32_t now, pg_ban_row **first,
                                    int release)
{
    pg_ban_row *bucket[2];
    apr_uint32_t n = 0;
    int b, i;

    *first = NULL;
    pg_ban_buckets(t, addr, bucket);
    /* the two may be one bucket: its rows count once */
    for (b = 0; b < (bucket[1] == bucket[0] ? 1 : 2); b++) {
        for (i = 0; i < PG_BAN_BUCKET; i++) {
            pg_ban_row *row = &bucket[b][i];

            if (!pg_ban_running(row, now)
                || !pg_addr_same_net6(&row->addr, addr)
                || pg_addr_equal(&row->addr, addr)) {
                continue;
            }
            *first = *first ? *first : row;
            n++;
            if (release) {
                apr_atomic_set32(&row->until, 0);
                row->sync = PG_SYNC_NONE;
                row->addr.family = 0;
            }
        }
    }
    return n;
}

/* Is a ban of addr (IPv6) to be a ban of its /64?  When it makes
 * ban_net6 addresses of the /64 banned (counting addr), or sooner, when
 * the rows addr may use are all taken and another address of the /64
 * holds one: a /64 never gets a ban refused for rows its own addresses
 * hold. */
static int pg_ban_net_due(const pg_table *t, apr_uint32_t others, int room)
{
    return t->ban_net6 && (others + 1 >= t->ban_net6 || (!room && others));
}

/* What a ban of the IPv6 address addr is to be (*row: where it goes). */
#define PG_NET6_NO      0       /* a ban of the address, in *row as given */
#define PG_NET6_BAN     1       /* a ban of its /64 instead */
#define PG_NET6_COVERED 2       /* none: the /64's running ban, in *row */

/* The /64 goes in a free row, or else in the row of one of the addresses
 * it replaces. */
static int pg_ban_net6_plan(pg_table *t, const pg_addr *addr,
                            apr_uint32_t now, pg_ban_row **row)
{
    pg_addr net = pg_addr_net6(addr);
    pg_ban_row *first, *found = pg_table_ban_find(t, &net, now);
    apr_uint32_t others;

    if (found) {
        *row = found;
        return PG_NET6_COVERED;
    }
    others = pg_ban_net_rows(t, addr, now, &first, 0);
    if (!pg_ban_net_due(t, others, *row != NULL)) {
        return PG_NET6_NO;
    }
    found = pg_ban_slot(t, &net, now);
    *row = found ? found : first;
    return PG_NET6_BAN;
}

/* A network ban's row is written before the rows of the addresses it
 * replaces are freed: no lock-free reader finds neither. */
pg_ban_row *pg_table_ban_add(pg_table *t, const pg_addr *addr,
                             apr_uint32_t now, apr_uint32_t started,
                             apr_uint32_t until, apr_uint32_t hits)
{
    pg_ban_row *row = t->n_bans ? pg_ban_slot(t, addr, now) : NULL;
    int plan = t->n_bans && addr->family == 6
               ? pg_ban_net6_plan(t, addr, now, &row) : PG_NET6_NO;
    pg_addr key = plan == PG_NET6_BAN ? pg_addr_net6(addr) : *addr;

    if (plan == PG_NET6_COVERED) {
        return row;
    }
    if (row == NULL) {
        t->bans_refused++;
        return NULL;
    }
    /* lock-free readers match on a running ban first: clear until before
     * the address changes, set it last */
    pg_ban_row_claim(row, &key);
    row->started = started;
    row->hits = hits;
    apr_atomic_set32(&row->until, until);
    if (started) {
        t->bans_started++;
        t->bans_net_started += plan == PG_NET6_BAN;
    }
    if (plan == PG_NET6_BAN) {
        pg_ban_row *freed;

        pg_ban_net_rows(t, addr, now, &freed, 1);
    }
    pg_ban_horizon_raise(t, until);
    if (until > now) {
        apr_atomic_inc32(&t->ban_generation);  /* after the row: see .h */
    }
    return row;
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

/* Both keys of an IPv6 client: a running ban of either bans it; a key
 * without a fresh answer is asked for (a ban of the /64 found needs no
 * answer about the address); a "not banned" holds while both answers are
 * fresh. */
pg_ban_state pg_table_client_ban_state(pg_table *t, const pg_addr *addr,
                                       apr_uint32_t now, apr_uint32_t ttl,
                                       pg_ban_row **row,
                                       apr_uint32_t *fresh_until)
{
    pg_ban_state state = pg_table_ban_state(t, addr, now, ttl, row,
                                            fresh_until);
    pg_ban_state net_state = PG_BAN_STATE_CLEAR;
    pg_ban_row *net_row;
    apr_uint32_t net_fresh;
    pg_addr net;

    if (state != PG_BAN_STATE_BANNED && addr->family == 6) {
        net = pg_addr_net6(addr);
        net_state = pg_table_ban_state(t, &net, now, ttl, &net_row,
                                       &net_fresh);
        if (net_state == PG_BAN_STATE_BANNED) {
            *row = net_row;
            return net_state;
        }
        if (net_state == PG_BAN_STATE_UNKNOWN) {
            pg_table_check_request(t, &net);
        }
        else if (net_fresh < *fresh_until) {
            *fresh_until = net_fresh;
        }
    }
    if (state == PG_BAN_STATE_UNKNOWN) {
        pg_table_check_request(t, addr);
    }
    return state == PG_BAN_STATE_CLEAR ? net_state : state;
}

/* The pending slots an address may use: two, from a seeded hash. */
static pg_pending *pg_pending_slot(pg_table *t, const pg_addr *addr, int k)
{
    apr_uint32_t h = pg_addr_hash(addr, t->seed ^ 0x5bd1e995u);

    return &t->pending[(h + (apr_uint32_t)k) % PG_PENDING_MAX];
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

/* Is addr (an IPv6 address) covered by its /64's running ban? */
static int pg_ban_covered(pg_table *t, const pg_addr *addr, apr_uint32_t now)
{
    pg_addr net;

    if (addr->family != 6) {
        return 0;
    }
    net = pg_addr_net6(addr);
    return pg_table_ban_find(t, &net, now) != NULL;
}

/* A ban the shared store holds and the list does not.  One that makes its
 * /64 banned here (ProxyGuardBanNet6) is a network ban to tell the store. */
static pg_ban_row *pg_ban_add_found(pg_table *t, const pg_addr *addr,
                                    apr_uint32_t now, apr_uint32_t until)
{
    pg_ban_row *row = pg_table_ban_add(t, addr, now, 0, until, 0);

    if (row && pg_addr_is_net(&row->addr) && !pg_addr_is_net(addr)) {
        row->sync = PG_SYNC_PUT;
        t->sync_pending = 1;
    }
    return row;
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
            if (pg_ban_covered(t, addr, now)) {
                return;         /* a row per address would fill the list */
            }
            row = pg_ban_add_found(t, addr, now, until);
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

apr_uint32_t pg_table_bans_active(const pg_table *t, apr_uint32_t now,
                                  apr_uint32_t *networks)
{
    const pg_ban_row *rows = pg_table_bans_c(t);
    apr_uint32_t i, n = 0, nets = 0;

    for (i = 0; t->ban_horizon > now && i < t->n_bans; i++) {
        if (rows[i].addr.family && pg_ban_running(&rows[i], now)) {
            n++;
            nets += pg_addr_is_net(&rows[i].addr);
        }
    }
    if (networks) {
        *networks = nets;
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

    if (len > PG_BAN_VALUE_DIGITS) {
        return 0;               /* longer than any value we write */
    }
    return pg_parse_uint((const char *)value, len, 0xffffffffUL, &n)
           ? (apr_uint32_t)n : 0;
}

apr_uint32_t pg_ban_until_clamp(apr_uint32_t until, apr_uint32_t now,
                                apr_uint32_t duration)
{
    apr_uint32_t most = now + duration;

    return until > most ? most : until;
}

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
 * pg_ban.h: the ban list in the hit table, the addresses waiting for the
 * shared ban store, and the store's key and value format.
 */

#ifndef PG_BAN_H
#define PG_BAN_H

#include "pg_table.h"

/* What the ban list says of an address (pg_table_ban_state). */
typedef enum pg_ban_state {
    PG_BAN_STATE_UNKNOWN = 0,       /* the shared store was not asked lately */
    PG_BAN_STATE_CLEAR,             /* asked lately: not banned */
    PG_BAN_STATE_BANNED             /* a running ban */
} pg_ban_state;

static APR_INLINE int pg_ban_running(const pg_ban_row *row, apr_uint32_t now)
{
    return row->until > now && !row->lifted;
}


/* Bans.  A ban list of ProxyGuardTableSize rows in buckets of
 * PG_BAN_BUCKET; each address may use the rows of two buckets (chosen by
 * two seeded hashes; an IPv6 address by its /64's), so a lookup reads at
 * most 2 * PG_BAN_BUCKET rows.  An IPv6 address is banned by its own ban
 * or by its /64's (find: either).  add of an IPv6 address bans its /64
 * instead when that makes t->ban_net6 addresses of it banned (or its
 * rows are all taken, one by another address of the /64), freeing their
 * rows; it returns the /64's ban when one already runs.
 * add and lift under the mutex; find without it (it reads fixed-size rows
 * and bumps an atomic counter).  add returns NULL, and counts the refusal,
 * when both buckets hold only running bans: a running ban is never
 * replaced.  started 0: a ban found in a shared store. */
pg_ban_row *pg_table_ban_add(pg_table *t, const pg_addr *addr,
                             apr_uint32_t now, apr_uint32_t started,
                             apr_uint32_t until, apr_uint32_t hits);
pg_ban_row *pg_table_ban_find(pg_table *t, const pg_addr *addr,
                              apr_uint32_t now);
int pg_table_ban_lift(pg_table *t, const pg_addr *addr);

/* Changes at every ban added (running) or lifted, after the row is
 * written: an answer "not banned" taken after reading generation g holds
 * while the generation is still g (a ban that runs out needs no change:
 * only "not banned" is remembered).  What a connection remembers of its
 * client between requests rests on it (mod_proxyguard_ban.c). */
static APR_INLINE apr_uint32_t pg_table_ban_generation(const pg_table *t)
{
    /* acquire: the rows written before the change are seen with it (the
     * writers' apr_atomic_inc32 is a full barrier) */
    return __atomic_load_n(&t->ban_generation, __ATOMIC_ACQUIRE);
}
/* Running bans; *networks (may be NULL): of them, /64 networks. */
apr_uint32_t pg_table_bans_active(const pg_table *t, apr_uint32_t now,
                                  apr_uint32_t *networks);

/* With a shared ban store.  Request path, no lock: what the list says of
 * addr (a running ban in *row), the store's answer counting as fresh for
 * ttl seconds (a clear answer until *fresh_until); and, for an address
 * without a fresh answer, a request that the agent ask the store (dropped,
 * and counted, when the pending slots an address may use are taken: it is
 * asked for again at its next request). */
pg_ban_state pg_table_ban_state(pg_table *t, const pg_addr *addr,
                                apr_uint32_t now, apr_uint32_t ttl,
                                pg_ban_row **row, apr_uint32_t *fresh_until);
void pg_table_check_request(pg_table *t, const pg_addr *addr);
/* The request path's call: what the list says of a client, its address
 * and, for IPv6, its /64 (PG_ADDR_NET6) each the way pg_table_ban_state
 * says (banned if either is; unknown if either is, and then asked for;
 * a "not banned" fresh until the earlier end). */
pg_ban_state pg_table_client_ban_state(pg_table *t, const pg_addr *addr,
                                       apr_uint32_t now, apr_uint32_t ttl,
                                       pg_ban_row **row,
                                       apr_uint32_t *fresh_until);

/* The agent's side (mod_proxyguard_ban.c walks the rows itself for what
 * to sync and to ask again): takes the next address waiting for an answer
 * (no lock); records the store's answer (until 0: no ban) under the mutex,
 * never undoing a lift the store has yet to hear of; marks what the store
 * must learn (PG_SYNC_PUT, PG_SYNC_REMOVE) under the mutex. */
int pg_table_check_take(pg_table *t, pg_addr *addr);
void pg_table_check_answer(pg_table *t, const pg_addr *addr,
                           apr_uint32_t now, apr_uint32_t until);
void pg_table_ban_mark_sync(pg_table *t, const pg_addr *addr,
                            apr_uint32_t now, apr_uint32_t op);
/* the sync of op done: clears the row's mark if it is still op (a lift
 * marked while a put was on its way stays to be told) */
void pg_table_ban_synced(pg_table *t, const pg_addr *addr, apr_uint32_t op);

/* The ban store's key ("pgban:" and the address) and value (the second
 * the ban ends, in decimal), the same on every server sharing a store. */
#define PG_BAN_KEY_MAX (6 + PG_CLIENT_TEXT_MAX)
#define PG_BAN_VALUE_MAX 16         /* "4294967295" and then some */
#define PG_BAN_VALUE_DIGITS 10      /* the longest value we write */
apr_size_t pg_ban_key(char *buf, apr_size_t size, const pg_addr *addr);
apr_size_t pg_ban_value(char *buf, apr_size_t size, apr_uint32_t until);
/* 0 when value is not a ban value: not 1 to PG_BAN_VALUE_DIGITS digits
 * (no sign, no space), or over 32 bits */
apr_uint32_t pg_ban_value_until(const unsigned char *value, apr_size_t len);
/* What a store's ban end is believed as: at most duration (this server's
 * ProxyGuardBan) from now; a store that says more (up to 2106) is wrong or
 * hostile, and a ban is never longer here than this server would make it.
 * 0 stays 0 (no ban). */
apr_uint32_t pg_ban_until_clamp(apr_uint32_t until, apr_uint32_t now,
                                apr_uint32_t duration);

#endif /* PG_BAN_H */

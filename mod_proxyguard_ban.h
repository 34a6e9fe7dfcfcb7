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
 * mod_proxyguard_ban.h: bans at request time (mod_proxyguard_ban.c).
 */

#ifndef MOD_PROXYGUARD_BAN_H
#define MOD_PROXYGUARD_BAN_H

#include "httpd.h"

#include "pg_decide.h"
#include "pg_table.h"
#include "mod_proxyguard_config.h"

/* check_config: a bad ProxyGuardBanCache stops `apache2 -t`.
 * post_config: the store of this generation, and its agent. */
int pg_ban_check_config(server_rec *s, apr_pool_t *ptemp);
int pg_ban_post_config(server_rec *s, apr_pool_t *pconf, apr_pool_t *ptemp);

/* What a connection remembers of its client's ban lookup: "not banned"
 * (or exempt), while the ban list's generation is the same and, with a
 * shared store, the store's answer is fresh.  Bans start and end rarely;
 * a kept-alive connection then pays one lookup, not one per request. */
typedef struct pg_ban_memo {
    apr_uint32_t generation;
    apr_uint32_t clear_until;   /* 0: nothing remembered */
} pg_ban_memo;

/* Is the client banned (ProxyGuardBan on: pg_bans_configured)?  memo: the
 * connection's, or NULL. */
int pg_is_banned(request_rec *r, const pg_global_conf *g, pg_ban_memo *memo);

/* What a hit means for bans (pg_hit's ban_* fields): whether it counts
 * towards one, on what terms, and whether a ban it starts must be told to
 * a shared store. */
void pg_ban_terms(const request_rec *r, const pg_global_conf *g,
                  const pg_decision *v, pg_hit *hit);

/* The table's answer to a hit (pg_record_result): a ban started (kept in
 * a local store, logged as PG0010, or PG0016 when it bans the client's
 * /64), or refused for want of a row (PG0013, at most once a minute). */
void pg_ban_started(request_rec *r, const pg_global_conf *g,
                    const pg_record_result *res);
void pg_ban_refused(request_rec *r);

/* An operator lifts a ban (the status page's form). */
typedef enum pg_lift {
    PG_LIFT_LIFTED,             /* listed here, lifted everywhere */
    PG_LIFT_NOT_LISTED,         /* not listed here; removed from the store */
    PG_LIFT_FAILED              /* nothing done: no lock (logged), no bans */
} pg_lift;

pg_lift pg_ban_lift(request_rec *r, const pg_addr *addr);

#endif /* MOD_PROXYGUARD_BAN_H */

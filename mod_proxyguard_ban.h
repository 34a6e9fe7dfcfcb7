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

#include "pg_ban.h"
#include "pg_table.h"

int pg_ban_check_config(server_rec *s, apr_pool_t *ptemp);
int pg_ban_post_config(server_rec *s, apr_pool_t *pconf, apr_pool_t *ptemp);
int pg_bans_on(void);
extern int pg_bans_enabled;             /* ProxyGuardBan on: a store is set */
int pg_ban_store_shared(void);
int pg_ban_exempt(const request_rec *r);

/* What a connection remembers of its client's ban lookup: "not banned"
 * (or exempt), while the ban list's generation is the same and, with a
 * shared store, the store's answer is fresh.  Bans start and end rarely;
 * a kept-alive connection then pays one lookup, not one per request. */
typedef struct pg_ban_memo {
    apr_uint32_t generation;
    apr_uint32_t clear_until;   /* 0: nothing remembered */
} pg_ban_memo;

int pg_is_banned(request_rec *r, pg_ban_memo *memo);
void pg_ban_started(request_rec *r, const pg_addr *addr,
                    const pg_record_result *res);
void pg_ban_refused(request_rec *r);
int pg_ban_lift(request_rec *r, const pg_addr *addr);


#endif /* MOD_PROXYGUARD_BAN_H */

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
 * mod_proxyguard_store.h: the ban store, one ap_socache provider instance
 * per configuration generation (mod_proxyguard_store.c).
 */

#ifndef MOD_PROXYGUARD_STORE_H
#define MOD_PROXYGUARD_STORE_H

#include "httpd.h"

#include "pg_addr.h"

/* The shared store, seen from here (mod_proxyguard_store.c's comment). */
#define PG_STORE_TTL      5             /* seconds an answer is fresh */
#define PG_STORE_BACKOFF  10            /* seconds not asking after a failure */

/* check_config: can a store be made of spec (ProxyGuardBanCache's
 * provider[:args])?  NULL, or what is wrong, naming the directive. */
const char *pg_store_check(const char *spec, apr_pool_t *ptemp);

/* post_config: this generation's store, from pconf; OK, or !OK having said
 * why (PG0012). */
int pg_store_start(server_rec *s, const char *spec, apr_pool_t *pconf,
                   apr_pool_t *ptemp);

/* Is there a store (ProxyGuardBan on, and started)?  Is it this machine's
 * own (shmcb: not safe for concurrent use, so calls take the table's
 * mutex) rather than shared with other servers (memcache, redis)? */
int pg_store_ready(void);
int pg_store_is_local(void);

/* The calls, each building the key (pg_ban_key) and taking the mutex for a
 * local store: APR_SUCCESS (get: *until set), APR_NOTFOUND, or the store's
 * error.  put_key: a key of the caller's own (the agent's heartbeat). */
apr_status_t pg_store_put_key(const char *key, apr_size_t klen,
                              apr_uint32_t until, apr_pool_t *p);
apr_status_t pg_store_put(const pg_addr *addr, apr_uint32_t until,
                          apr_pool_t *p);
apr_status_t pg_store_get(const pg_addr *addr, apr_uint32_t *until,
                          apr_pool_t *p);
apr_status_t pg_store_remove(const pg_addr *addr, apr_pool_t *p);

/* A local store, at each start: the running bans of the table's list. */
void pg_store_refill(apr_pool_t *ptemp);

/* A call failed (what: "lookup", "store" ...), or answered: the store's
 * health in the table, PG0012 and PG0015. */
void pg_store_failed(server_rec *s, apr_status_t rv, const char *what);
void pg_store_answered(server_rec *s);

#endif /* MOD_PROXYGUARD_STORE_H */

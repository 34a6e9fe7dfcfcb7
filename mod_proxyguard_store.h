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
#include "ap_socache.h"

#include "pg_ban.h"
#include "pg_table.h"
#include "mod_proxyguard_config.h"

/* The shared store, seen from here (see the comment at the top). */
#define PG_STORE_TTL      5             /* seconds an answer is fresh */
#define PG_STORE_BACKOFF  10            /* seconds not asking after a failure */

typedef struct pg_ban_store {
    const char *spec;                   /* provider[:args], for messages */
    const ap_socache_provider_t *provider;
    ap_socache_instance_t *instance;
    server_rec *server;
    int local;                          /* NOTMPSAFE: this machine's own */
} pg_ban_store;

extern pg_ban_store *pg_store;
extern int pg_bans_enabled;

const char *pg_store_spec(const pg_global_conf *g);
const char *pg_store_open(const char *spec, apr_pool_t *ptemp,
                          apr_pool_t *pool, pg_ban_store *store);
apr_status_t pg_store_put_key(const char *key, apr_size_t klen,
                              apr_uint32_t until, apr_pool_t *p);
apr_status_t pg_store_put(const pg_addr *addr, apr_uint32_t until,
                          apr_pool_t *p);
apr_status_t pg_store_get(const pg_addr *addr, apr_uint32_t *until,
                          apr_pool_t *p);
apr_status_t pg_store_remove(const pg_addr *addr, apr_pool_t *p);
apr_status_t pg_store_destroy(void *data);
void pg_store_refill(apr_pool_t *ptemp);
void pg_store_failed(server_rec *s, apr_status_t rv, const char *what);
void pg_store_answered(server_rec *s);

#endif /* MOD_PROXYGUARD_STORE_H */

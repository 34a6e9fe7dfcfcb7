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
 * mod_proxyguard_table.h: the shared hit table in httpd
 * (mod_proxyguard_table.c).
 */

#ifndef MOD_PROXYGUARD_TABLE_H
#define MOD_PROXYGUARD_TABLE_H

#include "httpd.h"

#include "pg_snapshot.h"
#include "pg_table.h"

/* pre_config: the mutex type (Mutex proxyguard-shm). */
int pg_shm_pre_config(apr_pool_t *pconf);
/* post_config: the table kept or made, every vhost given its row
 * (pg_vhost_conf.vhost_row). */
int pg_shm_post_config(server_rec *s, apr_pool_t *ptemp);
void pg_shm_child_init(apr_pool_t *pchild, server_rec *s);
/* The same for a process of the module's own (the ban agent). */
apr_status_t pg_shm_reopen_mutex(apr_pool_t *p);

/* The table (NULL until post_config has made it) and its size. */
pg_table *pg_shm_table(void);
apr_size_t pg_shm_bytes(void);

apr_status_t pg_shm_lock(void);
void pg_shm_unlock(void);

/* A hit: counted (lock-free, exact), then recorded (client, network,
 * recent hits, the log budget, a due ban: pg_table_record).  wait: take
 * the mutex even when it is busy; else a busy mutex skips the detail.
 * Returns why the detail was skipped (APR_EBUSY, or the lock's error). */
void pg_shm_count(const pg_hit *hit);
apr_status_t pg_shm_record(const pg_hit *hit, int wait,
                           pg_record_result *res);

/* A private copy for the status page (pg_snapshot.h), or NULL. */
const pg_table *pg_shm_snapshot(apr_pool_t *p, apr_uint32_t kind);

#endif /* MOD_PROXYGUARD_TABLE_H */

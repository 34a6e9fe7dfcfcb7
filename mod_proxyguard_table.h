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
#include "apr_global_mutex.h"
#include "apr_shm.h"

#include "pg_snapshot.h"
#include "pg_table.h"

/* mod_proxyguard_table.c: the table and mutex, made once from the process
 * pool and found again at every start-up pass, so counters live through
 * restarts; NULL until post_config has made them. */
typedef struct pg_shared {
    apr_shm_t *shm;
    pg_table *table;
    apr_size_t bytes;
    apr_global_mutex_t *mutex;
} pg_shared;

extern pg_shared *pg_shm;

int pg_table_pre_config(apr_pool_t *pconf);
int pg_table_post_config(server_rec *s, apr_pool_t *ptemp);
void pg_table_child_init(apr_pool_t *pchild, server_rec *s);
apr_status_t pg_lock(void);
void pg_unlock(void);
void pg_addr_of(const apr_sockaddr_t *sa, pg_addr *addr);
void pg_count_hit(request_rec *r, const pg_verdict *v, int loggable,
                  pg_record_result *res);
const pg_table *pg_snapshot(apr_pool_t *p, int details);


#endif /* MOD_PROXYGUARD_TABLE_H */

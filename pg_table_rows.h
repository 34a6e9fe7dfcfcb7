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
 * pg_table_rows.h: what the hit table's own files (pg_table.c, pg_record.c,
 * pg_ban.c, pg_snapshot.c) share of its layout, and what its unit test
 * (t/unit/test_table.c) reads besides the API.  No other file includes it.
 */

#ifndef PG_TABLE_ROWS_H
#define PG_TABLE_ROWS_H

#include "pg_table.h"

apr_size_t pg_clients_offset(apr_uint32_t n_vhosts);
apr_uint32_t pg_ban_rows(apr_uint32_t n_clients);
volatile apr_uint32_t *pg_client_weights(const pg_table *t);
volatile apr_uint32_t *pg_network_weights(const pg_table *t);
apr_uint32_t pg_find_row(const pg_addr *key, apr_uint32_t seed,
                         apr_uint32_t n, const void *rows,
                         apr_size_t row_size);
pg_client_row *pg_client_find(pg_table *t, const pg_addr *addr);

static APR_INLINE int pg_action_index(pg_action action)
{
    return action == PG_ACTION_DENY ? 0 : 1;
}

static APR_INLINE int pg_reason_index(pg_reason reason)
{
    return (unsigned)reason < PG_REASON_COUNT ? (int)reason : PG_REASON_NONE;
}

/* For the unit test: bytes per ProxyGuardTableSize entry; and a vhost
 * name's row, found or claimed (linear in the rows in use; the module
 * claims through a hash of its own: pg_table_vhost_claim). */
apr_size_t pg_table_bytes_per_client(void);
int pg_table_vhost_row(pg_table *t, const char *name);

#endif /* PG_TABLE_ROWS_H */

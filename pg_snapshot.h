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
 * pg_snapshot.h: copies of the hit table for the status page.
 */

#ifndef PG_SNAPSHOT_H
#define PG_SNAPSHOT_H

#include "pg_table.h"

/* Copies of the table for the status page: what is shown, taken without
 * holding the mutex for longer than it takes to copy it.  SUMMARY: the
 * header and vhost rows (enough for ?auto, Prometheus and /server-status),
 * in one hold.  DETAILS: those, and of the client and network rows the
 * PG_SNAPSHOT_TOP with the most hits (picked in a pass over their weights
 * without the lock, then copied in one hold each), of the ban rows the
 * running ones, up to PG_SNAPSHOT_ROWS (read without the lock, as requests
 * read them):
 * memory and lock holds do not grow with ProxyGuardTableSize.  The copy
 * is a table with that many rows (n_clients, n_bans); capacity_clients
 * and capacity_bans keep the table's.  lock/unlock are called around each
 * hold.  A SUMMARY copy has no client, network or ban rows. */
#define PG_SNAPSHOT_SUMMARY 1u
#define PG_SNAPSHOT_DETAILS 2u
#define PG_SNAPSHOT_ROWS    1000    /* rows of each kind in a copy: the
                                     * running bans it keeps */
#define PG_SNAPSHOT_TOP     100     /* client and network rows picked: as
                                     * many as any view lists */

typedef struct pg_locker {
    int (*lock)(void *baton);       /* 0 on success */
    void (*unlock)(void *baton);
    void *baton;
} pg_locker;

apr_size_t pg_table_snapshot_bytes(const pg_table *t, apr_uint32_t kind);
/* 0 when a lock failed (dst is then unusable) */
int pg_table_snapshot(pg_table *dst, pg_table *src, apr_uint32_t kind,
                      apr_uint32_t now, const pg_locker *locker);

#endif /* PG_SNAPSHOT_H */

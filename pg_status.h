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
 * pg_status.h: renders a snapshot of the hit table as HTML, mod_status-style
 * "Key: value" lines, JSON or Prometheus text.  No httpd headers: output
 * goes through a callback (pg_out.h), so unit tests render into a buffer.
 * Every string that came from a request is escaped for its format by the
 * one escaper of that format (pg_out.h).
 */

#ifndef PG_STATUS_H
#define PG_STATUS_H

#include <apr_pools.h>

#include "pg_out.h"
#include "pg_snapshot.h"
#include "pg_table.h"

typedef enum pg_format {
    PG_FORMAT_HTML = 0,
    PG_FORMAT_AUTO,
    PG_FORMAT_JSON,
    PG_FORMAT_PROMETHEUS
} pg_format;

typedef struct pg_status_opts {
    apr_time_t now;
    int refresh;                /* HTML: seconds, 0 for none */
    const char *version;
    apr_size_t table_bytes;     /* size of the shared block */
} pg_status_opts;

/* Rows shown in the HTML tables and the JSON lists. */
#define PG_STATUS_TOP_HTML 25
#define PG_STATUS_TOP_JSON 100
#define PG_STATUS_TOP_BANS 1000     /* active bans listed (HTML and JSON) */

/* The query string of a status request: "auto", "json", "prometheus",
 * "refresh=N" (1-3600; anything else means no refresh), in any order,
 * '&'-separated; unknown words are ignored. */
pg_format pg_status_parse_query(const char *args, int *refresh);

const char *pg_status_content_type(pg_format format);

/* What a format shows: PG_SNAPSHOT_SUMMARY (?auto, Prometheus) or
 * PG_SNAPSHOT_DETAILS (HTML, JSON); see pg_table_snapshot. */
apr_uint32_t pg_status_snapshot_kind(pg_format format);

/* The whole document.  snap is a private copy of the table. */
void pg_status_render(const pg_out *out, apr_pool_t *p, pg_format format,
                      const pg_table *snap, const pg_status_opts *opts);

/* The "Key: value" lines alone (?auto, and /server-status?auto); a
 * summary snapshot is enough for these and the HTML summary. */
void pg_status_auto_lines(const pg_out *out, const pg_table *snap);

/* A short HTML section for /server-status. */
void pg_status_html_summary(const pg_out *out, const pg_table *snap);

#endif /* PG_STATUS_H */

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
 * probe_http.h: reading an HTTP/1 reply from a server that may be hostile:
 * the head at most 64 KiB, the body (Content-Length, chunked or to EOF) at
 * most PROBE_BODY_MAX bytes kept, everything within the connection's deadline.
 * The text is kept raw; escaping is the output's job (probe_report.c).
 */

#ifndef PROBE_HTTP_H
#define PROBE_HTTP_H

#include "probe.h"
#include "probe_net.h"

#define PROBE_BODY_MAX (256 * 1024)

/* The head (1xx interim replies skipped).  0 with r->status set, or -1
 * with r->error (no reply, not HTTP, timed out ...).  Bytes after the head
 * stay in the connection's buffer (a tunnel's first bytes). */
int probe_http_read_head(probe_conn *c, apr_pool_t *p, probe_reply *r);

/* The body the head announced (none for HEAD, 1xx, 204, 304). */
void probe_http_read_body(probe_conn *c, apr_pool_t *p, probe_reply *r,
                          int is_head);

/* Both; afterwards r->bytes is everything received. */
void probe_http_read(probe_conn *c, apr_pool_t *p, probe_reply *r, int is_head);

/* The head's Content-Length (through pg_parse_uint: digits only, at most
 * 2^63 - 1): 1 with *length set, 0 when it is there but not such a number,
 * -1 when there is none. */
int probe_http_content_length(const char *head, apr_size_t len,
                              apr_uint64_t *length);

/* FNV-1a, 64 bits: equality of bodies, nothing more. */
apr_uint64_t probe_http_hash(const char *data, apr_size_t len);

/* Does the reply's status line or body contain text? */
int probe_http_contains(const probe_reply *r, const char *text);

/* Do the len bytes at data (NUL bytes and all) contain text? */
int probe_mem_has(const char *data, apr_size_t len, const char *text);

#endif /* PROBE_HTTP_H */

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
 * probe_net.h: addresses and bounded client connections.  Every wait on a
 * client socket also serves the canary (one poll for both), so that a
 * proxy that connects to the canary while we wait for its answer gets its
 * answer from the canary: the program needs no threads.
 */

#ifndef PG_PROBE_NET_H
#define PG_PROBE_NET_H

#include "probe.h"

/* Numeric address only ("127.0.0.1", "::1", no brackets).  0 on success. */
int pg_addr_numeric(const char *text, unsigned port, pg_addr *out);

/* Every address a name resolves to (numeric first), at most max; returns
 * how many, 0 when none (*why says why). */
int pg_addr_resolve(const char *host, unsigned port, pg_addr *out, int max,
                    const char **why);

/* "127.0.0.1:80", "[::1]:80"; with_port 0: the address alone. */
const char *pg_addr_text(const pg_addr *a, int with_port, char *buf,
                         apr_size_t size);

unsigned pg_addr_port(const pg_addr *a);
void pg_addr_set_port(pg_addr *a, unsigned port);
int pg_addr_same_ip(const pg_addr *a, const pg_addr *b);
int pg_addr_is_v6(const pg_addr *a);

/* Splits "ADDR", "ADDR:PORT", "[V6]", "[V6]:PORT".  0 on success. */
int pg_split_host_port(apr_pool_t *p, const char *text, const char **host,
                       unsigned *port);

/* http://HOST[:PORT][/PATH] (the scheme in any case; IPv6 in brackets).
 * 0 on success; *port 80 when none is given, *path "/" when none. */
int pg_url_parse(apr_pool_t *p, const char *url, const char **host,
                 unsigned *port, const char **path);

typedef struct pg_conn {
    int fd;
    struct pg_canary *canary;   /* served while waiting; may be NULL */
    apr_time_t deadline;
    char *buf;                  /* received, not yet consumed */
    apr_size_t len;
    apr_size_t cap;
    apr_size_t total;           /* every byte received */
    int eof;
    int timed_out;
    const char *error;
} pg_conn;

/* Non-blocking connect bounded by deadline, from source when not NULL.
 * 0 on success; -1 with c->error set. */
int pg_conn_open(pg_conn *c, apr_pool_t *p, const pg_addr *to,
                 const pg_addr *source, struct pg_canary *canary,
                 apr_time_t deadline);

/* Sends everything or fails (-1, c->error). */
int pg_conn_send(pg_conn *c, const char *data, apr_size_t len);

/* Reads once more into the buffer (never past its capacity): the number
 * of bytes read, 0 at EOF, -1 on error or at the deadline. */
long pg_conn_fill(pg_conn *c);

/* Drops the first n bytes of the buffer. */
void pg_conn_consume(pg_conn *c, apr_size_t n);

void pg_conn_close(pg_conn *c);

/* Our end of the connection. */
int pg_conn_local(const pg_conn *c, pg_addr *out);

/* Serves the canary alone until the time given. */
void pg_net_pump(struct pg_canary *canary, apr_time_t until);

#endif /* PG_PROBE_NET_H */

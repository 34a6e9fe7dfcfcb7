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

#ifndef PROBE_NET_H
#define PROBE_NET_H

#include "probe.h"

/* Numeric address only ("127.0.0.1", "::1", no brackets).  0 on success. */
int probe_addr_numeric(const char *text, unsigned port, probe_addr *out);

/* Every address a name resolves to (numeric first), at most max; returns
 * how many, 0 when none (*why says why). */
int probe_addr_resolve(const char *host, unsigned port, probe_addr *out,
                       int max, const char **why);

/* "127.0.0.1:80", "[::1]:80"; with_port 0: the address alone. */
const char *probe_addr_text(const probe_addr *a, int with_port, char *buf,
                            apr_size_t size);

unsigned probe_addr_port(const probe_addr *a);
void probe_addr_set_port(probe_addr *a, unsigned port);
int probe_addr_same_ip(const probe_addr *a, const probe_addr *b);
int probe_addr_is_v6(const probe_addr *a);

/* Splits "ADDR", "ADDR:PORT", "[V6]", "[V6]:PORT".  0 on success. */
int probe_split_host_port(apr_pool_t *p, const char *text, const char **host,
                          unsigned *port);

/* http://HOST[:PORT][/PATH] (the scheme in any case; IPv6 in brackets).
 * 0 on success; *port 80 when none is given, *path "/" when none. */
int probe_url_parse(apr_pool_t *p, const char *url, const char **host,
                    unsigned *port, const char **path);

typedef struct probe_conn {
    int fd;
    struct probe_canary *canary;   /* served while waiting; may be NULL */
    apr_time_t deadline;
    char *buf;                  /* received, not yet consumed */
    apr_size_t len;
    apr_size_t cap;
    apr_size_t total;           /* every byte received */
    int eof;
    int timed_out;
    const char *error;
} probe_conn;

/* Non-blocking connect bounded by deadline, from source when not NULL.
 * 0 on success; -1 with c->error set. */
int probe_conn_open(probe_conn *c, apr_pool_t *p, const probe_addr *to,
                    const probe_addr *source, struct probe_canary *canary,
                    apr_time_t deadline);

/* Sends everything or fails (-1, c->error). */
int probe_conn_send(probe_conn *c, const char *data, apr_size_t len);

/* Reads once more into the buffer (never past its capacity): the number
 * of bytes read, 0 at EOF, -1 on error or at the deadline. */
long probe_conn_fill(probe_conn *c);

/* Drops the first n bytes of the buffer. */
void probe_conn_consume(probe_conn *c, apr_size_t n);

void probe_conn_close(probe_conn *c);

/* Our end of the connection. */
int probe_conn_local(const probe_conn *c, probe_addr *out);

/* Serves the canary alone until the time given. */
void probe_net_pump(struct probe_canary *canary, apr_time_t until);

#endif /* PROBE_NET_H */

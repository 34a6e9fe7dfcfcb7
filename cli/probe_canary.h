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
 * probe_canary.h: the canary.  Two listeners on an address the target can
 * reach: one answers HTTP, the other greets like an SMTP (or FTP) server.
 * Each probe carries a token of its own ("pgc" + a random nonce + "n" +
 * the probe's number); whatever bytes reach a listener are searched for
 * tokens, so a probe is proven proxied only when its own token came back
 * from the target, on a connection the canary accepted while that probe's
 * window was open.  The target sees the token (and so the nonce and the
 * marker): what the canary sends back also carries a proof, a keyed
 * digest of the window's token (probe_mac.h) that no request reveals.
 * The canary is served from the same poll as the client sockets
 * (probe_net.c).
 */

#ifndef PG_PROBE_CANARY_H
#define PG_PROBE_CANARY_H

#include <poll.h>

#include "probe.h"
#include "probe_mac.h"

typedef struct pg_canary pg_canary;

/* Listens on http (its port, 0 for any) and line (likewise).  NULL with
 * *why set when it cannot. */
pg_canary *pg_canary_open(apr_pool_t *p, const pg_addr *http,
                          const pg_addr *line, const char **why);
void pg_canary_close(pg_canary *c);

/* Where a listener is, for probes to name ("127.0.0.1:40001"). */
const pg_addr *pg_canary_addr(const pg_canary *c, pg_listener which);

/* A fresh nonce, a fresh key and no evidence: tokens and proofs of an
 * earlier target no longer count.  -1 with *why when there is no key. */
int pg_canary_reset(pg_canary *c, const char **why);

/* The token of probe number id (0 .. PG_PROBE_MAX-1). */
void pg_canary_token(const pg_canary *c, int id, char *buf, apr_size_t size);

/* Text every canary reply and banner carries.  It is built from the
 * nonce, which the target sees: a reply that carries it proves nothing. */
const char *pg_canary_marker(const pg_canary *c);

/* The proof for probe id: what the canary's banner, and its answer to a
 * connection that carried that probe's token, contain when the connection
 * came in the probe's window.  Only the canary's own bytes carry it. */
void pg_canary_proof(const pg_canary *c, int id, char out[PG_MAC_HEX]);

/* Connections accepted from now on are counted for probe id (-1: none). */
void pg_canary_window(pg_canary *c, int id);

const pg_evidence *pg_canary_evidence(const pg_canary *c, int id);

/* Connections still open. */
int pg_canary_busy(const pg_canary *c);

/* For the poll in probe_net.c: fills fds (at most max), returns how many;
 * then pg_canary_serve with the same array after poll. */
int pg_canary_pollfds(pg_canary *c, struct pollfd *fds, int max);
void pg_canary_serve(pg_canary *c, const struct pollfd *fds, int n);

/* The earliest time a canary connection expires (0: none open). */
apr_time_t pg_canary_next_expiry(const pg_canary *c);

#endif /* PG_PROBE_CANARY_H */

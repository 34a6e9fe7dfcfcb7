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

#ifndef PROBE_CANARY_H
#define PROBE_CANARY_H

#include <poll.h>

#include "probe.h"
#include "probe_mac.h"

typedef struct probe_canary probe_canary;

/* Listens on http (its port, 0 for any) and line (likewise).  NULL with
 * *why set when it cannot. */
probe_canary *probe_canary_open(apr_pool_t *p, const probe_addr *http,
                                const probe_addr *line, const char **why);
void probe_canary_close(probe_canary *c);

/* Where a listener is, for probes to name ("127.0.0.1:40001"). */
const probe_addr *probe_canary_addr(const probe_canary *c,
                                    probe_listener which);

/* A fresh nonce, a fresh key and no evidence: tokens and proofs of an
 * earlier target no longer count.  -1 with *why when there is no key. */
int probe_canary_reset(probe_canary *c, const char **why);

/* The token of probe number id (0 .. PROBE_MAX-1). */
void probe_canary_token(const probe_canary *c, int id, char *buf,
                        apr_size_t size);

/* Text every canary reply and banner carries.  It is built from the
 * nonce, which the target sees: a reply that carries it proves nothing. */
const char *probe_canary_marker(const probe_canary *c);

/* The proof for probe id: what the canary's banner, and its answer to a
 * connection that carried that probe's token, contain when the connection
 * came in the probe's window.  Only the canary's own bytes carry it. */
void probe_canary_proof(const probe_canary *c, int id, char out[PROBE_MAC_HEX]);

/* Connections accepted from now on are counted for probe id (-1: none). */
void probe_canary_window(probe_canary *c, int id);

const probe_evidence *probe_canary_evidence(const probe_canary *c, int id);

/* Connections still open. */
int probe_canary_busy(const probe_canary *c);

/* For the poll in probe_net.c: fills fds (at most max), returns how many;
 * then probe_canary_serve with the same array after poll. */
int probe_canary_pollfds(probe_canary *c, struct pollfd *fds, int max);
void probe_canary_serve(probe_canary *c, const struct pollfd *fds, int n);

/* The earliest time a canary connection expires (0: none open). */
apr_time_t probe_canary_next_expiry(const probe_canary *c);

#endif /* PROBE_CANARY_H */

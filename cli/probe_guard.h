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
 * probe_guard.h: --status URL.  mod_proxyguard's status page (?json) is
 * read before and after a target's probes: the hits by reason that the run
 * added, and, from the page's recent hits, which probe the module counted
 * under which reason and which it never saw.
 */

#ifndef PG_PROBE_GUARD_H
#define PG_PROBE_GUARD_H

#include "probe.h"

typedef struct pg_guard_state pg_guard_state;

/* Parses the URL and checks it is on the target's address (the program
 * talks to no other).  NULL with *why when it cannot be used. */
pg_guard_state *pg_guard_open(pg_run *run, const char *url, const pg_target *t,
                              const char **why);

/* Reads the page before the probes. */
void pg_guard_before(pg_run *run, pg_guard_state *g);

/* Reads it again and fills t->guard and each probe's guard_reason. */
void pg_guard_after(pg_run *run, pg_guard_state *g, pg_target *t);

#endif /* PG_PROBE_GUARD_H */

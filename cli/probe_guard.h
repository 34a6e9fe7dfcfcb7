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

#ifndef PROBE_GUARD_H
#define PROBE_GUARD_H

#include "probe.h"

typedef struct probe_guard_state probe_guard_state;

/* Parses the URL and checks it is on the target's address (the program
 * talks to no other).  NULL with *why when it cannot be used. */
probe_guard_state *probe_guard_open(probe_run *run, const char *url,
                                    const probe_target *t, const char **why);

/* Reads the page before the probes. */
void probe_guard_before(probe_run *run, probe_guard_state *g);

/* Reads it again and fills t->guard and each probe's guard_reason. */
void probe_guard_after(probe_run *run, probe_guard_state *g, probe_target *t);

#endif /* PROBE_GUARD_H */

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
 * probe_matrix.h: the baseline and the probes, what each sends and how it
 * is carried out (HTTP/1 here, h2c in probe_h2.c).
 */

#ifndef PROBE_MATRIX_H
#define PROBE_MATRIX_H

#include "probe.h"

/* Every probe, in the order they run; NULL-named entry last. */
extern const probe_def probe_defs[];

const probe_def *probe_matrix_find(const char *name);

/* Checks a --only list: NULL when every name is a probe, else the first
 * name that is not. */
const char *probe_matrix_check_only(apr_pool_t *p, const char *only);

/* GET / three ways.  0 when the target answered HTTP at least once;
 * -1 with target->error when it cannot be tested. */
int probe_matrix_baseline(probe_run *run, probe_target *t);

/* Fills t->probes (and t->skipped) with what applies to this target. */
void probe_matrix_plan(probe_run *run, probe_target *t);

/* Carries out one probe; the verdict comes later (probe_verdict.c). */
void probe_matrix_run(probe_run *run, probe_target *t, probe_item *pr);

/* One plain request (bytes as given) and its reply; 0 when it got an
 * HTTP answer.  local: our end of the connection, when not NULL. */
int probe_matrix_fetch(probe_run *run, const probe_addr *to,
                       const probe_addr *source, const char *bytes,
                       probe_reply *r, probe_addr *local);

/* The authority a probe names (canary, or a trick form of it). */
const char *probe_matrix_authority(apr_pool_t *p, const probe_run *run,
                                   const probe_target *t, const probe_def *d);

/* "host:port" as a URI or Host header writes it (IPv6 in brackets). */
const char *probe_matrix_hostport(apr_pool_t *p, const probe_addr *a);

#endif /* PROBE_MATRIX_H */

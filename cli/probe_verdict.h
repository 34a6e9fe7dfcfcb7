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
 * probe_verdict.h: what each probe's reply and the canary prove, and the
 * target's verdict (monitoring-plugin exit codes, cli.h).
 */

#ifndef PG_PROBE_VERDICT_H
#define PG_PROBE_VERDICT_H

#include "probe.h"

/* The canary's evidence is copied into the probe here: call it after the
 * last grace period, when late tokens have arrived. */
void pg_verdict_probe(pg_run *run, const pg_target *t, pg_probe *pr);

/* Counts and t->exit. */
void pg_verdict_target(pg_target *t);

/* One sentence: what this target is. */
const char *pg_verdict_summary(apr_pool_t *p, const pg_target *t);

const char *pg_pv_name(pg_pv v);

/* "ok", "warning", "critical", "unknown" */
const char *pg_exit_name(int exit);

/* The worse of two exit codes: CRITICAL > WARNING > UNKNOWN > OK. */
int pg_exit_worse(int a, int b);

#endif /* PG_PROBE_VERDICT_H */

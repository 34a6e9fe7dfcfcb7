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

#ifndef PROBE_VERDICT_H
#define PROBE_VERDICT_H

#include "probe.h"

/* The canary's evidence is copied into the probe here: call it after the
 * last grace period, when late tokens have arrived. */
void probe_verdict_probe(probe_run *run, const probe_target *t, probe_item *pr);

/* Counts and t->exit. */
void probe_verdict_target(probe_target *t);

/* One sentence: what this target is. */
const char *probe_verdict_summary(apr_pool_t *p, const probe_target *t);

const char *probe_pv_name(probe_pv v);

/* "ok", "warning", "critical", "unknown" */
const char *probe_exit_name(int exit);

/* The worse of two exit codes: CRITICAL > WARNING > UNKNOWN > OK. */
int probe_exit_worse(int a, int b);

#endif /* PROBE_VERDICT_H */

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
 * probe_h2.h: the h2c probes (--h2c), through nghttp2 with prior knowledge.
 * HTTP/2 has no absolute form: a proxy takes :authority as where to go, so
 * h2-get names the canary there; h2-connect is RFC 9113's CONNECT, proven
 * like the HTTP/1 one by a request through the stream.
 */

#ifndef PROBE_H2_H
#define PROBE_H2_H

#include "probe.h"

void probe_h2_run(probe_run *run, const probe_target *t, probe_item *pr);

#endif /* PROBE_H2_H */

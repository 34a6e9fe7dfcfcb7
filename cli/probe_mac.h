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
 * probe_mac.h: the canary's secret.  A target sees every byte a probe
 * sends it (the nonce, the token, the marker text are all derivable from
 * the request), so what the canary sends back through a relay carries a
 * keyed digest of the probe's token under a key drawn at random for each
 * target and never sent anywhere: only bytes that really came from the
 * canary carry it.
 */

#ifndef PROBE_MAC_H
#define PROBE_MAC_H

#include <apr.h>

#define PROBE_MAC_KEY  16          /* bytes of key */
#define PROBE_MAC_HEX  17          /* 16 hex digits and NUL */

/* A fresh key from the kernel (getrandom).  0, or -1 with *why set: there
 * is no proof without a key nobody can guess. */
int probe_mac_key(unsigned char key[PROBE_MAC_KEY], const char **why);

/* SipHash-2-4 of msg under key, as 16 lower-case hex digits. */
void probe_mac_hex(const unsigned char key[PROBE_MAC_KEY], const char *msg,
                   char out[PROBE_MAC_HEX]);

#endif /* PROBE_MAC_H */

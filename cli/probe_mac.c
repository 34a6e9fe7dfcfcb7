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
 * probe_mac.c: the canary's keyed digest; see probe_mac.h.
 *
 * SipHash-2-4 (Aumasson and Bernstein, 2012): a keyed pseudo-random
 * function made for short inputs, small enough to carry here rather than
 * link a crypto library for one digest.  64 bits are plenty: a target gets
 * one guess per probe, against a key that lives for one target's run.
 */

#include <errno.h>
#include <string.h>
#include <sys/random.h>

#include "probe_mac.h"

#define PROBE_ROTL(x, b) (((x) << (b)) | ((x) >> (64 - (b))))

static apr_uint64_t probe_le64(const unsigned char *p)
{
    apr_uint64_t v = 0;
    int i;

    for (i = 7; i >= 0; i--) {
        v = (v << 8) | p[i];
    }
    return v;
}

static void probe_sip_round(apr_uint64_t v[4])
{
    v[0] += v[1];
    v[1] = PROBE_ROTL(v[1], 13);
    v[1] ^= v[0];
    v[0] = PROBE_ROTL(v[0], 32);
    v[2] += v[3]; v[3] = PROBE_ROTL(v[3], 16); v[3] ^= v[2];
    v[0] += v[3]; v[3] = PROBE_ROTL(v[3], 21); v[3] ^= v[0];
    v[2] += v[1];
    v[1] = PROBE_ROTL(v[1], 17);
    v[1] ^= v[2];
    v[2] = PROBE_ROTL(v[2], 32);
}

/* Two compression rounds per 8-byte word. */
static void probe_sip_word(apr_uint64_t v[4], apr_uint64_t m)
{
    v[3] ^= m;
    probe_sip_round(v);
    probe_sip_round(v);
    v[0] ^= m;
}

static apr_uint64_t probe_siphash(const unsigned char key[PROBE_MAC_KEY],
                                  const unsigned char *msg, apr_size_t len)
{
    apr_uint64_t k0 = probe_le64(key), k1 = probe_le64(key + 8);
    apr_uint64_t v[4] = { k0 ^ APR_UINT64_C(0x736f6d6570736575),
                          k1 ^ APR_UINT64_C(0x646f72616e646f6d),
                          k0 ^ APR_UINT64_C(0x6c7967656e657261),
                          k1 ^ APR_UINT64_C(0x7465646279746573) };
    unsigned char last[8] = { 0 };
    apr_size_t i, tail = len & 7;

    for (i = 0; i + 8 <= len; i += 8) {
        probe_sip_word(v, probe_le64(msg + i));
    }
    memcpy(last, msg + i, tail);
    last[7] = (unsigned char)len;
    probe_sip_word(v, probe_le64(last));
    v[2] ^= 0xff;
    for (i = 0; i < 4; i++) {
        probe_sip_round(v);
    }
    return v[0] ^ v[1] ^ v[2] ^ v[3];
}

int probe_mac_key(unsigned char key[PROBE_MAC_KEY], const char **why)
{
    apr_size_t got = 0;

    while (got < PROBE_MAC_KEY) {
        ssize_t n = getrandom(key + got, PROBE_MAC_KEY - got, 0);

        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            *why = n < 0 ? strerror(errno) : "getrandom returned nothing";
            return -1;
        }
        got += (apr_size_t)n;
    }
    return 0;
}

void probe_mac_hex(const unsigned char key[PROBE_MAC_KEY], const char *msg,
                   char out[PROBE_MAC_HEX])
{
    static const char hex[] = "0123456789abcdef";
    apr_uint64_t h =
        probe_siphash(key, (const unsigned char *)msg, strlen(msg));
    int i;

    for (i = 15; i >= 0; i--) {
        out[i] = hex[h & 15];
        h >>= 4;
    }
    out[16] = '\0';
}

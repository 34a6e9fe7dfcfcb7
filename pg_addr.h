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
 * pg_addr.h: a client address as the hit table and the ban store key it,
 * and its text.
 */

#ifndef PG_ADDR_H
#define PG_ADDR_H

#include <string.h>

#include <apr.h>
#include <apr_network_io.h>

#include "pg_decide.h"

/* A client address as the table keys it: family (4 or 6) and 16 bytes,
 * IPv4 in the first 4. */
typedef struct pg_addr {
    apr_uint32_t family;
    unsigned char bytes[16];
} pg_addr;

/* A 64-bit mix of the address, seeded per table: two multiply-xorshift
 * rounds over the address as two words (a few instructions where a
 * byte-wise hash took a hundred; the request path hashes every client
 * while bans run).  The two halves serve as two independent choices. */
static APR_INLINE apr_uint64_t pg_addr_mix(const pg_addr *a,
                                           apr_uint32_t seed)
{
    apr_uint64_t w0, w1, h;

    memcpy(&w0, a->bytes, 8);
    memcpy(&w1, a->bytes + 8, 8);
    h = ((apr_uint64_t)seed << 32 | seed) ^ 0x9e3779b97f4a7c15ULL ^ a->family;
    h = (h ^ w0) * 0xbf58476d1ce4e5b9ULL;
    h = (h ^ (h >> 31) ^ w1) * 0x94d049bb133111ebULL;
    h ^= h >> 29;
    h *= 0xbf58476d1ce4e5b9ULL;
    return h ^ (h >> 32);
}

static APR_INLINE apr_uint32_t pg_addr_hash(const pg_addr *a,
                                            apr_uint32_t seed)
{
    return (apr_uint32_t)pg_addr_mix(a, seed);
}

static APR_INLINE int pg_addr_equal(const pg_addr *a, const pg_addr *b)
{
    return a->family == b->family && memcmp(a->bytes, b->bytes, 16) == 0;
}

/* Address text, as inet_ntop writes it; and back (0 if not exactly an
 * address: a NUL inside the span, or anything after the address, is not).
 * An IPv4-mapped IPv6 address is that IPv4 address (pg_ip_parse).  A /64
 * ban key is written and read as "2001:db8:1:2::/64" (parse: an IPv6
 * address, then "/64"; its host bits are dropped); _bare writes its
 * prefix without the "/64" (the JSON has the length in a field). */
const char *pg_addr_format(char *buf, apr_size_t size, const pg_addr *addr);
const char *pg_addr_format_bare(char *buf, apr_size_t size,
                                const pg_addr *addr);
int pg_addr_parse(pg_span text, pg_addr *addr);

/* A binary address from a socket (APR_INET / APR_INET6 bytes), folded the
 * same way. */
void pg_addr_from_bytes(pg_addr *addr, int ipv6, const unsigned char *bytes);

/* The address of a socket (a client's): family 0 when neither IPv4 nor
 * IPv6. */
void pg_addr_of(const apr_sockaddr_t *sa, pg_addr *addr);

/* The /24 or /64 an address belongs to. */
pg_addr pg_addr_network(const pg_addr *addr);

/* A ban key for an IPv6 /64 (a network ban, ProxyGuardBanNet6): a family
 * of its own, so that it never equals an address (2001:db8::/64 is not the
 * address 2001:db8::), the first 8 bytes the prefix, the rest zero.  Only
 * ban rows, the ban store's keys and the pending slots hold such keys;
 * client and network rows never do.  Its text is "2001:db8:1:2::/64". */
#define PG_ADDR_NET6 64u

static APR_INLINE int pg_addr_is_net(const pg_addr *a)
{
    return a->family == PG_ADDR_NET6;
}

/* The /64 ban key of an IPv6 address. */
pg_addr pg_addr_net6(const pg_addr *addr);

/* Are a and b IPv6 addresses of one /64? */
static APR_INLINE int pg_addr_same_net6(const pg_addr *a, const pg_addr *b)
{
    return a->family == 6 && b->family == 6
           && memcmp(a->bytes, b->bytes, 8) == 0;
}

/* The prefix length a key stands for: 32, 128, or 64 for a network. */
static APR_INLINE unsigned pg_addr_prefix_len(const pg_addr *a)
{
    return a->family == PG_ADDR_NET6 ? 64u : a->family == 6 ? 128u : 32u;
}


#endif /* PG_ADDR_H */

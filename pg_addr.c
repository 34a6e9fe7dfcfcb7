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
 * pg_addr.c: address text and networks.  See pg_addr.h.
 */

#include <string.h>
#include <arpa/inet.h>

#include <apr_network_io.h>
#include <apr_strings.h>

#include "pg_addr.h"

pg_addr pg_addr_network(const pg_addr *addr)
{
    pg_addr net;

    memset(&net, 0, sizeof(net));
    net.family = addr->family;
    memcpy(net.bytes, addr->bytes, addr->family == 6 ? 8 : 3);
    return net;
}

pg_addr pg_addr_net6(const pg_addr *addr)
{
    pg_addr net = pg_addr_network(addr);

    net.family = PG_ADDR_NET6;
    return net;
}

const char *pg_addr_format_bare(char *buf, apr_size_t size,
                                const pg_addr *addr)
{
    int ipv6 = addr->family == 6 || addr->family == PG_ADDR_NET6;

    if (!inet_ntop(ipv6 ? AF_INET6 : AF_INET, addr->bytes, buf,
                   (socklen_t)size)) {
        apr_cpystrn(buf, "?", size);
    }
    return buf;
}

const char *pg_addr_format(char *buf, apr_size_t size, const pg_addr *addr)
{
    apr_size_t len = strlen(pg_addr_format_bare(buf, size, addr));

    if (pg_addr_is_net(addr) && len + sizeof("/64") <= size) {
        memcpy(buf + len, "/64", sizeof("/64"));
    }
    return buf;
}

/* "2001:db8:1:2::/64": the /64 ban key; anything else after a '/' is not
 * a key (a /24, or another length, is never banned as a network). */
static int pg_addr_parse_net6(pg_span text, pg_addr *addr)
{
    pg_addr ip;

    memset(&ip, 0, sizeof(ip));
    if (text.len <= 3 || memcmp(text.ptr + text.len - 3, "/64", 3) != 0
        || pg_ip_parse((pg_span){ text.ptr, text.len - 3 }, ip.bytes) != 6) {
        return 0;
    }
    ip.family = 6;
    *addr = pg_addr_net6(&ip);
    return 1;
}

int pg_addr_parse(pg_span text, pg_addr *addr)
{
    memset(addr, 0, sizeof(*addr));
    if (text.ptr && memchr(text.ptr, '/', text.len)) {
        return pg_addr_parse_net6(text, addr);
    }
    addr->family = (apr_uint32_t)pg_ip_parse(text, addr->bytes);
    return addr->family != 0;
}

void pg_addr_from_bytes(pg_addr *addr, int ipv6, const unsigned char *bytes)
{
    memset(addr, 0, sizeof(*addr));
    memcpy(addr->bytes, bytes, ipv6 ? 16 : 4);
    addr->family = (apr_uint32_t)pg_ip_fold(ipv6 ? 6 : 4, addr->bytes);
}

void pg_addr_of(const apr_sockaddr_t *sa, pg_addr *addr)
{
    memset(addr, 0, sizeof(*addr));
#if APR_HAVE_IPV6
    if (sa && sa->family == APR_INET6) {
        pg_addr_from_bytes(addr, 1, sa->ipaddr_ptr);
        return;
    }
#endif
    if (sa && sa->family == APR_INET) {
        pg_addr_from_bytes(addr, 0, sa->ipaddr_ptr);
    }
}

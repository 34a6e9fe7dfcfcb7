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
 * probe_net.c: addresses and bounded client connections; see probe_net.h.
 */

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <apr_strings.h>

#include "pg_decide.h"

#include "probe_canary.h"
#include "probe_net.h"

#define PROBE_CONN_BUF  (64 * 1024)    /* a reply is read through this */
#define PROBE_POLL_MAX  48             /* one client + the canary's sockets */

int probe_addr_numeric(const char *text, unsigned port, probe_addr *out)
{
    struct sockaddr_in *v4 = (struct sockaddr_in *)&out->ss;
    struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)&out->ss;

    memset(out, 0, sizeof(*out));
    if (inet_pton(AF_INET, text, &v4->sin_addr) == 1) {
        v4->sin_family = AF_INET;
        v4->sin_port = htons((unsigned short)port);
        out->len = sizeof(*v4);
        return 0;
    }
    if (inet_pton(AF_INET6, text, &v6->sin6_addr) == 1) {
        v6->sin6_family = AF_INET6;
        v6->sin6_port = htons((unsigned short)port);
        out->len = sizeof(*v6);
        return 0;
    }
    return -1;
}

int probe_addr_resolve(const char *host, unsigned port, probe_addr *out,
                       int max, const char **why)
{
    struct addrinfo hints, *res, *ai;
    int n = 0, rc;

    if (max > 0 && probe_addr_numeric(host, port, &out[0]) == 0) {
        return 1;
    }
    memset(&hints, 0, sizeof(hints));
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_ADDRCONFIG;
    if ((rc = getaddrinfo(host, NULL, &hints, &res)) != 0) {
        *why = gai_strerror(rc);
        return 0;
    }
    for (ai = res; ai && n < max; ai = ai->ai_next) {
        if ((ai->ai_family != AF_INET && ai->ai_family != AF_INET6)
            || ai->ai_addrlen > sizeof(out[n].ss)) {
            continue;
        }
        memset(&out[n], 0, sizeof(out[n]));
        memcpy(&out[n].ss, ai->ai_addr, ai->ai_addrlen);
        out[n].len = ai->ai_addrlen;
        probe_addr_set_port(&out[n], port);
        n++;
    }
    freeaddrinfo(res);
    if (!n) {
        *why = "no IPv4 or IPv6 address";
    }
    return n;
}

int probe_addr_is_v6(const probe_addr *a)
{
    return a->ss.ss_family == AF_INET6;
}

unsigned probe_addr_port(const probe_addr *a)
{
    return probe_addr_is_v6(a)
           ? ntohs(((const struct sockaddr_in6 *)&a->ss)->sin6_port)
           : ntohs(((const struct sockaddr_in *)&a->ss)->sin_port);
}

void probe_addr_set_port(probe_addr *a, unsigned port)
{
    if (probe_addr_is_v6(a)) {
        ((struct sockaddr_in6 *)&a->ss)->sin6_port =
            htons((unsigned short)port);
    }
    else {
        ((struct sockaddr_in *)&a->ss)->sin_port = htons((unsigned short)port);
    }
}

int probe_addr_same_ip(const probe_addr *a, const probe_addr *b)
{
    if (a->ss.ss_family != b->ss.ss_family) {
        return 0;
    }
    if (probe_addr_is_v6(a)) {
        return !memcmp(&((const struct sockaddr_in6 *)&a->ss)->sin6_addr,
                       &((const struct sockaddr_in6 *)&b->ss)->sin6_addr, 16);
    }
    return ((const struct sockaddr_in *)&a->ss)->sin_addr.s_addr
           == ((const struct sockaddr_in *)&b->ss)->sin_addr.s_addr;
}

const char *probe_addr_text(const probe_addr *a, int with_port, char *buf,
                            apr_size_t size)
{
    char ip[INET6_ADDRSTRLEN];
    const void *raw = probe_addr_is_v6(a)
        ? (const void *)&((const struct sockaddr_in6 *)&a->ss)->sin6_addr
        : (const void *)&((const struct sockaddr_in *)&a->ss)->sin_addr;

    if (!inet_ntop(a->ss.ss_family, raw, ip, sizeof(ip))) {
        apr_cpystrn(buf, "?", size);
    }
    else if (!with_port) {
        apr_cpystrn(buf, ip, size);
    }
    else if (probe_addr_is_v6(a)) {
        apr_snprintf(buf, size, "[%s]:%u", ip, probe_addr_port(a));
    }
    else {
        apr_snprintf(buf, size, "%s:%u", ip, probe_addr_port(a));
    }
    return buf;
}

static int probe_parse_port(const char *s, unsigned *port)
{
    unsigned long v;

    if (!pg_parse_uint(s, strlen(s), 65535, &v) || v == 0) {
        return -1;
    }
    *port = (unsigned)v;
    return 0;
}

int probe_split_host_port(apr_pool_t *p, const char *text, const char **host,
                          unsigned *port)
{
    const char *colon;

    *port = 0;
    if (*text == '[') {
        const char *end = strchr(text, ']');

        if (!end || end == text + 1) {
            return -1;
        }
        *host = apr_pstrndup(p, text + 1, (apr_size_t)(end - text - 1));
        if (end[1] == '\0') {
            return 0;
        }
        return end[1] == ':' ? probe_parse_port(end + 2, port) : -1;
    }
    colon = strchr(text, ':');
    if (colon && strchr(colon + 1, ':')) {
        *host = text;           /* a bare IPv6 address, no port */
        return 0;
    }
    if (!colon) {
        *host = text;
        return *text ? 0 : -1;
    }
    if (colon == text) {
        return -1;
    }
    *host = apr_pstrndup(p, text, (apr_size_t)(colon - text));
    return probe_parse_port(colon + 1, port);
}

int probe_url_parse(apr_pool_t *p, const char *url, const char **host,
                    unsigned *port, const char **path)
{
    const char *auth, *slash;

    if (strncasecmp(url, "http://", 7)) {
        return -1;
    }
    auth = url + 7;
    slash = auth + strcspn(auth, "/?#");
    if (slash == auth || memchr(auth, '@', (apr_size_t)(slash - auth))) {
        return -1;
    }
    if (probe_split_host_port(
            p, apr_pstrndup(p, auth, (apr_size_t)(slash - auth)), host, port)
        < 0) {
        return -1;
    }
    if (!*port) {
        *port = 80;
    }
    *path = *slash == '/' ? slash : apr_pstrcat(p, "/", slash, NULL);
    return 0;
}

/* One poll over the client socket (fd < 0: none) and the canary, until the
 * socket is ready for events or the deadline passes.  1 ready, 0 at the
 * deadline, -1 on a poll error. */
static int probe_net_wait(probe_canary *canary, int fd, short events,
                          apr_time_t deadline)
{
    for (;;) {
        struct pollfd fds[PROBE_POLL_MAX];
        int n = 0, rc, timeout_ms;
        apr_time_t now = apr_time_now(), wake = deadline;

        if (now >= deadline) {
            return 0;
        }
        if (fd >= 0) {
            fds[n].fd = fd;
            fds[n].events = events;
            fds[n].revents = 0;
            n++;
        }
        if (canary) {
            apr_time_t expiry = probe_canary_next_expiry(canary);

            n += probe_canary_pollfds(canary, fds + n, PROBE_POLL_MAX - n);
            if (expiry && expiry < wake) {
                wake = expiry < now ? now : expiry;
            }
        }
        timeout_ms = (int)((wake - now + 999) / 1000);
        rc = poll(fds, (nfds_t)n, timeout_ms);
        if (rc < 0) {
            if (errno == EINTR) {
                continue;
            }
            return -1;
        }
        if (canary) {
            probe_canary_serve(canary, fds + (fd >= 0), n - (fd >= 0));
        }
        if (fd >= 0 && fds[0].revents) {
            return 1;
        }
        if (fd < 0 && apr_time_now() >= deadline) {
            return 0;
        }
        /* only the canary was served, or a connection of it expired:
         * wait on with the caller's own deadline */
    }
}

void probe_net_pump(probe_canary *canary, apr_time_t until)
{
    while (apr_time_now() < until) {
        probe_net_wait(canary, -1, 0, until);
    }
}

static int probe_set_nonblocking(int fd)
{
    int flags = fcntl(fd, F_GETFL, 0);

    return flags < 0 ? -1 : fcntl(fd, F_SETFL, flags | O_NONBLOCK);
}

static int probe_conn_fail(probe_conn *c, apr_pool_t *p, const char *what,
                           int err)
{
    c->error = p ? apr_psprintf(p, "%s: %s", what, strerror(err)) : what;
    if (c->fd >= 0) {
        close(c->fd);
        c->fd = -1;
    }
    return -1;
}

int probe_conn_open(probe_conn *c, apr_pool_t *p, const probe_addr *to,
                    const probe_addr *source, probe_canary *canary,
                    apr_time_t deadline)
{
    int err = 0;
    socklen_t errlen = sizeof(err);

    memset(c, 0, sizeof(*c));
    c->canary = canary;
    c->deadline = deadline;
    c->cap = PROBE_CONN_BUF;
    c->buf = apr_palloc(p, c->cap);
    c->fd = socket(to->ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (c->fd < 0) {
        return probe_conn_fail(c, p, "socket", errno);
    }
    if (source
        && bind(c->fd, (const struct sockaddr *)&source->ss, source->len) < 0) {
        return probe_conn_fail(c, p, "bind to the source address", errno);
    }
    if (probe_set_nonblocking(c->fd) < 0) {
        return probe_conn_fail(c, p, "fcntl", errno);
    }
    if (connect(c->fd, (const struct sockaddr *)&to->ss, to->len) == 0) {
        return 0;
    }
    if (errno != EINPROGRESS) {
        return probe_conn_fail(c, p, "connect", errno);
    }
    switch (probe_net_wait(canary, c->fd, POLLOUT, deadline)) {
    case 1:
        break;
    case 0:
        c->timed_out = 1;
        return probe_conn_fail(c, NULL, "connect: timed out", 0);
    default:
        return probe_conn_fail(c, p, "poll", errno);
    }
    if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &errlen) < 0) {
        return probe_conn_fail(c, p, "connect", errno);
    }
    if (err) {
        return probe_conn_fail(c, p, "connect", err);
    }
    return 0;
}

int probe_conn_send(probe_conn *c, const char *data, apr_size_t len)
{
    while (len) {
        ssize_t n = send(c->fd, data, len, MSG_NOSIGNAL);

        if (n > 0) {
            data += n;
            len -= (apr_size_t)n;
            continue;
        }
        if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK
            && errno != EINTR) {
            c->error = errno == EPIPE || errno == ECONNRESET
                       ? "the server closed the connection" : "send failed";
            return -1;
        }
        if (probe_net_wait(c->canary, c->fd, POLLOUT, c->deadline) != 1) {
            c->timed_out = 1;
            c->error = "timed out sending";
            return -1;
        }
    }
    return 0;
}

long probe_conn_fill(probe_conn *c)
{
    for (;;) {
        ssize_t n;

        if (c->eof) {
            return 0;
        }
        if (c->len >= c->cap) {
            return -1;          /* the caller consumes first */
        }
        n = recv(c->fd, c->buf + c->len, c->cap - c->len, 0);
        if (n > 0) {
            c->len += (apr_size_t)n;
            c->total += (apr_size_t)n;
            return (long)n;
        }
        if (n == 0) {
            c->eof = 1;
            return 0;
        }
        if (errno == ECONNRESET) {
            c->eof = 1;
            c->error = "connection reset by the server";
            return 0;
        }
        if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
            c->error = "receive failed";
            return -1;
        }
        if (probe_net_wait(c->canary, c->fd, POLLIN, c->deadline) != 1) {
            c->timed_out = 1;
            c->error = "timed out";
            return -1;
        }
    }
}

void probe_conn_consume(probe_conn *c, apr_size_t n)
{
    if (n >= c->len) {
        c->len = 0;
        return;
    }
    memmove(c->buf, c->buf + n, c->len - n);
    c->len -= n;
}

void probe_conn_close(probe_conn *c)
{
    if (c->fd >= 0) {
        close(c->fd);
        c->fd = -1;
    }
}

int probe_conn_local(const probe_conn *c, probe_addr *out)
{
    memset(out, 0, sizeof(*out));
    out->len = sizeof(out->ss);
    return getsockname(c->fd, (struct sockaddr *)&out->ss, &out->len);
}

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
 * probe_canary.c: the canary's two listeners; see probe_canary.h.
 *
 * Whoever connects is a stranger (the target relaying a probe, or not):
 * every connection is bounded in bytes kept, lines answered and lifetime,
 * and nothing it sends is ever acted on beyond a canned answer.
 *
 * A connection belongs to the window open when it was accepted: a token
 * it carries proves that probe only when it is that probe's own (a token
 * of another probe, or one that comes when no window is open, is kept as
 * "stray", never proof).  The answers carry the window's proof, which only
 * this program can compute: that is how a probe tells the canary's answer,
 * come back through a tunnel, from one the target made up.
 */

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include <apr_general.h>
#include <apr_strings.h>

#include "probe_canary.h"
#include "probe_net.h"

#define PROBE_CANARY_CONNS  32                 /* open at once */
#define PROBE_CANARY_KEEP   (16 * 1024)        /* bytes kept per connection */
#define PROBE_CANARY_OUT    2048               /* answer not yet written */
#define PROBE_CANARY_LINES  64                 /* lines answered (SMTP/FTP) */
#define PROBE_CANARY_LIFE   apr_time_from_sec(10)

typedef struct probe_cconn {
    int fd;                     /* -1: a free slot */
    probe_listener via;
    int window;                 /* the probe running when it came */
    probe_addr peer;
    apr_time_t expires;
    apr_size_t len;
    apr_size_t done;            /* lines answered up to here */
    int lines;
    int answered;               /* HTTP: the reply is queued */
    int closing;                /* close once the output is written */
    apr_size_t out_len;
    apr_size_t out_off;
    /* the buffers last: a new connection clears what comes before them */
    char out[PROBE_CANARY_OUT];
    char buf[PROBE_CANARY_KEEP];
} probe_cconn;

struct probe_canary {
    int lfd[PROBE_LISTENER_COUNT];
    probe_addr addr[PROBE_LISTENER_COUNT];
    char nonce[16];
    /* "pgc" nonce "n": a token without its number */
    char prefix[24];
    char marker[48];            /* "proxyguard-canary " nonce */
    unsigned char key[PROBE_MAC_KEY];  /* never sent anywhere */
    int window;
    probe_evidence ev[PROBE_MAX];
    probe_cconn *conns;
    apr_pool_t *pool;
};

static int probe_listen_on(const probe_addr *where, probe_addr *bound,
                           const char **why)
{
    int fd, one = 1;

    fd = socket(where->ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
                0);
    if (fd < 0) {
        *why = strerror(errno);
        return -1;
    }
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (bind(fd, (const struct sockaddr *)&where->ss, where->len) < 0
        || listen(fd, 16) < 0) {
        *why = strerror(errno);
        close(fd);
        return -1;
    }
    bound->len = sizeof(bound->ss);
    if (getsockname(fd, (struct sockaddr *)&bound->ss, &bound->len) < 0) {
        *why = strerror(errno);
        close(fd);
        return -1;
    }
    return fd;
}

probe_canary *probe_canary_open(apr_pool_t *p, const probe_addr *http,
                                const probe_addr *line, const char **why)
{
    probe_canary *c = apr_pcalloc(p, sizeof(*c));
    int i;

    c->pool = p;
    c->conns = apr_pcalloc(p, sizeof(probe_cconn) * PROBE_CANARY_CONNS);
    for (i = 0; i < PROBE_CANARY_CONNS; i++) {
        c->conns[i].fd = -1;
    }
    c->lfd[PROBE_LISTENER_LINE] = -1;
    c->lfd[PROBE_LISTENER_HTTP] =
        probe_listen_on(http, &c->addr[PROBE_LISTENER_HTTP], why);
    if (c->lfd[PROBE_LISTENER_HTTP] < 0) {
        return NULL;
    }
    c->lfd[PROBE_LISTENER_LINE] =
        probe_listen_on(line, &c->addr[PROBE_LISTENER_LINE], why);
    if (c->lfd[PROBE_LISTENER_LINE] < 0 || probe_canary_reset(c, why) < 0) {
        probe_canary_close(c);
        return NULL;
    }
    return c;
}

static void probe_cconn_close(probe_cconn *k)
{
    if (k->fd >= 0) {
        close(k->fd);
    }
    k->fd = -1;
}

void probe_canary_close(probe_canary *c)
{
    int i;

    for (i = 0; i < PROBE_CANARY_CONNS; i++) {
        probe_cconn_close(&c->conns[i]);
    }
    for (i = 0; i < PROBE_LISTENER_COUNT; i++) {
        if (c->lfd[i] >= 0) {
            close(c->lfd[i]);
            c->lfd[i] = -1;
        }
    }
}

const probe_addr *probe_canary_addr(const probe_canary *c, probe_listener which)
{
    return &c->addr[which];
}

int probe_canary_reset(probe_canary *c, const char **why)
{
    static const char hex[] = "0123456789abcdef";
    unsigned char raw[5];
    int i;

    if (apr_generate_random_bytes(raw, sizeof(raw)) != APR_SUCCESS) {
        apr_uint64_t t = (apr_uint64_t)apr_time_now() ^ (apr_uint64_t)getpid();

        for (i = 0; i < 5; i++) {
            raw[i] = (unsigned char)(t >> (8 * i));
        }
    }
    for (i = 0; i < 5; i++) {
        c->nonce[2 * i] = hex[raw[i] >> 4];
        c->nonce[2 * i + 1] = hex[raw[i] & 15];
    }
    c->nonce[10] = '\0';
    apr_snprintf(c->prefix, sizeof(c->prefix), "pgc%sn", c->nonce);
    apr_snprintf(c->marker, sizeof(c->marker), "proxyguard-canary %s",
                 c->nonce);
    memset(c->ev, 0, sizeof(c->ev));
    c->window = -1;
    if (probe_mac_key(c->key, why) < 0) {
        *why = apr_pstrcat(
            c->pool, "no random key for the canary's proof: ", *why, NULL);
        return -1;
    }
    return 0;
}

void probe_canary_token(const probe_canary *c, int id, char *buf,
                        apr_size_t size)
{
    apr_snprintf(buf, size, "%s%02d", c->prefix, id);
}

const char *probe_canary_marker(const probe_canary *c)
{
    return c->marker;
}

void probe_canary_proof(const probe_canary *c, int id, char out[PROBE_MAC_HEX])
{
    char token[PROBE_TOKEN_SIZE];

    probe_canary_token(c, id, token, sizeof(token));
    probe_mac_hex(c->key, token, out);
}

void probe_canary_window(probe_canary *c, int id)
{
    c->window = id >= 0 && id < PROBE_MAX ? id : -1;
}

const probe_evidence *probe_canary_evidence(const probe_canary *c, int id)
{
    return &c->ev[id];
}

int probe_canary_busy(const probe_canary *c)
{
    int i, n = 0;

    for (i = 0; i < PROBE_CANARY_CONNS; i++) {
        n += c->conns[i].fd >= 0;
    }
    return n;
}

apr_time_t probe_canary_next_expiry(const probe_canary *c)
{
    apr_time_t next = 0;
    int i;

    for (i = 0; i < PROBE_CANARY_CONNS; i++) {
        if (c->conns[i].fd >= 0 && (!next || c->conns[i].expires < next)) {
            next = c->conns[i].expires;
        }
    }
    return next;
}

int probe_canary_pollfds(probe_canary *c, struct pollfd *fds, int max)
{
    int i, n = 0;

    for (i = 0; i < PROBE_CANARY_CONNS && n < max; i++) {
        probe_cconn *k = &c->conns[i];

        if (k->fd >= 0) {
            fds[n].fd = k->fd;
            fds[n].events = POLLIN | (k->out_off < k->out_len ? POLLOUT : 0);
            fds[n].revents = 0;
            n++;
        }
    }
    for (i = 0; i < PROBE_LISTENER_COUNT && n < max; i++) {
        fds[n].fd = c->lfd[i];
        fds[n].events = POLLIN;
        fds[n].revents = 0;
        n++;
    }
    return n;
}

/* Queues an answer; a connection that would need more is closed. */
static void probe_cconn_say(probe_cconn *k, const char *text)
{
    apr_size_t len = strlen(text);

    if (k->out_len + len > sizeof(k->out)) {
        k->closing = 1;
        return;
    }
    memcpy(k->out + k->out_len, text, len);
    k->out_len += len;
}

static void probe_cconn_flush(probe_cconn *k)
{
    while (k->out_off < k->out_len) {
        ssize_t n = send(k->fd, k->out + k->out_off, k->out_len - k->out_off,
                         MSG_NOSIGNAL);

        if (n <= 0) {
            if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
                return;
            }
            probe_cconn_close(k);
            return;
        }
        k->out_off += (apr_size_t)n;
    }
    if (k->closing) {
        /* our side is done; reading on until EOF spares the peer a reset
         * that could destroy the answer in flight */
        shutdown(k->fd, SHUT_WR);
    }
}

static const char *probe_find(const char *hay, apr_size_t len,
                              const char *needle)
{
    apr_size_t n = strlen(needle), i;

    for (i = 0; n && i + n <= len; i++) {
        if (hay[i] == needle[0] && !memcmp(hay + i, needle, n)) {
            return hay + i;
        }
    }
    return NULL;
}

/* The line of buf around p, at most size-1 bytes, raw. */
static void probe_copy_line(const char *buf, apr_size_t len, const char *p,
                            char *out, apr_size_t size)
{
    const char *start = p, *end = p;
    apr_size_t n;

    while (start > buf && start[-1] != '\n') {
        start--;
    }
    while (end < buf + len && *end != '\r' && *end != '\n') {
        end++;
    }
    n = (apr_size_t)(end - start);
    if (n >= size) {
        n = size - 1;
    }
    memcpy(out, start, n);
    out[n] = '\0';
}

/* A token of ours on connection k: proof for its probe only when k came
 * in that probe's window (the token names the probe, the window says the
 * target relayed it while the probe ran, not from a log read later or
 * while another probe ran). */
static void probe_cconn_found(probe_canary *c, probe_cconn *k, int id,
                              const char *at)
{
    probe_evidence *ev = &c->ev[id];

    if (id == k->window) {
        if (!ev->token) {
            ev->token = 1;
            ev->via = k->via;
            probe_addr_text(&k->peer, 1, ev->peer, sizeof(ev->peer));
            probe_copy_line(k->buf, k->len, at, ev->first_line,
                            sizeof(ev->first_line));
        }
    }
    else if (!ev->stray) {
        ev->stray = 1;
        ev->stray_window = k->window;
        probe_addr_text(&k->peer, 1, ev->stray_peer, sizeof(ev->stray_peer));
    }
}

/* Every token of ours in what the connection sent so far. */
static void probe_cconn_scan(probe_canary *c, probe_cconn *k)
{
    apr_size_t plen = strlen(c->prefix);
    const char *p = k->buf, *end = k->buf + k->len;

    while ((p = probe_find(p, (apr_size_t)(end - p), c->prefix)) != NULL) {
        const char *d = p + plen;

        if (d + 2 <= end && d[0] >= '0' && d[0] <= '9' && d[1] >= '0'
            && d[1] <= '9') {
            int id = (d[0] - '0') * 10 + (d[1] - '0');

            if (id < PROBE_MAX) {
                probe_cconn_found(c, k, id, p);
            }
        }
        p += plen;
    }
}

/* " proof HEX" when k came in a window (and, with need_token, carried
 * that window's token), else "": the canary vouches for nothing else. */
static const char *probe_cconn_proof(const probe_canary *c,
                                     const probe_cconn *k, int need_token,
                                     char *buf, apr_size_t size)
{
    char token[PROBE_TOKEN_SIZE], mac[PROBE_MAC_HEX];

    if (k->window < 0) {
        return "";
    }
    probe_canary_token(c, k->window, token, sizeof(token));
    if (need_token && !probe_find(k->buf, k->len, token)) {
        return "";
    }
    probe_mac_hex(c->key, token, mac);
    apr_snprintf(buf, size, " proof %s", mac);
    return buf;
}

/* The HTTP listener: one canned reply, naming the first token seen, with
 * the proof of the connection's window when it carried that window's
 * token. */
static void probe_cconn_http(probe_canary *c, probe_cconn *k)
{
    const char *head_end = probe_find(k->buf, k->len, "\r\n\r\n");
    const char *tok = probe_find(k->buf, k->len, c->prefix);
    char token[PROBE_TOKEN_SIZE] = "none";
    char body[160], reply[600], proof[32];
    int is_head = k->len >= 5 && !memcmp(k->buf, "HEAD ", 5);

    if (k->answered || (!head_end && k->len < sizeof(k->buf))) {
        return;
    }
    if (tok && (apr_size_t)(k->buf + k->len - tok) >= strlen(c->prefix) + 2) {
        apr_cpystrn(token, tok, strlen(c->prefix) + 3);
    }
    apr_snprintf(body, sizeof(body), "%s saw %s%s\n", c->marker, token,
                 probe_cconn_proof(c, k, 1, proof, sizeof(proof)));
    apr_snprintf(reply, sizeof(reply),
                 "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n"
                 "Content-Length: %lu\r\nCache-Control: no-store\r\n"
                 "Connection: close\r\nX-ProxyGuard-Canary: %s\r\n\r\n%s",
                 (unsigned long)strlen(body), c->nonce, is_head ? "" : body);
    k->answered = 1;
    k->closing = 1;
    probe_cconn_say(k, reply);
}

/* The SMTP-like listener: enough SMTP and FTP to get a client to say what
 * it came for (EHLO, or mod_proxy_ftp's USER, PASS, CWD), never enough to
 * take a message or open a data connection. */
static const char *probe_line_answer(const char *line, apr_size_t len)
{
    static const struct { const char *verb; const char *answer; } answers[] = {
        { "EHLO", "250 proxyguard-canary\r\n" },
        { "HELO", "250 proxyguard-canary\r\n" },
        { "MAIL", "250 OK\r\n" },
        { "RCPT", "250 OK\r\n" },
        { "DATA", "554 this canary takes no mail\r\n" },
        { "USER", "331 Password required\r\n" },
        { "PASS", "230 Logged in\r\n" },
        { "SYST", "215 UNIX Type: L8\r\n" },
        { "PWD", "257 \"/\"\r\n" },
        { "TYPE", "200 OK\r\n" },
        { "CWD ", "250 OK\r\n" },
        { "QUIT", "221 Bye\r\n" },
        { NULL, NULL }
    };
    int i;

    for (i = 0; answers[i].verb; i++) {
        apr_size_t n = strlen(answers[i].verb);

        if (len >= n && !strncasecmp(line, answers[i].verb, n)) {
            return answers[i].answer;
        }
    }
    return "502 Command not implemented\r\n";
}

static void probe_cconn_lines(probe_cconn *k)
{
    for (;;) {
        const char *line = k->buf + k->done;
        const char *nl = memchr(line, '\n', k->len - k->done);
        const char *answer;

        if (!nl || k->closing) {
            return;
        }
        answer = probe_line_answer(line, (apr_size_t)(nl - line));
        probe_cconn_say(k, answer);
        k->done = (apr_size_t)(nl + 1 - k->buf);
        if (++k->lines >= PROBE_CANARY_LINES || !strncmp(answer, "221", 3)) {
            k->closing = 1;
        }
    }
}

static void probe_cconn_read(probe_canary *c, probe_cconn *k)
{
    char scratch[4096];
    char *into = k->len < sizeof(k->buf) ? k->buf + k->len : scratch;
    apr_size_t room = k->len < sizeof(k->buf) ? sizeof(k->buf) - k->len
                                              : sizeof(scratch);
    ssize_t n = recv(k->fd, into, room, 0);

    if (n <= 0) {
        if (n < 0
            && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) {
            return;
        }
        probe_cconn_close(k);
        return;
    }
    if (into == scratch) {
        return;                 /* past what we keep: drained, not read */
    }
    k->len += (apr_size_t)n;
    if (k->via == PROBE_LISTENER_HTTP && k->len
        && (unsigned char)k->buf[0] == 0x16) {
        /* a TLS ClientHello: the https:// form reached us; no token can
         * be read inside it, so the probe's window is the evidence */
        if (k->window >= 0) {
            c->ev[k->window].tls = 1;
        }
        probe_cconn_close(k);
        return;
    }
    probe_cconn_scan(c, k);
    if (k->via == PROBE_LISTENER_HTTP) {
        probe_cconn_http(c, k);
    }
    else {
        probe_cconn_lines(k);
    }
}

static void probe_canary_accept(probe_canary *c, probe_listener via)
{
    probe_addr peer;
    probe_cconn *k = NULL;
    int fd, i;

    peer.len = sizeof(peer.ss);
    fd = accept4(c->lfd[via], (struct sockaddr *)&peer.ss, &peer.len,
                 SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
        return;
    }
    if (c->window >= 0) {
        c->ev[c->window].connections++;
    }
    for (i = 0; i < PROBE_CANARY_CONNS && !k; i++) {
        if (c->conns[i].fd < 0) {
            k = &c->conns[i];
        }
    }
    if (!k) {
        close(fd);              /* full: a flood is no evidence anyway */
        return;
    }
    memset(k, 0, offsetof(probe_cconn, out));
    k->fd = fd;
    k->via = via;
    k->window = c->window;
    k->peer = peer;
    k->expires = apr_time_now() + PROBE_CANARY_LIFE;
    if (via == PROBE_LISTENER_LINE) {
        char banner[128], proof[32];

        /* the banner goes out before any token can come: it vouches for
         * the window alone, which is what "the banner came back" asks */
        apr_snprintf(banner, sizeof(banner), "220 %s%s ESMTP ready\r\n",
                     c->marker,
                     probe_cconn_proof(c, k, 0, proof, sizeof(proof)));
        probe_cconn_say(k, banner);
        probe_cconn_flush(k);
    }
}

static probe_cconn *probe_canary_conn_of(probe_canary *c, int fd)
{
    int i;

    for (i = 0; i < PROBE_CANARY_CONNS; i++) {
        if (c->conns[i].fd == fd) {
            return &c->conns[i];
        }
    }
    return NULL;
}

void probe_canary_serve(probe_canary *c, const struct pollfd *fds, int n)
{
    apr_time_t now = apr_time_now();
    int i;

    /* connections first, listeners last: a slot freed and taken again in
     * one pass must not receive the old descriptor's events */
    for (i = 0; i < n; i++) {
        probe_cconn *k;

        if (!fds[i].revents || fds[i].fd == c->lfd[PROBE_LISTENER_HTTP]
            || fds[i].fd == c->lfd[PROBE_LISTENER_LINE]
            || (k = probe_canary_conn_of(c, fds[i].fd)) == NULL) {
            continue;
        }
        if (fds[i].revents & (POLLIN | POLLHUP | POLLERR)) {
            probe_cconn_read(c, k);
        }
        if (k->fd >= 0) {
            probe_cconn_flush(k);
        }
    }
    for (i = 0; i < PROBE_CANARY_CONNS; i++) {
        if (c->conns[i].fd >= 0 && c->conns[i].expires <= now) {
            probe_cconn_close(&c->conns[i]);
        }
    }
    for (i = 0; i < n; i++) {
        if (fds[i].revents & POLLIN) {
            if (fds[i].fd == c->lfd[PROBE_LISTENER_HTTP]) {
                probe_canary_accept(c, PROBE_LISTENER_HTTP);
            }
            else if (fds[i].fd == c->lfd[PROBE_LISTENER_LINE]) {
                probe_canary_accept(c, PROBE_LISTENER_LINE);
            }
        }
    }
}

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
 * probe_h2.c: the h2c probes; see probe_h2.h.  nghttp2 does the framing
 * in memory (mem_send / mem_recv); the bytes go through the same bounded
 * connection as HTTP/1 (probe_net.c), so the canary is served while we
 * wait, and the reply is kept within PROBE_BODY_MAX.
 */

#include <string.h>

#include <apr_strings.h>
#include <nghttp2/nghttp2.h>

#include "cli.h"
#include "probe_canary.h"
#include "probe_h2.h"
#include "probe_http.h"
#include "probe_matrix.h"
#include "probe_net.h"

typedef struct probe_h2 {
    probe_run *run;
    probe_item *pr;
    int32_t stream;
    int status;
    int closed;                 /* our stream ended */
    int goaway;
    char *body;
    apr_size_t body_len;
    int truncated;
    const char *tunnel_req;     /* CONNECT: what we send into the stream */
    apr_size_t tunnel_off;
    int tunnel_go;              /* 2xx came: the request may flow */
    char proof[PROBE_MAC_HEX];     /* the canary's answer carries it */
} probe_h2;

static int probe_h2_on_header(nghttp2_session *s, const nghttp2_frame *frame,
                              const uint8_t *name, size_t namelen,
                              const uint8_t *value, size_t valuelen,
                              uint8_t flags, void *baton)
{
    probe_h2 *h = baton;

    (void)s;
    (void)flags;
    if (frame->hd.stream_id == h->stream && namelen == 7
        && !memcmp(name, ":status", 7) && valuelen == 3) {
        int st =
            (value[0] - '0') * 100 + (value[1] - '0') * 10 + (value[2] - '0');

        if (st >= 200 || !h->status) {
            h->status = st;
        }
    }
    return 0;
}

static int probe_h2_on_data(nghttp2_session *s, uint8_t flags, int32_t stream,
                            const uint8_t *data, size_t len, void *baton)
{
    probe_h2 *h = baton;
    apr_size_t room = PROBE_BODY_MAX - h->body_len;

    (void)s;
    (void)flags;
    if (stream != h->stream) {
        return 0;
    }
    if (len > room) {
        h->truncated = 1;
        len = room;
    }
    memcpy(h->body + h->body_len, data, len);
    h->body_len += len;
    return 0;
}

static int probe_h2_on_close(nghttp2_session *s, int32_t stream, uint32_t error,
                             void *baton)
{
    probe_h2 *h = baton;

    (void)s;
    (void)error;
    if (stream == h->stream) {
        h->closed = 1;
    }
    return 0;
}

static int probe_h2_on_frame(nghttp2_session *s, const nghttp2_frame *frame,
                             void *baton)
{
    probe_h2 *h = baton;

    (void)s;
    if (frame->hd.type == NGHTTP2_GOAWAY) {
        h->goaway = 1;
    }
    return 0;
}

/* The request sent through a CONNECT stream: deferred until the 2xx, and
 * never ending the stream (that would half-close the tunnel before the
 * answer comes).  A CONNECT submitted without a body source would end the
 * stream with its HEADERS. */
static ssize_t probe_h2_tunnel_read(nghttp2_session *s, int32_t stream,
                                    uint8_t *buf, size_t length,
                                    uint32_t *flags,
                                    nghttp2_data_source *source, void *baton)
{
    probe_h2 *h = baton;
    apr_size_t left = strlen(h->tunnel_req) - h->tunnel_off;
    apr_size_t n = left < length ? left : length;

    (void)s;
    (void)stream;
    (void)source;
    if (!h->tunnel_go) {
        return NGHTTP2_ERR_DEFERRED;
    }
    memcpy(buf, h->tunnel_req + h->tunnel_off, n);
    h->tunnel_off += n;
    if (h->tunnel_off >= strlen(h->tunnel_req)) {
        *flags |= NGHTTP2_DATA_FLAG_EOF | NGHTTP2_DATA_FLAG_NO_END_STREAM;
    }
    return (ssize_t)n;
}

static int probe_h2_flush(nghttp2_session *s, probe_conn *c)
{
    for (;;) {
        const uint8_t *data;
        ssize_t n = nghttp2_session_mem_send(s, &data);

        if (n < 0) {
            return -1;
        }
        if (n == 0) {
            return 0;
        }
        if (probe_conn_send(c, (const char *)data, (apr_size_t)n) < 0) {
            return -1;
        }
    }
}

#define PROBE_NV(n, v) { (uint8_t *)(n), (uint8_t *)(v), sizeof(n) - 1, \
                         strlen(v), NGHTTP2_NV_FLAG_NONE }

static int32_t probe_h2_submit(nghttp2_session *s, probe_h2 *h,
                               const char *authority, const char *path)
{
    const char *ua = "proxyguard-probe/" PG_VERSION;

    if (path) {
        nghttp2_nv nv[] = { PROBE_NV(":method", h->pr->def->method),
                            PROBE_NV(":scheme", "http"),
                            PROBE_NV(":authority", authority),
                            PROBE_NV(":path", path),
                            PROBE_NV("user-agent", ua),
                            PROBE_NV("x-proxyguard-probe", h->pr->token) };

        return nghttp2_submit_request(s, NULL, nv, sizeof(nv) / sizeof(nv[0]),
                                      NULL, h);
    }
    else {
        nghttp2_nv nv[] = { PROBE_NV(":method", "CONNECT"),
                            PROBE_NV(":authority", authority),
                            PROBE_NV("user-agent", ua),
                            PROBE_NV("x-proxyguard-probe", h->pr->token) };
        nghttp2_data_provider provider;

        provider.source.ptr = NULL;
        provider.read_callback = probe_h2_tunnel_read;
        return nghttp2_submit_request(s, NULL, nv, sizeof(nv) / sizeof(nv[0]),
                                      &provider, h);
    }
}

static int probe_h2_body_has(const probe_h2 *h, const char *text)
{
    apr_size_t n = strlen(text), i;

    for (i = 0; n && i + n <= h->body_len; i++) {
        if (!memcmp(h->body + i, text, n)) {
            return 1;
        }
    }
    return 0;
}

/* Has the exchange reached its end? */
static int probe_h2_done(const probe_h2 *h)
{
    if (h->closed || h->goaway) {
        return 1;
    }
    if (h->pr->def->tunnel && h->status) {
        /* a tunnel: done when refused, or when the canary's answer is back
         * (its proof: anything else the target could have made up) */
        return h->status < 200 || h->status >= 300
               || probe_h2_body_has(h, h->proof);
    }
    return 0;
}

static void probe_h2_exchange(probe_h2 *h, nghttp2_session *s, probe_conn *c)
{
    while (!probe_h2_done(h)) {
        long n;
        ssize_t used;

        if (h->pr->def->tunnel && h->status >= 200 && h->status < 300
            && !h->tunnel_go) {
            h->tunnel_go = 1;
            h->pr->tunnel_open = 1;
            nghttp2_session_resume_data(s, h->stream);
        }
        if (probe_h2_flush(s, c) < 0) {
            h->pr->reply.error = c->error ? c->error : "HTTP/2 send failed";
            return;
        }
        if ((n = probe_conn_fill(c)) <= 0) {
            h->pr->reply.error =
                c->error ? c->error : "the server closed the connection";
            return;
        }
        used = nghttp2_session_mem_recv(s, (const uint8_t *)c->buf, c->len);
        if (used < 0) {
            h->pr->reply.error = apr_psprintf(h->run->pool, "HTTP/2: %s",
                                              nghttp2_strerror((int)used));
            return;
        }
        probe_conn_consume(c, (apr_size_t)used);
    }
}

void probe_h2_run(probe_run *run, const probe_target *t, probe_item *pr)
{
    apr_pool_t *p = run->pool;
    const char *authority = probe_matrix_authority(p, run, t, pr->def);
    const char *path = pr->def->tunnel ? NULL
                       : apr_pstrcat(p, "/?proxyguard=", pr->token, NULL);
    nghttp2_session_callbacks *cb;
    nghttp2_session *s;
    probe_h2 h;
    probe_conn c;

    memset(&h, 0, sizeof(h));
    h.run = run;
    h.pr = pr;
    h.body = apr_palloc(p, PROBE_BODY_MAX + 1);
    probe_canary_proof(run->canary, pr->id, h.proof);
    h.tunnel_req = apr_pstrcat(p, "GET /?proxyguard=", pr->token,
                               " HTTP/1.1\r\nHost: ", authority,
                               "\r\nConnection: close\r\n\r\n", NULL);
    pr->request =
        path ? apr_pstrcat(p, pr->def->method, " :authority=", authority,
                           " :path=", path, " (h2c)", NULL)
             : apr_pstrcat(p, "CONNECT :authority=", authority, " (h2c)", NULL);
    /* as mod_http2 hands it to httpd: origin-form, or the CONNECT target */
    pr->target = path ? path : authority;
    if (probe_conn_open(&c, p, &t->addr,
                        run->opts->source ? &run->source : NULL, run->canary,
                        probe_run_step_deadline(run))
        < 0) {
        pr->reply.error = c.error;
        return;
    }
    nghttp2_session_callbacks_new(&cb);
    nghttp2_session_callbacks_set_on_header_callback(cb, probe_h2_on_header);
    nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cb,
                                                              probe_h2_on_data);
    nghttp2_session_callbacks_set_on_stream_close_callback(cb,
                                                           probe_h2_on_close);
    nghttp2_session_callbacks_set_on_frame_recv_callback(cb, probe_h2_on_frame);
    nghttp2_session_client_new(&s, cb, &h);
    nghttp2_session_callbacks_del(cb);
    nghttp2_submit_settings(s, NGHTTP2_FLAG_NONE, NULL, 0);
    h.stream = probe_h2_submit(s, &h, authority, path);
    if (h.stream < 0) {
        pr->reply.error = "HTTP/2: cannot submit the request";
    }
    else {
        probe_h2_exchange(&h, s, &c);
    }
    nghttp2_session_del(s);
    probe_conn_close(&c);
    if (h.status) {
        pr->reply.status = h.status;
        pr->reply.error = NULL;
        pr->reply.status_line = apr_psprintf(p, "HTTP/2 %d", h.status);
    }
    else if (!pr->reply.error) {
        pr->reply.error = "no HTTP/2 answer";
    }
    pr->reply.body = apr_pstrmemdup(p, h.body, h.body_len);
    pr->reply.body_len = h.body_len;
    pr->reply.truncated = h.truncated;
    pr->reply.hash = probe_http_hash(h.body, h.body_len);
    pr->reply.bytes = c.total;
    if (pr->def->tunnel && pr->tunnel_open && probe_h2_body_has(&h, h.proof)) {
        pr->reply_back = 1;
    }
}

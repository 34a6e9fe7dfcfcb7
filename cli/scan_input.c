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
 * scan_input.c: lines from files, standard input and gzip, in a fixed
 * amount of memory whatever the input.
 *
 * Plain input is read() into one buffer and lines are found with memchr:
 * no per-line copy and no stdio.  gzip is recognised by its magic bytes
 * (so a piped `cat access.log.2.gz` works, and a misnamed file too) and
 * inflated by zlib straight into the same buffer; members of a
 * concatenated gzip file are read one after another, as gzip -d does.  A
 * line longer than the buffer is handed out cut and the rest of it skipped.
 */

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <zlib.h>

#include "scan.h"

#define SCAN_INPUT_BUF (1024 * 1024)      /* also the longest line */
#define SCAN_INPUT_RAW (256 * 1024)       /* compressed bytes per read */

struct scan_input {
    int fd;
    int own_fd;
    int gzip;
    int eof;                    /* no more bytes will come into buf */
    int raw_eof;                /* the file itself is at its end */
    int skipping;               /* discarding the rest of a cut line */
    const char *error;
    z_stream zs;
    int zs_ready;
    unsigned char *raw;
    char *buf;
    size_t start;               /* next line starts here */
    size_t end;                 /* bytes in buf */
    uint64_t pos;
    uint64_t size;
};

static void scan_input_fail(scan_input *in, const char *why)
{
    if (in->error == NULL) {
        in->error = why;
    }
    in->eof = 1;
}

/* read() that retries on EINTR; 0 at end, -1 on error. */
static ssize_t scan_read(scan_input *in, void *to, size_t n)
{
    ssize_t got;

    do {
        got = read(in->fd, to, n);
    } while (got < 0 && errno == EINTR);
    if (got < 0) {
        scan_input_fail(in, strerror(errno));
        return -1;
    }
    in->pos += (uint64_t)got;
    if (got == 0) {
        in->raw_eof = 1;
    }
    return got;
}

static int scan_start_gzip(scan_input *in)
{
    memset(&in->zs, 0, sizeof(in->zs));
    /* 15 + 16: a gzip wrapper, not zlib's or raw deflate */
    if (inflateInit2(&in->zs, 15 + 16) != Z_OK) {
        scan_input_fail(in, "zlib could not start");
        return 0;
    }
    in->zs_ready = 1;
    in->raw = malloc(SCAN_INPUT_RAW);
    if (in->raw == NULL) {
        scan_input_fail(in, "out of memory");
        return 0;
    }
    /* the bytes already read are the start of the compressed stream */
    memcpy(in->raw, in->buf, in->end);
    in->zs.next_in = in->raw;
    in->zs.avail_in = (uInt)in->end;
    in->end = 0;
    in->gzip = 1;
    return 1;
}

/* Inflates into buf[end..].  Returns 0 when nothing more will come. */
static int scan_fill_gzip(scan_input *in)
{
    size_t before = in->end;

    while (in->end == before && !in->eof) {
        int rc;

        if (in->zs.avail_in == 0) {
            ssize_t got;

            if (in->raw_eof) {
                if (in->zs.total_in > 0) {
                    scan_input_fail(in, "unexpected end of compressed data");
                }
                in->eof = 1;
                break;
            }
            if ((got = scan_read(in, in->raw, SCAN_INPUT_RAW)) < 0) {
                break;
            }
            in->zs.next_in = in->raw;
            in->zs.avail_in = (uInt)got;
            continue;
        }
        in->zs.next_out = (unsigned char *)in->buf + in->end;
        in->zs.avail_out = (uInt)(SCAN_INPUT_BUF - in->end);
        rc = inflate(&in->zs, Z_NO_FLUSH);
        in->end = SCAN_INPUT_BUF - in->zs.avail_out;
        if (rc == Z_STREAM_END) {
            /* another member may follow (cat a.gz b.gz) */
            inflateReset(&in->zs);
            in->zs.total_in = 0;
        }
        else if (rc != Z_OK && rc != Z_BUF_ERROR) {
            scan_input_fail(in, in->zs.msg ? in->zs.msg
                                           : "invalid compressed data");
        }
    }
    return in->end > before;
}

static int scan_fill(scan_input *in)
{
    ssize_t got;

    if (in->gzip) {
        return scan_fill_gzip(in);
    }
    got = scan_read(in, in->buf + in->end, SCAN_INPUT_BUF - in->end);
    if (got <= 0) {
        in->eof = 1;
        return 0;
    }
    in->end += (size_t)got;
    return 1;
}

scan_input *scan_input_open(const char *path, const char **err)
{
    scan_input *in = calloc(1, sizeof(*in));
    struct stat st;

    if (in == NULL || (in->buf = malloc(SCAN_INPUT_BUF)) == NULL) {
        free(in);
        *err = "out of memory";
        return NULL;
    }
    if (!strcmp(path, "-")) {
        in->fd = 0;
    }
    else if ((in->fd = open(path, O_RDONLY | O_CLOEXEC)) < 0) {
        *err = strerror(errno);
        free(in->buf);
        free(in);
        return NULL;
    }
    else {
        in->own_fd = 1;
    }
    if (fstat(in->fd, &st) == 0 && S_ISDIR(st.st_mode)) {
        *err = strerror(EISDIR);
        scan_input_close(in);
        return NULL;
    }
    if (fstat(in->fd, &st) == 0 && S_ISREG(st.st_mode)) {
        in->size = (uint64_t)st.st_size;
#ifdef POSIX_FADV_SEQUENTIAL
        posix_fadvise(in->fd, 0, 0, POSIX_FADV_SEQUENTIAL);
#endif
    }
    /* the first bytes say whether this is gzip; no more than the
     * compressed-input buffer holds, where they go if it is */
    while (in->end < 2 && !in->raw_eof && !in->error) {
        ssize_t got =
            scan_read(in, in->buf + in->end, SCAN_INPUT_RAW - in->end);

        if (got > 0) {
            in->end += (size_t)got;
        }
    }
    if (in->error) {
        *err = in->error;
        scan_input_close(in);
        return NULL;
    }
    if (in->end >= 2 && (unsigned char)in->buf[0] == 0x1f
        && (unsigned char)in->buf[1] == 0x8b && !scan_start_gzip(in)) {
        *err = in->error;
        scan_input_close(in);
        return NULL;
    }
    if (in->raw_eof && !in->gzip) {
        in->eof = 1;
    }
    return in;
}

/* Drops the bytes before start so that more fit behind them. */
static void scan_compact(scan_input *in)
{
    if (in->start > 0) {
        memmove(in->buf, in->buf + in->start, in->end - in->start);
        in->end -= in->start;
        in->start = 0;
    }
}

/* The rest of a cut line: up to and including its newline. */
static int scan_skip_rest(scan_input *in)
{
    while (in->skipping) {
        char *nl = memchr(in->buf + in->start, '\n', in->end - in->start);

        if (nl) {
            in->start = (size_t)(nl - in->buf) + 1;
            in->skipping = 0;
            break;
        }
        in->start = in->end = 0;
        if (in->eof || !scan_fill(in)) {
            return 0;
        }
    }
    return 1;
}

static const char *scan_hand_out(scan_input *in, size_t from, size_t len,
                                 size_t *out_len)
{
    char *line = in->buf + from;

    if (len > 0 && line[len - 1] == '\r') {
        len--;
    }
    *out_len = len;
    return line;
}

const char *scan_input_line(scan_input *in, size_t *len, int *cut)
{
    *cut = 0;
    if (!scan_skip_rest(in)) {
        return NULL;
    }
    for (;;) {
        size_t from = in->start;
        char *nl = memchr(in->buf + from, '\n', in->end - from);

        if (nl) {
            in->start = (size_t)(nl - in->buf) + 1;
            return scan_hand_out(in, from, (size_t)(nl - in->buf) - from, len);
        }
        if (in->eof) {
            if (from == in->end) {
                return NULL;
            }
            in->start = in->end;    /* a last line without a newline */
            return scan_hand_out(in, from, in->end - from, len);
        }
        scan_compact(in);
        if (in->end == SCAN_INPUT_BUF) {
            /* longer than the buffer: hand out what fits, skip the rest */
            in->start = in->end;
            in->skipping = 1;
            *cut = 1;
            return scan_hand_out(in, 0, in->end, len);
        }
        scan_fill(in);
    }
}

const char *scan_input_error(const scan_input *in)
{
    return in->error;
}

uint64_t scan_input_pos(const scan_input *in)
{
    return in->pos;
}

uint64_t scan_input_size(const scan_input *in)
{
    return in->size;
}

int scan_input_is_gzip(const scan_input *in)
{
    return in->gzip;
}

void scan_input_close(scan_input *in)
{
    if (in == NULL) {
        return;
    }
    if (in->zs_ready) {
        inflateEnd(&in->zs);
    }
    if (in->own_fd) {
        close(in->fd);
    }
    free(in->raw);
    free(in->buf);
    free(in);
}

/* ------------------------------------------------------------------ */
/* Rotated sets                                                         */

typedef struct scan_rotated {
    const char *path;
    size_t base_len;            /* the set's name: path[0 .. base_len) */
    int kind;                   /* 0 dated, 1 numbered, 2 the live file */
    unsigned long long key;     /* date or number */
    size_t group;               /* first position of its set */
    size_t given;               /* position on the command line */
} scan_rotated;

static size_t scan_trailing_digits(const char *s, size_t len)
{
    size_t n = 0;

    while (n < len && s[len - 1 - n] >= '0' && s[len - 1 - n] <= '9') {
        n++;
    }
    return n;
}

static unsigned long long scan_number(const char *s, size_t n)
{
    unsigned long long v = 0;
    size_t i;

    for (i = 0; i < n && i < 19; i++) {
        v = v * 10 + (unsigned long long)(s[i] - '0');
    }
    return v;
}

static void scan_rotated_parse(scan_rotated *r)
{
    size_t len = strlen(r->path);
    size_t digits;

    if (len > 3 && !strcmp(r->path + len - 3, ".gz")) {
        len -= 3;
    }
    digits = scan_trailing_digits(r->path, len);
    r->kind = 2;
    r->base_len = len;
    if (strcmp(r->path, "-") == 0 || digits == 0 || digits == len) {
        return;
    }
    if (r->path[len - digits - 1] == '.' && digits <= 6) {
        r->kind = 1;            /* access.log.3: bigger is older */
    }
    else if (r->path[len - digits - 1] == '-'
             && (digits == 8 || digits == 10)) {
        r->kind = 0;            /* access.log-20240101: smaller is older */
    }
    else {
        return;
    }
    r->key = scan_number(r->path + len - digits, digits);
    r->base_len = len - digits - 1;
}

static int scan_rotated_cmp(const void *a, const void *b)
{
    const scan_rotated *x = a, *y = b;

    if (x->group != y->group) {
        return x->group < y->group ? -1 : 1;
    }
    if (x->kind != y->kind) {
        return x->kind < y->kind ? -1 : 1;
    }
    if (x->key != y->key) {
        /* numbered: descending; dated: ascending */
        return (x->key < y->key) == (x->kind == 0) ? -1 : 1;
    }
    return x->given < y->given ? -1 : x->given > y->given;
}

void scan_input_order(const char **paths, size_t n)
{
    scan_rotated *r = calloc(n ? n : 1, sizeof(*r));
    size_t i, j;

    if (r == NULL) {
        return;                 /* read as given */
    }
    for (i = 0; i < n; i++) {
        r[i].path = paths[i];
        r[i].given = i;
        scan_rotated_parse(&r[i]);
        r[i].group = i;
        for (j = 0; j < i; j++) {
            if (strcmp(r[i].path, "-") != 0 && r[j].base_len == r[i].base_len
                && !strncmp(r[j].path, r[i].path, r[i].base_len)) {
                r[i].group = r[j].group;
                break;
            }
        }
    }
    qsort(r, n, sizeof(*r), scan_rotated_cmp);
    for (i = 0; i < n; i++) {
        paths[i] = r[i].path;
    }
    free(r);
}

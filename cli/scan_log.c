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
 * scan_log.c: one log as scan reads it, with its format.
 *
 * Without --format, each file's format is found from its first lines:
 * the preset that most of them match whole (a Debian server writes
 * access.log in combined and other_vhosts_access.log in vhost_combined,
 * and nginx's combined is Apache's).  Those lines are kept, so that
 * standard input works too, and handed out again before the rest.
 */

#include <stdlib.h>
#include <string.h>

#include "scan.h"

#define PG_HEAD_LINES 32
#define PG_HEAD_BYTES (256 * 1024)

struct pg_log {
    pg_input *in;
    const pg_format *format;
    int detected;               /* 1: found from the first lines */
    char *head;                 /* copies of the first lines */
    pg_span lines[PG_HEAD_LINES];
    int cut[PG_HEAD_LINES];
    size_t n_head, next;
};

/* Copies up to PG_HEAD_LINES first lines (PG_HEAD_BYTES in all). */
static void pg_log_read_head(pg_log *l)
{
    size_t used = 0, len;
    const char *line;
    int cut;

    while (l->n_head < PG_HEAD_LINES
           && (line = pg_input_line(l->in, &len, &cut)) != NULL) {
        if (len > PG_HEAD_BYTES - used) {
            len = PG_HEAD_BYTES - used;
            cut = 1;
        }
        memcpy(l->head + used, line, len);
        l->lines[l->n_head].ptr = l->head + used;
        l->lines[l->n_head].len = len;
        l->cut[l->n_head++] = cut;
        used += len;
        if (used == PG_HEAD_BYTES) {
            break;
        }
    }
}

pg_log *pg_log_open(const char *path, const pg_format *given,
                    const char **err)
{
    pg_log *l = calloc(1, sizeof(*l));

    if (l == NULL) {
        *err = "out of memory";
        return NULL;
    }
    if ((l->in = pg_input_open(path, err)) == NULL) {
        free(l);
        return NULL;
    }
    l->format = given;
    if (given == NULL) {
        if ((l->head = malloc(PG_HEAD_BYTES)) == NULL) {
            pg_log_close(l);
            *err = "out of memory";
            return NULL;
        }
        pg_log_read_head(l);
        l->format = pg_format_detect(l->lines, l->n_head);
        l->detected = l->format != NULL;
        if (l->format == NULL) {
            /* nothing fits: the default, and the lines count unparsed */
            l->format = pg_format_compiled("combined");
        }
    }
    return l;
}

const char *pg_log_line(pg_log *l, size_t *len, int *cut)
{
    if (l->next < l->n_head) {
        *len = l->lines[l->next].len;
        *cut = l->cut[l->next];
        return l->lines[l->next++].ptr;
    }
    return pg_input_line(l->in, len, cut);
}

const pg_format *pg_log_format(const pg_log *l)
{
    return l->format;
}

int pg_log_detected(const pg_log *l)
{
    return l->detected;
}

pg_input *pg_log_input(pg_log *l)
{
    return l->in;
}

void pg_log_close(pg_log *l)
{
    if (l) {
        pg_input_close(l->in);
        free(l->head);
        free(l);
    }
}

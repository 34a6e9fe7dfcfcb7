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

#define SCAN_HEAD_LINES 32
#define SCAN_HEAD_BYTES (256 * 1024)

struct scan_log {
    scan_input *in;
    const scan_format *format;
    int detected;               /* 1: found from the first lines */
    char *head;                 /* copies of the first lines */
    pg_span lines[SCAN_HEAD_LINES];
    int cut[SCAN_HEAD_LINES];
    size_t n_head, next;
};

/* Copies up to SCAN_HEAD_LINES first lines (SCAN_HEAD_BYTES in all). */
static void scan_log_read_head(scan_log *l)
{
    size_t used = 0, len;
    const char *line;
    int cut;

    while (l->n_head < SCAN_HEAD_LINES
           && (line = scan_input_line(l->in, &len, &cut)) != NULL) {
        if (len > SCAN_HEAD_BYTES - used) {
            len = SCAN_HEAD_BYTES - used;
            cut = 1;
        }
        memcpy(l->head + used, line, len);
        l->lines[l->n_head].ptr = l->head + used;
        l->lines[l->n_head].len = len;
        l->cut[l->n_head++] = cut;
        used += len;
        if (used == SCAN_HEAD_BYTES) {
            break;
        }
    }
}

scan_log *scan_log_open(const char *path, const scan_format *given,
                        const char **err)
{
    scan_log *l = calloc(1, sizeof(*l));

    if (l == NULL) {
        *err = "out of memory";
        return NULL;
    }
    if ((l->in = scan_input_open(path, err)) == NULL) {
        free(l);
        return NULL;
    }
    l->format = given;
    if (given == NULL) {
        if ((l->head = malloc(SCAN_HEAD_BYTES)) == NULL) {
            scan_log_close(l);
            *err = "out of memory";
            return NULL;
        }
        scan_log_read_head(l);
        l->format = scan_format_detect(l->lines, l->n_head);
        l->detected = l->format != NULL;
        if (l->format == NULL) {
            /* nothing fits: the default, and the lines count unparsed */
            l->format = scan_format_compiled("combined");
        }
    }
    return l;
}

const char *scan_log_line(scan_log *l, size_t *len, int *cut)
{
    if (l->next < l->n_head) {
        *len = l->lines[l->next].len;
        *cut = l->cut[l->next];
        return l->lines[l->next++].ptr;
    }
    return scan_input_line(l->in, len, cut);
}

const scan_format *scan_log_format(const scan_log *l)
{
    return l->format;
}

int scan_log_detected(const scan_log *l)
{
    return l->detected;
}

scan_input *scan_log_input(scan_log *l)
{
    return l->in;
}

void scan_log_close(scan_log *l)
{
    if (l) {
        scan_input_close(l->in);
        free(l->head);
        free(l);
    }
}

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
 * pg_out.c: output, escaping and the shared HTML look.  See pg_out.h.
 */

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <apr_strings.h>

#include "pg_decide.h"
#include "pg_out.h"

void pg_write(const pg_out *out, const char *data, apr_size_t len)
{
    if (len) {
        out->write(out->baton, data, len);
    }
}

void pg_puts(const pg_out *out, const char *s)
{
    pg_write(out, s, strlen(s));
}

void pg_printf(const pg_out *out, const char *fmt, ...)
{
    char buf[512];
    va_list ap;
    apr_size_t len;

    va_start(ap, fmt);
    len = (apr_size_t)apr_vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    pg_write(out, buf, len);
}

static const char pg_hex[] = "0123456789abcdef";

void pg_put_html(const pg_out *out, const char *s)
{
    for (; s && *s; s++) {
        unsigned char c = (unsigned char)*s;

        switch (c) {
        case '&': pg_puts(out, "&amp;"); break;
        case '<': pg_puts(out, "&lt;"); break;
        case '>': pg_puts(out, "&gt;"); break;
        case '"': pg_puts(out, "&quot;"); break;
        case '\'': pg_puts(out, "&#39;"); break;
        default:
            if (c < 0x20 || c >= 0x7f) {
                char esc[4] = { '\\', 'x', pg_hex[c >> 4], pg_hex[c & 15] };
                pg_write(out, esc, 4);
            }
            else {
                pg_write(out, (const char *)&c, 1);
            }
        }
    }
}

void pg_put_json(const pg_out *out, const char *s)
{
    const char *run = s;

    pg_puts(out, "\"");
    for (; s && *s; s++) {
        unsigned char c = (unsigned char)*s;

        if (c == '"' || c == '\\') {
            char esc[2] = { '\\', (char)c };

            pg_write(out, run, (apr_size_t)(s - run));
            pg_write(out, esc, 2);
            run = s + 1;
        }
        else if (c < 0x20 || c >= 0x7f) {
            char esc[6] = {
                '\\', 'u', '0', '0', pg_hex[c >> 4], pg_hex[c & 15]
            };

            pg_write(out, run, (apr_size_t)(s - run));
            pg_write(out, esc, 6);
            run = s + 1;
        }
    }
    pg_write(out, run, (apr_size_t)(s - run));
    pg_puts(out, "\"");
}

/* ------------------------------------------------------------------ */
/* JSON members                                                         */

void pg_put_uint(const pg_out *out, apr_uint64_t v)
{
    char buf[20], *d = buf + sizeof(buf);

    do {
        *--d = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    pg_write(out, d, (apr_size_t)(buf + sizeof(buf) - d));
}

void pg_put_int(const pg_out *out, apr_int64_t v)
{
    if (v < 0) {
        pg_puts(out, "-");
        pg_put_uint(out, 0 - (apr_uint64_t)v);
    }
    else {
        pg_put_uint(out, (apr_uint64_t)v);
    }
}

void pg_json_begin(pg_json *j, const pg_out *out, const char *open,
                   const char *lead, const char *sep)
{
    j->out = out;
    j->lead = lead ? lead : "";
    j->sep = sep ? sep : ", ";
    j->n = 0;
    pg_puts(out, open);
}

void pg_json_key(pg_json *j, const char *key)
{
    pg_puts(j->out, j->n++ ? j->sep : j->lead);
    if (key) {
        pg_put_json(j->out, key);
        pg_write(j->out, ": ", 2);
    }
}

void pg_json_object(pg_json *parent, const char *key, pg_json *j)
{
    pg_json_key(parent, key);
    pg_json_begin(j, parent->out, "{", NULL, NULL);
}

void pg_json_array(pg_json *parent, const char *key, pg_json *j)
{
    pg_json_key(parent, key);
    pg_json_begin(j, parent->out, "[", NULL, NULL);
}

void pg_json_str(pg_json *j, const char *key, const char *value)
{
    pg_json_key(j, key);
    if (value) {
        pg_put_json(j->out, value);
    }
    else {
        pg_write(j->out, "null", 4);
    }
}

void pg_json_uint(pg_json *j, const char *key, apr_uint64_t value)
{
    pg_json_key(j, key);
    pg_put_uint(j->out, value);
}

void pg_json_int(pg_json *j, const char *key, apr_int64_t value)
{
    pg_json_key(j, key);
    pg_put_int(j->out, value);
}

void pg_json_bool(pg_json *j, const char *key, int value)
{
    pg_json_key(j, key);
    pg_puts(j->out, value ? "true" : "false");
}

void pg_json_sep(pg_json *j, const char *sep)
{
    j->sep = sep;
}

void pg_json_raw(pg_json *j, const char *key, const char *text)
{
    pg_json_key(j, key);
    pg_puts(j->out, text);
}

void pg_json_end(pg_json *j, const char *close)
{
    pg_puts(j->out, close);
}

/* '\\', '"' and newline escaped as the text format says; other control or
 * non-ASCII bytes as %NN so that the value stays valid UTF-8. */
void pg_put_label(const pg_out *out, const char *s)
{
    pg_puts(out, "\"");
    for (; s && *s; s++) {
        unsigned char c = (unsigned char)*s;

        if (c == '\\' || c == '"') {
            char esc[2] = { '\\', (char)c };
            pg_write(out, esc, 2);
        }
        else if (c == '\n') {
            pg_puts(out, "\\n");
        }
        else if (c < 0x20 || c >= 0x7f) {
            char esc[3] = { '%', pg_hex[c >> 4], pg_hex[c & 15] };
            pg_write(out, esc, 3);
        }
        else {
            pg_write(out, (const char *)&c, 1);
        }
    }
    pg_puts(out, "\"");
}

int pg_text_width(unsigned char c, const char *also)
{
    return c == '\\' ? 2
           : c < 0x20 || c >= 0x7f || (also && c && strchr(also, c)) ? 4 : 1;
}

void pg_put_text_n(const pg_out *out, const char *s, apr_size_t len,
                   const char *also)
{
    apr_size_t i;

    for (i = 0; s && i < len; i++) {
        unsigned char c = (unsigned char)s[i];

        switch (pg_text_width(c, also)) {
        case 2:
            pg_puts(out, "\\\\");
            break;
        case 4: {
            char esc[4] = { '\\', 'x', pg_hex[c >> 4], pg_hex[c & 15] };

            pg_write(out, esc, 4);
            break;
        }
        default:
            pg_write(out, (const char *)&c, 1);
        }
    }
}

void pg_put_text(const pg_out *out, const char *s, const char *also)
{
    pg_put_text_n(out, s, s ? strlen(s) : 0, also);
}

void pg_write_stdio(void *baton, const char *data, apr_size_t len)
{
    fwrite(data, 1, len, (FILE *)baton);
}

/* One per reason, in pg_reason order: a reason added without its colour
 * fails the build. */
static const char *const pg_colors[] = {
    "#999",     /* none */
    "#c0392b",  /* connect */
    "#e67e22",  /* absolute-uri */
    "#2e86c1",  /* unknown-host */
    "#7f8c8d",  /* proxy-header */
    "#8e44ad",  /* connect-port */
    "#16a085",  /* proxy-port */
    "#222222",  /* banned */
    "#d4ac0d",  /* proxy-scheme */
    "#a93226"   /* dynamic-backend */
};
typedef char pg_colors_cover_every_reason[
    sizeof(pg_colors) / sizeof(pg_colors[0]) == PG_REASON_COUNT ? 1 : -1];

const char *pg_reason_color(int reason)
{
    return reason > 0 && reason < PG_REASON_COUNT ? pg_colors[reason]
                                                  : pg_colors[0];
}

void pg_html_head(const pg_out *out, const char *title, int refresh)
{
    pg_puts(out, "<!DOCTYPE html>\n<html lang=\"en\"><head>"
            "<meta charset=\"utf-8\">\n<title>");
    pg_put_html(out, title);
    pg_puts(out, "</title>\n");
    if (refresh > 0) {
        pg_printf(out, "<meta http-equiv=\"refresh\" content=\"%d\">\n",
                  refresh);
    }
    pg_puts(out,
            "<style>\n"
            "body{font-family:sans-serif;margin:1.5em;color:#222}\n"
            "table{border-collapse:collapse;margin-bottom:1.5em}\n"
            "th,td{border:1px solid #ccc;padding:.2em .6em;text-align:left}\n"
            "td.n{text-align:right;font-variant-numeric:tabular-nums}\n"
            "th{background:#eee}\n"
            "code{word-break:break-all}\n"
            ".swatch{display:inline-block;width:.8em;height:.8em;margin-right:."
            "3em}\n"
            ".alert{border:2px solid #b03a2e;background:#fbe4e1;padding:.6em;"
            "font-weight:bold}\n"
            "tr.alert td{background:#fbe4e1}\n"
            "</style></head><body>\n");
}

void pg_html_chart(const pg_out *out, const pg_chart *c)
{
    const int width = 720, height = 150, top = 10, bottom = 20;
    const int bar = c->bars ? width / (int)c->bars : width;
    apr_uint32_t max = 1, i;
    char label[64];
    int r;

    for (i = 0; i < c->bars; i++) {
        apr_uint32_t sum = 0;

        for (r = 1; r < PG_REASON_COUNT; r++) {
            sum += c->hits(c->ctx, i, r);
        }
        if (sum > max) {
            max = sum;
        }
    }
    pg_puts(out, "<h3>");
    pg_put_html(out, c->title);
    pg_printf(out, "</h3>\n<svg id=\"%s\" xmlns=\"http://www.w3.org/2000/svg\" "
              "width=\"%d\" height=\"%d\" role=\"img\" aria-label=\"", c->id,
              width, height + top + bottom);
    pg_put_html(out, c->title);
    pg_printf(out, "\">\n<rect x=\"0\" y=\"0\" width=\"%d\" height=\"%d\" "
              "fill=\"#fafafa\" stroke=\"#ccc\"/>\n", width, height + top);
    for (i = 0; i < c->bars; i++) {
        double y = top + height;

        for (r = 1; r < PG_REASON_COUNT; r++) {
            apr_uint32_t v = c->hits(c->ctx, i, r);
            double h = (double)v * height / max;

            if (!v) {
                continue;
            }
            y -= h;
            pg_printf(out, "<rect x=\"%d\" y=\"%.1f\" width=\"%d\" "
                      "height=\"%.1f\" fill=\"%s\"><title>%u %s, ",
                      (int)i * bar, y, bar > 1 ? bar - 1 : 1, h,
                      pg_reason_color(r), v, pg_reason_name((pg_reason)r));
            pg_put_html(out, c->label(c->ctx, i, label, sizeof(label)));
            pg_puts(out, "</title></rect>\n");
        }
    }
    pg_printf(out, "<text x=\"2\" y=\"%d\" font-size=\"11\">",
              height + top + 15);
    pg_put_html(out, c->first);
    pg_printf(out, "</text><text x=\"%d\" y=\"%d\" font-size=\"11\" "
              "text-anchor=\"end\">", width - 2, height + top + 15);
    pg_put_html(out, c->last);
    pg_printf(out,
              "</text><text x=\"4\" y=\"%d\" font-size=\"11\">max %u</text>\n"
              "</svg>\n",
              top + 12, max);
}

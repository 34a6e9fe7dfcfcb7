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
 * scan_emit.c: --emit apache|nftables|ipset, block rules for what the
 * logs show, as the Japanese operator built them by hand: every /24 (/64)
 * with at least --min-hits hits from at least --min-hosts hosts, then
 * every single address with at least --min-hits hits outside those
 * networks.  Each rule has a comment line saying why.
 *
 * Only addresses that parsed as IP addresses are written, re-formatted by
 * inet_ntop, and comments hold numbers and dates only: nothing of a log
 * line's text reaches a firewall or httpd file.  Networks and the clients
 * outside them never overlap, which nftables' interval sets require.
 */

#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "scan.h"

typedef struct scan_emit_rule {
    char addr[64];              /* "205.209.140.0/24" or "192.0.2.7" */
    int family;
    char why[200];
} scan_emit_rule;

typedef struct scan_rules {
    scan_emit_rule *r;
    size_t n;
    size_t nets;
    size_t names;               /* clients over --min-hits that are names */
} scan_rules;

static void scan_why(char *buf, size_t size, const char *what,
                     const uint32_t *hits, uint32_t total, uint32_t hosts,
                     const scan_time *first, const scan_time *last)
{
    char a[40], b[40];
    char host_part[32] = "";

    if (hosts) {
        snprintf(host_part, sizeof(host_part), " from %u hosts", hosts);
    }
    snprintf(buf, size, "%s: %u hits%s (connect %u, absolute-uri %u, "
             "unknown-host %u), %s .. %s", what, total, host_part, hits[0],
             hits[1], hits[2], scan_time_iso(first, a, sizeof(a)),
             scan_time_iso(last, b, sizeof(b)));
}

static int scan_in_net(const scan_client *c, const scan_net *const *nets,
                       size_t n)
{
    size_t i;

    for (i = 0; i < n; i++) {
        if (nets[i]->family == c->family
            && !memcmp(nets[i]->bytes, c->bytes, nets[i]->prefix / 8)) {
            return 1;
        }
    }
    return 0;
}

/* The networks first (most hits first), then the clients outside them. */
static void scan_select(const scan_results *r, scan_rules *rules)
{
    const scan_net **chosen = calloc(r->n_nets + 1, sizeof(*chosen));
    size_t i, n_chosen = 0;

    rules->r = calloc(r->n_nets + r->n_clients + 1, sizeof(*rules->r));
    rules->n = 0;
    if (chosen == NULL || rules->r == NULL) {
        free(chosen);
        return;
    }
    for (i = 0; i < r->n_nets; i++) {
        const scan_net *n = r->nets[i];
        scan_emit_rule *rule;

        if (n->total < r->min_hits || n->hosts < r->min_hosts) {
            continue;
        }
        chosen[n_chosen++] = n;
        rule = &rules->r[rules->n++];
        scan_net_text(n, rule->addr, sizeof(rule->addr));
        rule->family = n->family;
        scan_why(rule->why, sizeof(rule->why), rule->addr, n->hits, n->total,
                 n->hosts, &n->first, &n->last);
    }
    rules->nets = rules->n;
    for (i = 0; i < r->n_clients; i++) {
        const scan_client *c = r->clients[i];
        scan_emit_rule *rule;

        if (c->total < r->min_hits || scan_in_net(c, chosen, n_chosen)) {
            continue;
        }
        if (c->family != 4 && c->family != 6) {
            rules->names++;     /* HostnameLookups: no address to block */
            continue;
        }
        rule = &rules->r[rules->n++];
        inet_ntop(c->family == 4 ? AF_INET : AF_INET6, c->bytes, rule->addr,
                  sizeof(rule->addr));
        rule->family = c->family;
        scan_why(rule->why, sizeof(rule->why), rule->addr, c->hits, c->total, 0,
                 &c->first, &c->last);
    }
    free(chosen);
}

static void scan_header(FILE *to, const scan_results *r,
                        const scan_rules *rules)
{
    fprintf(to, "# proxyguard scan: %zu networks (/24, /64) with >= %u hits "
            "from >= %u hosts,\n# and %zu addresses with >= %u hits outside "
            "them.\n", rules->nets, r->min_hits, r->min_hosts,
            rules->n - rules->nets, r->min_hits);
    if (rules->names) {
        fprintf(to, "# Not written: %zu clients with >= %u hits logged as host "
                "names, not addresses\n# (HostnameLookups; log %%a for the "
                "address).\n", rules->names, r->min_hits);
    }
    if (r->clients_evicted || r->nets_evicted) {
        fprintf(to, "# The client table was full (%llu clients, %llu networks "
                "evicted): hits and\n# host counts below are estimates (the "
                "true counts are at least these);\n# --table-size raises the "
                "rows.\n",
                (unsigned long long)r->clients_evicted,
                (unsigned long long)r->nets_evicted);
    }
}

static void scan_emit_apache(FILE *to, const scan_results *r,
                             const scan_rules *rules)
{
    size_t i;

    scan_header(to, r, rules);
    fputs("# Include this file inside <RequireAll>, after "
          "\"Require all granted\".\n", to);
    for (i = 0; i < rules->n; i++) {
        fprintf(to, "# %s\nRequire not ip %s\n", rules->r[i].why,
                rules->r[i].addr);
    }
}

static void scan_nft_set(FILE *to, const char *name, int family,
                         const scan_rules *rules)
{
    size_t i, left = 0;

    for (i = 0; i < rules->n; i++) {
        left += rules->r[i].family == family;
    }
    fprintf(to, "\tset %s%d {\n\t\ttype %s\n\t\tflags interval\n", name,
            family, family == 4 ? "ipv4_addr" : "ipv6_addr");
    if (left) {
        fputs("\t\telements = {\n", to);
        for (i = 0; i < rules->n; i++) {
            if (rules->r[i].family != family) {
                continue;
            }
            fprintf(to, "\t\t\t# %s\n\t\t\t%s%s\n", rules->r[i].why,
                    rules->r[i].addr, --left ? "," : "");
        }
        fputs("\t\t}\n", to);
    }
    fputs("\t}\n", to);
}

/* A whole table, replaced on every load (the create-delete-create idiom
 * works whether or not it exists). */
static void scan_emit_nftables(FILE *to, const scan_results *r,
                               const scan_rules *rules)
{
    const char *name = r->set_name;

    scan_header(to, r, rules);
    fprintf(to,
            "# Load with: nft -f FILE\ntable inet %s\ndelete table inet %s\n"
            "table inet %s {\n",
            name, name, name);
    scan_nft_set(to, name, 4, rules);
    scan_nft_set(to, name, 6, rules);
    fprintf(to, "\tchain input {\n\t\ttype filter hook input priority filter "
            "- 1; policy accept;\n\t\tip saddr @%s4 drop\n"
            "\t\tip6 saddr @%s6 drop\n\t}\n}\n", name, name);
}

static void scan_emit_ipset(FILE *to, const scan_results *r,
                            const scan_rules *rules)
{
    const char *name = r->set_name;
    size_t i;

    scan_header(to, r, rules);
    fprintf(to, "# Load with: ipset restore < FILE; then, e.g.:\n"
            "#   iptables -I INPUT -m set --match-set %s4 src -j DROP\n"
            "#   ip6tables -I INPUT -m set --match-set %s6 src -j DROP\n"
            "create %s4 hash:net family inet -exist\nflush %s4\n"
            "create %s6 hash:net family inet6 -exist\nflush %s6\n",
            name, name, name, name, name, name);
    for (i = 0; i < rules->n; i++) {
        fprintf(to, "# %s\nadd %s%d %s -exist\n", rules->r[i].why, name,
                rules->r[i].family, rules->r[i].addr);
    }
}

size_t scan_emit(FILE *to, scan_emit_kind kind, const scan_results *r)
{
    scan_rules rules;

    memset(&rules, 0, sizeof(rules));
    scan_select(r, &rules);
    switch (kind) {
    case SCAN_EMIT_APACHE: scan_emit_apache(to, r, &rules); break;
    case SCAN_EMIT_NFTABLES: scan_emit_nftables(to, r, &rules); break;
    case SCAN_EMIT_IPSET: scan_emit_ipset(to, r, &rules); break;
    default: break;
    }
    free(rules.r);
    if (rules.names) {
        cli_error("scan",
                  "--emit: %zu clients with >= %u hits are host "
                  "names, not addresses: not written",
                  rules.names, r->min_hits);
    }
    return rules.n;
}

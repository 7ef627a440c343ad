/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "hosts.h"
#include "cleanup.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

static const char blanks[] = " \t\r\v\f";

static void line_clear(ps_hosts_line *l)
{
        free(l->raw);
        free(l->addr);
        ps_strv_free(l->names);
        memset(l, 0, sizeof *l);
}

void ps_hosts_free(ps_hosts *h)
{
        if (!h)
                return;
        for (size_t i = 0; i < h->n; i++)
                line_clear(&h->lines[i]);
        free(h->lines);
        free(h);
}

/* Fill L's fields from L->raw. */
static int line_split(ps_hosts_line *l)
{
        const char *s = l->raw;
        const char *hash = strchr(s, '#');
        size_t end = hash ? (size_t)(hash - s) : strlen(s);
        size_t cap = 4, n = 0;
        char **names = calloc(cap, sizeof *names);
        if (!names)
                return -ENOMEM;
        char *addr = NULL;
        size_t i = 0;
        for (;;) {
                while (i < end && strchr(blanks, s[i]))
                        i++;
                if (i >= end)
                        break;
                size_t j = i;
                while (j < end && !strchr(blanks, s[j]))
                        j++;
                char *w = strndup(s + i, j - i);
                if (!w)
                        goto oom;
                if (!addr) {
                        addr = w;
                } else {
                        if (n + 2 > cap) {
                                char **nv = realloc(names, cap * 2 * sizeof *names);
                                if (!nv) {
                                        free(w);
                                        goto oom;
                                }
                                names = nv;
                                cap *= 2;
                        }
                        names[n++] = w;
                        names[n] = NULL;
                }
                i = j;
        }
        l->addr = addr;
        l->names = names;
        l->nnames = n;
        return 0;
oom:
        free(addr);
        ps_strv_free(names);
        return -ENOMEM;
}

static int push_line(ps_hosts *h, size_t *cap, const char *s, size_t len)
{
        if (h->n == *cap) {
                size_t ncap = *cap ? *cap * 2 : 16;
                ps_hosts_line *nl = realloc(h->lines, ncap * sizeof *nl);
                if (!nl)
                        return -ENOMEM;
                h->lines = nl;
                *cap = ncap;
        }
        ps_hosts_line *l = &h->lines[h->n];
        memset(l, 0, sizeof *l);
        l->raw = strndup(s, len);
        if (!l->raw)
                return -ENOMEM;
        h->n++;
        return line_split(l);
}

int ps_hosts_parse(const char *text, size_t len, const char *name, ps_hosts **out, ps_error *err)
{
        if (memchr(text, '\0', len))
                return ps_error_set(err, EINVAL, "%s contains a NUL byte; it is not a hosts file", name);
        ps_hosts *h = calloc(1, sizeof *h);
        if (!h)
                return ps_error_set(err, ENOMEM, "out of memory");
        size_t cap = 0, pos = 0;
        while (pos < len) {
                const char *nl = memchr(text + pos, '\n', len - pos);
                size_t l = nl ? (size_t)(nl - (text + pos)) : len - pos;
                if (push_line(h, &cap, text + pos, l) < 0) {
                        ps_hosts_free(h);
                        return ps_error_set(err, ENOMEM, "out of memory");
                }
                pos += l + (nl ? 1 : 0);
        }
        h->trailing_newline = len == 0 || text[len - 1] == '\n';
        *out = h;
        return 0;
}

char *ps_hosts_format(const ps_hosts *h, size_t *lenp)
{
        size_t len = 0;
        for (size_t i = 0; i < h->n; i++)
                len += strlen(h->lines[i].raw) + 1;
        char *r = malloc(len + 1), *p = r;
        if (!r)
                return NULL;
        for (size_t i = 0; i < h->n; i++) {
                size_t l = strlen(h->lines[i].raw);
                memcpy(p, h->lines[i].raw, l);
                p += l;
                *p++ = '\n';
        }
        *p = '\0';
        if (lenp)
                *lenp = len;
        return r;
}

bool ps_hosts_same_addr(const char *a, const char *b)
{
        unsigned char x[sizeof(struct in6_addr)], y[sizeof(struct in6_addr)];
        if (inet_pton(AF_INET, a, x) == 1 && inet_pton(AF_INET, b, y) == 1)
                return memcmp(x, y, sizeof(struct in_addr)) == 0;
        if (inet_pton(AF_INET6, a, x) == 1 && inet_pton(AF_INET6, b, y) == 1)
                return memcmp(x, y, sizeof(struct in6_addr)) == 0;
        return strcmp(a, b) == 0;
}

static const char *wanted_name(char *const *names, const char *n)
{
        for (char *const *p = names; *p; p++)
                if (!strcasecmp(*p, n))
                        return *p;
        return NULL;
}

ps_hosts_state ps_hosts_check(const ps_hosts *h, const char *addr, char *const *names,
                              ps_hosts_conflict *conflict)
{
        size_t want = 0, bound = 0;
        for (char *const *p = names; *p; p++)
                want++;
        for (char *const *p = names; *p; p++) {
                bool here = false;
                for (size_t i = 0; i < h->n && !here; i++) {
                        const ps_hosts_line *l = &h->lines[i];
                        if (!l->addr || !ps_hosts_same_addr(l->addr, addr))
                                continue;
                        for (size_t k = 0; k < l->nnames; k++)
                                if (!strcasecmp(l->names[k], *p))
                                        here = true;
                }
                if (here)
                        bound++;
        }
        for (size_t i = 0; i < h->n; i++) {
                const ps_hosts_line *l = &h->lines[i];
                if (!l->addr || ps_hosts_same_addr(l->addr, addr))
                        continue;
                for (size_t k = 0; k < l->nnames; k++) {
                        if (wanted_name(names, l->names[k])) {
                                if (conflict) {
                                        conflict->line = i + 1;
                                        conflict->addr = l->addr;
                                        conflict->name = l->names[k];
                                }
                                return PS_HOSTS_CONFLICT;
                        }
                }
        }
        if (bound == 0)
                return PS_HOSTS_ABSENT;
        return bound == want ? PS_HOSTS_BOUND : PS_HOSTS_PARTIAL;
}

/* "ADDR NAME..." plus " #comment" when RAW had one. */
static char *compose(const char *addr, char *const *names, size_t nnames, const char *raw)
{
        size_t len = strlen(addr) + 1;
        for (size_t i = 0; i < nnames; i++)
                len += strlen(names[i]) + 1;
        const char *hash = raw ? strchr(raw, '#') : NULL;
        if (hash)
                len += strlen(hash) + 1;
        char *r = malloc(len), *p = r;
        if (!r)
                return NULL;
        p = stpcpy(p, addr);
        for (size_t i = 0; i < nnames; i++) {
                *p++ = ' ';
                p = stpcpy(p, names[i]);
        }
        if (hash) {
                *p++ = ' ';
                p = stpcpy(p, hash);
        }
        *p = '\0';
        return r;
}

int ps_hosts_bind(ps_hosts *h, const char *addr, char *const *names, bool *changed, ps_error *err)
{
        if (changed)
                *changed = false;
        size_t nwant = 0;
        for (char *const *p = names; *p; p++)
                nwant++;
        if (nwant == 0)
                return ps_error_set(err, EINVAL, "no host names to bind to %s", addr);
        if (ps_hosts_check(h, addr, names, NULL) == PS_HOSTS_BOUND)
                return 0;

        _cleanup_free_ char *newline = compose(addr, names, nwant, NULL);
        if (!newline)
                return ps_error_set(err, ENOMEM, "out of memory");

        /* Rebuild the list of lines. */
        ps_hosts_line *out = calloc(h->n + 1, sizeof *out);
        if (!out)
                return ps_error_set(err, ENOMEM, "out of memory");
        size_t n = 0;
        bool placed = false;
        int r = 0;
        for (size_t i = 0; i < h->n; i++) {
                ps_hosts_line *l = &h->lines[i];
                size_t hits = 0;
                for (size_t k = 0; l->addr && k < l->nnames; k++)
                        if (wanted_name(names, l->names[k]))
                                hits++;
                if (hits == 0) {
                        out[n++] = *l;
                        memset(l, 0, sizeof *l);
                        continue;
                }
                if (hits < l->nnames) {
                        /* keep the line's other names */
                        size_t keep = 0;
                        for (size_t k = 0; k < l->nnames; k++) {
                                if (wanted_name(names, l->names[k]))
                                        free(l->names[k]);
                                else
                                        l->names[keep++] = l->names[k];
                        }
                        l->names[keep] = NULL;
                        l->nnames = keep;
                        char *raw = compose(l->addr, l->names, l->nnames, l->raw);
                        if (!raw) {
                                r = -ENOMEM;
                                break;
                        }
                        free(l->raw);
                        l->raw = raw;
                        out[n++] = *l;
                        memset(l, 0, sizeof *l);
                } else {
                        line_clear(l);
                }
                if (!placed) {
                        out[n].raw = steal_pointer(&newline);
                        if (line_split(&out[n]) < 0) {
                                n++;
                                r = -ENOMEM;
                                break;
                        }
                        n++;
                        placed = true;
                }
        }
        if (r == 0 && !placed) {
                out[n].raw = steal_pointer(&newline);
                n++;
                if (line_split(&out[n - 1]) < 0)
                        r = -ENOMEM;
        }
        /* whatever is left in h (after an error) and everything moved */
        for (size_t i = 0; i < h->n; i++)
                line_clear(&h->lines[i]);
        free(h->lines);
        h->lines = out;
        h->n = n;
        h->trailing_newline = true;
        if (r < 0)
                return ps_error_set(err, ENOMEM, "out of memory");
        if (changed)
                *changed = true;
        return 0;
}

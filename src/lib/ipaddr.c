/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "ipaddr.h"
#include "cleanup.h"

#include <arpa/inet.h>
#include <errno.h>
#include <ifaddrs.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

/* Untrusted text for a message: at most 64 bytes, non-printable bytes
 * shown as '?'. */
static char *shown(const char *s, size_t n)
{
        size_t len = strnlen(s, n);
        bool cut = len > 64;
        if (cut)
                len = 64;
        char *r = malloc(len + 4);
        if (!r)
                return NULL;
        for (size_t i = 0; i < len; i++) {
                unsigned char c = (unsigned char)s[i];
                r[i] = (c >= 0x20 && c < 0x7f) ? (char)c : '?';
        }
        if (cut) {
                memcpy(r + len, "...", 4);
        } else {
                r[len] = '\0';
        }
        return r;
}

/* One field: 1-3 digits, 0-255, no leading zero.  Returns the value or -1. */
static int field_value(const char *s, size_t n)
{
        if (n == 0 || n > 3)
                return -1;
        if (n > 1 && s[0] == '0')
                return -1;
        int v = 0;
        for (size_t i = 0; i < n; i++) {
                if (s[i] < '0' || s[i] > '9')
                        return -1;
                v = v * 10 + (s[i] - '0');
        }
        return v <= 255 ? v : -1;
}

static int fields_of(const char *text, const char *start[4], size_t len[4])
{
        int n = 0;
        const char *p = text;
        for (;;) {
                const char *dot = strchr(p, '.');
                size_t l = dot ? (size_t)(dot - p) : strlen(p);
                if (n < 4) {
                        start[n] = p;
                        len[n] = l;
                }
                n++;
                if (!dot)
                        break;
                p = dot + 1;
        }
        return n;
}

bool ps_ipv4_syntax(const char *text, struct in_addr *addr)
{
        const char *start[4];
        size_t len[4];
        if (!text || fields_of(text, start, len) != 4)
                return false;
        uint32_t v = 0;
        for (int i = 0; i < 4; i++) {
                int f = field_value(start[i], len[i]);
                if (f < 0)
                        return false;
                v = (v << 8) | (uint32_t)f;
        }
        if (addr)
                addr->s_addr = htonl(v);
        return true;
}

static int refuse(ps_ip_class *cls, ps_ip_class c)
{
        if (cls)
                *cls = c;
        return -EINVAL;
}

int ps_ipv4_parse(const char *text, struct in_addr *addr, ps_ip_class *cls, ps_error *err)
{
        if (cls)
                *cls = PS_IP_VALID;
        if (!text || !*text) {
                ps_error_set(err, EINVAL, "the IP address is empty; expected an IPv4 address such as 192.168.1.10");
                return refuse(cls, PS_IP_NOT_QUAD);
        }
        _cleanup_free_ char *t = shown(text, 4096);
        if (!t)
                return ps_error_set(err, ENOMEM, "out of memory");

        if (strchr(text, ':')) {
                struct in6_addr a6;
                if (inet_pton(AF_INET6, text, &a6) == 1)
                        ps_error_set(err, EINVAL,
                                     "'%s' is an IPv6 address; only IPv4 addresses are supported "
                                     "(registry.local and sigstore.local are bound to an IPv4 address)", t);
                else
                        ps_error_set(err, EINVAL, "invalid IP address '%s': expected four numbers separated "
                                     "by '.', such as 192.168.1.10", t);
                return refuse(cls, PS_IP_NOT_QUAD);
        }

        const char *start[4];
        size_t len[4];
        int n = fields_of(text, start, len);
        if (n != 4) {
                ps_error_set(err, EINVAL, "invalid IP address '%s': it has %d field%s separated by '.', "
                             "an IPv4 address has 4", t, n, n == 1 ? "" : "s");
                return refuse(cls, PS_IP_NOT_QUAD);
        }
        uint32_t v = 0;
        for (int i = 0; i < 4; i++) {
                int f = field_value(start[i], len[i]);
                if (f < 0) {
                        _cleanup_free_ char *ft = shown(start[i], len[i]);
                        if (!ft)
                                return ps_error_set(err, ENOMEM, "out of memory");
                        const char *why;
                        if (len[i] == 0)
                                why = "is empty";
                        else if (len[i] > 1 && start[i][0] == '0' && strspn(start[i], "0123456789") >= len[i])
                                why = "has a leading zero (it could be read as octal)";
                        else
                                why = "is not a decimal number from 0 to 255";
                        ps_error_set(err, EINVAL, "invalid IP address '%s': field %d ('%s') %s", t, i + 1, ft,
                                     why);
                        return refuse(cls, PS_IP_BAD_FIELD);
                }
                v = (v << 8) | (uint32_t)f;
        }

        unsigned first = v >> 24;
        const char *why = NULL;
        if (first == 127)
                why = "is a loopback address (127.0.0.0/8); give the registry node's address on the network, "
                      "which every node can reach";
        else if (first == 0)
                why = "is not a host address (0.0.0.0/8 means \"this network\")";
        else if (first >= 224 && first <= 239)
                why = "is a multicast address (224.0.0.0/4)";
        else if (first >= 240)
                why = "is a reserved or broadcast address (240.0.0.0/4)";
        if (why) {
                ps_error_set(err, EINVAL, "the IP address '%s' %s", t, why);
                return refuse(cls, PS_IP_UNUSABLE);
        }
        if (addr)
                addr->s_addr = htonl(v);
        return 0;
}

int ps_ipv4_is_local(const struct in_addr *addr, ps_error *err)
{
        struct ifaddrs *list = NULL;
        if (getifaddrs(&list) < 0)
                return ps_error_errno(err, errno, "cannot list the network interface addresses");
        int found = 0;
        for (struct ifaddrs *i = list; i && !found; i = i->ifa_next) {
                if (!i->ifa_addr || i->ifa_addr->sa_family != AF_INET)
                        continue;
                const struct sockaddr_in *sin = (const struct sockaddr_in *)(const void *)i->ifa_addr;
                if (sin->sin_addr.s_addr == addr->s_addr)
                        found = 1;
        }
        freeifaddrs(list);
        return found;
}

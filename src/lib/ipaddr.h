/* SPDX-License-Identifier: GPL-2.0-or-later */
/* IPv4 addresses given on the command line: strict validation with a
 * class that maps onto the exit codes of `podsec policy init`, and the
 * question "is this address one of this host's interface addresses". */
#pragma once
#include <netinet/in.h>
#include <stdbool.h>
#include "error.h"

/* Why an address was refused.  The numeric values are the exit codes of
 * `podsec policy init` (and of the original podsec-create-policy). */
typedef enum ps_ip_class {
        PS_IP_VALID = 0,      /* a usable unicast IPv4 address */
        PS_IP_UNUSABLE = 1,   /* well formed, but loopback, 0.0.0.0/8, multicast or reserved */
        PS_IP_NOT_QUAD = 2,   /* not four '.'-separated fields, or an IPv6 address */
        PS_IP_BAD_FIELD = 3,  /* four fields, but one is not a decimal number 0-255 */
} ps_ip_class;

/* Validate TEXT as an IPv4 dotted quad "a.b.c.d": exactly four fields
 * separated by '.', each 1-3 ASCII digits with a value 0-255 and no leading
 * zero (so "010" is refused: inet_aton(3) and ping read it as octal 8).
 * No signs, no white space, no other characters.  Addresses in 0.0.0.0/8,
 * 127.0.0.0/8 (loopback), 224.0.0.0/4 (multicast) and 240.0.0.0/4
 * (reserved, broadcast) are refused as unusable for a registry.
 *
 * Returns 0 and fills *addr (network byte order; may be NULL) when valid;
 * otherwise -EINVAL with *cls (may be NULL) set to the class and err
 * saying what is wrong with which part.  *cls is PS_IP_VALID on success. */
int ps_ipv4_parse(const char *text, struct in_addr *addr, ps_ip_class *cls, ps_error *err);

/* Only the syntax check of ps_ipv4_parse (no refusal of special ranges).
 * Returns true and fills *addr when TEXT is a strict dotted quad. */
bool ps_ipv4_syntax(const char *text, struct in_addr *addr);

/* Is ADDR (network byte order) assigned to one of the running host's
 * network interfaces?  Exact comparison with getifaddrs(3).  Returns 1
 * yes, 0 no, <0 when the interfaces could not be listed. */
int ps_ipv4_is_local(const struct in_addr *addr, ps_error *err);

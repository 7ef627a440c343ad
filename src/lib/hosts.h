/* SPDX-License-Identifier: GPL-2.0-or-later */
/* /etc/hosts (hosts(5)): parse into lines, find which lines bind a set of
 * names, bind the names to an address (keeping every other line byte for
 * byte), and serialise with a trailing newline. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include "error.h"

typedef struct ps_hosts_line {
        char *raw;        /* the line as read, without its '\n' */
        char *addr;       /* first field, or NULL for blank and comment-only lines */
        char **names;     /* NULL-terminated list of the other fields (before any '#') */
        size_t nnames;
} ps_hosts_line;

typedef struct ps_hosts {
        ps_hosts_line *lines;
        size_t n;
        bool trailing_newline;   /* the text ended with '\n' (or was empty) */
} ps_hosts;

/* Parse TEXT of LEN bytes.  A NUL byte in the text is an error.  '#' starts
 * a comment anywhere on a line; fields are separated by blanks (space, tab,
 * CR).  NAME (for messages) is the file name. */
int ps_hosts_parse(const char *text, size_t len, const char *name, ps_hosts **out, ps_error *err);
void ps_hosts_free(ps_hosts *h);

/* The text of H: every line followed by '\n' (so the result always ends
 * with a newline when there is at least one line).  NULL on ENOMEM. */
char *ps_hosts_format(const ps_hosts *h, size_t *len);

/* Addresses are equal when both parse as the same IPv4 or IPv6 address,
 * or else when the texts are equal. */
bool ps_hosts_same_addr(const char *a, const char *b);

/* The state of NAMES (NULL-terminated; host names compare without regard
 * to case) with respect to ADDR. */
typedef enum ps_hosts_state {
        PS_HOSTS_ABSENT = 0,     /* none of the names is bound anywhere */
        PS_HOSTS_PARTIAL,        /* some are bound to ADDR, none elsewhere, some not at all */
        PS_HOSTS_BOUND,          /* all are bound to ADDR, none elsewhere: nothing to do */
        PS_HOSTS_CONFLICT,       /* at least one is bound to another address */
} ps_hosts_state;

typedef struct ps_hosts_conflict {
        size_t line;             /* 1-based number of the first conflicting line */
        const char *addr;        /* its address (points into H) */
        const char *name;        /* the first of NAMES it binds (points into H) */
} ps_hosts_conflict;

/* Classify; *conflict (may be NULL) describes the first conflicting line. */
ps_hosts_state ps_hosts_check(const ps_hosts *h, const char *addr, char *const *names,
                              ps_hosts_conflict *conflict);

/* Make ADDR the only address of NAMES: the names are removed from every
 * line that binds them (a line left without names is dropped), and the line
 * "ADDR NAME1 NAME2 ..." takes the place of the first such line, or is
 * appended when there was none.  Lines that bind none of the names are kept
 * byte for byte.  *changed (may be NULL) tells whether H changed; a state
 * of PS_HOSTS_BOUND leaves H as it is. */
int ps_hosts_bind(ps_hosts *h, const char *addr, char *const *names, bool *changed, ps_error *err);

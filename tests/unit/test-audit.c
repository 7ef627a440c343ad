/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "audit.h"
#include "cleanup.h"
#include "fs.h"

static char *fixture(const char *name)
{
        const char *d = getenv("PODSEC_FIXTURES");
        char *p = NULL;
        assert_true(asprintf(&p, "%s/audit/%s", d ? d : "tests/fixtures", name) > 0);
        return p;
}

static char *slurp(const char *path)
{
        char *buf = NULL;
        ps_error err = PS_ERROR_INIT;
        if (ps_read_file(path, 1 << 24, &buf, NULL, &err) < 0)
                fail_msg("%s", err.msg);
        return buf;
}

/* ---- event collection -------------------------------------------------- */

typedef struct collect {
        char **ids;             /* auditID of every delivered event */
        size_t n;
        size_t malformed;
        char *proj;             /* concatenated projections, one per line */
        size_t projlen;
        ps_audit_event last;    /* copy of the fields of the last event */
        int fail_at;            /* fail the Nth delivered event (1-based), 0: never */
        int seen;
} collect;

static char *dupn(const char *s) { return s ? strdup(s) : NULL; }

static int on_event(const ps_audit_event *ev, void *ud, ps_error *err)
{
        collect *c = ud;
        c->seen++;
        if (c->fail_at && c->seen == c->fail_at)
                return ps_error_set(err, EIO, "handler refuses event %d", c->seen);
        if (ev->error) {
                c->malformed++;
                assert_null(ev->timestamp);
                assert_non_null(strstr(ev->error, "malformed audit event"));
                return 0;
        }
        assert_true(ev->code >= 400);
        c->ids = realloc(c->ids, (c->n + 1) * sizeof *c->ids);
        c->ids[c->n++] = dupn(ev->audit_id ? ev->audit_id : "(none)");
        char *p = ps_audit_event_projection(ev);
        assert_non_null(p);
        size_t pl = strlen(p);
        c->proj = realloc(c->proj, c->projlen + pl + 2);
        memcpy(c->proj + c->projlen, p, pl);
        c->proj[c->projlen + pl] = '\n';
        c->projlen += pl + 1;
        c->proj[c->projlen] = '\0';
        free(p);
        ps_audit_event_clear(&c->last);
        c->last.code = ev->code;
        c->last.username = dupn(ev->username);
        c->last.verb = dupn(ev->verb);
        c->last.uri = dupn(ev->uri);
        c->last.source_ip = dupn(ev->source_ip);
        c->last.timestamp = dupn(ev->timestamp);
        c->last.message = dupn(ev->message);
        c->last.reason = dupn(ev->reason);
        return 0;
}

static void collect_reset(collect *c)
{
        for (size_t i = 0; i < c->n; i++)
                free(c->ids[i]);
        free(c->ids);
        free(c->proj);
        ps_audit_event_clear(&c->last);
        *c = (collect){ 0 };
}

/* ---- the realistic fixture against jq's answer ------------------------- */

static void test_realistic(void **s)
{
        _cleanup_free_ char *in = fixture("realistic.jsonl");
        _cleanup_free_ char *exp = fixture("realistic.expected");
        _cleanup_free_ char *want = slurp(exp);
        collect c = { 0 };
        ps_audit_stats st = { 0 };
        ps_error err = PS_ERROR_INIT;
        assert_int_equal(ps_audit_scan_file(in, on_event, &c, &st, &err), 0);
        assert_string_equal(c.proj, want);
        assert_int_equal(st.lines, 40);
        assert_int_equal(st.matches, 24);
        assert_int_equal(st.malformed, 0);
        assert_int_equal(st.full_parses, 0);     /* every line decided by the fast walk */
        /* fields of the last one (the 500) */
        assert_int_equal(c.last.code, 500);
        assert_string_equal(c.last.username, "alice");
        assert_string_equal(c.last.verb, "get");
        assert_string_equal(c.last.uri, "/api/v1/namespaces/default/pods/nginx/log");
        assert_string_equal(c.last.reason, "InternalError");
        assert_non_null(strstr(c.last.message, "i/o timeout — ошибка"));
        collect_reset(&c);
}

/* ---- the tricky lines -------------------------------------------------- */

static void same_fields(const ps_audit_event *a, const ps_audit_event *b, const char *line)
{
#define SAME(f) do { \
        if ((a->f == NULL) != (b->f == NULL) || (a->f && strcmp(a->f, b->f))) \
                fail_msg("field " #f " differs (%s vs %s) on %s", a->f ? a->f : "NULL", b->f ? b->f : "NULL", line); \
        } while (0)
        SAME(timestamp); SAME(source_ip); SAME(verb); SAME(uri); SAME(username);
        SAME(message); SAME(reason); SAME(audit_id); SAME(stage); SAME(user_agent);
#undef SAME
        assert_int_equal(a->code, b->code);
}

static void test_tricky(void **s)
{
        _cleanup_free_ char *in = fixture("tricky.jsonl");
        _cleanup_free_ char *exp = fixture("tricky.expected");
        _cleanup_free_ char *lines = slurp(in);
        _cleanup_free_ char *wants = slurp(exp);
        char *line = lines, *want = wants;
        int n = 0;
        for (;;) {
                char *lnl = strchr(line, '\n'), *wnl = strchr(want, '\n');
                if (!lnl || !wnl) {
                        assert_true(!lnl && !wnl);
                        break;
                }
                *lnl = '\0';
                *wnl = '\0';
                n++;
                char *f[4] = { want, "", "", "" };
                for (int k = 1; k < 4; k++) {
                        char *t = strchr(f[k - 1], '\t');
                        if (!t)
                                break;
                        *t = '\0';
                        f[k] = t + 1;
                }
                size_t len = strlen(line);
                collect c = { 0 };
                ps_audit_stats st = { 0 };
                size_t used = 0;
                assert_int_equal(ps_audit_scan_buffer(line, len, true, 0, on_event, &c, &st, &used, NULL), 0);
                assert_int_equal(used, len);
                if (!strcmp(f[0], "MATCH")) {
                        if (c.n != 1)
                                fail_msg("line %d: %zu events (%zu malformed), expected a match: %s", n, c.n, c.malformed, line);
                        assert_int_equal(c.last.code, strtol(f[1], NULL, 10));
                        if (*f[2])
                                assert_string_equal(c.last.username, f[2]);
                        else
                                assert_null(c.last.username);
                        c.proj[c.projlen - 1] = '\0';
                        if (strcmp(c.proj, f[3]))
                                fail_msg("line %d: projection %s, expected %s", n, c.proj, f[3]);
                } else if (!strcmp(f[0], "MALFORMED")) {
                        if (c.malformed != 1 || c.n != 0)
                                fail_msg("line %d: %zu events, %zu malformed; expected malformed: %s", n, c.n, c.malformed, line);
                } else {
                        if (c.n || c.malformed)
                                fail_msg("line %d: %zu events, %zu malformed; expected none: %s", n, c.n, c.malformed, line);
                }
                /* fast walk and reference agree whenever jansson accepts the line */
                int full = ps_audit_full_verdict(line, len);
                int quick = ps_audit_quick_verdict(line, len);
                if (full != PS_AUDIT_INVALID) {
                        assert_int_equal(ps_audit_verdict(line, len), full);
                        if (quick != PS_AUDIT_UNSURE && quick != full)
                                fail_msg("line %d: quick %d, full %d", n, quick, full);
                        ps_audit_event a, b;
                        int ra = ps_audit_event_parse(line, len, &a, NULL);
                        int rb = ps_audit_event_parse_full(line, len, &b, NULL);
                        assert_int_equal(ra, rb);
                        if (ra == 0)
                                same_fields(&a, &b, line);
                        ps_audit_event_clear(&a);
                        ps_audit_event_clear(&b);
                }
                collect_reset(&c);
                line = lnl + 1;
                want = wnl + 1;
        }
        assert_int_equal(n, 35);
}

static void test_parse_errors(void **s)
{
        ps_audit_event ev;
        ps_error err = PS_ERROR_INIT;
        const char *l = "{\"responseStatus\":{\"code\":403},\"responseStatus\":{\"code\":200}}";
        assert_int_equal(ps_audit_event_parse(l, strlen(l), &ev, &err), -EBADMSG);
        assert_non_null(strstr(err.msg, "duplicate key"));
        assert_non_null(ev.error);
        ps_audit_event_clear(&ev);
        ps_error_clear(&err);
        assert_int_equal(ps_audit_event_parse_full(l, strlen(l), &ev, &err), -EBADMSG);
        assert_non_null(strstr(err.msg, "duplicate"));
        ps_audit_event_clear(&ev);
        ps_error_clear(&err);
        l = "{\"verb\":\"get\",\"responseStatus\":{\"code\":403}";
        assert_int_equal(ps_audit_event_parse(l, strlen(l), &ev, &err), -EBADMSG);
        assert_non_null(strstr(err.msg, "truncated"));
        ps_audit_event_clear(&ev);
        ps_error_clear(&err);
        /* a control character inside an extracted string */
        l = "{\"verb\":\"g\x01t\",\"responseStatus\":{\"code\":403}}";
        assert_int_equal(ps_audit_event_parse(l, strlen(l), &ev, &err), -EBADMSG);
        ps_audit_event_clear(&ev);
        ps_error_clear(&err);
        /* bad UTF-8 inside an extracted string */
        l = "{\"verb\":\"\xc3\x28\",\"responseStatus\":{\"code\":403}}";
        assert_int_equal(ps_audit_event_parse(l, strlen(l), &ev, &err), -EBADMSG);
        ps_audit_event_clear(&ev);
        ps_error_clear(&err);
        /* projection of an empty event */
        ps_audit_event e0 = { .code = -1 };
        char *p = ps_audit_event_projection(&e0);
        assert_string_equal(p, "[null,null,null]");
        free(p);
}

/* buffers: partial last line is left alone unless FINAL; offsets are right */
static void test_scan_buffer(void **s)
{
        const char *a = "{\"auditID\":\"a\",\"responseStatus\":{\"code\":403}}\n";
        const char *b = "{\"auditID\":\"b\",\"responseStatus\":{\"code\":200}}\n";
        const char *c3 = "{\"auditID\":\"c\",\"responseStatus\":{\"code\":500}}";
        char buf[512];
        snprintf(buf, sizeof buf, "%s\n%s%s", a, b, c3);
        collect c = { 0 };
        ps_audit_stats st = { 0 };
        size_t used = 0;
        assert_int_equal(ps_audit_scan_buffer(buf, strlen(buf), false, 1000, on_event, &c, &st, &used, NULL), 0);
        assert_int_equal(used, strlen(a) + 1 + strlen(b));
        assert_int_equal(c.n, 1);
        assert_int_equal(st.lines, 2);
        assert_int_equal(st.bytes, used);
        assert_int_equal(ps_audit_scan_buffer(buf + used, strlen(buf) - used, true, 1000 + used, on_event, &c, &st,
                                              &used, NULL), 0);
        assert_int_equal(c.n, 2);
        assert_string_equal(c.ids[1], "c");
        collect_reset(&c);
        /* a failing handler: consumed stops before the failing line */
        c.fail_at = 1;
        ps_error err = PS_ERROR_INIT;
        assert_int_equal(ps_audit_scan_buffer(buf, strlen(buf), true, 0, on_event, &c, &st, &used, &err), -EIO);
        assert_int_equal(used, 0);
        assert_non_null(strstr(err.msg, "handler refuses"));
        ps_error_clear(&err);
        collect_reset(&c);
}

/* ---- following --------------------------------------------------------- */

typedef struct env {
        char *dir, *log, *cp;
} env;

static void rmrf(const char *d)
{
        char *cmd = NULL;
        assert_true(asprintf(&cmd, "rm -rf -- '%s'", d) > 0);
        assert_int_equal(system(cmd), 0);
        free(cmd);
}

static int setup(void **state)
{
        env *e = calloc(1, sizeof *e);
        char t[] = "/tmp/podsec-audit-XXXXXX";
        assert_non_null(mkdtemp(t));
        e->dir = strdup(t);
        e->log = ps_path_join(t, "audit.log");
        e->cp = ps_path_join(t, "checkpoint.json");
        *state = e;
        return 0;
}

static int teardown(void **state)
{
        env *e = *state;
        rmrf(e->dir);
        free(e->dir);
        free(e->log);
        free(e->cp);
        free(e);
        return 0;
}

static void append(const char *path, const char *text)
{
        int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
        assert_true(fd >= 0);
        assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
        close(fd);
}

/* a realistic line; ID is its auditID, CODE its responseStatus.code */
static char *event(const char *id, int code)
{
        char *s = NULL;
        assert_true(asprintf(&s,
                "{\"kind\":\"Event\",\"apiVersion\":\"audit.k8s.io/v1\",\"level\":\"Metadata\",\"auditID\":\"%s\","
                "\"stage\":\"ResponseComplete\",\"requestURI\":\"/api/v1/namespaces/default/pods\",\"verb\":\"list\","
                "\"user\":{\"username\":\"bob\",\"groups\":[\"system:authenticated\"]},\"sourceIPs\":[\"10.0.2.100\"],"
                "\"userAgent\":\"kubectl/v1.26.3\",\"objectRef\":{\"resource\":\"pods\",\"namespace\":\"default\",\"apiVersion\":\"v1\"},"
                "\"responseStatus\":{\"metadata\":{},%s\"code\":%d},"
                "\"requestReceivedTimestamp\":\"2024-03-01T10:00:00.%06dZ\",\"stageTimestamp\":\"2024-03-01T10:00:00.%06dZ\"}\n",
                id, code >= 400 ? "\"status\":\"Failure\",\"message\":\"forbidden\",\"reason\":\"Forbidden\"," : "", code,
                code, code) > 0);
        return s;
}

static void add_event(const char *path, const char *id, int code)
{
        char *s = event(id, code);
        append(path, s);
        free(s);
}

/* every id in WANT (comma separated) delivered exactly once, nothing else */
static void expect_ids(collect *c, const char *want)
{
        _cleanup_free_ char *w = strdup(want);
        size_t nw = 0;
        char *save = NULL;
        for (char *t = strtok_r(w, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
                nw++;
                size_t hits = 0;
                for (size_t i = 0; i < c->n; i++)
                        hits += strcmp(c->ids[i], t) == 0;
                if (hits != 1)
                        fail_msg("event %s delivered %zu times", t, hits);
        }
        if (c->n != nw) {
                for (size_t i = 0; i < c->n; i++)
                        fprintf(stderr, "delivered: %s\n", c->ids[i]);
                fail_msg("%zu events delivered, expected %zu (%s)", c->n, nw, want);
        }
}

static ps_audit_follower *fopen_(env *e, unsigned flags)
{
        ps_audit_follower *f = NULL;
        ps_error err = PS_ERROR_INIT;
        if (ps_audit_follow_open(e->log, e->cp, flags, &f, &err) < 0)
                fail_msg("%s", err.msg);
        return f;
}

static int poll_(ps_audit_follower *f, collect *c)
{
        ps_error err = PS_ERROR_INIT;
        int r = ps_audit_follow_poll(f, on_event, c, &err);
        if (r < 0)
                fail_msg("poll: %s", err.msg);
        return r;
}

static void test_follow_partial_and_restart(void **state)
{
        env *e = *state;
        add_event(e->log, "a1", 200);
        add_event(e->log, "a2", 403);
        add_event(e->log, "a3", 404);
        ps_audit_follower *f = fopen_(e, 0);
        collect c = { 0 };
        assert_int_equal(poll_(f, &c), 2);
        assert_int_equal(poll_(f, &c), 0);
        /* a partial line: nothing until it is completed */
        char *l = event("a4", 401);
        size_t half = strlen(l) / 2;
        char *first = strndup(l, half);
        append(e->log, first);
        assert_int_equal(poll_(f, &c), 0);
        append(e->log, l + half);
        assert_int_equal(poll_(f, &c), 1);
        expect_ids(&c, "a2,a3,a4");
        assert_string_equal(ps_audit_follow_last_timestamp(f), "2024-03-01T10:00:00.000401Z");
        ps_audit_follow_free(f);

        /* restart: the checkpoint prevents repeats; a partial line left at
         * stop time is completed after the restart and delivered once */
        add_event(e->log, "a5", 500);
        char *l6 = event("a6", 403);
        char *h6 = strndup(l6, 100);
        append(e->log, h6);
        f = fopen_(e, 0);
        assert_string_equal(ps_audit_follow_last_timestamp(f), "2024-03-01T10:00:00.000401Z");
        assert_int_equal(poll_(f, &c), 1);
        ps_audit_follow_free(f);
        append(e->log, l6 + 100);
        f = fopen_(e, 0);
        assert_int_equal(poll_(f, &c), 1);
        expect_ids(&c, "a2,a3,a4,a5,a6");
        assert_int_equal(ps_audit_follow_stats(f)->truncations, 0);
        ps_audit_follow_free(f);
        free(l);
        free(first);
        free(l6);
        free(h6);
        collect_reset(&c);

        /* the checkpoint is compact JSON with the documented fields, mode 0600 */
        _cleanup_free_ char *cp = slurp(e->cp);
        assert_non_null(strstr(cp, "\"version\":1"));
        assert_non_null(strstr(cp, "\"head_fnv1a64\":\""));
        assert_non_null(strstr(cp, "\"timestamp\":\"2024-03-01T10:00:00.000403Z\""));
        struct stat st;
        assert_int_equal(stat(e->cp, &st), 0);
        assert_int_equal(st.st_mode & 0777, 0600);
}

static void test_follow_rotation(void **state)
{
        env *e = *state;
        add_event(e->log, "r1", 403);
        ps_audit_follower *f = fopen_(e, 0);
        collect c = { 0 };
        assert_int_equal(poll_(f, &c), 1);
        /* more events, then lumberjack-style rotation, then the writer's
         * last line lands in the old file, then the new file fills */
        add_event(e->log, "r2", 403);
        _cleanup_free_ char *old = ps_path_join(e->dir, "audit-2024-03-01T10-00-00.000.log");
        assert_int_equal(rename(e->log, old), 0);
        add_event(old, "r3", 401);
        /* no new file yet: the old one is read to its end and kept */
        assert_int_equal(poll_(f, &c), 2);
        add_event(old, "r4", 500);           /* still open by the writer */
        add_event(e->log, "n1", 200);
        add_event(e->log, "n2", 403);
        assert_int_equal(poll_(f, &c), 2);    /* r4 from the old, n2 from the new */
        assert_int_equal(ps_audit_follow_stats(f)->rotations, 1);
        add_event(old, "late", 403);          /* after the switch: not ours any more */
        add_event(e->log, "n3", 403);
        assert_int_equal(poll_(f, &c), 1);
        expect_ids(&c, "r1,r2,r3,r4,n2,n3");
        ps_audit_follow_free(f);
        collect_reset(&c);
}

static void test_follow_rotation_while_stopped(void **state)
{
        env *e = *state;
        add_event(e->log, "s1", 403);
        ps_audit_follower *f = fopen_(e, 0);
        collect c = { 0 };
        assert_int_equal(poll_(f, &c), 1);
        ps_audit_follow_free(f);
        /* while stopped: more events, rotation, new file */
        add_event(e->log, "s2", 403);
        _cleanup_free_ char *old = ps_path_join(e->dir, "audit-2024-03-01T11-00-00.000.log");
        assert_int_equal(rename(e->log, old), 0);
        add_event(e->log, "s3", 403);
        f = fopen_(e, 0);
        assert_int_equal(poll_(f, &c), 2);
        expect_ids(&c, "s1,s2,s3");
        assert_int_equal(ps_audit_follow_stats(f)->lost, 0);
        assert_int_equal(ps_audit_follow_stats(f)->rotations, 1);
        ps_audit_follow_free(f);
        /* the checkpointed file vanished while stopped (maxbackup): counted */
        add_event(e->log, "s4", 403);
        assert_int_equal(rename(e->log, old), 0);
        add_event(e->log, "s5", 403);        /* created first: no inode reuse */
        assert_int_equal(unlink(old), 0);
        f = fopen_(e, 0);
        assert_int_equal(poll_(f, &c), 1);
        expect_ids(&c, "s1,s2,s3,s5");
        assert_int_equal(ps_audit_follow_stats(f)->lost, 1);
        ps_audit_follow_free(f);
        collect_reset(&c);
}

static void test_follow_truncation(void **state)
{
        env *e = *state;
        add_event(e->log, "t1", 403);
        add_event(e->log, "t2", 403);
        ps_audit_follower *f = fopen_(e, 0);
        collect c = { 0 };
        assert_int_equal(poll_(f, &c), 2);
        /* copytruncate: shorter than our offset */
        assert_int_equal(truncate(e->log, 0), 0);
        add_event(e->log, "t3", 403);
        assert_int_equal(poll_(f, &c), 1);
        assert_int_equal(ps_audit_follow_stats(f)->truncations, 1);
        /* rewritten in place and grown past our offset before we looked:
         * the head hash notices (after a checkpoint recorded it) */
        assert_int_equal(truncate(e->log, 0), 0);
        add_event(e->log, "t4", 403);
        add_event(e->log, "t5", 403);
        add_event(e->log, "t6", 403);
        assert_int_equal(poll_(f, &c), 3);
        assert_int_equal(ps_audit_follow_stats(f)->truncations, 2);
        ps_audit_follow_free(f);
        /* same across a restart: the checkpoint's head hash no longer fits */
        assert_int_equal(truncate(e->log, 0), 0);
        add_event(e->log, "t7", 403);
        add_event(e->log, "t8", 404);
        add_event(e->log, "t9", 404);
        add_event(e->log, "t10", 404);
        f = fopen_(e, 0);
        assert_int_equal(poll_(f, &c), 4);
        expect_ids(&c, "t1,t2,t3,t4,t5,t6,t7,t8,t9,t10");
        ps_audit_follow_free(f);
        collect_reset(&c);
}

static void test_follow_created_later(void **state)
{
        env *e = *state;
        ps_audit_follower *f = fopen_(e, PS_AUDIT_FOLLOW_FROM_END);
        collect c = { 0 };
        assert_int_equal(poll_(f, &c), 0);
        ps_error err = PS_ERROR_INIT;
        assert_int_equal(ps_audit_follow_wait(f, 10, &err), 0);   /* nothing happens */
        add_event(e->log, "c1", 403);   /* a new file is read from its start */
        assert_int_equal(ps_audit_follow_wait(f, 5000, &err), 1);
        assert_int_equal(poll_(f, &c), 1);
        assert_true(ps_audit_follow_fd(f) >= 0);
        /* the checkpoint written by that poll (same directory) wakes nobody */
        assert_true(ps_file_exists(e->cp));
        assert_int_equal(ps_audit_follow_wait(f, 200, &err), 0);
        add_event(e->log, "c2", 403);
        assert_int_equal(ps_audit_follow_wait(f, 5000, &err), 1);
        assert_int_equal(poll_(f, &c), 1);
        expect_ids(&c, "c1,c2");
        ps_audit_follow_free(f);
        collect_reset(&c);
}

static void test_follow_from_end(void **state)
{
        env *e = *state;
        add_event(e->log, "old1", 403);
        add_event(e->log, "old2", 403);
        char *l = event("p1", 403);
        char *h = strndup(l, 50);
        append(e->log, h);                      /* an unfinished line at start */
        ps_audit_follower *f = fopen_(e, PS_AUDIT_FOLLOW_FROM_END);
        collect c = { 0 };
        assert_int_equal(poll_(f, &c), 0);
        append(e->log, l + 50);
        add_event(e->log, "new1", 403);
        assert_int_equal(poll_(f, &c), 2);
        expect_ids(&c, "p1,new1");
        ps_audit_follow_free(f);
        free(l);
        free(h);
        collect_reset(&c);
}

static void test_follow_handler_failure(void **state)
{
        env *e = *state;
        add_event(e->log, "h1", 403);
        add_event(e->log, "h2", 403);
        add_event(e->log, "h3", 403);
        ps_audit_follower *f = fopen_(e, 0);
        collect c = { .fail_at = 2 };
        ps_error err = PS_ERROR_INIT;
        assert_int_equal(ps_audit_follow_poll(f, on_event, &c, &err), -EIO);
        ps_error_clear(&err);
        ps_audit_follow_free(f);
        /* the checkpoint kept h1; h2 is retried after a restart */
        c.fail_at = 0;
        f = fopen_(e, 0);
        assert_int_equal(poll_(f, &c), 2);
        expect_ids(&c, "h1,h2,h3");
        ps_audit_follow_free(f);
        collect_reset(&c);
}

static void test_follow_malformed_and_refusals(void **state)
{
        env *e = *state;
        append(e->log, "{\"auditID\":\"m\",\"responseStatus\":{\"code\":403},\"x\":\n");
        append(e->log, "\n\n");
        add_event(e->log, "m2", 403);
        ps_audit_follower *f = fopen_(e, 0);
        collect c = { 0 };
        assert_int_equal(poll_(f, &c), 1);
        assert_int_equal(c.malformed, 1);
        assert_int_equal(ps_audit_follow_stats(f)->malformed, 1);
        ps_audit_follow_free(f);
        collect_reset(&c);

        /* a symlink in place of the log is refused */
        _cleanup_free_ char *real = ps_path_join(e->dir, "real.log");
        assert_int_equal(rename(e->log, real), 0);
        assert_int_equal(symlink(real, e->log), 0);
        unlink(e->cp);
        f = fopen_(e, 0);
        ps_error err = PS_ERROR_INIT;
        assert_int_equal(ps_audit_follow_poll(f, on_event, &c, &err), -ELOOP);
        assert_non_null(strstr(err.msg, "symbolic link"));
        ps_error_clear(&err);
        ps_audit_follow_free(f);

        /* a damaged checkpoint is an error with the file's name */
        static const char *const damaged[] = {
                "not json",
                "{\"version\":2,\"offset\":0,\"head_length\":0,\"head_fnv1a64\":\"0000000000000000\"}",
                "{\"version\":1,\"offset\":-1,\"head_length\":0,\"head_fnv1a64\":\"0000000000000000\"}",
                "{\"version\":1,\"offset\":0,\"head_length\":0,\"head_fnv1a64\":\"zz\"}",
                "{\"version\":1,\"offset\":0,\"head_length\":0,\"head_fnv1a64\":\"0000000000000000\",\"device\":\"1\"}",
                "{\"version\":1,\"version\":1}",
        };
        for (size_t i = 0; i < PS_ARRAY_SIZE(damaged); i++) {
                assert_int_equal(ps_write_atomic(e->cp, damaged[i], strlen(damaged[i]), 0600, NULL), 0);
                assert_int_equal(ps_audit_follow_open(e->log, e->cp, 0, &f, &err), -EBADMSG);
                assert_null(f);
                assert_non_null(strstr(err.msg, e->cp));
                ps_error_clear(&err);
        }
        /* without a checkpoint path nothing is written */
        unlink(e->cp);
        unlink(e->log);
        add_event(e->log, "z", 403);
        assert_int_equal(ps_audit_follow_open(e->log, NULL, 0, &f, &err), 0);
        assert_int_equal(poll_(f, &c), 1);
        assert_int_equal(ps_audit_follow_checkpoint(f, &err), 0);
        assert_false(ps_file_exists(e->cp));
        ps_audit_follow_free(f);
        collect_reset(&c);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_realistic),
                cmocka_unit_test(test_tricky),
                cmocka_unit_test(test_parse_errors),
                cmocka_unit_test(test_scan_buffer),
                cmocka_unit_test_setup_teardown(test_follow_partial_and_restart, setup, teardown),
                cmocka_unit_test_setup_teardown(test_follow_rotation, setup, teardown),
                cmocka_unit_test_setup_teardown(test_follow_rotation_while_stopped, setup, teardown),
                cmocka_unit_test_setup_teardown(test_follow_truncation, setup, teardown),
                cmocka_unit_test_setup_teardown(test_follow_created_later, setup, teardown),
                cmocka_unit_test_setup_teardown(test_follow_from_end, setup, teardown),
                cmocka_unit_test_setup_teardown(test_follow_handler_failure, setup, teardown),
                cmocka_unit_test_setup_teardown(test_follow_malformed_and_refusals, setup, teardown),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}

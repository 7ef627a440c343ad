/* SPDX-License-Identifier: GPL-2.0-or-later */
/* libFuzzer target for the audit-log scanner, differential against jansson:
 * for every line jansson accepts, the fast verdict equals the full-parse
 * verdict and the fast field extraction equals the jansson one.  The whole
 * input is also scanned as a buffer (partial and final) and the delivered
 * events are checked against the per-line verdicts. */
#include <assert.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "audit.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static bool same(const char *a, const char *b)
{
        return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

static void check_line(const char *line, size_t len)
{
        int quick = ps_audit_quick_verdict(line, len);
        int full = ps_audit_full_verdict(line, len);
        int v = ps_audit_verdict(line, len);
        assert(quick == PS_AUDIT_SKIP || quick == PS_AUDIT_MATCH || quick == PS_AUDIT_UNSURE);
        assert(full == PS_AUDIT_SKIP || full == PS_AUDIT_MATCH || full == PS_AUDIT_INVALID);
        if (full == PS_AUDIT_INVALID)
                return;
        assert(v == full);
        assert(quick == PS_AUDIT_UNSURE || quick == full);
        ps_audit_event a, b;
        int ra = ps_audit_event_parse(line, len, &a, NULL);
        int rb = ps_audit_event_parse_full(line, len, &b, NULL);
        assert(ra == rb);
        if (ra == 0) {
                assert(a.code == b.code);
                assert(same(a.timestamp, b.timestamp));
                assert(same(a.source_ip, b.source_ip));
                assert(same(a.verb, b.verb));
                assert(same(a.uri, b.uri));
                assert(same(a.username, b.username));
                assert(same(a.message, b.message));
                assert(same(a.reason, b.reason));
                assert(same(a.audit_id, b.audit_id));
                assert(same(a.stage, b.stage));
                assert(same(a.user_agent, b.user_agent));
                assert((full == PS_AUDIT_MATCH) == (a.code >= 400));
                char *p = ps_audit_event_projection(&a);
                assert(p);
                free(p);
        }
        ps_audit_event_clear(&a);
        ps_audit_event_clear(&b);
}

struct tally {
        size_t events, malformed;
};

static int cb(const ps_audit_event *ev, void *ud, ps_error *err)
{
        struct tally *t = ud;
        assert(ev->line && ev->offset <= (uint64_t)1 << 40);
        if (ev->error) {
                t->malformed++;
                assert(!ev->timestamp && !ev->message);
        } else {
                t->events++;
                assert(ev->code >= 400);
                /* never an event for a line the reference skips; a line
                 * damaged only where the fast walk does not look (a skipped
                 * value) may still be delivered */
                assert(ps_audit_full_verdict(ev->line, ev->len) != PS_AUDIT_SKIP);
        }
        return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        const char *buf = (const char *)data;
        size_t expect_events = 0;
        for (size_t pos = 0; pos <= size;) {
                const char *nl = memchr(buf + pos, '\n', size - pos);
                size_t ll = nl ? (size_t)(nl - (buf + pos)) : size - pos;
                check_line(buf + pos, ll);
                if (ll && ps_audit_full_verdict(buf + pos, ll) == PS_AUDIT_MATCH)
                        expect_events++;
                if (!nl)
                        break;
                pos += ll + 1;
        }
        /* non-final scan, then the rest as final: the same as one final scan */
        struct tally t1 = { 0 }, t2 = { 0 };
        ps_audit_stats st = { 0 };
        size_t used = 0;
        int r = ps_audit_scan_buffer(buf, size, false, 0, cb, &t1, &st, &used, NULL);
        assert(r == 0 && used <= size);
        assert(used == size || memchr(buf + used, '\n', size - used) == NULL);
        size_t used2 = 0;
        r = ps_audit_scan_buffer(buf + used, size - used, true, used, cb, &t1, &st, &used2, NULL);
        assert(r == 0 && used + used2 == size);
        r = ps_audit_scan_buffer(buf, size, true, 0, cb, &t2, NULL, &used, NULL);
        assert(r == 0 && used == size);
        assert(t1.events == t2.events && t1.malformed == t2.malformed);
        assert(st.matches == t1.events && st.malformed == t1.malformed);
        /* every reference match is delivered as an event */
        assert(t2.events >= expect_events);
        return 0;
}

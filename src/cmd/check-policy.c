/* SPDX-License-Identifier: GPL-2.0-or-later */
/* podsec check policy (= podsec-inotify-check-policy, spec monitor §3): a
 * Nagios/Icinga plugin auditing the container configuration of root,
 * u7s-admin and the users (rules 101-107 and the two share rules), and the
 * plugin frame it shares with podsec check images (check-plugin.h).
 *
 * Fixed against the original: the report is printed and the exit code is
 * the Nagios state (the original always exited 0, defect 10); levels are
 * chosen in severity order (defect 9); group membership is exact (14);
 * accounts come from passwd, not /home names (34); policies are parsed, not
 * matched as text (35); rule 107 names its users (11) and 105 logs at its
 * own level (12); the share rules have one population and never divide by
 * zero (13); the subject carries the summary metric (15); the
 * writability probe writes nothing (5). */
#include "check-plugin.h"
#include "cleanup.h"
#include "log.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define SERVICE "POLICY"

static void help(const ps_plugin *p, const char *prog)
{
        if (!p->images)
                printf(_("Usage: %s [-v|-vv|-vvv] [-a R] [-f R] [-c R] [-h R] [-m R] [-l R] [-d R] [-w R]\n"
                         "          [-M ADDRESS] [--sendmail PATH] [--log-stderr]\n\n"
                         "Nagios/Icinga plugin: audit the container configuration of root, u7s-admin and\n"
                         "every user of /etc/passwd that has a container storage.  Each rule that matches\n"
                         "adds its weight to the metric:\n"
                         "  101  a user with a storage is in neither group podman nor podman_dev\n"
                         "  102  the default requirement of the policy in effect is not reject, and\n"
                         "       the account is not in podman_dev (root included)\n"
                         "  103  no scope of the site registry needs a signature\n"
                         "  104  a docker scope accepts unsigned images (insecureAcceptAnything)\n"
                         "  105  a transport other than docker has a scope that does not reject\n"
                         "  106  registries.d's default-docker lookaside is not the site sigstore URL\n"
                         "  107  a user is in podman and wheel but not in podman_dev\n"
                         "  90*n/N  of the N image users (podman, not podman_dev), n have no\n"
                         "       ~/.config/containers/storage.conf; likewise n can change\n"
                         "       ~/.config/containers (not immutable, owned or writable)\n"
                         "Policies are read as podman reads them (~/.config/containers/policy.json, else\n"
                         "/etc/containers/policy.json; registries.d likewise); nothing is written.\n\n"),
                       prog);
        else
                printf(_("Usage: %s [-v|-vv|-vvv] [-a R] [-f R] [-c R] [-h R] [-m R] [-l R] [-d R] [-w R]\n"
                         "          [-M ADDRESS] [--sendmail PATH] [--all-images] [--timeout SEC]\n"
                         "          [--ca-file FILE] [--log-stderr]\n\n"
                         "Nagios/Icinga plugin: audit the images stored by root (/var/lib/containers/storage),\n"
                         "u7s-admin and every user with a rootless storage who is not an image maker\n"
                         "(podman_dev), against the policy in effect for that account:\n"
                         "  101  the policy has docker scopes that accept unsigned images\n"
                         "  102  an image a docker scope covers is not accepted by the policy: its\n"
                         "       signatures (read from the lookaside registries.d gives) are verified\n"
                         "       with GnuPG against the scope's keys, signed digest (of the stored\n"
                         "       manifest) and identity\n"
                         "  103  an image no docker scope covers (or without a name)\n"
                         "The weights (101, 102, 103) of the rules that match are summed into the metric.\n\n"
                         "  --all-images     verify images outside the scopes too (also when the\n"
                         "                   environment variable CHECKALLIMAGES is set)\n"
                         "  --timeout SEC    per lookaside request (default 10)\n"
                         "  --ca-file FILE   CA bundle for https lookasides\n\n"),
                       prog);
        printf(_("Levels (each takes a Nagios range R: N, S:, S:E, ~:E, @S:E; alert when the metric\n"
                 "is outside, or inside with @):\n"
                 "  journal: -a Crash, -f Fatal, -c Critical, -h High, -m Middle, -l Low, -d Debug\n"
                 "  plugin state: -c CRITICAL, -w WARNING\n"
                 "The most severe level whose range alerts is used.  Each matched rule is logged\n"
                 "as \"<Level>: ...\" at the level its weight gets on the journal scale, tag\n"
                 "  %s\n"
                 "The summary metric decides the plugin state (exit 0 OK, 1 WARNING,\n"
                 "2 CRITICAL, 3 UNKNOWN: bad options, not root, or accounts that could not be\n"
                 "checked while nothing else is wrong).  Long options: --critical, --warning,\n"
                 "--high, ... --verbose, --mail.  Without any option: -c 100 -vv.\n\n"
                 "  -v, -vv, -vvv       headings, journal messages, every finding and account\n"
                 "  -M ADDRESS          mail the report (not OK only) through sendmail\n"
                 "  --sendmail PATH     the sendmail program (default sendmail)\n"
                 "  --log-stderr        without journal or syslog, log to stderr (by default\n"
                 "                      nothing is logged then: stderr would mix with the output)\n"
                 "  --json (global)     the report as JSON: state, rules, accounts%s\n"
                 "  --help              this help\n\n"
                 "Must run as root (unless --root DIR is given).  Under the original name\n"
                 "  %s\n"
                 "the original's tolerant option language applies (words not starting with '-'\n"
                 "are ignored; only the first letter after '-' counts).\n"),
               p->tag, p->images ? ", images" : "", p->tag);
}

void ps_plugin_free(ps_plugin *p)
{
        ps_nagios_opts_free(&p->o);
}

int ps_plugin_unknown(const ps_plugin *p, const char *msg)
{
        if (p->ctx && p->ctx->json) {
                json_t *j = json_pack("{s:s,s:s,s:i,s:s}", "name", SERVICE, "state", "UNKNOWN", "exit", 3, "text", msg);
                char *t = j ? json_dumps(j, JSON_COMPACT) : NULL;
                if (t)
                        printf("%s\n", t);
                free(t);
                json_decref(j);
        } else {
                /* one line: the text must not break the plugin output */
                printf("%s UNKNOWN: ", SERVICE);
                for (const char *c = msg; *c; c++)
                        putchar(*c == '\n' || *c == '|' ? ' ' : *c);
                putchar('\n');
        }
        return PS_NAGIOS_UNKNOWN;
}

ps_inv_opts ps_plugin_inv_opts(const ps_plugin *p)
{
        const ps_conf *c = &p->ctx->conf;
        return (ps_inv_opts){
                .root = p->ctx->root,
                .group_user = c->group_user,
                .group_dev = c->group_dev,
                .registry = c->registry,
                .sigstore_url = c->sigstore_url,
        };
}

/* podsec's own long options, taken out before the level options are parsed.
 * Returns 1 when ARG (and maybe its value) was taken, 0 when not, -1 on a
 * usage error (*msg set). */
static int own_option(ps_plugin *p, int argc, char **argv, int *i, bool *help_wanted, char **msg)
{
        const char *a = argv[*i];
        static const struct {
                const char *name;
                bool value, images_only;
        } opts[] = {
                { "help", false, false },      { "sendmail", true, false }, { "log-stderr", false, false },
                { "all-images", false, true }, { "timeout", true, true },   { "ca-file", true, true },
        };
        if (strncmp(a, "--", 2) != 0)
                return 0;
        const char *name = a + 2, *eq = strchr(name, '=');
        size_t nl = eq ? (size_t)(eq - name) : strlen(name);
        for (size_t k = 0; k < PS_ARRAY_SIZE(opts); k++) {
                if (strlen(opts[k].name) != nl || memcmp(opts[k].name, name, nl) != 0)
                        continue;
                if (opts[k].images_only && !p->images)
                        return 0;
                const char *v = NULL;
                if (opts[k].value) {
                        if (eq) {
                                v = eq + 1;
                        } else if (*i + 1 < argc) {
                                v = argv[++*i];
                        } else {
                                *msg = NULL;
                                if (asprintf(msg, "option --%s needs a value", opts[k].name) < 0)
                                        *msg = NULL;
                                return -1;
                        }
                } else if (eq) {
                        if (asprintf(msg, "option --%s takes no value", opts[k].name) < 0)
                                *msg = NULL;
                        return -1;
                }
                switch (k) {
                case 0: *help_wanted = true; break;
                case 1:
                        if (!*v) {
                                *msg = strdup("option --sendmail: empty path");
                                return -1;
                        }
                        p->sendmail = v;
                        break;
                case 2: p->log_stderr = true; break;
                case 3: p->all_images = true; break;
                case 4: {
                        char *end = NULL;
                        errno = 0;
                        long t = strtol(v, &end, 10);
                        if (errno || !end || *end || t < 1 || t > 3600) {
                                if (asprintf(msg, "option --timeout: \"%s\" is not a number of seconds (1 to 3600)", v) < 0)
                                        *msg = NULL;
                                return -1;
                        }
                        p->timeout = t;
                        break;
                }
                case 5: p->ca_file = v; break;
                }
                return 1;
        }
        return 0;
}

int ps_plugin_start(ps_plugin *p, ps_ctx *ctx, bool images, int argc, char **argv)
{
        *p = (ps_plugin){ .ctx = ctx, .images = images, .tag = images ? PS_TAG_CHECK_IMAGES : PS_TAG_CHECK_POLICY };
        ps_nagios_opts_init(&p->o);
        const char *base = strrchr(argv[0], '/');
        base = base ? base + 1 : argv[0];
        bool compat = !strncmp(base, "podsec-inotify-check-", 21);

        /* podsec's options out, the level options left for the parser */
        _cleanup_free_ char **rest = calloc((size_t)argc + 1, sizeof *rest);
        if (!rest)
                return ps_plugin_unknown(p, "out of memory");
        int n = 0;
        rest[n++] = argv[0];
        bool help_wanted = false;
        for (int i = 1; i < argc; i++) {
                if (!strcmp(argv[i], "--")) {
                        while (i < argc)
                                rest[n++] = argv[i++];
                        break;
                }
                _cleanup_free_ char *msg = NULL;
                int k = own_option(p, argc, argv, &i, &help_wanted, &msg);
                if (k < 0)
                        return ps_plugin_unknown(p, msg ? msg : "out of memory");
                if (k == 0) {
                        rest[n++] = argv[i];
                        /* the value of a level option is never one of ours */
                        if (argv[i][0] == '-' && argv[i][1] && argv[i][1] != '-' && argv[i][1] != 'v' &&
                            !argv[i][2] && i + 1 < argc)
                                rest[n++] = argv[++i];
                }
        }
        if (help_wanted) {
                help(p, compat ? base : argv[0]);
                return 0;
        }
        ps_error err = PS_ERROR_INIT;
        int k = ps_nagios_parse_args(&p->o, n, rest, compat ? PS_NAGIOS_ARGS_COMPAT : 0, &err);
        if (k < 0) {
                int rc = ps_plugin_unknown(p, ps_error_msg(&err));
                ps_error_clear(&err);
                return rc;
        }
        if (k < n) {
                _cleanup_free_ char *m = NULL;
                if (asprintf(&m, "unexpected argument \"%s\" (see --help)", rest[k]) < 0)
                        m = NULL;
                return ps_plugin_unknown(p, m ? m : "unexpected argument");
        }
        if (p->o.given == 0) {
                /* the original's defaults when called without options (§2.2 rule 6) */
                ps_range r100;
                ps_range_parse("100", &r100, NULL);
                p->o.journal[PS_LEVEL_CRITICAL] = r100;
                p->o.nagios[PS_LEVEL_CRITICAL] = r100;
                p->o.verbosity = 2;
        }
        if (p->o.mailto && ps_nagios_check_address(p->o.mailto, &err) < 0) {
                int rc = ps_plugin_unknown(p, ps_error_msg(&err));
                ps_error_clear(&err);
                return rc;
        }
        if (!ctx->conf.registry) {
                /* "-h RANGE" (High) made the dispatcher take the call for a
                 * request for help and skip the site settings */
                if (ps_conf_load(&ctx->conf, ctx->root, ctx->config, &err) < 0) {
                        int rc = ps_plugin_unknown(p, ps_error_msg(&err));
                        ps_error_clear(&err);
                        return rc;
                }
        }
        const char *all = getenv("CHECKALLIMAGES");
        if (all && *all)
                p->all_images = true;
        if (geteuid() != 0 && !ctx->root)
                return ps_plugin_unknown(p, "plugin must be run as root user");
        ps_log_open(p->tag, LOG_USER, PS_LOG_AUTO);
        if (ps_log_target_in_use() == PS_LOG_STDERR && !p->log_stderr)
                ps_log_set_max(-1);     /* icinga2 would merge stderr into the plugin output */
        return -1;
}

/* ---- the report ------------------------------------------------------------ */

static int cmp_str(const void *a, const void *b)
{
        return strcmp(*(char *const *)a, *(char *const *)b);
}

#define LIST_MAX 10        /* names in the status line and the subject */

/* Offenders of every matched rule, sorted, each once, joined by blanks; at
 * most LIST_MAX, then "(and N more)": the first line of a plugin's output
 * must stay short (all names are in -v and --json). */
static char *all_users(const ps_inv_report *rep)
{
        size_t total = 0;
        for (size_t i = 0; i < rep->n_rules; i++)
                total += rep->rules[i].n;
        _cleanup_free_ const char **v = calloc(total + 1, sizeof *v);
        if (!v)
                return NULL;
        size_t n = 0;
        for (size_t i = 0; i < rep->n_rules; i++)
                for (size_t k = 0; k < rep->rules[i].n; k++)
                        v[n++] = rep->rules[i].v[k].user;
        qsort(v, n, sizeof *v, cmp_str);
        size_t len = 64, unique = 0;
        for (size_t i = 0; i < n; i++)
                len += strlen(v[i]) + 1;
        char *s = malloc(len), *o = s;
        if (!s)
                return NULL;
        *o = '\0';
        for (size_t i = 0; i < n; i++) {
                if (i && !strcmp(v[i], v[i - 1]))
                        continue;
                if (++unique > LIST_MAX)
                        continue;
                if (o != s)
                        *o++ = ' ';
                size_t l = strlen(v[i]);
                memcpy(o, v[i], l);
                o += l;
                *o = '\0';
        }
        if (unique > LIST_MAX)
                snprintf(o, 64, " (and %zu more)", unique - LIST_MAX);
        return s;
}

/* The journal text of rule R without the level word ps_nagios_log adds. */
static char *rule_text(const ps_plugin *p, const ps_inv_rule *r, enum ps_level l)
{
        char *s = NULL;
        const char *pre = l != PS_LEVEL_NONE ? ps_level_prefix(l) : "";
        if (p->images)
                return strdup(r->message);      /* "101:: ..." as the original */
        if (asprintf(&s, "%s(%d): %s", pre, r->id ? r->id : r->weight, r->message) < 0)
                return NULL;
        return s;
}

static int details(const ps_plugin *p, ps_inventory *inv, const ps_inv_report *rep, ps_nagios_result *res,
                   ps_error *err)
{
        int v = p->o.verbosity;
        bool any = false;
        for (size_t i = 0; i < rep->n_rules; i++)
                any |= rep->rules[i].n > 0;
        if (v >= 1 && any) {
                if (ps_nagios_result_detail(res, err, "There are users:") < 0)
                        return -ENOMEM;
                for (size_t i = 0; i < rep->n_rules; i++) {
                        const ps_inv_rule *r = &rep->rules[i];
                        if (!r->n)
                                continue;
                        _cleanup_free_ char *list = ps_inv_quote_list(r->v, r->n);
                        if (!list || ps_nagios_result_detail(res, err, "%s (%s, weight %d): %s", r->heading, r->label,
                                                             r->weight, list) < 0)
                                return -ENOMEM;
                }
        }
        if (v >= 1)
                for (size_t i = 0; i < rep->n_unchecked; i++)
                        if (ps_nagios_result_detail(res, err, "could not check %s: %s", rep->unchecked[i].user,
                                                    rep->unchecked[i].why) < 0)
                                return -ENOMEM;
        if (v >= 2)
                for (size_t i = 0; i < rep->n_rules; i++) {
                        const ps_inv_rule *r = &rep->rules[i];
                        if (!r->n)
                                continue;
                        enum ps_level l = ps_nagios_level(&p->o, PS_SCALE_JOURNAL, r->weight);
                        _cleanup_free_ char *t = rule_text(p, r, l);
                        if (!t || ps_nagios_result_detail(res, err, "%s%s", t,
                                                          l == PS_LEVEL_NONE ? " (not logged)" : "") < 0)
                                return -ENOMEM;
                }
        if (v < 3)
                return 0;
        for (size_t i = 0; i < rep->n_rules; i++) {
                const ps_inv_rule *r = &rep->rules[i];
                for (size_t k = 0; k < r->n; k++)
                        if (ps_nagios_result_detail(res, err, "%s %s: %s", r->label, r->v[k].user,
                                                    r->v[k].why ? r->v[k].why : "") < 0)
                                return -ENOMEM;
        }
        for (size_t i = 0; i < inv->n_accounts; i++) {
                const ps_inv_account *a = &inv->accounts[i];
                if (!a->config_loaded || a->config_error)
                        continue;
                if (ps_nagios_result_detail(res, err,
                                            "account %s: storage %s, policy %s (default %s), registries.d %s "
                                            "(default lookaside %s), storage.conf %s, config %s",
                                            a->name, a->storage ? a->storage : "none", a->policy_path,
                                            a->policy_missing ? "none: no policy" : a->default_types, a->regd_path,
                                            a->default_lookaside ? a->default_lookaside : "none",
                                            a->has_storage_conf ? "yes" : "no",
                                            a->config_writable == 1   ? "writable"
                                            : a->config_writable == 0 ? "locked"
                                                                      : "not checked") < 0)
                        return -ENOMEM;
        }
        for (size_t i = 0; i < rep->n_images; i++) {
                const ps_inv_image *im = &rep->images[i];
                const char *verdict = im->verdict >= 0 ? ps_verdict_name((ps_verdict)im->verdict) : "not verified";
                _cleanup_free_ char *where = NULL;
                if (asprintf(&where, im->in_policy ? "scope \"%s\"" : "outside the scopes",
                             im->scope ? im->scope : "") < 0)
                        return -ENOMEM;
                if (ps_nagios_result_detail(res, err, "image %s %.12s %s: %s, %s%s%s%s%s", im->account, im->id,
                                            im->name ? im->name : "(no name)", where, verdict,
                                            im->signer ? ", signed by " : "", im->signer ? im->signer : "",
                                            im->reason ? ": " : "", im->reason ? im->reason : "") < 0)
                        return -ENOMEM;
        }
        return 0;
}

static int perfdata(const ps_plugin *p, const ps_inv_report *rep, ps_nagios_result *res, ps_error *err)
{
        double zero = 0;
        if (ps_nagios_result_perf(res, "metric", rep->metric, NULL, &p->o.nagios[PS_LEVEL_WARNING],
                                  &p->o.nagios[PS_LEVEL_CRITICAL], &zero, NULL, err) < 0)
                return -1;
        for (size_t i = 0; i < rep->n_rules; i++)
                if (ps_nagios_result_perf(res, rep->rules[i].label, (double)rep->rules[i].n, NULL, NULL, NULL, &zero,
                                          NULL, err) < 0)
                        return -1;
        if (p->images) {
                size_t outside = 0, bad = 0;
                for (size_t i = 0; i < rep->n_images; i++) {
                        const ps_inv_image *im = &rep->images[i];
                        outside += !im->in_policy;
                        bad += (im->in_policy || im->verdict >= 0) && im->verdict != PS_VERDICT_ACCEPTED;
                }
                if (ps_nagios_result_perf(res, "images", (double)rep->n_images, NULL, NULL, NULL, &zero, NULL, err) < 0 ||
                    ps_nagios_result_perf(res, "not_accepted", (double)bad, NULL, NULL, NULL, &zero, NULL, err) < 0 ||
                    ps_nagios_result_perf(res, "outside", (double)outside, NULL, NULL, NULL, &zero, NULL, err) < 0)
                        return -1;
        }
        if (ps_nagios_result_perf(res, "accounts", (double)rep->checked, NULL, NULL, NULL, &zero, NULL, err) < 0 ||
            ps_nagios_result_perf(res, "unchecked", (double)rep->n_unchecked, NULL, NULL, NULL, &zero, NULL, err) < 0)
                return -1;
        return 0;
}

static json_t *report_json(const ps_plugin *p, ps_inventory *inv, const ps_inv_report *rep,
                           const ps_nagios_result *res, const char *subject)
{
        json_t *j = ps_nagios_result_json(res);
        json_t *rules = json_array(), *accounts = json_array(), *unch = json_array();
        if (!j || !rules || !accounts || !unch)
                goto fail;
        for (size_t i = 0; i < rep->n_rules; i++)
                if (json_array_append_new(rules, ps_inv_rule_json(&rep->rules[i])) < 0)
                        goto fail;
        for (size_t i = 0; i < inv->n_accounts; i++)
                if (inv->accounts[i].config_loaded &&
                    json_array_append_new(accounts, ps_inv_account_json(&inv->accounts[i])) < 0)
                        goto fail;
        for (size_t i = 0; i < rep->n_unchecked; i++)
                if (json_array_append_new(unch, json_pack("{s:s,s:s}", "user", rep->unchecked[i].user, "why",
                                                          rep->unchecked[i].why)) < 0)
                        goto fail;
        if (json_object_set_new(j, "metric", json_integer(rep->metric)) < 0 ||
            json_object_set_new(j, "subject", subject ? json_string(subject) : json_null()) < 0 ||
            json_object_set_new(j, "rules", rules) < 0 || json_object_set_new(j, "accounts", accounts) < 0 ||
            json_object_set_new(j, "unchecked", unch) < 0) {
                rules = accounts = unch = NULL;
                goto fail;
        }
        if (p->images) {
                json_t *imgs = json_array();
                for (size_t i = 0; imgs && i < rep->n_images; i++)
                        if (json_array_append_new(imgs, ps_inv_image_json(&rep->images[i])) < 0) {
                                json_decref(imgs);
                                imgs = NULL;
                        }
                if (!imgs || json_object_set_new(j, "images", imgs) < 0) {
                        json_decref(j);
                        return NULL;
                }
        }
        return j;
fail:
        json_decref(j);
        json_decref(rules);
        json_decref(accounts);
        json_decref(unch);
        return NULL;
}

int ps_plugin_report(ps_plugin *p, ps_inventory *inv, ps_inv_report *rep)
{
        ps_error err = PS_ERROR_INIT;
        /* the journal: every matched rule whose weight gets a level */
        for (size_t i = 0; i < rep->n_rules; i++) {
                const ps_inv_rule *r = &rep->rules[i];
                if (!r->n)
                        continue;
                enum ps_level l = ps_nagios_level(&p->o, PS_SCALE_JOURNAL, r->weight);
                if (l == PS_LEVEL_NONE)
                        continue;
                _cleanup_free_ char *t = rule_text(p, r, l);
                if (!t)
                        return ps_plugin_unknown(p, "out of memory");
                ps_nagios_log(l, "%s", t);
        }

        enum ps_level nl = ps_nagios_level(&p->o, PS_SCALE_NAGIOS, rep->metric);
        enum ps_nagios_state st = ps_nagios_state_of(nl);
        _cleanup_free_ char *users = all_users(rep);
        _cleanup_free_ char *subject = NULL;
        ps_nagios_result res;
        if (!users || ps_nagios_result_init(&res, SERVICE, &err) < 0)
                return ps_plugin_unknown(p, "out of memory");
        int k = 0;
        if (nl != PS_LEVEL_NONE) {
                if (p->images) {
                        k = asprintf(&subject, "POLICY %d:: Users %s have images that violate established policies",
                                     rep->metric, users);
                        if (k >= 0)
                                k = ps_nagios_result_set(&res, st, &err,
                                                         "Users %s have images that violate established policies "
                                                         "(metric %d)",
                                                         users, rep->metric);
                } else {
                        k = asprintf(&subject, "POLICY %s(%d): Violation of user containerization policies %s",
                                     ps_level_prefix(nl), rep->metric, users);
                        if (k >= 0)
                                k = ps_nagios_result_set(&res, st, &err,
                                                         "Violation of user containerization policies (metric %d): %s",
                                                         rep->metric, users);
                }
        } else if (rep->n_unchecked) {
                k = ps_nagios_result_set(&res, PS_NAGIOS_UNKNOWN, &err, "could not check %zu account%s: %s: %s%s",
                                         rep->n_unchecked, rep->n_unchecked == 1 ? "" : "s", rep->unchecked[0].user,
                                         rep->unchecked[0].why, rep->n_unchecked > 1 ? " (and more, see -v)" : "");
        } else {
                k = ps_nagios_result_set(&res, PS_NAGIOS_OK, &err, "Containerization policies are not violated");
        }
        if (k < 0 || perfdata(p, rep, &res, &err) < 0 || details(p, inv, rep, &res, &err) < 0) {
                ps_nagios_result_free(&res);
                ps_error_clear(&err);
                return ps_plugin_unknown(p, "out of memory");
        }

        /* mail before printing, so that a failure can be reported */
        if (p->o.mailto && res.state != PS_NAGIOS_OK && subject) {
                _cleanup_free_ char *body = ps_nagios_result_format(&res);
                if (!body || ps_nagios_mail(p->sendmail, p->o.mailto, subject, body, &err) < 0) {
                        ps_log(LOG_ERR, "Fatal: cannot mail the report to %s: %s", p->o.mailto,
                               body ? ps_error_msg(&err) : "out of memory");
                        ps_nagios_result_detail(&res, NULL, "could not mail the report to %s: %s", p->o.mailto,
                                                body ? ps_error_msg(&err) : "out of memory");
                        ps_error_clear(&err);
                }
        }

        char *out = NULL;
        if (p->ctx->json) {
                json_t *j = report_json(p, inv, rep, &res, subject);
                out = j ? json_dumps(j, JSON_INDENT(2) | JSON_PRESERVE_ORDER) : NULL;
                json_decref(j);
        } else {
                out = ps_nagios_result_format(&res);
        }
        int code = ps_nagios_exit_code(res.state);
        ps_nagios_result_free(&res);
        if (!out)
                return ps_plugin_unknown(p, "out of memory");
        fputs(out, stdout);
        if (p->ctx->json)
                fputc('\n', stdout);
        free(out);
        return code;
}

PS_CMD(cmd_check_policy)
{
        ps_plugin p;
        int rc = ps_plugin_start(&p, ctx, false, argc, argv);
        if (rc >= 0) {
                ps_plugin_free(&p);
                return rc;
        }
        ps_error err = PS_ERROR_INIT;
        ps_inv_opts io = ps_plugin_inv_opts(&p);
        _cleanup_inventory_ ps_inventory *inv = NULL;
        ps_inv_report rep;
        if (ps_inventory_scan(&io, &inv, &err) < 0 || ps_inventory_policy_rules(inv, &rep, &err) < 0) {
                rc = ps_plugin_unknown(&p, ps_error_msg(&err));
                ps_error_clear(&err);
                ps_plugin_free(&p);
                return rc;
        }
        rc = ps_plugin_report(&p, inv, &rep);
        ps_inv_report_clear(&rep);
        ps_plugin_free(&p);
        return rc;
}

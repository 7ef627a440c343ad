/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "process.h"
#include "cleanup.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static const char *const fixed_path = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

char *ps_which(const char *prog)
{
        if (strchr(prog, '/'))
                return access(prog, X_OK) == 0 ? strdup(prog) : NULL;
        const char *p = fixed_path;
        while (*p) {
                const char *e = strchr(p, ':');
                size_t n = e ? (size_t)(e - p) : strlen(p);
                char *cand = NULL;
                if (asprintf(&cand, "%.*s/%s", (int)n, p, prog) < 0)
                        return NULL;
                if (access(cand, X_OK) == 0)
                        return cand;
                free(cand);
                p += n;
                if (*p == ':')
                        p++;
        }
        return NULL;
}

struct sink {
        int fd;
        char *buf;
        size_t len, cap;
};

static int sink_read(struct sink *s)
{
        if (s->len + 4096 + 1 > s->cap) {
                size_t ncap = s->cap ? s->cap * 2 : 8192;
                while (ncap < s->len + 4096 + 1)
                        ncap *= 2;
                char *n = realloc(s->buf, ncap);
                if (!n)
                        return -ENOMEM;
                s->buf = n;
                s->cap = ncap;
        }
        ssize_t r = read(s->fd, s->buf + s->len, s->cap - s->len - 1);
        if (r < 0)
                return errno == EINTR || errno == EAGAIN ? 1 : -errno;
        if (r == 0)
                return 0;
        s->len += (size_t)r;
        s->buf[s->len] = '\0';
        return 1;
}

int ps_spawn(const char *const argv[], const ps_spawn_opts *o, int *status, ps_error *err)
{
        static const ps_spawn_opts none = { 0 };
        if (!o)
                o = &none;
        _cleanup_free_ char *prog = ps_which(argv[0]);
        if (!prog)
                return ps_error_set(err, ENOENT, "%s: command not found", argv[0]);

        /* environment: a clean one, plus the caller's extras */
        const char *base[] = { "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "LC_ALL=C", NULL };
        size_t n = 0;
        while (o->env && o->env[n])
                n++;
        _cleanup_free_ const char **envp = calloc(n + 3, sizeof *envp);
        if (!envp)
                return ps_error_set(err, ENOMEM, "out of memory");
        size_t k = 0;
        for (size_t i = 0; base[i]; i++) {
                bool overridden = false;
                size_t kl = strcspn(base[i], "=") + 1;
                for (size_t j = 0; j < n; j++)
                        if (!strncmp(o->env[j], base[i], kl))
                                overridden = true;
                if (!overridden)
                        envp[k++] = base[i];
        }
        for (size_t j = 0; j < n; j++)
                envp[k++] = o->env[j];
        envp[k] = NULL;

        int inpipe[2] = { -1, -1 }, outpipe[2] = { -1, -1 }, errpipe[2] = { -1, -1 };
        posix_spawn_file_actions_t fa;
        posix_spawn_file_actions_init(&fa);
        int r = 0;
        if (o->stdin_data) {
                if (pipe2(inpipe, O_CLOEXEC) < 0) { r = -errno; goto fail; }
                posix_spawn_file_actions_adddup2(&fa, inpipe[0], 0);
        } else {
                posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
        }
        if (o->out) {
                if (pipe2(outpipe, O_CLOEXEC) < 0) { r = -errno; goto fail; }
                posix_spawn_file_actions_adddup2(&fa, outpipe[1], 1);
        }
        if (o->errout) {
                if (pipe2(errpipe, O_CLOEXEC) < 0) { r = -errno; goto fail; }
                posix_spawn_file_actions_adddup2(&fa, errpipe[1], 2);
        } else if (o->quiet) {
                posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
        }
        posix_spawnattr_t attr;
        posix_spawnattr_init(&attr);
        sigset_t def;
        sigemptyset(&def);
        sigaddset(&def, SIGPIPE);
        sigaddset(&def, SIGCHLD);
        posix_spawnattr_setsigdefault(&attr, &def);
        sigset_t none_mask;
        sigemptyset(&none_mask);
        posix_spawnattr_setsigmask(&attr, &none_mask);
        posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK);
        pid_t pid;
        r = -posix_spawn(&pid, prog, &fa, &attr, (char *const *)argv, (char *const *)envp);
        posix_spawnattr_destroy(&attr);
        if (r < 0)
                goto fail;
        if (inpipe[0] >= 0) { close(inpipe[0]); inpipe[0] = -1; }
        if (outpipe[1] >= 0) { close(outpipe[1]); outpipe[1] = -1; }
        if (errpipe[1] >= 0) { close(errpipe[1]); errpipe[1] = -1; }

        struct sink so = { outpipe[0], NULL, 0, 0 }, se = { errpipe[0], NULL, 0, 0 };
        size_t inoff = 0;
        void (*oldpipe)(int) = signal(SIGPIPE, SIG_IGN);
        for (;;) {
                struct pollfd p[3];
                int np = 0, iin = -1, iout = -1, ierr = -1;
                if (inpipe[1] >= 0) { p[np] = (struct pollfd){ inpipe[1], POLLOUT, 0 }; iin = np++; }
                if (so.fd >= 0) { p[np] = (struct pollfd){ so.fd, POLLIN, 0 }; iout = np++; }
                if (se.fd >= 0) { p[np] = (struct pollfd){ se.fd, POLLIN, 0 }; ierr = np++; }
                if (np == 0)
                        break;
                if (poll(p, (nfds_t)np, -1) < 0) {
                        if (errno == EINTR)
                                continue;
                        break;
                }
                if (iin >= 0 && p[iin].revents) {
                        ssize_t w = write(inpipe[1], o->stdin_data + inoff, o->stdin_len - inoff);
                        if (w > 0)
                                inoff += (size_t)w;
                        if (w < 0 || inoff >= o->stdin_len) {
                                close(inpipe[1]);
                                inpipe[1] = -1;
                        }
                }
                if (iout >= 0 && p[iout].revents && sink_read(&so) <= 0) {
                        close(so.fd);
                        so.fd = -1;
                }
                if (ierr >= 0 && p[ierr].revents && sink_read(&se) <= 0) {
                        close(se.fd);
                        se.fd = -1;
                }
        }
        signal(SIGPIPE, oldpipe);
        outpipe[0] = errpipe[0] = -1;
        int ws = 0;
        while (waitpid(pid, &ws, 0) < 0 && errno == EINTR)
                ;
        *status = WIFEXITED(ws) ? WEXITSTATUS(ws) : 128 + WTERMSIG(ws);
        if (o->out)
                *o->out = so.buf ? so.buf : strdup("");
        else
                free(so.buf);
        if (o->errout)
                *o->errout = se.buf ? se.buf : strdup("");
        else
                free(se.buf);
        posix_spawn_file_actions_destroy(&fa);
        return 0;
fail:
        posix_spawn_file_actions_destroy(&fa);
        for (int i = 0; i < 2; i++) {
                if (inpipe[i] >= 0) close(inpipe[i]);
                if (outpipe[i] >= 0) close(outpipe[i]);
                if (errpipe[i] >= 0) close(errpipe[i]);
        }
        return ps_error_errno(err, -r, "cannot run %s", argv[0]);
}

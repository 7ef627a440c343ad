/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"
#include "sigstore.h"
#include "cleanup.h"

#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>
#include "fs.h"
#include "signature.h"

enum { SCHEME_FILE, SCHEME_HTTP };

typedef struct base_url {
        int scheme;
        char *text;     /* BASE without trailing slashes (URL form) */
        char *path;     /* file: the decoded absolute path without trailing slashes ("" = "/") */
} base_url;

static void base_url_clear(base_url *b)
{
        free(b->text);
        free(b->path);
        memset(b, 0, sizeof *b);
}

static int hexval(char c)
{
        if (c >= '0' && c <= '9')
                return c - '0';
        if (c >= 'a' && c <= 'f')
                return c - 'a' + 10;
        if (c >= 'A' && c <= 'F')
                return c - 'A' + 10;
        return -1;
}

static int parse_base(const char *base, base_url *b, ps_error *err)
{
        memset(b, 0, sizeof *b);
        if (!base || !*base)
                return ps_error_set(err, EINVAL, "empty lookaside URL");
        for (const unsigned char *p = (const unsigned char *)base; *p; p++)
                if (*p <= ' ' || *p == 0x7f)
                        return ps_error_set(err, EINVAL, "lookaside URL \"%s\" contains a space or control character",
                                            base);
        if (strpbrk(base, "?#"))
                return ps_error_set(err, EINVAL, "lookaside URL \"%s\" has a query or fragment; "
                                    "signatures are looked up below its path", base);
        const char *rest;
        if (strncasecmp(base, "file://", 7) == 0) {
                b->scheme = SCHEME_FILE;
                rest = base + 7;
        } else if (strncasecmp(base, "http://", 7) == 0) {
                b->scheme = SCHEME_HTTP;
                rest = base + 7;
        } else if (strncasecmp(base, "https://", 8) == 0) {
                b->scheme = SCHEME_HTTP;
                rest = base + 8;
        } else {
                return ps_error_set(err, EPROTONOSUPPORT,
                                    "unsupported lookaside URL \"%s\" (expected file://, http:// or https://)", base);
        }
        size_t n = strlen(base);
        while (n > (size_t)(rest - base) && base[n - 1] == '/')
                n--;
        b->text = strndup(base, n);
        if (!b->text)
                return ps_error_set(err, ENOMEM, "out of memory");
        const char *slash = strchr(rest, '/');
        size_t hostlen = slash ? (size_t)(slash - rest) : strlen(rest);
        if (b->scheme == SCHEME_HTTP) {
                if (hostlen == 0) {
                        base_url_clear(b);
                        return ps_error_set(err, EINVAL, "lookaside URL \"%s\" has no host", base);
                }
                return 0;
        }
        if (hostlen != 0 && !(hostlen == 9 && strncasecmp(rest, "localhost", 9) == 0)) {
                base_url_clear(b);
                return ps_error_set(err, EINVAL,
                                    "file URL \"%s\" names the host \"%.*s\"; a local path is written file:///PATH",
                                    base, (int)hostlen, rest);
        }
        if (!slash) {
                base_url_clear(b);
                return ps_error_set(err, EINVAL, "file URL \"%s\" has no path", base);
        }
        /* decode %XX */
        size_t plen = strlen(slash);
        char *path = malloc(plen + 1), *o = path;
        if (!path) {
                base_url_clear(b);
                return ps_error_set(err, ENOMEM, "out of memory");
        }
        for (const char *p = slash; *p; p++) {
                if (*p == '%') {
                        int hi = hexval(p[1]), lo = hi >= 0 ? hexval(p[2]) : -1;
                        if (hi < 0 || lo < 0 || (hi == 0 && lo == 0)) {
                                free(path);
                                base_url_clear(b);
                                return ps_error_set(err, EINVAL, "file URL \"%s\" has an invalid %% escape", base);
                        }
                        *o++ = (char)(hi * 16 + lo);
                        p += 2;
                } else {
                        *o++ = *p;
                }
        }
        while (o > path && o[-1] == '/')
                o--;
        *o = '\0';
        b->path = path;
        return 0;
}

bool ps_sigstore_repo_valid(const char *repo)
{
        if (!repo || !*repo || strlen(repo) > 255)
                return false;
        for (const char *p = repo;;) {
                const char *e = strchr(p, '/');
                size_t n = e ? (size_t)(e - p) : strlen(p);
                if (!ps_sig_path_component_valid(p, n))
                        return false;
                if (!e)
                        return true;
                p = e + 1;
        }
}

/* "REPO@ALGO=HEX" */
static int sig_dir_name(const char *repo, const char *digest, char **ret, ps_error *err)
{
        if (!ps_sigstore_repo_valid(repo))
                return ps_error_set(err, EINVAL,
                                    "invalid repository path \"%s\" for the signature store (expected e.g. "
                                    "\"c10f/pause\": lowercase components, no registry host, tag or digest)",
                                    repo ? repo : "(null)");
        if (!ps_sig_digest_valid(digest))
                return ps_error_set(err, EINVAL, "invalid manifest digest \"%s\"", digest ? digest : "(null)");
        const char *colon = strchr(digest, ':');
        if (asprintf(ret, "%s@%.*s=%s", repo, (int)(colon - digest), digest, colon + 1) < 0)
                return ps_error_set(err, ENOMEM, "out of memory");
        return 0;
}

int ps_sigstore_url(const char *base, const char *repo, const char *digest, unsigned index, char **url,
                    ps_error *err)
{
        _cleanup_free_ char *dn = NULL;
        int r = sig_dir_name(repo, digest, &dn, err);
        if (r < 0)
                return r;
        base_url b;
        r = parse_base(base, &b, err);
        if (r < 0)
                return r;
        r = index ? asprintf(url, "%s/%s/signature-%u", b.text, dn, index) : asprintf(url, "%s/%s/", b.text, dn);
        base_url_clear(&b);
        if (r < 0)
                return ps_error_set(err, ENOMEM, "out of memory");
        return 0;
}

static int local_dir(const char *root, const base_url *b, const char *dn, char **dir, ps_error *err)
{
        _cleanup_free_ char *p = NULL;
        if (asprintf(&p, "%s/%s", b->path, dn) < 0)
                return ps_error_set(err, ENOMEM, "out of memory");
        *dir = ps_root_path(root, p);
        if (!*dir)
                return ps_error_set(err, ENOMEM, "out of memory");
        return 0;
}

int ps_sigstore_local_dir(const char *root, const char *base, const char *repo, const char *digest, char **dir,
                          ps_error *err)
{
        _cleanup_free_ char *dn = NULL;
        int r = sig_dir_name(repo, digest, &dn, err);
        if (r < 0)
                return r;
        base_url b;
        r = parse_base(base, &b, err);
        if (r < 0)
                return r;
        if (b.scheme != SCHEME_FILE) {
                base_url_clear(&b);
                return ps_error_set(err, EPROTONOSUPPORT, "lookaside \"%s\" is not a local file:// store", base);
        }
        r = local_dir(root, &b, dn, dir, err);
        base_url_clear(&b);
        return r;
}

void ps_sig_list_clear(ps_sig_list *l)
{
        if (!l)
                return;
        for (size_t i = 0; i < l->n; i++)
                free(l->v[i].data);
        free(l->v);
        l->v = NULL;
        l->n = 0;
}

static int list_append(ps_sig_list *l, unsigned char *data, size_t len)
{
        ps_sig_blob *nv = realloc(l->v, (l->n + 1) * sizeof *nv);
        if (!nv)
                return -ENOMEM;
        l->v = nv;
        l->v[l->n].data = data;
        l->v[l->n].len = len;
        l->n++;
        return 0;
}

/* ---- writing ----------------------------------------------------------- */

static int write_all(int fd, const void *data, size_t len)
{
        const char *p = data;
        while (len > 0) {
                ssize_t w = write(fd, p, len);
                if (w < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                p += w;
                len -= (size_t)w;
        }
        return 0;
}

/* A directory we just created: group of the parent (best effort: only a
 * member of that group may set it), mode 0775 plus the parent's setgid and
 * sticky bits (under a sticky store no maker removes another's signature). */
static int fix_new_dir(int fd, const struct stat *parent, const char *what, ps_error *err)
{
        struct stat st;
        if (fstat(fd, &st) < 0)
                return ps_error_errno(err, errno, "cannot stat %s", what);
        if (st.st_gid != parent->st_gid && fchown(fd, (uid_t)-1, parent->st_gid) < 0 && errno != EPERM)
                return ps_error_errno(err, errno, "cannot set the group of %s", what);
        if (fchmod(fd, 0775 | (parent->st_mode & (S_ISGID | S_ISVTX))) < 0)
                return ps_error_errno(err, errno, "cannot set the mode of %s", what);
        return 0;
}

/* Create the missing directories of the absolute PATH (following symlinks:
 * the base is configuration). */
static int mkdir_shared_path(const char *path, ps_error *err)
{
        _cleanup_free_ char *p = strdup(path);
        if (!p)
                return ps_error_set(err, ENOMEM, "out of memory");
        for (char *s = p + 1;; s++) {
                bool last = *s == '\0';
                if (*s != '/' && !last)
                        continue;
                char saved = *s;
                *s = '\0';
                if (*p && mkdir(p, 0775) == 0) {
                        ps_fault_point();
                        _cleanup_free_ char *parent = strdup(p);
                        if (!parent)
                                return ps_error_set(err, ENOMEM, "out of memory");
                        char *ls = strrchr(parent, '/');
                        if (ls == parent)
                                ls[1] = '\0';
                        else
                                *ls = '\0';
                        struct stat pst;
                        if (stat(parent, &pst) < 0)
                                return ps_error_errno(err, errno, "cannot stat %s", parent);
                        _cleanup_close_ int fd = open(p, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
                        if (fd < 0)
                                return ps_error_errno(err, errno, "cannot open the new directory %s", p);
                        int r = fix_new_dir(fd, &pst, p, err);
                        if (r < 0)
                                return r;
                } else if (*p && errno != EEXIST) {
                        return ps_error_errno(err, errno, "cannot create directory %s", p);
                }
                *s = saved;
                if (last)
                        break;
        }
        return 0;
}

/* Enter (creating when missing) the directory NAME below DFD without
 * following symlinks.  Returns the new fd. */
static int enter_dir(int dfd, const char *name, const char *fullpath, ps_error *err)
{
        bool created = false;
        if (mkdirat(dfd, name, 0775) == 0) {
                created = true;
                (void)fsync(dfd);       /* the new entry survives a crash */
                ps_fault_point();
        } else if (errno != EEXIST) {
                return ps_error_errno(err, errno, "cannot create directory %s", fullpath);
        }
        int fd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0) {
                if (errno == ELOOP || errno == ENOTDIR)
                        return ps_error_set(err, ENOTDIR, "%s is a symbolic link or not a directory; refusing to "
                                            "write signatures through it", fullpath);
                return ps_error_errno(err, errno, "cannot open directory %s", fullpath);
        }
        if (created) {
                struct stat pst;
                if (fstat(dfd, &pst) < 0) {
                        int e = errno;
                        close(fd);
                        return ps_error_errno(err, e, "cannot stat the parent of %s", fullpath);
                }
                int r = fix_new_dir(fd, &pst, fullpath, err);
                if (r < 0) {
                        close(fd);
                        return r;
                }
        }
        return fd;
}

static int write_temp(int dfd, const char *dir, const void *sig, size_t len, char **tmpname, ps_error *err)
{
        for (int attempt = 0; attempt < 100; attempt++) {
                unsigned long long rnd = 0;
                if (getrandom(&rnd, sizeof rnd, 0) != (ssize_t)sizeof rnd)
                        rnd = ((unsigned long long)getpid() << 32) ^ (unsigned long long)attempt ^
                              (unsigned long long)(uintptr_t)&rnd;
                _cleanup_free_ char *name = NULL;
                if (asprintf(&name, ".sig-tmp-%016llx", rnd) < 0)
                        return ps_error_set(err, ENOMEM, "out of memory");
                _cleanup_close_ int fd = openat(dfd, name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW,
                                                0644);
                if (fd < 0) {
                        if (errno == EEXIST)
                                continue;
                        return ps_error_errno(err, errno, "cannot create a temporary file in %s", dir);
                }
                int r = write_all(fd, sig, len);
                if (r == 0 && fchmod(fd, 0644) < 0)
                        r = -errno;
                if (r == 0 && fsync(fd) < 0)
                        r = -errno;
                if (r == 0 && close(ps_steal_fd(&fd)) < 0)
                        r = -errno;
                if (r < 0) {
                        unlinkat(dfd, name, 0);
                        return ps_error_errno(err, -r, "cannot write a temporary signature file in %s", dir);
                }
                ps_fault_point();
                *tmpname = steal_pointer(&name);
                return 0;
        }
        return ps_error_set(err, EEXIST, "cannot find a free temporary name in %s", dir);
}

/* Fallback without hard links: O_EXCL create of signature-N, then write. */
static int write_excl(int dfd, const char *dir, const void *sig, size_t len, unsigned *index, ps_error *err)
{
        for (unsigned n = 1; n <= PS_SIGSTORE_MAX_SIGS; n++) {
                char name[32];
                snprintf(name, sizeof name, "signature-%u", n);
                _cleanup_close_ int fd = openat(dfd, name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW,
                                                0644);
                if (fd < 0) {
                        if (errno == EEXIST)
                                continue;
                        return ps_error_errno(err, errno, "cannot create %s/%s", dir, name);
                }
                int r = write_all(fd, sig, len);
                if (r == 0 && fchmod(fd, 0644) < 0)
                        r = -errno;
                if (r == 0 && fsync(fd) < 0)
                        r = -errno;
                if (r == 0 && close(ps_steal_fd(&fd)) < 0)
                        r = -errno;
                if (r < 0) {
                        unlinkat(dfd, name, 0);
                        return ps_error_errno(err, -r, "cannot write %s/%s", dir, name);
                }
                ps_fault_point();
                *index = n;
                return 0;
        }
        return ps_error_set(err, E2BIG, "%s already holds %d signatures; refusing to add more", dir,
                            PS_SIGSTORE_MAX_SIGS);
}

int ps_sigstore_write(const char *root, const char *base, const char *repo, const char *digest, const void *sig,
                      size_t len, unsigned *indexp, char **pathp, ps_error *err)
{
        _cleanup_free_ char *dn = NULL;
        int r = sig_dir_name(repo, digest, &dn, err);
        if (r < 0)
                return r;
        if (len == 0)
                return ps_error_set(err, EINVAL, "refusing to store an empty signature");
        if (len > PS_SIGSTORE_SIG_MAX)
                return ps_error_set(err, EFBIG, "signature too large (%zu bytes, limit %zu)", len,
                                    PS_SIGSTORE_SIG_MAX);
        base_url b;
        r = parse_base(base, &b, err);
        if (r < 0)
                return r;
        if (b.scheme != SCHEME_FILE) {
                base_url_clear(&b);
                return ps_error_set(err, EPROTONOSUPPORT,
                                    "lookaside \"%s\" is read-only: signatures are written to a file:// "
                                    "(lookaside-staging) store", base);
        }
        _cleanup_free_ char *basedir = ps_root_path(root, *b.path ? b.path : "/");
        _cleanup_free_ char *sigdir = NULL;
        r = basedir ? local_dir(root, &b, dn, &sigdir, err) : ps_error_set(err, ENOMEM, "out of memory");
        base_url_clear(&b);
        if (r < 0)
                return r;

        r = mkdir_shared_path(basedir, err);
        if (r < 0)
                return ps_error_wrap(err, "cannot prepare the signature store");
        _cleanup_close_ int dfd = open(basedir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dfd < 0)
                return ps_error_errno(err, errno, "cannot open the signature store %s", basedir);
        /* walk REPO's components, then the digest directory */
        _cleanup_free_ char *walk = strdup(dn);
        _cleanup_free_ char *sofar = strdup(basedir);
        if (!walk || !sofar)
                return ps_error_set(err, ENOMEM, "out of memory");
        for (char *comp = walk; comp;) {
                char *next = strchr(comp, '/');
                if (next)
                        *next++ = '\0';
                char *ns = ps_path_join(sofar, comp);
                if (!ns)
                        return ps_error_set(err, ENOMEM, "out of memory");
                free(sofar);
                sofar = ns;
                int nfd = enter_dir(dfd, comp, sofar, err);
                if (nfd < 0)
                        return nfd;
                close(dfd);
                dfd = nfd;
                comp = next;
        }

        _cleanup_free_ char *tmp = NULL;
        r = write_temp(dfd, sigdir, sig, len, &tmp, err);
        if (r < 0)
                return r;
        unsigned index = 0;
        bool fallback = false;
        for (unsigned n = 1; n <= PS_SIGSTORE_MAX_SIGS && !index && !fallback; n++) {
                char name[32];
                snprintf(name, sizeof name, "signature-%u", n);
                if (linkat(dfd, tmp, dfd, name, 0) == 0) {
                        index = n;
                        ps_fault_point();
                } else if (errno == EPERM || errno == EOPNOTSUPP || errno == ENOSYS) {
                        fallback = true;
                } else if (errno != EEXIST) {
                        int e = errno;
                        unlinkat(dfd, tmp, 0);
                        return ps_error_errno(err, e, "cannot create %s/%s", sigdir, name);
                }
        }
        unlinkat(dfd, tmp, 0);
        ps_fault_point();
        if (fallback) {
                r = write_excl(dfd, sigdir, sig, len, &index, err);
                if (r < 0)
                        return r;
        } else if (!index) {
                return ps_error_set(err, E2BIG, "%s already holds %d signatures; refusing to add more", sigdir,
                                    PS_SIGSTORE_MAX_SIGS);
        }
        (void)fsync(dfd);
        if (pathp && asprintf(pathp, "%s/signature-%u", sigdir, index) < 0)
                return ps_error_set(err, ENOMEM, "out of memory (signature-%u was written)", index);
        if (indexp)
                *indexp = index;
        return 0;
}

/* ---- reading ----------------------------------------------------------- */

static int read_file_store(const char *root, const base_url *b, const char *dn, ps_sig_list *out, ps_error *err)
{
        _cleanup_free_ char *dir = NULL;
        int r = local_dir(root, b, dn, &dir, err);
        if (r < 0)
                return r;
        for (unsigned n = 1;; n++) {
                _cleanup_free_ char *path = NULL;
                if (asprintf(&path, "%s/signature-%u", dir, n) < 0)
                        return ps_error_set(err, ENOMEM, "out of memory");
                char *buf = NULL;
                size_t len = 0;
                r = ps_read_file(path, PS_SIGSTORE_SIG_MAX, &buf, &len, err);
                if (r == -ENOENT) {
                        ps_error_clear(err);
                        return 0;
                }
                if (r < 0)
                        return ps_error_wrap(err, "cannot read signature %u", n);
                if (n > PS_SIGSTORE_MAX_SIGS) {
                        free(buf);
                        return ps_error_set(err, E2BIG, "%s holds more than %d signatures; assuming that is an error",
                                            dir, PS_SIGSTORE_MAX_SIGS);
                }
                if (list_append(out, (unsigned char *)buf, len) < 0) {
                        free(buf);
                        return ps_error_set(err, ENOMEM, "out of memory");
                }
        }
}

typedef struct http_sink {
        unsigned char *buf;
        size_t len, cap;
        bool overflow, nomem;
} http_sink;

static size_t http_write(char *p, size_t size, size_t nmemb, void *h)
{
        http_sink *s = h;
        size_t n = size * nmemb;
        if (n > PS_SIGSTORE_SIG_MAX - s->len) {
                s->overflow = true;
                return 0;
        }
        if (s->len + n + 1 > s->cap) {
                size_t ncap = s->cap ? s->cap : 4096;
                while (ncap < s->len + n + 1)
                        ncap *= 2;
                unsigned char *nb = realloc(s->buf, ncap);
                if (!nb) {
                        s->nomem = true;
                        return 0;
                }
                s->buf = nb;
                s->cap = ncap;
        }
        memcpy(s->buf + s->len, p, n);
        s->len += n;
        s->buf[s->len] = '\0';
        return n;
}

static void curl_cleanupp(CURL **c)
{
        if (*c)
                curl_easy_cleanup(*c);
}

static int read_http_store(const base_url *b, const char *dn, const ps_sigstore_read_opts *opts, ps_sig_list *out,
                           ps_error *err)
{
        _cleanup_(curl_cleanupp) CURL *c = curl_easy_init();
        if (!c)
                return ps_error_set(err, ENOMEM, "cannot initialise libcurl");
        char errbuf[CURL_ERROR_SIZE];
        long connect_timeout = opts && opts->connect_timeout > 0 ? opts->connect_timeout : 10;
        long timeout = opts && opts->timeout > 0 ? opts->timeout : 60;
        CURLcode cc = CURLE_OK;
#define SETOPT(o, v) do { if (cc == CURLE_OK) cc = curl_easy_setopt(c, o, v); } while (0)
        SETOPT(CURLOPT_NOSIGNAL, 1L);
        SETOPT(CURLOPT_ERRORBUFFER, errbuf);
        SETOPT(CURLOPT_FOLLOWLOCATION, 1L);
        SETOPT(CURLOPT_MAXREDIRS, 5L);
#if LIBCURL_VERSION_NUM >= 0x075500
        SETOPT(CURLOPT_PROTOCOLS_STR, "http,https");
        SETOPT(CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
#else
        SETOPT(CURLOPT_PROTOCOLS, (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
        SETOPT(CURLOPT_REDIR_PROTOCOLS, (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif
        SETOPT(CURLOPT_CONNECTTIMEOUT, connect_timeout);
        SETOPT(CURLOPT_TIMEOUT, timeout);
        SETOPT(CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)PS_SIGSTORE_SIG_MAX);
        SETOPT(CURLOPT_USERAGENT, "podsec/" PODSEC_VERSION);
        SETOPT(CURLOPT_WRITEFUNCTION, http_write);
        if (opts && opts->ca_file)
                SETOPT(CURLOPT_CAINFO, opts->ca_file);
#undef SETOPT
        if (cc != CURLE_OK)
                return ps_error_set(err, EIO, "cannot configure libcurl: %s", curl_easy_strerror(cc));
        for (unsigned n = 1;; n++) {
                _cleanup_free_ char *url = NULL;
                if (asprintf(&url, "%s/%s/signature-%u", b->text, dn, n) < 0)
                        return ps_error_set(err, ENOMEM, "out of memory");
                http_sink s = { 0 };
                errbuf[0] = '\0';
                curl_easy_setopt(c, CURLOPT_URL, url);
                curl_easy_setopt(c, CURLOPT_WRITEDATA, &s);
                cc = curl_easy_perform(c);
                _cleanup_free_ unsigned char *body = s.buf;
                if (s.overflow || cc == CURLE_FILESIZE_EXCEEDED)
                        return ps_error_set(err, EFBIG, "signature %s is larger than %zu bytes", url,
                                            PS_SIGSTORE_SIG_MAX);
                if (s.nomem)
                        return ps_error_set(err, ENOMEM, "out of memory reading %s", url);
                if (cc != CURLE_OK)
                        return ps_error_set(err, cc == CURLE_OPERATION_TIMEDOUT ? ETIMEDOUT : EIO,
                                            "cannot read signature %s: %s", url,
                                            errbuf[0] ? errbuf : curl_easy_strerror(cc));
                long status = 0;
                curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
                if (status == 404)
                        return 0;
                if (status != 200)
                        return ps_error_set(err, EIO, "cannot read signature %s: HTTP status %ld", url, status);
                if (n > PS_SIGSTORE_MAX_SIGS)
                        return ps_error_set(err, E2BIG,
                                            "the lookaside server has more than %d signatures for %s; "
                                            "assuming that is an error", PS_SIGSTORE_MAX_SIGS, dn);
                if (!body) {
                        body = malloc(1);
                        if (!body)
                                return ps_error_set(err, ENOMEM, "out of memory");
                        body[0] = '\0';
                }
                if (list_append(out, body, s.len) < 0)
                        return ps_error_set(err, ENOMEM, "out of memory");
                body = NULL;
        }
}

int ps_sigstore_read(const char *base, const char *repo, const char *digest, const ps_sigstore_read_opts *opts,
                     ps_sig_list *out, ps_error *err)
{
        memset(out, 0, sizeof *out);
        _cleanup_free_ char *dn = NULL;
        int r = sig_dir_name(repo, digest, &dn, err);
        if (r < 0)
                return r;
        base_url b;
        r = parse_base(base, &b, err);
        if (r < 0)
                return r;
        if (b.scheme == SCHEME_FILE)
                r = read_file_store(opts ? opts->root : NULL, &b, dn, out, err);
        else
                r = read_http_store(&b, dn, opts, out, err);
        base_url_clear(&b);
        if (r < 0)
                ps_sig_list_clear(out);
        return r;
}

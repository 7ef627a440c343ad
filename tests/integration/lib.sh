# Shared helpers for integration tests (sourced by bash scripts).
# Output is TAP-like: "ok N - desc" / "not ok N - desc"; finish() exits 1 when
# something failed.  Every process started through these helpers is stopped
# and the scratch directory removed on exit.
set -u
: "${PODSEC:?PODSEC must point at the podsec binary}"
PODSEC_SRC=${PODSEC_SRC:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
PODSEC_BUILD=${PODSEC_BUILD:-$(dirname "$(dirname "$PODSEC")")}
T=$(mktemp -d /tmp/podsec-it.XXXXXX)
chmod 755 "$T"
_n=0; _fail=0; _pids=()
_cleanup() {
    local p
    for p in "${_pids[@]}"; do kill "$p" 2>/dev/null; done
    for p in "${_pids[@]}"; do
        for _ in 1 2 3 4 5 6 7 8 9 10; do kill -0 "$p" 2>/dev/null || break; sleep 0.2; done
        kill -9 "$p" 2>/dev/null
    done
    [ -n "${KEEP_TMP:-}" ] || { chattr -R -i "$T" 2>/dev/null; rm -rf "$T"; }
}
trap _cleanup EXIT
trap 'exit 130' INT TERM

ok()     { _n=$((_n+1)); echo "ok $_n - $*"; }
notok()  { _n=$((_n+1)); _fail=$((_fail+1)); echo "not ok $_n - $*"; }
# check DESC CMD... : CMD must succeed
check()  { local d=$1; shift; if "$@" >"$T/.out" 2>&1; then ok "$d"; else notok "$d"; sed 's/^/#   /' "$T/.out" | head -20; fi; }
# check_rc RC DESC CMD... : CMD must exit with RC
check_rc() {
    local want=$1 d=$2; shift 2
    "$@" >"$T/.out" 2>&1; local rc=$?
    if [ "$rc" = "$want" ]; then ok "$d"; else notok "$d (exit $rc, expected $want)"; sed 's/^/#   /' "$T/.out" | head -20; fi
}
# last_output: what the last check/check_rc command printed
last_output() { cat "$T/.out"; }
# check_out PATTERN DESC : the last command's output matches the ERE PATTERN
check_out() { if grep -Eq -- "$1" "$T/.out"; then ok "$2"; else notok "$2 (no /$1/ in output)"; sed 's/^/#   /' "$T/.out" | head -20; fi; }
finish() { echo "1..$_n"; echo "# $((_n-_fail)) passed, $_fail failed"; [ "$_fail" = 0 ]; exit $?; }
skip_all() { echo "1..0 # SKIP $*"; exit 77; }

need() { local c; for c in "$@"; do command -v "$c" >/dev/null 2>&1 || skip_all "$c not installed"; done; }

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }

# wait_http URL [seconds]
wait_http() { local i; for i in $(seq 1 $((${2:-10}*10))); do curl -fsS -o /dev/null "$1" 2>/dev/null && return 0; sleep 0.1; done; return 1; }

# start_registry: docker-registry on 127.0.0.1:$REG_PORT, data in $T/registry
start_registry() {
    REG_PORT=${1:-$(free_port)}
    mkdir -p "$T/registry/data"
    cat > "$T/registry/config.yml" <<EOC
version: 0.1
log:
  level: warn
storage:
  filesystem:
    rootdirectory: $T/registry/data
  delete:
    enabled: true
http:
  addr: 127.0.0.1:$REG_PORT
EOC
    docker-registry serve "$T/registry/config.yml" >"$T/registry/log" 2>&1 &
    REG_PID=$!; _pids+=("$REG_PID")
    wait_http "http://127.0.0.1:$REG_PORT/v2/" 15 || { echo "# registry did not start"; cat "$T/registry/log"; return 1; }
}

# start_nginx DOCROOT: serves DOCROOT at http://127.0.0.1:$NGINX_PORT/ with JSON autoindex
start_nginx() {
    local root=$1; NGINX_PORT=${2:-$(free_port)}
    local d=$T/nginx; mkdir -p "$d/logs" "$d/tmp"
    cat > "$d/nginx.conf" <<EOC
worker_processes 1;
daemon off;
pid $d/nginx.pid;
error_log $d/logs/error.log info;
events { worker_connections 64; }
http {
    access_log $d/logs/access.log;
    client_body_temp_path $d/tmp/body; proxy_temp_path $d/tmp/proxy;
    fastcgi_temp_path $d/tmp/fastcgi; uwsgi_temp_path $d/tmp/uwsgi; scgi_temp_path $d/tmp/scgi;
    default_type application/octet-stream;
    server {
        listen 127.0.0.1:$NGINX_PORT;
        root $root;
        autoindex on;
        autoindex_format json;
    }
}
EOC
    nginx -p "$d" -c "$d/nginx.conf" >"$d/logs/stdout.log" 2>&1 &
    NGINX_PID=$!; _pids+=("$NGINX_PID")
    wait_http "http://127.0.0.1:$NGINX_PORT/" 10 || { echo "# nginx did not start"; cat "$d/logs/error.log"; return 1; }
}

# gpg_key UID TYPE: batch key without passphrase in $GNUPGHOME (default $T/gnupg);
# prints the fingerprint
gpg_key() {
    export GNUPGHOME=${GNUPGHOME:-$T/gnupg}; mkdir -p -m 700 "$GNUPGHOME"
    gpg --batch --pinentry-mode loopback --passphrase '' --quick-gen-key "$1" "${2:-ed25519}" sign never >/dev/null 2>&1 || return 1
    gpg --batch --with-colons --list-keys "$1" | awk -F: '/^fpr:/ {print $10; exit}'
}

# mk_oci OUTDIR REF [CONTENT]: a tiny OCI layout by hand (test-recipes §2b);
# prints the manifest digest
mk_oci() {
    local out=$1 ref=$2 content=${3:-hello} w; w=$(mktemp -d "$T/mkoci.XXXXXX")
    mkdir -p "$w/rootfs/etc" "$out/blobs/sha256"
    printf '%s\n' "$content" > "$w/rootfs/etc/content"
    tar --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner -C "$w/rootfs" -cf "$w/layer.tar" .
    local diffid ld ls cd_ cs md ms
    diffid=$(sha256sum "$w/layer.tar" | cut -d' ' -f1)
    gzip -n -c "$w/layer.tar" > "$w/layer.tgz"
    ld=$(sha256sum "$w/layer.tgz" | cut -d' ' -f1); ls=$(stat -c %s "$w/layer.tgz")
    cp "$w/layer.tgz" "$out/blobs/sha256/$ld"
    printf '{"architecture":"amd64","os":"linux","config":{"Cmd":["/bin/sh"]},"rootfs":{"type":"layers","diff_ids":["sha256:%s"]}}' "$diffid" > "$w/config.json"
    cd_=$(sha256sum "$w/config.json" | cut -d' ' -f1); cs=$(stat -c %s "$w/config.json")
    cp "$w/config.json" "$out/blobs/sha256/$cd_"
    printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:%s","size":%s},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":"sha256:%s","size":%s}]}' "$cd_" "$cs" "$ld" "$ls" > "$w/manifest.json"
    md=$(sha256sum "$w/manifest.json" | cut -d' ' -f1); ms=$(stat -c %s "$w/manifest.json")
    cp "$w/manifest.json" "$out/blobs/sha256/$md"
    printf '{"imageLayoutVersion":"1.0.0"}' > "$out/oci-layout"
    printf '{"schemaVersion":2,"manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:%s","size":%s,"annotations":{"org.opencontainers.image.ref.name":"%s"}}]}' "$md" "$ms" "$ref" > "$out/index.json"
    rm -rf "$w"; echo "sha256:$md"
}

# mkroot DIR: a minimal root tree for --root (shadow tools work with --prefix)
mkroot() {
    local r=$1
    mkdir -p "$r/etc/default" "$r/home" "$r/var" "$r/etc/containers/registries.d"
    printf 'root:x:0:0:root:/root:/bin/bash\nnobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n' > "$r/etc/passwd"
    printf 'root:x:0:\nusers:x:100:\nnogroup:x:65534:\n' > "$r/etc/group"
    printf 'root:*:19000:0:99999:7:::\nnobody:*:19000:0:99999:7:::\n' > "$r/etc/shadow"
    printf 'root:*::\nusers:*::\nnogroup:*::\n' > "$r/etc/gshadow"
    chmod 640 "$r/etc/shadow" "$r/etc/gshadow"
    cp /etc/login.defs "$r/etc/login.defs" 2>/dev/null || true
    [ -f /etc/default/useradd ] && cp /etc/default/useradd "$r/etc/default/"
    : > "$r/etc/subuid"; : > "$r/etc/subgid"
    printf '127.0.0.1\tlocalhost\n' > "$r/etc/hosts"
    printf 'PRETTY_NAME="ALT SP Server 11100-01"\nNAME="ALT SP Server"\nALT_BRANCH_ID="c10f2"\nCPE_NAME="cpe:/o:alt:spserver:10"\n' > "$r/etc/os-release"
}

# tree_state DIR: the same as tree_hash (kept for the tests that use the
# older name)
tree_state() { tree_hash "$@"; }

# tree_hash DIR: one line per entry with type, mode, numeric owner, size,
# link target, content hash and path; two equal outputs mean an unchanged
# tree (fields are split on \x1f so that an empty link target does not
# shift them)
tree_hash() {
    (cd "$1" && find . -printf '%y\037%m\037%U:%G\037%s\037%l\037%p\n' | LC_ALL=C sort |
        while IFS=$'\037' read -r y m o s l p; do
            if [ "$y" = f ]; then echo "$y $m $o $s $(sha256sum < "$p" | cut -c1-16) $p"; else echo "$y $m $o $l $p"; fi
        done)
}

# capture_syslog OUTFILE: bind /dev/log (only when no system logger owns
# it) and write every datagram to OUTFILE, one per line, until the test
# ends; the socket is removed at exit.  Returns 1 when /dev/log exists.
capture_syslog() {
    # a socket left behind by a killed capture answers "connection refused"
    if [ -S /dev/log ] && ! python3 -c 'import socket,sys; s=socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM); s.connect("/dev/log")' 2>/dev/null; then
        rm -f /dev/log
    fi
    [ -e /dev/log ] && return 1
    cat > "$T/syslog-capture.py" <<'EOP'
import os, signal, socket, sys
path, out = sys.argv[1], sys.argv[2]
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(path); os.chmod(path, 0o666)
def bye(*_):
    try: os.unlink(path)
    except OSError: pass
    sys.exit(0)
signal.signal(signal.SIGTERM, bye)
with open(out, "a") as f:
    print("ready", file=sys.stderr, flush=True)
    while True:
        f.write(s.recv(65536).decode(errors="replace") + "\n"); f.flush()
EOP
    python3 "$T/syslog-capture.py" /dev/log "$1" 2>"$T/syslog-capture.err" &
    _pids+=("$!"); SYSLOG_PID=$!
    for _ in $(seq 50); do [ -S /dev/log ] && return 0; sleep 0.1; done
    return 1
}

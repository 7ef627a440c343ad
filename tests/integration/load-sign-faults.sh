#!/bin/bash
# podsec image load-sign under registry faults: 503 answers (retried), the
# registry killed in the middle of a push (clear failure, nothing half
# visible, nothing signed that is not in the registry, a re-run completes),
# and podsec itself killed half-way.
. "$(dirname "$0")/lib.sh"
need docker-registry gpg skopeo jq python3 xz curl
[ "$(id -u)" = 0 ] || skip_all "needs root"

FX=$PODSEC_SRC/tests/fixtures/loadsign
start_registry || { notok "registry starts"; finish; }
REG=127.0.0.1:$REG_PORT
export GNUPGHOME=$T/gnupg
gpg_key 'Signer <signer@example.test>' ed25519 >/dev/null && gpg --export signer@example.test > "$T/signer.pgp" &&
    ok "gpg key" || notok "gpg key"
python3 "$FX/mk-archive.py" --big-mb 12 "$T/fx.tar" > "$T/fx.refs" && xz -T1 -0 -k "$T/fx.tar" && ok "fixture" || notok "fixture"
mkdir -p "$T/home/.config/containers/registries.d" "$T/sig"
printf 'default-docker:\n  lookaside: file://%s/sig\n  lookaside-staging: file://%s/sig\n' "$T" "$T" \
    > "$T/home/.config/containers/registries.d/default.yaml"
printf '{"default":[{"type":"reject"}],"transports":{"docker":{"":[{"type":"signedBy","keyType":"GPGKeys","keyPath":"%s/signer.pgp"}]},"dir":{"":[{"type":"insecureAcceptAnything"}]}}}\n' "$T" > "$T/policy.json"

# load-sign through REGISTRY (host:port)
ls_to() { local r=$1; shift; printf 'registry=%s\n' "$r" > "$T/podsec.conf"
          HOME=$T/home U7S_PLATFORM=c10f "$PODSEC" --config "$T/podsec.conf" image load-sign "$@"; }
catalog() { curl -fsS "http://$REG/v2/_catalog" | jq -c .repositories; }
ACCEPT='application/vnd.oci.image.manifest.v1+json, application/vnd.oci.image.index.v1+json'
# every signature names a manifest that is in the registry
signed_ok() {
    local f rel repo hex bad=0
    while IFS= read -r f; do
        rel=${f#$T/sig/}; repo=${rel%%@sha256=*}; hex=${rel#*@sha256=}; hex=${hex%%/*}
        curl -fsS -o /dev/null -I -H "Accept: $ACCEPT" "http://$REG/v2/$repo/manifests/sha256:$hex" || { echo "# signed but absent: $repo@$hex"; bad=1; }
    done < <(find "$T/sig" -type f -name 'signature-*')
    return $bad
}
all_verify() {
    local r
    for r in c10f/multi:1 c10f/pause:3.9 c10f/pause:latest alt/base:p10; do
        rm -rf "$T/out"
        skopeo --policy "$T/policy.json" --registries.d "$T/home/.config/containers/registries.d" copy \
            --src-tls-verify=false "docker://$REG/$r" "dir:$T/out" >/dev/null 2>&1 || { echo "# $r not accepted"; return 1; }
    done
}
restart_registry() {
    kill -9 "$REG_PID" 2>/dev/null; wait "$REG_PID" 2>/dev/null
    docker-registry serve "$T/registry/config.yml" >>"$T/registry/log" 2>&1 &
    REG_PID=$!; _pids+=("$REG_PID")
    wait_http "http://$REG/v2/" 15
}
# wait_for CMD... : poll until CMD succeeds (10 s)
wait_for() { local i; for i in $(seq 1 500); do "$@" && return 0; sleep 0.02; done; return 1; }
uploading() { find "$T/registry/data" -path '*/_uploads/*/data' -size +1k 2>/dev/null | grep -q .; }

# ---- 1. 503 on the first requests, and on every 5th blob request: retried
PP=$(free_port)
python3 "$PODSEC_SRC/tests/integration/faultproxy.py" --listen "$PP" --upstream "$REG" --fail-first 3 \
    --fail-every 5 --fail-match '^(PATCH|PUT|POST|HEAD) /v2/.*/blobs/' --log "$T/proxy.log" --ready "$T/proxy.ready" &
_pids+=($!); wait_for test -e "$T/proxy.ready"
check "503 answers: load-sign retries and completes" ls_to "127.0.0.1:$PP" --json "$T/fx.tar.xz" amd64 signer@example.test
n=$(grep -c injected "$T/proxy.log")
[ "$n" -ge 5 ] && ok "the proxy injected $n faults" || notok "only $n faults injected"
grep -q 'injected' "$T/proxy.log" && grep -q 'PATCH.*forwarded' "$T/proxy.log" && ok "chunked uploads went through the proxy" ||
    notok "no PATCH through the proxy"
# the signatures name 127.0.0.1:$PP; verify through the same proxy
REG_SAVE=$REG; REG=127.0.0.1:$PP
check "skopeo accepts every image pushed through the faults" all_verify
check "every signature's manifest is in the registry" signed_ok
REG=$REG_SAVE
rm -rf "$T/sig"/*

# ---- 2. the registry killed while a layer streams: exit 9, nothing visible, nothing signed
restart_registry
rm -rf "$T/registry/data"/*; restart_registry
ls_to "$REG" "$T/fx.tar.xz" amd64 signer@example.test > "$T/kill1.out" 2>&1 &
LS=$!
if wait_for uploading; then
    kill -9 "$REG_PID"; ok "registry killed during a blob upload"
else
    notok "no upload seen"
fi
wait "$LS"; rc=$?
[ "$rc" = 9 ] && ok "load-sign exits 9" || { notok "load-sign exit $rc, expected 9"; sed 's/^/#   /' "$T/kill1.out" | tail -5; }
grep -Eq 'pushing to the registry failed.*(connect|Connection|refused|gave up)' "$T/kill1.out" && ok "the message says what failed and why" ||
    { notok "message"; sed 's/^/#   /' "$T/kill1.out" | tail -3; }
[ -z "$(find "$T/sig" -type f)" ] && ok "nothing signed" || notok "signatures written: $(find "$T/sig" -type f)"
restart_registry
[ "$(catalog)" = "[]" ] && ok "after restart: catalog empty (no blob committed)" || notok "catalog: $(catalog)"
check "re-run completes" ls_to "$REG" "$T/fx.tar.xz" amd64 signer@example.test
check "skopeo accepts every image after the re-run" all_verify
check "every signature's manifest is in the registry" signed_ok

# ---- 3. the registry killed while manifests are pushed and signed
rm -rf "$T/sig"/* "$T/registry/data"/*; restart_registry
PP=$(free_port)
python3 "$PODSEC_SRC/tests/integration/faultproxy.py" --listen "$PP" --upstream "$REG" --log "$T/proxy2.log" \
    --ready "$T/proxy2.ready" &
_pids+=($!); wait_for test -e "$T/proxy2.ready"
manifest_put() { grep -q 'PUT /v2/.*/manifests/.* 201' "$T/proxy2.log" 2>/dev/null; }
ls_to "127.0.0.1:$PP" "$T/fx.tar.xz" amd64 signer@example.test > "$T/kill2.out" 2>&1 &
LS=$!
wait_for manifest_put && kill -9 "$REG_PID" && ok "registry killed after the first manifest" || notok "no manifest PUT seen"
wait "$LS"; rc=$?
[ "$rc" = 9 ] && ok "load-sign exits 9" || { notok "load-sign exit $rc"; tail -5 "$T/kill2.out" | sed 's/^/#   /'; }
restart_registry
REG_SAVE=$REG; REG=127.0.0.1:$PP
check "no image signed whose manifest did not reach the registry" signed_ok
check "re-run (through the proxy) completes" ls_to "127.0.0.1:$PP" "$T/fx.tar.xz" amd64 signer@example.test
check "skopeo accepts every image" all_verify
check "every signature's manifest is in the registry" signed_ok
REG=$REG_SAVE

# ---- 4. podsec itself killed while it streams: nothing visible; a re-run completes
rm -rf "$T/sig"/* "$T/registry/data"/*; restart_registry
ls_to "$REG" "$T/fx.tar.xz" amd64 signer@example.test > "$T/kill3.out" 2>&1 &
LS=$!
wait_for uploading && kill -9 "$LS" && ok "load-sign killed during a blob upload" || notok "no upload seen"
wait "$LS" 2>/dev/null
[ "$(catalog)" = "[]" ] && ok "catalog empty after the crash" || notok "catalog: $(catalog)"
[ -z "$(find "$T/sig" -type f)" ] && ok "nothing signed" || notok "signed"
check "re-run completes" ls_to "$REG" "$T/fx.tar.xz" amd64 signer@example.test
check "skopeo accepts every image" all_verify

# ---- 5. a registry that does not mount (cross-repository mount answered with an upload session)
rm -rf "$T/sig"/* "$T/registry/data"/*; restart_registry
NP=$(free_port)
cat > "$T/nomount.py" <<'PYEOF'
# forwards everything to the registry, but drops ?mount=&from= from blob
# upload POSTs, so that the registry starts an ordinary session (202)
import http.client, http.server, re, sys
up_host, up_port = sys.argv[2].rsplit(":", 1)
HOP = {"connection", "keep-alive", "transfer-encoding", "content-length"}
class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def log_message(self, *a): pass
    def any(self):
        n = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(n) if n else b""
        path = self.path
        if self.command == "POST" and "mount=" in path:
            path = re.sub(r"\?.*$", "", path)
            with open(sys.argv[3], "a") as f:
                f.write("stripped " + self.path + "\n")
        c = http.client.HTTPConnection(up_host, int(up_port), timeout=60)
        c.putrequest(self.command, path, skip_host=True, skip_accept_encoding=True)
        for k, v in self.headers.items():
            if k.lower() not in HOP:
                c.putheader(k, v)
        c.putheader("Content-Length", str(len(body)))
        c.endheaders(body)
        r = c.getresponse()
        data = r.read() if self.command != "HEAD" else b""
        self.send_response_only(r.status, r.reason)
        for k, v in r.getheaders():
            if k.lower() not in HOP or (k.lower() == "content-length" and self.command == "HEAD"):
                self.send_header(k, v)
        if self.command != "HEAD":
            self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)
        c.close()
    do_GET = do_HEAD = do_POST = do_PUT = do_PATCH = do_DELETE = any
s = http.server.ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), H)
s.daemon_threads = True
s.serve_forever()
PYEOF
python3 "$T/nomount.py" "$NP" "$REG" "$T/nomount.log" & _pids+=($!)
wait_for curl -fsS -o /dev/null "http://127.0.0.1:$NP/v2/"
check "a registry without cross-repository mounts: load-sign completes" ls_to "127.0.0.1:$NP" "$T/fx.tar.xz" amd64 signer@example.test
grep -q stripped "$T/nomount.log" && ok "mounts were asked for and refused" || notok "no mount was attempted"
REG_SAVE=$REG; REG=127.0.0.1:$NP
check "skopeo accepts every image" all_verify
for r in k8s-c10f2/multi:1 k8s-c10f2/pause:latest; do
    rm -rf "$T/out"
    check "skopeo accepts $r (its blobs copied, not mounted)" skopeo --policy "$T/policy.json" \
        --registries.d "$T/home/.config/containers/registries.d" copy --src-tls-verify=false "docker://$REG/$r" "dir:$T/out"
done
REG=$REG_SAVE

finish

#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# The registry client (src/lib/registry.c, driven by tests/tools/ps-registry)
# against docker-registry 2.8 on loopback, with skopeo as the oracle:
# push + exact manifest bytes + skopeo copy, skipping existing blobs,
# cross-repository mounts, chunked upload of a 20 MB layer, injected 503s
# (faultproxy.py), the registry killed mid-push and restarted, htpasswd
# (Basic) auth, and the Docker bearer-token flow with a tiny token server.
. "$(dirname "$0")/lib.sh"
need docker-registry skopeo python3 openssl curl
PSR=$PODSEC_BUILD/tests/tools/ps-registry
[ -x "$PSR" ] || skip_all "ps-registry driver not built"
HERE=$(cd "$(dirname "$0")" && pwd)

# a layout like mk_oci, with one uncompressed layer of SIZE random bytes
mk_big_oci() {
    local out=$1 ref=$2 size=$3 w; w=$(mktemp -d "$T/mkbig.XXXXXX")
    mkdir -p "$w/rootfs" "$out/blobs/sha256"
    head -c "$size" /dev/urandom > "$w/rootfs/random.bin"
    tar --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner -C "$w/rootfs" -cf "$w/layer.tar" .
    local ld ls cd_ cs md ms
    ld=$(sha256sum "$w/layer.tar" | cut -d' ' -f1); ls=$(stat -c %s "$w/layer.tar")
    mv "$w/layer.tar" "$out/blobs/sha256/$ld"
    printf '{"architecture":"amd64","os":"linux","config":{},"rootfs":{"type":"layers","diff_ids":["sha256:%s"]}}' "$ld" > "$w/config.json"
    cd_=$(sha256sum "$w/config.json" | cut -d' ' -f1); cs=$(stat -c %s "$w/config.json")
    cp "$w/config.json" "$out/blobs/sha256/$cd_"
    printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:%s","size":%s},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar","digest":"sha256:%s","size":%s}]}' "$cd_" "$cs" "$ld" "$ls" > "$w/manifest.json"
    md=$(sha256sum "$w/manifest.json" | cut -d' ' -f1); ms=$(stat -c %s "$w/manifest.json")
    cp "$w/manifest.json" "$out/blobs/sha256/$md"
    printf '{"imageLayoutVersion":"1.0.0"}' > "$out/oci-layout"
    printf '{"schemaVersion":2,"manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:%s","size":%s,"annotations":{"org.opencontainers.image.ref.name":"%s"}}]}' "$md" "$ms" "$ref" > "$out/index.json"
    rm -rf "$w"; echo "sha256:$md"
}

# layers_intact LAYOUT_DIR COPY_DIR MANIFEST_DIGEST: every blob of the
# manifest is in the skopeo dir: copy with the same bytes
layers_intact() {
    local m=$1/blobs/sha256/${3#sha256:} d
    for d in $(jq -r '.config.digest, .layers[].digest' "$m"); do
        cmp -s "$1/blobs/sha256/${d#sha256:}" "$2/${d#sha256:}" || { echo "blob $d differs or is missing"; return 1; }
    done
}

# skopeo_same LAYOUT REF_IN_REGISTRY MANIFEST_DIGEST TAG: skopeo returns the
# exact manifest bytes, and copies the image to dir: with intact layers
skopeo_same() {
    local out=$T/skopeo.$4; rm -rf "$out"
    skopeo inspect --raw --tls-verify=false "docker://$2" > "$out.raw" 2>"$out.err" || { cat "$out.err"; return 1; }
    cmp "$out.raw" "$1/blobs/sha256/${3#sha256:}" || return 1
    skopeo copy --quiet --src-tls-verify=false "docker://$2" "dir:$out" >"$out.err" 2>&1 || { cat "$out.err"; return 1; }
    layers_intact "$1" "$out" "$3"
}

# wait_file FILE [seconds]
wait_file() { local i; for i in $(seq 1 $((${2:-15}*10))); do [ -s "$1" ] && return 0; sleep 0.1; done; return 1; }

# start_proxy PORT_VAR ARGS...: faultproxy in front of the registry
start_proxy() {
    PROXY_PORT=$(free_port); rm -f "$T/proxy.ready" "$T/proxy.log"
    python3 "$HERE/faultproxy.py" --listen "$PROXY_PORT" --upstream "127.0.0.1:$REG_PORT" \
        --log "$T/proxy.log" --ready "$T/proxy.ready" "$@" &
    PROXY_PID=$!; _pids+=("$PROXY_PID")
    wait_file "$T/proxy.ready" 20
}
stop_proxy() { kill "$PROXY_PID" 2>/dev/null; wait "$PROXY_PID" 2>/dev/null; }

start_registry || { notok "docker-registry starts"; finish; }
REG=127.0.0.1:$REG_PORT

# ---- push, read back with skopeo -------------------------------------------
dg=$(mk_oci "$T/oci" probe/hello:1.0 "registry client")
check "push-layout pushes a small image" "$PSR" push-layout "$T/oci" probe/hello:1.0 "$REG" --insecure --stats
check_out "^$dg\$" "push-layout prints the manifest digest"
check_out "uploaded=2 existed=0" "first push uploads config and layer"
check "skopeo reads the exact manifest bytes and copies intact layers" \
    skopeo_same "$T/oci" "$REG/probe/hello:1.0" "$dg" hello

check "second push succeeds" "$PSR" push-layout "$T/oci" probe/hello:1.0 "$REG" --insecure --stats
check_out "uploaded=0 existed=2 mounted=0" "second push skips existing blobs (HEAD)"
check_out "requests=3 " "second push: 2 HEADs and the manifest PUT only"

check "get-manifest returns the pushed bytes" \
    bash -c "'$PSR' get-manifest '$REG' probe/hello 1.0 --insecure | cmp - '$T/oci/blobs/sha256/${dg#sha256:}'"
check "get-manifest by digest" "$PSR" get-manifest "$REG" probe/hello "$dg" --insecure --meta
check_out "application/vnd.oci.image.manifest.v1\+json" "get-manifest reports the media type"
layer=$(jq -r '.layers[0].digest' "$T/oci/blobs/sha256/${dg#sha256:}")
lsize=$(stat -c %s "$T/oci/blobs/sha256/${layer#sha256:}")
check "head-blob finds the layer" "$PSR" head-blob "$REG" probe/hello "$layer" --insecure
check_out "^exists $lsize\$" "head-blob reports the layer size"
check_rc 3 "head-blob of a missing blob" "$PSR" head-blob "$REG" probe/hello "sha256:$(printf nothing | sha256sum | cut -d' ' -f1)" --insecure
check "get-blob streams and verifies the layer" \
    bash -c "'$PSR' get-blob '$REG' probe/hello '$layer' --insecure | cmp - '$T/oci/blobs/sha256/${layer#sha256:}'"
check_rc 1 "get-manifest of an unknown tag fails" "$PSR" get-manifest "$REG" probe/hello nosuchtag --insecure
check_out "404 MANIFEST_UNKNOWN" "the registry's error code is in the message"
check "tags" "$PSR" tags "$REG" probe/hello --insecure
check_out "^1\.0\$" "tags lists the pushed tag"

# ---- cross-repository mount ------------------------------------------------
check "push to a second repo with --mount-from" \
    "$PSR" push-layout "$T/oci" probe/copy:1 "$REG" --insecure --mount-from probe/hello --stats
check_out "uploaded=0 existed=0 mounted=2" "blobs are mounted, not uploaded"
check "mounted image reads back" skopeo_same "$T/oci" "$REG/probe/copy:1" "$dg" copy
check "mount command" "$PSR" mount "$REG" probe/third "$layer" probe/hello --insecure
check_out "^mounted\$" "mount reports a mounted blob"
check "mounted blob is in the new repo" "$PSR" head-blob "$REG" probe/third "$layer" --insecure
check_rc 3 "mount of a blob the source does not have falls back" \
    "$PSR" mount "$REG" probe/third "sha256:$(printf nothing | sha256sum | cut -d' ' -f1)" probe/hello --insecure
check_out "^not-mounted\$" "mount reports the fallback"
check "catalog" "$PSR" catalog "$REG" --insecure
check_out "^probe/copy\$" "catalog lists the repositories"

# ---- chunked upload of a 20 MB layer ----------------------------------------
bdg=$(mk_big_oci "$T/big" probe/big:1 $((20*1024*1024)))
check "chunked push of a 20 MB layer" \
    "$PSR" push-layout "$T/big" probe/big:1 "$REG" --insecure --chunked 3M --concurrency 2 --stats --progress
check_out "uploaded=2" "chunked push uploads both blobs"
bsize=$(jq -r '.layers[0].size' "$T/big/blobs/sha256/${bdg#sha256:}")
check_out "progress [01] sha256:[0-9a-f]{12} $bsize/$bsize" "progress reaches the layer size"
check "chunked image reads back intact" skopeo_same "$T/big" "$REG/probe/big:1" "$bdg" big

# ---- injected 503s ----------------------------------------------------------
mk_oci "$T/oci2" probe/retry:1 "retry me" >/dev/null
if start_proxy --fail-first 3; then
    check "push through a proxy failing the first 3 requests" \
        "$PSR" push-layout "$T/oci2" probe/retry:1 "127.0.0.1:$PROXY_PORT" --insecure --stats
    check_out "retries=3 " "three retries were needed"
    check "the proxy injected 3 faults" test "$(grep -c ' injected$' "$T/proxy.log")" = 3
    stop_proxy
else
    notok "faultproxy starts"
fi
c2dg=$(mk_big_oci "$T/big3" probe/flaky:1 $((6*1024*1024)))
if start_proxy --fail-every 3 --fail-match '^(PATCH|GET) /v2/probe/flaky/blobs/uploads/'; then
    check "chunked push with every 3rd PATCH/GET on the session failing" \
        "$PSR" push-layout "$T/big3" probe/flaky:1 "127.0.0.1:$PROXY_PORT" --insecure --chunked 1M --stats
    check "flaky chunked image reads back intact" skopeo_same "$T/big3" "$REG/probe/flaky:1" "$c2dg" flaky
    stop_proxy
else
    notok "faultproxy starts"
fi
if start_proxy --fail-first 100 --status 500 --fail-match '^(POST|PUT) '; then
    check_rc 1 "a 500 is final: no retries" \
        "$PSR" push-layout "$T/oci2" probe/five:1 "127.0.0.1:$PROXY_PORT" --insecure --stats
    check_out "POST /v2/probe/five/blobs/uploads/: 500 UNAVAILABLE: injected fault [12]$" "the 500 and its error body are reported"
    check_out "retries=0 " "500 was not retried"
    stop_proxy
else
    notok "faultproxy starts"
fi

# ---- the registry dies in the middle of a large push ------------------------
kdg=$(mk_big_oci "$T/big2" probe/killed:1 $((20*1024*1024)))
"$PSR" push-layout "$T/big2" probe/killed:1 "$REG" --insecure --limit-rate 2M --stats >"$T/kill.out" 2>&1 &
kp=$!
sleep 3
kill -9 "$REG_PID"; wait "$REG_PID" 2>/dev/null
wait "$kp"; krc=$?
cp "$T/kill.out" "$T/.out"
if [ "$krc" != 0 ]; then ok "push fails when the registry is killed (exit $krc)"; else notok "push fails when the registry is killed"; fi
check_out "registry 127\.0\.0\.1:$REG_PORT: .*(onnect|reset|Recv|Send|nothing).*gave up after [0-9]+ tries" \
    "the failure message names the registry, the request and the cause"
start_registry "$REG_PORT" || notok "registry restarts"
check "after a restart the re-run completes" "$PSR" push-layout "$T/big2" probe/killed:1 "$REG" --insecure --stats
check "the re-pushed image reads back intact" skopeo_same "$T/big2" "$REG/probe/killed:1" "$kdg" killed

# ---- https with a CA file ---------------------------------------------------
TLS=$T/tls; mkdir -p "$TLS"
if openssl req -x509 -newkey rsa:2048 -nodes -keyout "$TLS/key.pem" -out "$TLS/cert.pem" -days 2 \
        -subj /CN=127.0.0.1 -addext "subjectAltName=IP:127.0.0.1" >/dev/null 2>&1; then
    TLS_PORT=$(free_port)
    cat > "$TLS/config.yml" <<EOC
version: 0.1
log:
  level: warn
storage:
  filesystem:
    rootdirectory: $TLS/data
http:
  addr: 127.0.0.1:$TLS_PORT
  tls:
    certificate: $TLS/cert.pem
    key: $TLS/key.pem
EOC
    docker-registry serve "$TLS/config.yml" >"$TLS/log" 2>&1 &
    _pids+=("$!")
    for _ in $(seq 50); do curl -s -o /dev/null --cacert "$TLS/cert.pem" "https://127.0.0.1:$TLS_PORT/v2/" && break; sleep 0.1; done
    check_rc 1 "https: an unknown CA is refused" "$PSR" ping "127.0.0.1:$TLS_PORT" --tries 1
    check_out "registry 127\.0\.0\.1:$TLS_PORT: GET /v2/: .*(certificate|SSL)" "the refusal names the TLS problem"
    check "https: push with --ca" "$PSR" push-layout "$T/oci" probe/tls:1 "127.0.0.1:$TLS_PORT" --ca "$TLS/cert.pem"
    check "https: the manifest reads back with --ca" \
        bash -c "'$PSR' get-manifest '127.0.0.1:$TLS_PORT' probe/tls 1 --ca '$TLS/cert.pem' | cmp - '$T/oci/blobs/sha256/${dg#sha256:}'"
else
    notok "openssl makes a test certificate"
fi

# ---- htpasswd (Basic) auth --------------------------------------------------
mkhash() {
    if command -v htpasswd >/dev/null 2>&1; then htpasswd -nbB "$1" "$2"
    else python3 -W ignore -c 'import crypt, sys; print(sys.argv[1] + ":" + crypt.crypt(sys.argv[2], crypt.mksalt(crypt.METHOD_BLOWFISH)))' "$1" "$2"
    fi
}
if mkhash alice s3cret > "$T/htpasswd" 2>/dev/null && grep -q ':\$2' "$T/htpasswd"; then
    AUTH_PORT=$(free_port); mkdir -p "$T/reg-auth"
    cat > "$T/reg-auth/config.yml" <<EOC
version: 0.1
log:
  level: warn
storage:
  filesystem:
    rootdirectory: $T/reg-auth/data
http:
  addr: 127.0.0.1:$AUTH_PORT
auth:
  htpasswd:
    realm: podsec-test
    path: $T/htpasswd
EOC
    docker-registry serve "$T/reg-auth/config.yml" >"$T/reg-auth/log" 2>&1 &
    _pids+=("$!")
    for _ in $(seq 50); do curl -s -o /dev/null "http://127.0.0.1:$AUTH_PORT/v2/" && break; sleep 0.1; done
    check_rc 1 "push without credentials to a Basic-auth registry fails" \
        "$PSR" push-layout "$T/oci" probe/auth:1 "127.0.0.1:$AUTH_PORT" --insecure
    check_out ": 401 " "the failure says 401"
    check "push with credentials works" \
        env PS_REGISTRY_PASSWORD=s3cret "$PSR" push-layout "$T/oci" probe/auth:1 "127.0.0.1:$AUTH_PORT" --insecure --user alice
    check_rc 1 "a wrong password is refused" \
        env PS_REGISTRY_PASSWORD=wrong "$PSR" ping "127.0.0.1:$AUTH_PORT" --insecure --user alice
    check_out "401 UNAUTHORIZED" "the refusal says 401"
    check "skopeo with credentials reads the image" \
        skopeo inspect --raw --tls-verify=false --creds alice:s3cret "docker://127.0.0.1:$AUTH_PORT/probe/auth:1"
else
    notok "cannot make a bcrypt htpasswd entry (neither htpasswd nor python3 crypt)"
fi

# ---- bearer tokens (Docker token flow) ---------------------------------------
TOK=$T/tok; mkdir -p "$TOK"
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$TOK/key.pem" -out "$TOK/cert.pem" \
    -subj /CN=podsec-token -days 2 >/dev/null 2>&1
cat > "$TOK/server.py" <<'EOP'
# token server for the test: grants what is asked to alice:s3cret, logs scopes
import base64, hashlib, http.server, json, subprocess, sys, time, urllib.parse, uuid
port, key, cert, logfile, ready = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5]
der = subprocess.run(["openssl", "x509", "-in", cert, "-noout", "-pubkey"], capture_output=True, check=True).stdout
der = subprocess.run(["openssl", "pkey", "-pubin", "-outform", "DER"], input=der, capture_output=True, check=True).stdout
k = base64.b32encode(hashlib.sha256(der).digest()[:30]).decode().rstrip("=")
kid = ":".join(k[i:i + 4] for i in range(0, len(k), 4))
b64u = lambda b: base64.urlsafe_b64encode(b).rstrip(b"=").decode()
good = "Basic " + base64.b64encode(b"alice:s3cret").decode()
class H(http.server.BaseHTTPRequestHandler):
    def log_message(self, *a): pass
    def do_GET(self):
        q = urllib.parse.parse_qs(urllib.parse.urlparse(self.path).query)
        authed = self.headers.get("Authorization") == good
        with open(logfile, "a") as f:
            f.write("service=%s scope=%s auth=%s\n" % (",".join(q.get("service", [])), " ".join(q.get("scope", [])), authed))
        if not authed:
            self.send_response(401); self.send_header("Content-Length", "0"); self.end_headers(); return
        access = []
        for s in q.get("scope", []):
            t, rest = s.split(":", 1); name, actions = rest.rsplit(":", 1)
            access.append({"type": t, "name": name, "actions": actions.split(",")})
        now = int(time.time())
        claims = {"iss": "podsec-issuer", "sub": "alice", "aud": q.get("service", [""])[0], "exp": now + 300,
                  "nbf": now - 30, "iat": now, "jti": str(uuid.uuid4()), "access": access}
        head = {"typ": "JWT", "alg": "RS256", "kid": kid}
        si = b64u(json.dumps(head).encode()) + "." + b64u(json.dumps(claims).encode())
        sig = subprocess.run(["openssl", "dgst", "-sha256", "-sign", key], input=si.encode(), capture_output=True, check=True).stdout
        body = json.dumps({"token": si + "." + b64u(sig), "expires_in": 300}).encode()
        self.send_response(200); self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body))); self.end_headers(); self.wfile.write(body)
srv = http.server.ThreadingHTTPServer(("127.0.0.1", port), H)
open(ready, "w").write("ready\n")
srv.serve_forever()
EOP
TOK_PORT=$(free_port)
python3 "$TOK/server.py" "$TOK_PORT" "$TOK/key.pem" "$TOK/cert.pem" "$TOK/log" "$TOK/ready" 2>"$TOK/err" &
_pids+=("$!")
if [ -s "$TOK/cert.pem" ] && wait_file "$TOK/ready" 20; then
    BEAR_PORT=$(free_port); mkdir -p "$T/reg-bearer"
    cat > "$T/reg-bearer/config.yml" <<EOC
version: 0.1
log:
  level: warn
storage:
  filesystem:
    rootdirectory: $T/reg-bearer/data
http:
  addr: 127.0.0.1:$BEAR_PORT
auth:
  token:
    realm: http://127.0.0.1:$TOK_PORT/token
    service: podsec-registry
    issuer: podsec-issuer
    rootcertbundle: $TOK/cert.pem
EOC
    docker-registry serve "$T/reg-bearer/config.yml" >"$T/reg-bearer/log" 2>&1 &
    _pids+=("$!")
    for _ in $(seq 50); do curl -s -o /dev/null "http://127.0.0.1:$BEAR_PORT/v2/" && break; sleep 0.1; done
    check "push with bearer tokens" env PS_REGISTRY_PASSWORD=s3cret \
        "$PSR" push-layout "$T/oci" probe/bearer:1 "127.0.0.1:$BEAR_PORT" --insecure --user alice --stats
    check_out "tokens=1 " "one token covers the whole push (cached per scope)"
    check "the token server was asked for pull,push on the repository" \
        grep -q "service=podsec-registry scope=repository:probe/bearer:pull,push auth=True" "$TOK/log"
    check "mount between repositories with a two-scope token" env PS_REGISTRY_PASSWORD=s3cret \
        "$PSR" push-layout "$T/oci" probe/bearer2:1 "127.0.0.1:$BEAR_PORT" --insecure --user alice \
        --mount-from probe/bearer --stats
    check_out "mounted=2" "blobs were mounted with the token"
    check "the mount token covers both repositories" \
        grep -q "scope=repository:probe/bearer2:pull,push repository:probe/bearer:pull auth=True" "$TOK/log"
    check "catalog with a registry:catalog:* token" env PS_REGISTRY_PASSWORD=s3cret \
        "$PSR" catalog "127.0.0.1:$BEAR_PORT" --insecure --user alice
    check_out "^probe/bearer2\$" "catalog lists the repositories"
    check_rc 1 "without credentials the token server refuses" \
        "$PSR" push-layout "$T/oci" probe/bearer3:1 "127.0.0.1:$BEAR_PORT" --insecure
    check_out "getting a token: token server: GET http://127\.0\.0\.1:$TOK_PORT/token: 401" \
        "the failure names the token server and its 401"
else
    notok "token server starts"; sed 's/^/#   /' "$TOK/err" 2>/dev/null | head
fi

finish

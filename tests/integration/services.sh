#!/bin/bash
# podsec services setup / run / status on a root tree with loopback ports.
. "$(dirname "$0")/lib.sh"
need docker-registry nginx curl jq
R=$T/root; mkroot "$R"
RP=$(free_port); SP=$(free_port)
mkdir -p "$R/etc/podsec"
cat > "$R/etc/podsec/podsec.conf" <<EOC
registry = 127.0.0.1:$RP
registry_listen = 127.0.0.1:$RP
sigstore_listen = 127.0.0.1:$SP
sigstore_url = http://127.0.0.1:$SP/sigstore/
keys_url = http://127.0.0.1:$SP/keys/
EOC

# bad input: no signature store yet -> refused, nothing written
before=$(tree_state "$R")
check_rc 1 "setup without /var/sigstore is refused" "$PODSEC" --root "$R" services setup
check_out "policy init" "the message says what to run first"
[ "$before" = "$(tree_state "$R")" ] && ok "root unchanged after the refusal" || notok "root unchanged after the refusal"
check_rc 1 "run without /var/sigstore is refused" "$PODSEC" --root "$R" services run
check_rc 2 "setup with an argument" "$PODSEC" --root "$R" services setup extra

mkdir -p "$R/var/sigstore/keys" "$R/var/sigstore/sigstore"
echo '<html>sigstore works</html>' > "$R/var/sigstore/index.html"
echo 'key' > "$R/var/sigstore/keys/imk.pgp"
chmod -R a+rX "$R/var/sigstore"

check "services setup" "$PODSEC" --root "$R" services setup
for f in etc/podsec/registry.yml etc/podsec/sigstore-nginx.conf etc/systemd/system/podsec-registry.service etc/systemd/system/podsec-sigstore.service; do
    [ -f "$R/$f" ] && ok "setup wrote /$f" || notok "setup wrote /$f"
done
grep -q "rootdirectory: /var/lib/containers/storage/volumes/registry/_data" "$R/etc/podsec/registry.yml" && ok "installed registry config uses host paths" || notok "installed registry config uses host paths"
grep -q "autoindex_format json" "$R/etc/podsec/sigstore-nginx.conf" && ok "nginx serves JSON listings" || notok "nginx serves JSON listings"
grep -q "root /var/sigstore;" "$R/etc/podsec/sigstore-nginx.conf" && ok "nginx document root is the signature store" || notok "nginx document root"
state1=$(tree_state "$R")
check "services setup again" "$PODSEC" --root "$R" --json services setup
[ "$(jq -r '[.files[].action] | unique | join(",")' "$T/.out")" = unchanged ] && ok "second setup: everything unchanged" || notok "second setup: everything unchanged"
[ "$state1" = "$(tree_state "$R")" ] && ok "second setup changed nothing" || notok "second setup changed nothing"

check_rc 1 "status while stopped says what is wrong" "$PODSEC" --root "$R" services status
check_out 'registry .*FAIL: no answer' "status names the registry failure"

"$PODSEC" --root "$R" services run >"$T/run.log" 2>&1 &
RUN=$!; _pids+=("$RUN")
wait_http "http://127.0.0.1:$RP/v2/" 15 && ok "registry /v2/ answers" || { notok "registry /v2/ answers"; cat "$T/run.log"; }
wait_http "http://127.0.0.1:$SP/keys/" 10 && ok "signature server answers" || notok "signature server answers"
curl -fsS "http://127.0.0.1:$SP/keys/" | jq -e '.[] | select(.name=="imk.pgp" and .type=="file")' >/dev/null && ok "keys/ is served as a JSON listing" || notok "keys/ is served as a JSON listing"
code=$(curl -s -o /dev/null -w '%{http_code}' -X PUT --data x "http://127.0.0.1:$SP/keys/evil.pgp")
[ "$code" = 403 ] || [ "$code" = 405 ] && ok "the signature server is read-only (PUT -> $code)" || notok "the signature server is read-only (PUT -> $code)"
check "status: all answer" "$PODSEC" --root "$R" services status
check "status --json" "$PODSEC" --root "$R" --json services status
[ "$(jq -r 'map(select(.problem)) | length' "$T/.out")" = 0 ] && ok "status --json has no problems" || notok "status --json has no problems"

# kill the registry child: it comes back
rpid=$(pgrep -f "docker-registry serve $R/run/podsec/registry.yml" | head -1)
[ -n "$rpid" ] && kill "$rpid"
sleep 0.5
wait_http "http://127.0.0.1:$RP/v2/" 15 && ok "a killed registry is restarted" || notok "a killed registry is restarted"
npid=$(pgrep -f "docker-registry serve $R/run/podsec/registry.yml" | head -1)
[ -n "$npid" ] && [ "$npid" != "$rpid" ] && ok "new registry pid" || notok "new registry pid ($rpid -> $npid)"

# SIGTERM stops everything and leaves no process
kill -TERM "$RUN"
for _ in $(seq 50); do kill -0 "$RUN" 2>/dev/null || break; sleep 0.2; done
wait "$RUN"; rc=$?
[ "$rc" = 0 ] && ok "SIGTERM: services run exits 0" || notok "SIGTERM: services run exits 0 (rc $rc)"
left=$(pgrep -f "$R/run/podsec" || true)
[ -z "$left" ] && ok "no registry or nginx process is left" || { notok "no registry or nginx process is left"; ps -fp $left; }
grep -q "restarted" "$T/run.log" && ok "the restart is logged" || notok "the restart is logged"
finish

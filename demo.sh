#!/bin/bash
# podsec demo: installs dependencies, builds podsec, and runs its main job end
# to end on a sandbox root with loopback services: trust policy, registry and
# signature server, an image maker with an unattended key, load-sign of a
# generated archive, an image user, policy show, image verify, and a signed
# pull by skopeo.  Nothing outside the sandbox directory is changed (no host
# /etc, users or services).
#
#   ./demo.sh            run the demo, remove the sandbox afterwards
#   KEEP=1 ./demo.sh     keep the sandbox to look at
set -euo pipefail
cd "$(dirname "$0")"
src=$(pwd)

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
run()  { printf '$ %s\n' "$*"; "$@"; }
proven=()
prove() { proven+=("$*"); printf '\033[32m-> %s\033[0m\n' "$*"; }

step "install dependencies (Debian packages) and build"
tools/install-deps
[ -f build/build.ninja ] || meson setup build >/dev/null
ninja -C build >/dev/null
P=$src/build/src/podsec
"$P" --version

S=$(mktemp -d /tmp/podsec-demo.XXXXXX)
chmod 755 "$S"
RUN_PID=
cleanup() {
    # best effort, and never the demo's exit status (set -e applies here too):
    # chattr fails on the gpg-agent's sockets, for one
    [ -n "$RUN_PID" ] && kill "$RUN_PID" 2>/dev/null && wait "$RUN_PID" 2>/dev/null || true
    # stop the gpg-agent of the image maker's keyring, if one was started
    [ -d "$S/root/home/imk/.gnupg" ] && GNUPGHOME=$S/root/home/imk/.gnupg gpgconf --kill all 2>/dev/null || true
    if [ -z "${KEEP:-}" ]; then chattr -R -i "$S" 2>/dev/null || true; rm -rf "$S" || true; else echo "sandbox kept in $S"; fi
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }
RP=$(free_port); SP=$(free_port)
REG=127.0.0.1:$RP

step "a sandbox root in $S/root, with site settings that put every service on loopback"
R=$S/root
mkdir -p "$R/etc/podsec" "$R/etc/containers/registries.d" "$R/etc/default" "$R/etc/skel" "$R/home" "$R/var"
printf 'root:x:0:0:root:/root:/bin/bash\n' > "$R/etc/passwd"
printf 'root:x:0:\nusers:x:100:\n' > "$R/etc/group"
printf 'root:*:19000:0:99999:7:::\n' > "$R/etc/shadow"
printf 'root:*::\nusers:*::\n' > "$R/etc/gshadow"
chmod 640 "$R/etc/shadow" "$R/etc/gshadow"
cp /etc/login.defs "$R/etc/" 2>/dev/null || true
: > "$R/etc/subuid"; : > "$R/etc/subgid"
printf '127.0.0.1\tlocalhost\n' > "$R/etc/hosts"
printf 'NAME="ALT SP Server"\nALT_BRANCH_ID="c10f2"\nCPE_NAME="cpe:/o:alt:spserver:10"\n' > "$R/etc/os-release"
cat > "$R/etc/podsec/podsec.conf" <<EOC
# podsec site settings for the demo: everything on loopback
registry = $REG
registry_listen = $REG
sigstore_listen = 127.0.0.1:$SP
sigstore_url = http://127.0.0.1:$SP/sigstore/
keys_url = http://127.0.0.1:$SP/keys/
EOC
cat "$R/etc/podsec/podsec.conf"
run "$P" --root "$R" platform

# The registry node's own address: a real local address when there is one,
# else a documentation address with the role given explicitly.
IP=$(ip -4 -o addr show scope global 2>/dev/null | awk '{sub(/\/.*/, "", $4); print $4; exit}')
ROLE=()
if [ -z "$IP" ]; then IP=192.0.2.10; ROLE=(--registry-node); fi

step "policy init: trust policy, registries.d, registries.conf, hosts, /var/sigstore"
run "$P" --root "$R" policy init "${ROLE[@]}" "$IP"
run cat "$R/etc/containers/policy.json"
run cat "$R/etc/containers/registries.d/default.yaml"
run "$P" --root "$R" policy init "${ROLE[@]}" "$IP" 2>&1 | tail -1
prove "policy init is idempotent: a second run changes nothing"
set +e
"$P" --root "$R" policy init 999.1.1.1 2>&1; rc=$?
set -e
[ "$rc" = 3 ] && prove "an invalid address is refused (exit 3) before anything changes"

step "services: the registry and the signature server, supervised"
run "$P" --root "$R" services setup
"$P" --root "$R" services run > "$S/services.log" 2>&1 &
RUN_PID=$!
for _ in $(seq 100); do "$P" --root "$R" services status >/dev/null 2>&1 && break; sleep 0.1; done
run "$P" --root "$R" services status
prove "docker-registry and nginx answer on loopback"

step "an image maker with an unattended signing key"
printf 'demo passphrase\n' > "$S/passphrase"; chmod 600 "$S/passphrase"
run "$P" --root "$R" user add-imagemaker --no-password --passphrase-file "$S/passphrase" \
    --uid 'Image Maker <imk@demo.test>' "imk@$REG/c10f"
run cat "$R/var/sigstore/keys/policy.json"
prove "the image maker's key is published and the system policy requires it for $REG/c10f"

step "load-sign: a generated two-image archive, streamed into the registry and signed"
L=$S/layout/amd64
tests/integration/mk-oci-image "$L" c10f/hello:1 "hello from podsec" >/dev/null
tests/integration/mk-oci-image "$L" c10f/tools:2 "some tools" >/dev/null
tar -C "$S/layout" -cJf "$S/amd64.tar.xz" amd64
GNUPGHOME=$R/home/imk/.gnupg run "$P" --root "$R" image load-sign --passphrase-file "$S/passphrase" \
    "$S/amd64.tar.xz" amd64 imk@demo.test "$REG/c10f"
run find "$R/var/sigstore/sigstore" -type f
prove "both images are in the registry and their signatures in the lookaside directory"

step "an image user whose container configuration is locked"
set +e
run "$P" --root "$R" user add-podman --no-password alice
set -e

step "policy show: the effective policy, and which scope applies to one image"
run "$P" --root "$R" policy show
run "$P" --root "$R" policy show --user alice --for "$REG/c10f/hello:1"

step "image verify: podsec checks the signatures itself"
run "$P" --root "$R" image verify "$REG/c10f/hello:1"
prove "the signed image is accepted, and podsec says which signature satisfied which requirement"
# an image pushed without a signature
tests/integration/mk-oci-image "$S/unsigned" c10f/rogue:1 "not signed" >/dev/null
skopeo copy -q --dest-tls-verify=false "oci:$S/unsigned:c10f/rogue:1" "docker://$REG/c10f/rogue:1"
set +e
"$P" --root "$R" image verify "$REG/c10f/rogue:1"; rc=$?
set -e
[ "$rc" = 1 ] && prove "an unsigned image in the same scope is rejected (exit 1)"

step "the peers agree: skopeo pulls the signed image and refuses the unsigned one"
# key paths inside policy.json are paths of the node; for skopeo on this host
# they are taken under the sandbox root (podsec's --root rule)
jq --arg r "$R" '(.. | objects | select(has("keyPath")) | .keyPath) |= ($r + .) |
                 (.. | objects | select(has("keyPaths")) | .keyPaths) |= map($r + .)' \
    "$R/etc/containers/policy.json" > "$S/policy-host.json"
run skopeo --policy "$S/policy-host.json" --registries.d "$R/etc/containers/registries.d" \
    copy -q --src-tls-verify=false "docker://$REG/c10f/hello:1" "dir:$S/pulled"
prove "skopeo accepted the image podsec signed, reading signatures from the signature server"
set +e
skopeo --policy "$S/policy-host.json" --registries.d "$R/etc/containers/registries.d" \
    copy -q --src-tls-verify=false "docker://$REG/c10f/rogue:1" "dir:$S/rogue" 2>&1 | tail -1
rc=${PIPESTATUS[0]}
set -e
[ "$rc" != 0 ] && prove "skopeo refused the unsigned image"

step "summary: what this run proved"
for p in "${proven[@]}"; do echo "  - $p"; done

#!/bin/bash
# podsec demo: installs dependencies, builds podsec, and runs its main job end
# to end on a sandbox root with loopback services.  Nothing outside the
# sandbox directory is changed (no host /etc, users or services).
#
#   ./demo.sh            run the demo, remove the sandbox afterwards
#   KEEP=1 ./demo.sh     keep the sandbox to look at
set -euo pipefail
cd "$(dirname "$0")"
src=$(pwd)

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
run()  { printf '$ %s\n' "$*"; "$@"; }

step "install dependencies (Debian packages) and build"
tools/install-deps
[ -f build/build.ninja ] || meson setup build >/dev/null
ninja -C build >/dev/null
P=$src/build/src/podsec
"$P" --version

S=$(mktemp -d /tmp/podsec-demo.XXXXXX)
chmod 755 "$S"
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    wait 2>/dev/null || true
    if [ -z "${KEEP:-}" ]; then rm -rf "$S"; else echo "sandbox kept in $S"; fi
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }
REG_PORT=$(free_port)
SIG_PORT=$(free_port)

step "a sandbox root in $S/root, with site settings that point at loopback services"
R=$S/root
mkdir -p "$R/etc/podsec" "$R/etc/containers/registries.d" "$R/etc/default" "$R/home" "$R/var"
printf 'root:x:0:0:root:/root:/bin/bash\n' > "$R/etc/passwd"
printf 'root:x:0:\nusers:x:100:\n' > "$R/etc/group"
printf 'root:*:19000:0:99999:7:::\n' > "$R/etc/shadow"
printf 'root:*::\nusers:*::\n' > "$R/etc/gshadow"
cp /etc/login.defs "$R/etc/" 2>/dev/null || true
: > "$R/etc/subuid"; : > "$R/etc/subgid"
printf '127.0.0.1\tlocalhost\n' > "$R/etc/hosts"
printf 'NAME="ALT SP Server"\nALT_BRANCH_ID="c10f2"\nCPE_NAME="cpe:/o:alt:spserver:10"\n' > "$R/etc/os-release"
cat > "$R/etc/podsec/podsec.conf" <<EOC
# podsec site settings for the demo: everything on loopback
registry = 127.0.0.1:$REG_PORT
sigstore_url = http://127.0.0.1:$SIG_PORT/sigstore/
keys_url = http://127.0.0.1:$SIG_PORT/keys/
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
run ls -l "$R/etc/containers" "$R/etc/containers/registries.d" "$R/var/sigstore"
run cat "$R/etc/containers/policy.json"
run cat "$R/etc/containers/registries.d/default.yaml"
run tail -4 "$R/etc/containers/registries.conf"
run tail -1 "$R/etc/hosts"

step "a second run changes nothing, and says so"
run "$P" --root "$R" policy init "${ROLE[@]}" "$IP"

step "bad input is refused before anything changes"
set +e
"$P" --root "$R" policy init 999.1.1.1; echo "exit $?"
"$P" --root "$R" policy init 127.0.0.1; echo "exit $?"
set -e

step "policy show: the effective policy, and which scope applies to one image"
run "$P" --root "$R" policy show
run "$P" --root "$R" policy show --for "127.0.0.1:$REG_PORT/c10f/demo:1"

step "the peers read what podsec wrote: skopeo refuses an unsigned image as 'rejected'"
mkdir -p "$S/registry"
cat > "$S/registry/config.yml" <<EOC
version: 0.1
log: {level: warn}
storage: {filesystem: {rootdirectory: $S/registry/data}}
http: {addr: 127.0.0.1:$REG_PORT}
EOC
docker-registry serve "$S/registry/config.yml" >"$S/registry/log" 2>&1 &
pids+=($!)
for _ in $(seq 50); do curl -fs "http://127.0.0.1:$REG_PORT/v2/" >/dev/null && break; sleep 0.1; done
# a tiny image made by hand (no network): one layer, one config
tests/integration/mk-oci-image "$S/oci" demo:1 >/dev/null
skopeo copy -q --dest-tls-verify=false "oci:$S/oci:demo:1" "docker://127.0.0.1:$REG_PORT/c10f/demo:1"
set +e
skopeo --policy "$R/etc/containers/policy.json" --registries.d "$R/etc/containers/registries.d" \
    copy --src-tls-verify=false "docker://127.0.0.1:$REG_PORT/c10f/demo:1" "dir:$S/pulled" 2>&1 | tail -1
rc=${PIPESTATUS[0]}
set -e
[ "$rc" != 0 ] && echo "skopeo exit $rc: the unsigned image is rejected by the policy podsec wrote"

step "summary"
cat <<EOT
- policy init wrote a reject-by-default policy, registries.d and registries.conf
  through dated files and atomic symlink switches, bound the registry names in
  the sandbox's /etc/hosts and created /var/sigstore with its owners and modes;
- a second run changed nothing; invalid input was refused with the documented
  exit codes;
- policy show explained the effective policy and the scope for one image;
- skopeo read podsec's files and rejected an unsigned image for the right reason.
EOT

#!/bin/bash
# What policy init writes, the peers must read: skopeo and podman, given
# the policy.json, registries.d and registries.conf of a root prepared by
# `podsec policy init`, refuse an unsigned image from a loopback registry
# with "rejected" (the policy's verdict), not with a configuration error.
. "$(dirname "$0")/lib.sh"
need skopeo docker-registry jq
[ "$(id -u)" = 0 ] || skip_all "needs root (groupadd --prefix, chown)"

R=$T/root; mkroot "$R"
check "policy init on a fresh root" "$PODSEC" --root "$R" policy init --registry-node 10.20.30.40
C=$R/etc/containers
POL=$C/policy.json REGD=$C/registries.d REGCONF=$C/registries.conf

# an unsigned image on a loopback registry
start_registry || { notok "registry started"; finish; }
mk_oci "$T/oci" x/y:1 >/dev/null
printf '{"default":[{"type":"insecureAcceptAnything"}]}\n' > "$T/accept.json"
mkdir -p "$T/empty-regd"
check "push an unsigned image" skopeo --policy "$T/accept.json" --registries.d "$T/empty-regd" \
    copy --dest-tls-verify=false "oci:$T/oci:x/y:1" "docker://127.0.0.1:$REG_PORT/x/y:1"
SRC=docker://127.0.0.1:$REG_PORT/x/y:1

# controls with an accept-anything policy: skopeo takes the lookaside URL
# from podsec's default.yaml (and cannot resolve sigstore.local here);
# without copying signatures the pull works
check_rc 1 "control: accept-anything policy + podsec's registries.d" skopeo --policy "$T/accept.json" \
    --registries.d "$REGD" copy --src-tls-verify=false "$SRC" "dir:$T/out-ok"
check_out 'http://sigstore.local:81/sigstore/+x/y@sha256=[0-9a-f]{64}/signature-1' \
    "skopeo reads the lookaside URL from podsec's default.yaml"
check "control: accept-anything policy, --remove-signatures: pulled" skopeo --policy "$T/accept.json" \
    --registries.d "$REGD" copy --remove-signatures --src-tls-verify=false "$SRC" "dir:$T/out-ok"

# podsec's policy: rejected, by the policy
check_rc 1 "skopeo with podsec's policy.json refuses the unsigned image" skopeo --policy "$POL" \
    --registries.d "$REGD" copy --src-tls-verify=false "$SRC" "dir:$T/out"
check_out 'rejected' "skopeo: the image is rejected by the policy"
if grep -Eqi 'invalid policy|parsing|unmarshal|unknown field|yaml:|toml' "$T/.out"; then
    notok "skopeo: no configuration error"; sed 's/^/#   /' "$T/.out"
else ok "skopeo: no configuration error"; fi
[ ! -e "$T/out/manifest.json" ] && ok "skopeo: nothing was copied" || notok "skopeo: nothing was copied"

# the same with skopeo's own parser of registries.conf (the file podsec wrote)
check_rc 1 "skopeo with podsec's registries.conf too" skopeo --registries-conf "$REGCONF" --policy "$POL" \
    --registries.d "$REGD" copy --src-tls-verify=false "$SRC" "dir:$T/out2"
check_out 'rejected' "skopeo + registries.conf: rejected by the policy"

# the check would notice a broken file: skopeo does read registries.d
mkdir -p "$T/bad-regd"; printf 'default-docker:\n  lookaside: [x\n' > "$T/bad-regd/default.yaml"
skopeo --policy "$T/accept.json" --registries.d "$T/bad-regd" copy --src-tls-verify=false "$SRC" "dir:$T/out3" \
    >"$T/.out" 2>&1 && notok "control: a broken registries.d is an error for skopeo" \
    || ok "control: a broken registries.d is an error for skopeo"

# podman pull with --signature-policy (test-recipes §5)
if ! command -v podman >/dev/null 2>&1; then
    echo "# podman not installed: podman part skipped"
else
    mkdir -p "$T/home/.config/containers" "$T/storage" "$T/run"
    cp -r "$REGD" "$T/home/.config/containers/registries.d"
    podman_() {
        HOME=$T/home CONTAINERS_REGISTRIES_CONF=$REGCONF podman --root "$T/storage" --runroot "$T/run" \
            --storage-driver vfs --cgroup-manager=cgroupfs --events-backend=file "$@"
    }
    if ! podman_ info >"$T/podman-info" 2>&1; then
        echo "# podman cannot run here: podman part skipped"; sed 's/^/#   /' "$T/podman-info" | head -5
    else
        check_rc 125 "podman pull with podsec's policy refuses the unsigned image" \
            podman_ pull --tls-verify=false --signature-policy "$POL" "127.0.0.1:$REG_PORT/x/y:1"
        check_out 'rejected' "podman: the image is rejected by the policy"
        check_rc 125 "control: podman pull with an accept-anything policy" \
            podman_ pull --tls-verify=false --signature-policy "$T/accept.json" "127.0.0.1:$REG_PORT/x/y:1"
        check_out 'http://sigstore.local:81/sigstore/+x/y@sha256=' "podman reads the lookaside URL from podsec's default.yaml"
        podman_ rmi -a -f >/dev/null 2>&1   # its storage is under $T, removed on exit
    fi
fi
finish

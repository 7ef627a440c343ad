#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# podsec check images (podsec-inotify-check-images) on a --root tree made by
# mkroot and `podsec policy init`, with real containers-storage stores that
# skopeo writes (vfs driver) for root, an image user and an image maker, and
# a lookaside signature store served by nginx:
#  - signed by the policy's key (skopeo standalone-sign over the stored
#    manifest): accepted; unsigned, signed by another key, a tampered
#    signature, another tag of a signed image: 102; docker.io outside the
#    scopes and an image without a name: 103; a personal policy with an
#    insecure scope: 101; an image maker's store is not inspected;
#  - status line, perfdata, -vvv reasons, --json, journal lines in a
#    test-owned /dev/log, -M mail, CHECKALLIMAGES, an unreachable lookaside;
#  - OK (exit 0) once the offending images are gone.
. "$(dirname "$0")/lib.sh"
need skopeo gpg nginx jq python3 sha256sum useradd
[ "$(id -u)" = 0 ] || skip_all "needs root (useradd --prefix, chown)"
export GNUPGHOME=$T/gnupg
trap 'gpgconf --homedir "$GNUPGHOME" --kill all 2>/dev/null; _cleanup' EXIT

SIGNER=$(gpg_key 'Image Signer <signer@example.test>' ed25519) || skip_all "cannot create a gpg key"
OTHER=$(gpg_key 'Other Signer <other@example.test>' ed25519)

R=$T/root; mkroot "$R"
P() { setsid -w "$PODSEC" --root "$R" "$@" < /dev/null; }
CI() { P check images "$@"; }
uid_of() { awk -F: -v u="$1" '$1==u {print $3}' "$R/etc/passwd"; }
gid_of() { awk -F: -v g="$1" '$1==g {print $3}' "$R/etc/group"; }
check "policy init on the root tree" P policy init --registry-node 192.0.2.10
printf 'key passphrase\n' > "$T/pp"; chmod 600 "$T/pp"
check "user add-podman alice" P user add-podman --no-password alice
check "user add-imagemaker bob" P user add-imagemaker --no-password --passphrase-file "$T/pp" bob@registry.local/bob

# the system policy: registry.local/app needs the signer's key
gpg --export signer@example.test > "$R/var/sigstore/keys/signer.pgp"
SYSPOL=$(readlink -f "$R/etc/containers/policy.json")
jq '.transports.docker["registry.local/app"] = [{"type":"signedBy","keyType":"GPGKeys","keyPath":"/var/sigstore/keys/signer.pgp"}]' \
    "$SYSPOL" > "$T/p.json" && cat "$T/p.json" > "$SYSPOL"
WWW=$T/www; mkdir -p "$WWW/sigstore"
start_nginx "$WWW" || { notok "nginx starts"; finish; }
LOOK=http://127.0.0.1:$NGINX_PORT/sigstore
printf 'docker:\n  registry.local:\n    lookaside: %s\n' "$LOOK" > "$R/etc/containers/registries.d/zz-test.yaml"

# store STORAGE NAME CONTENT: an image in a containers-storage (vfs) written by skopeo
n_oci=0
store() {
    n_oci=$((n_oci+1))
    [ -d "$T/oci-$3" ] || mk_oci "$T/oci-$3" img:1 "$3" > /dev/null
    skopeo copy --quiet "oci:$T/oci-$3:img:1" "containers-storage:[vfs@$1+$T/run-$n_oci]$2"
}
# manifest_of STORAGE NAME: the stored manifest of NAME
manifest_of() {
    local id; id=$(jq -r --arg n "$2" '.[] | select(.names // [] | index($n)) | .id' "$1/vfs-images/images.json")
    echo "$1/vfs-images/$id/manifest"
}
# sign STORAGE NAME KEY: a signature of the stored manifest in the lookaside
sign() {
    local m dg repo
    m=$(manifest_of "$1" "$2"); dg=$(sha256sum < "$m" | cut -d' ' -f1)
    repo=${2#*/}; repo=${repo%:*}
    mkdir -p "$WWW/sigstore/$repo@sha256=$dg"
    skopeo standalone-sign -o "$WWW/sigstore/$repo@sha256=$dg/signature-1" "$m" "$2" "$3"
    chmod -R a+rX "$WWW"
}

RS=$R/var/lib/containers/storage
check "root: registry.local/app/signed:1" store "$RS" registry.local/app/signed:1 a
check "root: the same image as registry.local/app/signed:2" store "$RS" registry.local/app/signed:2 a
check "root: registry.local/app/unsigned:1" store "$RS" registry.local/app/unsigned:1 b
check "root: registry.local/app/wrongkey:1" store "$RS" registry.local/app/wrongkey:1 c
check "root: registry.local/app/tampered:1" store "$RS" registry.local/app/tampered:1 d
check "root: docker.io/library/alpine:3" store "$RS" docker.io/library/alpine:3 e
check "root: an image that loses its name" store "$RS" registry.local/app/dangling:1 f
jq '(.[] | select(.names // [] | index("registry.local/app/dangling:1")) | .names) = []' "$RS/vfs-images/images.json" > "$T/i.json" &&
    cat "$T/i.json" > "$RS/vfs-images/images.json"
check "sign signed:1 with the policy's key" sign "$RS" registry.local/app/signed:1 "$SIGNER"
check "sign wrongkey:1 with another key" sign "$RS" registry.local/app/wrongkey:1 "$OTHER"
check "sign tampered:1, then change the signature" sign "$RS" registry.local/app/tampered:1 "$SIGNER"
m=$(manifest_of "$RS" registry.local/app/tampered:1); dg=$(sha256sum < "$m" | cut -d' ' -f1)
python3 - "$WWW/sigstore/app/tampered@sha256=$dg/signature-1" <<'EOF'
import sys
p = sys.argv[1]; b = bytearray(open(p, 'rb').read()); b[len(b) - 8] ^= 0x55; open(p, 'wb').write(b)
EOF

AS=$R/home/alice/.local/share/containers/storage
check "alice: registry.local/app/signed:1" store "$AS" registry.local/app/signed:1 a
chown -R "$(uid_of alice):$(gid_of podman)" "$R/home/alice/.local"
BS=$R/home/bob/.local/share/containers/storage
check "bob (image maker): an unsigned image" store "$BS" registry.local/app/unsigned:1 b
chown -R "$(uid_of bob):$(gid_of podman)" "$R/home/bob/.local"
# frank: an image user with a personal policy (no podsec lock) that accepts docker.io unsigned
printf 'frank:x:1700:%s::/home/frank:/bin/sh\n' "$(gid_of podman)" >> "$R/etc/passwd"
mkdir -p "$R/home/frank/.config/containers"
jq '.transports.docker["docker.io"] = [{"type":"insecureAcceptAnything"}]' "$SYSPOL" > "$R/home/frank/.config/containers/policy.json"
FS=$R/home/frank/.local/share/containers/storage
check "frank: docker.io/library/alpine:3" store "$FS" docker.io/library/alpine:3 e
chown -R 1700:"$(gid_of podman)" "$R/home/frank"

syslog=$T/syslog.txt
have_syslog=1
capture_syslog "$syslog" || have_syslog=0

# ---- the report ----------------------------------------------------------------------
check_rc 2 "violations: CRITICAL" CI -c 100 -vvv
check_out '^POLICY CRITICAL: Users frank root have images that violate established policies \(metric 306\) \| metric=306;;100;0 r101=1;;;0 r102=1;;;0 r103=1;;;0 images=9;;;0 not_accepted=4;;;0 outside=2;;;0 accounts=3;;;0 unchecked=0;;;0$' \
    "status line: users, metric 101+102+103, perfdata (9 names in 3 accounts; bob is not inspected)"
check_out '^Critical: |^102:: "root" users have unsigned images: root: registry.local/app/signed:2, registry.local/app/tampered:1, registry.local/app/unsigned:1, registry.local/app/wrongkey:1$' \
    "102: the unsigned, wrong-key, tampered and other-tag names, on one line"
check_out '^103:: "root" users have images outside of supported policies: root: [0-9a-f]{12}, docker.io/library/alpine:3$' \
    "103: docker.io and the image without a name"
check_out '^101:: "frank" users have registry that do not support electronic signatures: frank: docker.io$' "101: frank's docker.io scope"
check_out "^image root [0-9a-f]{12} registry.local/app/signed:1: scope \"registry.local/app\", accepted, signed by $SIGNER$" \
    "-vvv: signed:1 accepted, signed by the policy's key"
check_out "^image alice [0-9a-f]{12} registry.local/app/signed:1: scope \"registry.local/app\", accepted, signed by $SIGNER$" \
    "-vvv: alice's copy accepted too (system policy)"
check_out '^image root [0-9a-f]{12} registry.local/app/unsigned:1: scope "registry.local/app", rejected: .*no signature' "-vvv: unsigned: no signature"
check_out '^image root [0-9a-f]{12} registry.local/app/wrongkey:1: scope "registry.local/app", rejected: ' "-vvv: wrong key rejected"
check_out '^image root [0-9a-f]{12} registry.local/app/tampered:1: scope "registry.local/app", rejected: ' "-vvv: tampered signature rejected"
check_out '^image root [0-9a-f]{12} \(no name\): outside the scopes, not verified: the image has no name' "-vvv: the image without a name"
check_out '^image root [0-9a-f]{12} registry.local/app/signed:2: scope "registry.local/app", rejected: .*registry.local/app/signed:1' \
    "-vvv: the signature of tag 1 does not cover tag 2"
check_out '^image frank [0-9a-f]{12} docker.io/library/alpine:3: scope "docker.io", accepted$' "-vvv: frank's alpine in his insecure scope"
check_out '^image root [0-9a-f]{12} docker.io/library/alpine:3: outside the scopes, not verified: ' "-vvv: root's alpine outside"
if grep -q '^image bob ' "$T/.out"; then notok "bob (podman_dev) is not inspected"; else ok "bob (podman_dev) is not inspected"; fi

if [ "$have_syslog" = 1 ]; then
    sleep 0.2
    check "journal: 102 at priority 2 with the original tag" \
        grep -qE '^<10>.* podsec-inotify-check-images\[[0-9]+\]: Critical: 102:: "root" users have unsigned images: root: registry.local/app/signed:2, ' "$syslog"
    check "journal: 103 and 101 too" bash -c "grep -q 'Critical: 103:: ' '$syslog' && grep -q 'Critical: 101:: ' '$syslog'"
else
    ok "# SKIP journal checks: /dev/log is taken"
fi

check_rc 1 "-w 0 -c 400: WARNING" CI -w 0 -c 400
check_rc 0 "no thresholds (-v alone): OK" CI -v

# ---- --json --------------------------------------------------------------------------
P --json check images -c 100 > "$T/out.json"
check "--json: state, metric and one record per image name" jq -e --arg s "$SIGNER" '
    .state == "CRITICAL" and .metric == 306 and (.images | length) == 9
    and ([.images[] | select(.verdict == "accepted")] | length) == 3
    and (.images[] | select(.account == "root" and .name == "registry.local/app/signed:1") | .signer == $s and .in_policy)
    and (.images[] | select(.name == null) | .in_policy == false)' "$T/out.json"

# ---- mail, CHECKALLIMAGES ---------------------------------------------------------------
cat > "$T/sendmail" <<EOF
#!/bin/sh
printf '%s\n' "\$@" > "$T/mail.args"
cat > "$T/mail.txt"
EOF
chmod 755 "$T/sendmail"
check_rc 2 "-M mails the report" CI -c 100 -M sec@example.org --sendmail "$T/sendmail"
check "mail subject as the original, with the summary metric" \
    grep -q '^Subject: POLICY 306:: Users frank root have images that violate established policies$' "$T/mail.txt"
check_rc 2 "CHECKALLIMAGES: images outside the scopes are verified too" env CHECKALLIMAGES=1 setsid -w "$PODSEC" --root "$R" check images -c 100 -vv
check_out '^102:: "root" users have unsigned images: root: docker.io/library/alpine:3, registry.local/app/signed:2' \
    "CHECKALLIMAGES: docker.io is verified (and rejected) as well"

# ---- the lookaside cannot be reached: could not check = not accepted ---------------------
printf 'docker:\n  registry.local:\n    lookaside: http://127.0.0.1:1/sigstore\n' > "$R/etc/containers/registries.d/zz-test.yaml"
check_rc 2 "lookaside unreachable" CI -c 100 -vvv --timeout 3
check_out '^image root [0-9a-f]{12} registry.local/app/signed:1: scope "registry.local/app", unknown: .*cannot read the signatures' \
    "signed:1 could not be checked: says why"
printf 'docker:\n  registry.local:\n    lookaside: %s\n' "$LOOK" > "$R/etc/containers/registries.d/zz-test.yaml"

# ---- fixed: only signed images left --------------------------------------------------------
jq '[.[] | select(.names // [] | index("registry.local/app/signed:1")) | .names = ["registry.local/app/signed:1"]]' \
    "$RS/vfs-images/images.json" > "$T/i.json" && cat "$T/i.json" > "$RS/vfs-images/images.json"
rm -rf "$R/home/frank/.local"
check_rc 0 "only signed images left: OK" CI -c 100 -vvv
check_out '^POLICY OK: Containerization policies are not violated \| metric=0;;100;0 r101=0;;;0 r102=0;;;0 r103=0;;;0 images=2;;;0 not_accepted=0;;;0 outside=0;;;0 accounts=2;;;0 ' \
    "OK line: two accepted images (root, alice), frank without storage is not inspected"
mkdir -p "$T/bin"; ln -s "$PODSEC" "$T/bin/podsec-inotify-check-images"
check_rc 0 "the original name with systemd's stray words" env PODSEC_ROOT="$R" "$T/bin/podsec-inotify-check-images" -vvv -c 100 '>/dev/null' '2>&1'
finish

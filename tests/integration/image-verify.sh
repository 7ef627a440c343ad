#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# podsec image verify / image sign against the peers: a loopback
# docker-registry, nginx serving the lookaside store, real GnuPG keys
# (ed25519 and rsa2048), skopeo 1.9 as the signer and the oracle.
#  1. a root tree prepared by `podsec policy init` and edited with jq:
#     signatures written by `skopeo copy --sign-by` pass `podsec image
#     verify`; unsigned images, other keys and other tags do not; the text
#     and --json reports name the signature and the key;
#  2. `podsec image sign` writes what `skopeo standalone-verify` accepts
#     (ed25519, rsa with a passphrase, by fingerprint and by e-mail), and,
#     stored as signature-N, what `skopeo copy` and `podsec image verify`
#     accept;
#  3. a user with a personal policy and registries.d (--user), a user
#     without one (the system policy applies), an unknown user;
#  4. "could not check": registry or lookaside unreachable, sigstoreSigned;
#  5. a multi-platform index: the instance for this machine is checked, as
#     `skopeo copy` does; --all checks every instance.
. "$(dirname "$0")/lib.sh"
need skopeo gpg gpgconf nginx docker-registry jq python3 sha256sum
export GNUPGHOME=$T/gnupg
trap 'gpgconf --homedir "$GNUPGHOME" --kill all 2>/dev/null; _cleanup' EXIT

ED=$(gpg_key 'Ed Signer <ed@example.test>' ed25519) || skip_all "cannot create a gpg key"
RSA=$(gpg_key 'Rsa Signer <rsa@example.test>' rsa2048)
WRONG=$(gpg_key 'Wrong Signer <wrong@example.test>' ed25519)
# a key with a passphrase
echo 'correct horse' > "$T/pass"
gpg --batch --pinentry-mode loopback --passphrase 'correct horse' --quick-gen-key 'Pass Signer <pass@example.test>' \
    rsa2048 sign never >/dev/null 2>&1
PASS=$(gpg --batch --with-colons --list-keys pass@example.test | awk -F: '/^fpr:/ {print $10; exit}')

start_registry || { notok "docker-registry starts"; finish; }
WWW=$T/www; mkdir -p "$WWW/sigstore"; chmod -R 755 "$WWW"
start_nginx "$WWW" || { notok "nginx starts"; finish; }
REG=127.0.0.1:$REG_PORT
LOOK=http://127.0.0.1:$NGINX_PORT/sigstore

# skopeo's own configuration: writes signatures into the served directory
mkdir -p "$T/sk-regd"
cat > "$T/sk-regd/default.yaml" <<EOF
docker:
  $REG:
    lookaside: $LOOK
    lookaside-staging: file://$WWW/sigstore
EOF
SK="skopeo --registries.d $T/sk-regd"
mk_oci "$T/oci-a" img:1 "content-a" >/dev/null
mk_oci "$T/oci-b" img:1 "content-b" >/dev/null
mk_oci "$T/oci-c" img:1 "content-c" >/dev/null
push() { $SK copy --quiet --dest-tls-verify=false "$@"; }
check "skopeo pushes probe/app:1 signed by the ed25519 key" push --sign-by ed@example.test "oci:$T/oci-a:img:1" "docker://$REG/probe/app:1"
check "skopeo pushes probe/rsa:1 signed by the rsa key" push --sign-by rsa@example.test "oci:$T/oci-b:img:1" "docker://$REG/probe/rsa:1"
check "skopeo pushes probe/unsigned:1" push "oci:$T/oci-c:img:1" "docker://$REG/probe/unsigned:1"
check "skopeo pushes probe/app:2 (same image, unsigned tag)" push "oci:$T/oci-a:img:1" "docker://$REG/probe/app:2"
chmod -R a+rX "$WWW"

# ---- 1. a root tree ------------------------------------------------------------
R=$T/root; export R; mkroot "$R"
check "policy init on the root tree" "$PODSEC" --root "$R" policy init --registry-node 192.0.2.10
mkdir -p "$R/var/sigstore/keys"
gpg --export ed@example.test > "$R/var/sigstore/keys/ed.pgp"
gpg --armor --export rsa@example.test > "$R/var/sigstore/keys/rsa.asc"
gpg --export wrong@example.test > "$R/var/sigstore/keys/wrong.pgp"
# edit (a regular file replaces the dated link; fine for a test)
jq --arg reg "$REG" '.transports.docker[$reg] = [{"type":"signedBy","keyType":"GPGKeys","keyPath":"/var/sigstore/keys/ed.pgp"}]
    | .transports.docker[$reg + "/probe/rsa"] = [{"type":"signedBy","keyType":"GPGKeys","keyPaths":["/var/sigstore/keys/wrong.pgp","/var/sigstore/keys/rsa.asc"]}]
    | .transports.docker[$reg + "/probe/sigstore"] = [{"type":"sigstoreSigned","keyPath":"/var/sigstore/keys/cosign.pub"}]
    | .transports.docker["127.0.0.1:1"] = [{"type":"signedBy","keyType":"GPGKeys","keyPath":"/var/sigstore/keys/ed.pgp"}]' \
    "$R/etc/containers/policy.json" > "$T/p.json" && rm "$R/etc/containers/policy.json" && mv "$T/p.json" "$R/etc/containers/policy.json"
cat >> "$R/etc/containers/registries.d/podsec-test.yaml" <<EOF
docker:
  $REG:
    lookaside: $LOOK
EOF
printf '\n[[registry]]\nlocation = "%s"\ninsecure = true\n' "$REG" >> "$R/etc/containers/registries.conf"
V() { "$PODSEC" --root "$R" image verify "$@"; }

check_rc 0 "verify: signed by skopeo copy --sign-by (ed25519), registry insecure in registries.conf" V "$REG/probe/app:1"
check_out "requirement 1: signedBy \(matchRepoDigestOrExact\), keys $ED: satisfied by signature-1" "the report names the requirement, the key and the signature"
check_out "signature-1: accepted: signed by $ED, for $REG/probe/app:1" "the report names the signer and the identity"
check_out "^Lookaside: +$LOOK" "the report names the lookaside"
check_out "^Verdict: +ACCEPTED" "the verdict is printed"
check_rc 0 "verify with docker:// prefix" V "docker://$REG/probe/app:1"
DIG=$(skopeo inspect --tls-verify=false --format '{{.Digest}}' "docker://$REG/probe/app:1")
check_rc 0 "verify by digest" V "$REG/probe/app@$DIG"
check_rc 1 "verify: the same image under an unsigned tag is rejected" V "$REG/probe/app:2"
check_out "Signature for identity $REG/probe/app:1 is not accepted" "the reason names the signed identity"
check_rc 1 "verify: an unsigned image is rejected" V "$REG/probe/unsigned:1"
check_out "A signature was required, but no signature exists" "the reason says no signature exists"
check_rc 0 "verify: keyPaths with the right (armored rsa) key second" V "$REG/probe/rsa:1"
check_out "keys $ED|keys [0-9A-F]+ $RSA" "both keyPaths keys are listed"
check_rc 1 "verify: the global default rejects other registries" V "docker.io/library/busybox:1"
check_out "Scope: +default" "the global default is named"
check_rc 0 "verify --json" "$PODSEC" --root "$R" --json image verify "$REG/probe/app:1"
last_output > "$T/v.json"
check "--json: verdict, scope, satisfied_by, signer" jq -e --arg ed "$ED" --arg reg "$REG" \
    '.verdict == "accepted" and .scope == $reg and .scope_kind == "host" and .policy.source == "system" and .images[0].requirements[0].signatures[0].fingerprint == $ed
     and .images[0].requirements[0].key_files[0] == ($ENV.R + "/var/sigstore/keys/ed.pgp")' "$T/v.json"
"$PODSEC" --root "$R" --json image verify "$REG/probe/unsigned:1" > "$T/v2.json" 2>/dev/null
check "--json of a rejection" jq -e '.verdict == "rejected" and (.reason | test("no signature exists"))' "$T/v2.json"
# skopeo agrees on all of these with the same files
# skopeo reads key paths on the host: the same policy with the root prefix
root_keys() { jq --arg r "$R" 'walk(if type == "object" and has("keyPath") then .keyPath = $r + .keyPath else . end
    | if type == "object" and has("keyPaths") then .keyPaths |= map($r + .) else . end)' "$1"; }
root_keys "$R/etc/containers/policy.json" > "$T/sk-policy.json"
SKR="skopeo --policy $T/sk-policy.json --registries.d $R/etc/containers/registries.d"
sk_ok() { $SKR copy --quiet --src-tls-verify=false "docker://$1" "dir:$T/pulled.$RANDOM"; }
sk_all() { $SKR copy --quiet --all --src-tls-verify=false "docker://$1" "dir:$T/pulled.$RANDOM"; }
check "skopeo accepts probe/app:1 with the root tree's policy" sk_ok "$REG/probe/app:1"
check_rc 1 "skopeo rejects probe/app:2 with it" sk_ok "$REG/probe/app:2"
check_rc 1 "skopeo rejects probe/unsigned:1 with it" sk_ok "$REG/probe/unsigned:1"
check "skopeo accepts probe/rsa:1 (keyPaths, armored key)" sk_ok "$REG/probe/rsa:1"

# ---- 2. podsec image sign --------------------------------------------------------
skopeo inspect --raw --tls-verify=false "docker://$REG/probe/unsigned:1" > "$T/m-unsigned.json"
UDIG=sha256:$(sha256sum "$T/m-unsigned.json" | cut -d' ' -f1)
check "image sign with the ed25519 key (by fingerprint)" "$PODSEC" image sign "$T/m-unsigned.json" "$REG/probe/unsigned:1" "$ED" -o "$T/ed.sig"
check_out "Signed .* \($UDIG\) as $REG/probe/unsigned:1 with key $ED" "sign reports digest, reference, key"
check "skopeo standalone-verify accepts the podsec ed25519 signature" skopeo standalone-verify "$T/m-unsigned.json" "$REG/probe/unsigned:1" "$ED" "$T/ed.sig"
check "image sign with the rsa key by e-mail, -o before the arguments, --json" \
    "$PODSEC" --json image sign -o "$T/rsa.sig" "$T/m-unsigned.json" "$REG/probe/unsigned:1" rsa@example.test
check "--json names the rsa fingerprint" jq -e --arg f "$RSA" --arg d "$UDIG" '.fingerprint == $f and .digest == $d' "$T/.out"
check "skopeo standalone-verify accepts the podsec rsa signature" skopeo standalone-verify "$T/m-unsigned.json" "$REG/probe/unsigned:1" "$RSA" "$T/rsa.sig"
check_rc 1 "skopeo standalone-verify refuses it for another reference" skopeo standalone-verify "$T/m-unsigned.json" "$REG/probe/other:1" "$RSA" "$T/rsa.sig"
check "image sign with a passphrase file" "$PODSEC" image sign --passphrase-file "$T/pass" "$T/m-unsigned.json" "$REG/probe/unsigned:1" "$PASS" -o "$T/pass.sig"
check "skopeo standalone-verify accepts the passphrase-protected key's signature" skopeo standalone-verify "$T/m-unsigned.json" "$REG/probe/unsigned:1" "$PASS" "$T/pass.sig"
echo wrong > "$T/wrongpass"
gpgconf --homedir "$GNUPGHOME" --reload gpg-agent   # forget the cached passphrase
check_rc 1 "image sign with a wrong passphrase fails" "$PODSEC" image sign --passphrase-file "$T/wrongpass" "$T/m-unsigned.json" "$REG/probe/unsigned:1" "$PASS" -o "$T/x.sig"
check_rc 1 "image sign with an unknown key fails" "$PODSEC" image sign "$T/m-unsigned.json" "$REG/probe/unsigned:1" nobody@example.test -o "$T/x.sig"
check_rc 2 "image sign without -o is a usage error" "$PODSEC" image sign "$T/m-unsigned.json" "$REG/probe/unsigned:1" "$ED"
check "image sign with a separate --gnupg-home" env -u GNUPGHOME "$PODSEC" image sign --gnupg-home "$GNUPGHOME" "$T/m-unsigned.json" "$REG/probe/unsigned:1" "$ED" -o "$T/ed2.sig"
check "image sign normalises a short reference" "$PODSEC" image sign "$T/m-unsigned.json" busybox:1 "$ED" -o "$T/bb.sig"
check "... skopeo verifies it as docker.io/library/busybox:1" skopeo standalone-verify "$T/m-unsigned.json" docker.io/library/busybox:1 "$ED" "$T/bb.sig"
# stored as signature-1 in the lookaside: skopeo copy and podsec verify accept it
SD="$WWW/sigstore/probe/unsigned@${UDIG/:/=}"; mkdir -p "$SD"; cp "$T/ed.sig" "$SD/signature-1"; chmod -R a+rX "$WWW"
check_rc 0 "verify accepts the podsec signature from the lookaside" V "$REG/probe/unsigned:1"
check "skopeo copy accepts the podsec signature from the lookaside" sk_ok "$REG/probe/unsigned:1"
rm -rf "$SD"

# ---- 3. users ------------------------------------------------------------------------
printf 'maker:x:1001:1001::/home/maker:/bin/bash\nviewer:x:1002:1002::/home/viewer:/bin/bash\n' >> "$R/etc/passwd"
mkdir -p "$R/home/maker/.config/containers/registries.d" "$R/home/viewer" "$R/var/lib/maker-sigs"
jq -n --arg reg "$REG" '{"default":[{"type":"insecureAcceptAnything"}],"transports":{"docker":{
    ($reg + "/probe/app"): [{"type":"signedBy","keyType":"GPGKeys","keyPath":"/var/sigstore/keys/wrong.pgp"}],
    ($reg + "/probe/unsigned"): [{"type":"signedBy","keyType":"GPGKeys","keyPath":"/var/sigstore/keys/ed.pgp"}]}}}' \
    > "$R/home/maker/.config/containers/policy.json"
# the maker's registries.d replaces the system one: signatures from a file:// store under the root
cat > "$R/home/maker/.config/containers/registries.d/mine.yaml" <<EOF
docker:
  $REG:
    lookaside: file:///var/lib/maker-sigs
EOF
check_rc 1 "--user maker: the personal policy wants another key for probe/app" V --user maker "$REG/probe/app:1"
check_out "Policy: +/home/maker/.config/containers/policy.json \(the user's own, user maker\)" "the personal policy is named"
check_rc 0 "--user maker: the personal default accepts anything else" V --user maker "$REG/probe/rsa:1"
check_rc 1 "--user maker: no signature in the personal file:// store" V --user maker "$REG/probe/unsigned:1"
check_out "Lookaside: +file:///var/lib/maker-sigs" "the personal registries.d is used"
SD="$R/var/lib/maker-sigs/probe/unsigned@${UDIG/:/=}"; mkdir -p "$SD"; cp "$T/ed.sig" "$SD/signature-1"
check_rc 0 "--user maker: the podsec signature in the file:// store under --root" V --user maker "$REG/probe/unsigned:1"
check_rc 0 "--user viewer (no personal policy): the system policy applies" V --user viewer "$REG/probe/app:1"
check_out "\(system, user viewer\)" "the system policy is named for viewer"
check_rc 1 "--user viewer: unsigned is rejected" V --user viewer "$REG/probe/unsigned:1"
check_rc 2 "--user nobody-here: unknown user" V --user nobody-here "$REG/probe/app:1"
check_out "unknown user" "the message says so"

# ---- 4. could not check ----------------------------------------------------------------
check_rc 2 "registry unreachable: could not check" V "127.0.0.1:1/probe/app:1"
check_out "could not check" "the message says could not check"
mkdir -p "$T/regd-dead"
printf 'docker:\n  %s:\n    lookaside: http://127.0.0.1:1/sigstore\n' "$REG" > "$T/regd-dead/default.yaml"
check_rc 2 "lookaside unreachable: could not check" V --registries.d "$T/regd-dead" "$REG/probe/app:1"
check_rc 2 "sigstoreSigned: could not check" V "$REG/probe/sigstore:1"
check_out "not supported by podsec" "the message names sigstoreSigned as unsupported"
check_rc 2 "an invalid reference" V "$REG/Probe/App:1"
check_rc 2 "no reference" V
check_rc 2 "no policy at all" "$PODSEC" --root "$T/oci-a" image verify "$REG/probe/app:1"
check_rc 0 "--help" V --help

# ---- 5. a multi-platform index -----------------------------------------------------------
# two single-platform images of mk_oci's shape, then an index over both
mk_multi() {
    local out=$1 w m1 m2 s1 s2 idx isz
    mk_oci "$out" tmp:1 "multi-amd64" >/dev/null
    m1=$(jq -r '.manifests[0].digest' "$out/index.json"); s1=$(jq -r '.manifests[0].size' "$out/index.json")
    mk_oci "$T/multi-arm" tmp:1 "multi-arm64" >/dev/null
    m2=$(jq -r '.manifests[0].digest' "$T/multi-arm/index.json"); s2=$(jq -r '.manifests[0].size' "$T/multi-arm/index.json")
    cp -n "$T/multi-arm/blobs/sha256/"* "$out/blobs/sha256/"
    printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"%s","size":%s,"platform":{"architecture":"amd64","os":"linux"}},{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"%s","size":%s,"platform":{"architecture":"arm64","os":"linux","variant":"v8"}}]}' \
        "$m1" "$s1" "$m2" "$s2" > "$T/index.blob"
    idx=$(sha256sum "$T/index.blob" | cut -d' ' -f1); isz=$(stat -c %s "$T/index.blob")
    cp "$T/index.blob" "$out/blobs/sha256/$idx"
    printf '{"schemaVersion":2,"manifests":[{"mediaType":"application/vnd.oci.image.index.v1+json","digest":"sha256:%s","size":%s,"annotations":{"org.opencontainers.image.ref.name":"multi:1"}}]}' "$idx" "$isz" > "$out/index.json"
    echo "$m1 $m2"
}
read -r M_AMD M_ARM < <(mk_multi "$T/oci-multi")
check "skopeo pushes an index with --all --sign-by (signs the index and every instance)" \
    push --all --sign-by ed@example.test "oci:$T/oci-multi:multi:1" "docker://$REG/probe/multi-signed:1"
check "skopeo pushes the index with --all, unsigned" push --all "oci:$T/oci-multi:multi:1" "docker://$REG/probe/multi:1"
chmod -R a+rX "$WWW"
check_rc 0 "verify --all: every instance signed by skopeo copy --all --sign-by" V --all "$REG/probe/multi-signed:1"
check "skopeo copy --all agrees" sk_all "$REG/probe/multi-signed:1"
check_rc 1 "verify --arch amd64: no signature for the instance" V --arch amd64 "$REG/probe/multi:1"
check_out "Index: +sha256:" "the index digest is reported"
check_out "Manifest: +$M_AMD \\(linux/amd64\\)" "the amd64 instance is the one checked"
check_rc 1 "skopeo copy (this machine's instance) rejects it too" sk_ok "$REG/probe/multi:1"
for pair in "amd64:$M_AMD" "arm64:$M_ARM"; do
    a=${pair%%:*} d=${pair#*:}
    skopeo inspect --raw --tls-verify=false "docker://$REG/probe/multi@$d" > "$T/m-$a.json"
    "$PODSEC" image sign "$T/m-$a.json" "$REG/probe/multi:1" "$ED" -o "$T/multi-$a.sig" >/dev/null
done
SD="$WWW/sigstore/probe/multi@${M_AMD/:/=}"; mkdir -p "$SD"; cp "$T/multi-amd64.sig" "$SD/signature-1"; chmod -R a+rX "$WWW"
check_rc 0 "verify --arch amd64: the instance signed by podsec" V --arch amd64 "$REG/probe/multi:1"
if [ "$(uname -m)" = x86_64 ]; then
    check "skopeo copy accepts the signed amd64 instance" sk_ok "$REG/probe/multi:1"
    check_rc 0 "verify without --arch picks this machine's instance" V "$REG/probe/multi:1"
fi
check_rc 1 "verify --arch arm64: that instance is unsigned" V --arch arm64 "$REG/probe/multi:1"
check_rc 1 "verify --all: one instance is unsigned" V --all "$REG/probe/multi:1"
check_rc 1 "skopeo copy --all rejects it too" sk_all "$REG/probe/multi:1"
SD="$WWW/sigstore/probe/multi@${M_ARM/:/=}"; mkdir -p "$SD"; cp "$T/multi-arm64.sig" "$SD/signature-1"; chmod -R a+rX "$WWW"
check_rc 0 "verify --all: both instances signed" V --all "$REG/probe/multi:1"
check "skopeo copy --all accepts it" sk_all "$REG/probe/multi:1"
check_rc 2 "verify --arch s390x: no such instance" V --arch s390x "$REG/probe/multi:1"

finish

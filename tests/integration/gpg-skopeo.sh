#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Simple signing against the peers (skopeo 1.9 / containers/image 5.23,
# gnupg, docker-registry, nginx), with ed25519 and rsa2048 keys:
#  1. signatures made by ps-sign pass `skopeo standalone-verify`, and fail
#     it with another fingerprint or one flipped bit;
#  2. signatures written by `skopeo copy --sign-by` into a file://
#     lookaside-staging pass ps-verify (from the file and through the store);
#  3. signatures written by podsec's sigstore writer into a directory served
#     by nginx satisfy a signedBy policy in `skopeo copy` (several signers
#     and tags on one digest -> signature-1..N), and fail it with another
#     key, another tag or a tampered signature; ps-verify reads them back
#     over http;
#  4. the writer crashed at every durable step (fault-injection builds)
#     never leaves a partial signature-N.
. "$(dirname "$0")/lib.sh"
need skopeo gpg gpgconf nginx docker-registry python3 sha256sum
PSS=$PODSEC_BUILD/tests/tools/ps-sign
PSV=$PODSEC_BUILD/tests/tools/ps-verify
[ -x "$PSS" ] && [ -x "$PSV" ] || skip_all "ps-sign/ps-verify drivers not built"

export GNUPGHOME=$T/gnupg
trap 'gpgconf --homedir "$GNUPGHOME" --kill all 2>/dev/null; _cleanup' EXIT

ED=$(gpg_key 'Ed Signer <ed@example.test>' ed25519) || skip_all "cannot create a gpg key"
RSA=$(gpg_key 'Rsa Signer <rsa@example.test>' rsa2048)
WRONG=$(gpg_key 'Wrong Signer <wrong@example.test>' ed25519)
K=$T/keys; mkdir -p "$K"
gpg --export ed@example.test > "$K/ed.pgp"
gpg --export rsa@example.test > "$K/rsa.pgp"
gpg --armor --export rsa@example.test > "$K/rsa.asc"
gpg --export wrong@example.test > "$K/wrong.pgp"

# flip one bit near the end (inside the signature value: always fatal)
flip() { python3 -c 'import sys; b=bytearray(open(sys.argv[1],"rb").read()); b[len(b)-5]^=1; open(sys.argv[2],"wb").write(b)' "$1" "$2"; }
hex_of() { sha256sum "$1" | cut -d' ' -f1; }

start_registry || { notok "docker-registry starts"; finish; }
R=127.0.0.1:$REG_PORT
mk_oci "$T/oci" probe:1 "content-a" >/dev/null
mk_oci "$T/oci2" probe:1 "content-b" >/dev/null
mk_oci "$T/oci3" probe:1 "content-c" >/dev/null
push() { skopeo copy --quiet --dest-tls-verify=false "oci:$1:probe:1" "docker://$R/$2"; }
raw() { skopeo inspect --raw --tls-verify=false "docker://$R/$1" > "$2"; }
check "push probe/busybox:1.0 (unsigned)" push "$T/oci" probe/busybox:1.0
raw probe/busybox:1.0 "$T/m-busybox.json"

# ---- 1. ps-sign -> skopeo standalone-verify ---------------------------------
for name in ED RSA; do
    fpr=${!name}
    sig=$T/ps.$name.sig
    check "ps-sign with the $name key" "$PSS" "$T/m-busybox.json" "$R/probe/busybox:1.0" "$fpr" -o "$sig"
    check "skopeo standalone-verify accepts the ps-sign $name signature" \
        skopeo standalone-verify "$T/m-busybox.json" "$R/probe/busybox:1.0" "$fpr" "$sig"
    check_out "Signature verified, digest sha256:$(hex_of "$T/m-busybox.json")" "skopeo reports the manifest digest ($name)"
    check_rc 1 "skopeo standalone-verify rejects it for another fingerprint ($name)" \
        skopeo standalone-verify "$T/m-busybox.json" "$R/probe/busybox:1.0" "$WRONG" "$sig"
    check_rc 1 "skopeo standalone-verify rejects it for another reference ($name)" \
        skopeo standalone-verify "$T/m-busybox.json" "$R/probe/other:1.0" "$fpr" "$sig"
    flip "$sig" "$sig.bad"
    check_rc 1 "skopeo standalone-verify rejects a flipped bit ($name)" \
        skopeo standalone-verify "$T/m-busybox.json" "$R/probe/busybox:1.0" "$fpr" "$sig.bad"
    check "ps-verify accepts its own $name signature" \
        "$PSV" "$T/m-busybox.json" "$R/probe/busybox:1.0" "$sig" "$K/ed.pgp" "$K/rsa.asc"
    check_out "^fingerprint $fpr\$" "ps-verify names the $name signer"
    check_rc 1 "ps-verify rejects the flipped bit ($name)" \
        "$PSV" "$T/m-busybox.json" "$R/probe/busybox:1.0" "$sig.bad" "$K/ed.pgp" "$K/rsa.asc"
done
check_rc 1 "ps-verify rejects a signature by a key that is not trusted" \
    "$PSV" "$T/m-busybox.json" "$R/probe/busybox:1.0" "$T/ps.ED.sig" "$K/wrong.pgp" "$K/rsa.pgp"
check_out "not among the trusted keys" "ps-verify says the key is not trusted"
# skopeo standalone-sign -> ps-verify too
check "skopeo standalone-sign (ed)" skopeo standalone-sign "$T/m-busybox.json" "$R/probe/busybox:1.0" "$ED" -o "$T/sk.sig"
check "ps-verify accepts skopeo standalone-sign" "$PSV" "$T/m-busybox.json" "$R/probe/busybox:1.0" "$T/sk.sig" "$K/ed.pgp"

# ---- 2. skopeo copy --sign-by (file:// lookaside) -> ps-verify ---------------
mkdir -p "$T/regd-staging" "$T/staging"
cat > "$T/regd-staging/default.yaml" <<EOF
docker:
  $R:
    lookaside-staging: file://$T/staging
EOF
for name in ED RSA; do
    repo=probe/signed-$(echo "$name" | tr A-Z a-z)
    email=$(echo "$name" | tr A-Z a-z)@example.test
    check "skopeo copy --sign-by $email" skopeo --registries.d "$T/regd-staging" copy --quiet \
        --dest-tls-verify=false --sign-by "$email" "oci:$T/oci:probe:1" "docker://$R/$repo:1.0"
    raw "$repo:1.0" "$T/m-signed.json"
    sigfile=$T/staging/$repo@sha256=$(hex_of "$T/m-signed.json")/signature-1
    check "skopeo wrote $sigfile" test -s "$sigfile"
    check "ps-verify accepts the skopeo $name signature" "$PSV" "$T/m-signed.json" "$R/$repo:1.0" "$sigfile" "$K/ed.pgp" "$K/rsa.asc"
    check "ps-verify finds it through the file:// store ($name)" \
        "$PSV" --lookaside "file://$T/staging" "$T/m-signed.json" "$R/$repo:1.0" "$K/ed.pgp" "$K/rsa.pgp"
    check_rc 1 "ps-verify rejects the skopeo $name signature with another key" \
        "$PSV" "$T/m-signed.json" "$R/$repo:1.0" "$sigfile" "$K/wrong.pgp"
    check_rc 1 "ps-verify rejects the skopeo $name signature for another tag" \
        "$PSV" "$T/m-signed.json" "$R/$repo:2.0" "$sigfile" "$K/ed.pgp" "$K/rsa.pgp"
done
# --root maps the file:// store below a root directory
mkdir -p "$T/fakeroot$T"; mv "$T/staging" "$T/fakeroot$T/staging"
check "ps-verify --root reads file://STORE below the root" \
    "$PSV" --lookaside "file://$T/staging" --root "$T/fakeroot" "$T/m-signed.json" "$R/probe/signed-rsa:1.0" "$K/rsa.pgp"

# ---- 3. podsec's writer + nginx -> skopeo copy under signedBy ----------------
SERVED=$T/served; mkdir -p "$SERVED/sigstore"
start_nginx "$SERVED" || { notok "nginx starts"; finish; }
LOOK=http://127.0.0.1:$NGINX_PORT/sigstore
mkdir -p "$T/regd"
cat > "$T/regd/default.yaml" <<EOF
docker:
  $R:
    lookaside: $LOOK
EOF
policy() {   # policy FILE KEYPATH...
    local f=$1; shift
    local paths; paths=$(printf '"%s",' "$@"); paths=${paths%,}
    cat > "$f" <<EOF
{"default":[{"type":"reject"}],
 "transports":{"docker":{"$R":[{"type":"signedBy","keyType":"GPGKeys","keyPaths":[$paths]}]},
               "dir":{"":[{"type":"insecureAcceptAnything"}]}}}
EOF
}
policy "$T/pol-ed.json" "$K/ed.pgp"
policy "$T/pol-rsa.json" "$K/rsa.asc"
policy "$T/pol-wrong.json" "$K/wrong.pgp"
pull() { rm -rf "$T/pulled"; skopeo --policy "$1" --registries.d "$T/regd" copy --quiet --src-tls-verify=false "docker://$R/$2" "dir:$T/pulled"; }

check "push probe/other:1.0 (unsigned)" push "$T/oci2" probe/other:1.0
raw probe/other:1.0 "$T/m-other.json"
OD=$SERVED/sigstore/probe/other@sha256=$(hex_of "$T/m-other.json")
check_rc 1 "skopeo rejects the unsigned image" pull "$T/pol-ed.json" probe/other:1.0
check_out "no signature exists" "skopeo: no signature exists"
check "ps-sign --lookaside (ed) writes into the served store" \
    "$PSS" "$T/m-other.json" "$R/probe/other:1.0" ed@example.test --lookaside "file://$SERVED/sigstore/"
check_out "^stored $OD/signature-1\$" "the ed signature is signature-1"
check "ps-sign --lookaside (rsa) on the same digest" \
    "$PSS" "$T/m-other.json" "$R/probe/other:1.0" rsa@example.test --lookaside "file://$SERVED/sigstore/"
check_out "^stored $OD/signature-2\$" "the rsa signature is signature-2"
check "signature files are world-readable, directories 0775" \
    test "$(stat -c %a "$OD/signature-1") $(stat -c %a "$OD")" = "644 775"
check "skopeo accepts the image under signedBy ed (signature-1 via nginx)" pull "$T/pol-ed.json" probe/other:1.0
check "skopeo accepts the image under signedBy rsa (signature-2 via nginx)" pull "$T/pol-rsa.json" probe/other:1.0
check_rc 1 "skopeo rejects the image under signedBy another key" pull "$T/pol-wrong.json" probe/other:1.0
check_out "Invalid GPG signature|not accepted|rejected" "skopeo explains the rejection"
check "ps-verify reads the signatures over http" "$PSV" --lookaside "$LOOK" "$T/m-other.json" "$R/probe/other:1.0" "$K/ed.pgp"
check_out "^fingerprint $ED\$" "ps-verify over http names the ed signer"
check_rc 1 "ps-verify over http rejects both with another key" \
    "$PSV" --lookaside "$LOOK" "$T/m-other.json" "$R/probe/other:1.0" "$K/wrong.pgp"
check "nginx served signature-1, signature-2 and a 404 for signature-3" \
    grep -q "signature-3 HTTP/1.1\" 404" "$T/nginx/logs/access.log"

# a second tag of the same digest needs its own signature (matchRepoDigestOrExact)
check "retag probe/other:2.0 (same digest)" skopeo copy --quiet --src-tls-verify=false --dest-tls-verify=false \
    --policy "$T/pol-ed.json" --registries.d "$T/regd" --remove-signatures \
    "docker://$R/probe/other:1.0" "docker://$R/probe/other:2.0"
check_rc 1 "skopeo rejects :2.0 while only :1.0 is signed" pull "$T/pol-ed.json" probe/other:2.0
check_out "not accepted" "skopeo: identity not accepted"
check "ps-sign --lookaside for :2.0 adds signature-3" \
    "$PSS" "$T/m-other.json" "$R/probe/other:2.0" "$ED" --lookaside "file://$SERVED/sigstore"
check_out "^stored $OD/signature-3\$" "the :2.0 signature is signature-3"
check "skopeo accepts :2.0 now" pull "$T/pol-ed.json" probe/other:2.0
check "skopeo still accepts :1.0" pull "$T/pol-ed.json" probe/other:1.0

# a tampered signature in the served store
check "push probe/tamper:1.0" push "$T/oci3" probe/tamper:1.0
raw probe/tamper:1.0 "$T/m-tamper.json"
TD=$SERVED/sigstore/probe/tamper@sha256=$(hex_of "$T/m-tamper.json")
check "ps-sign --lookaside probe/tamper:1.0" "$PSS" "$T/m-tamper.json" "$R/probe/tamper:1.0" "$ED" --lookaside "file://$SERVED/sigstore"
check "skopeo accepts the intact signature" pull "$T/pol-ed.json" probe/tamper:1.0
flip "$TD/signature-1" "$T/tampered" && cp "$T/tampered" "$TD/signature-1"
check_rc 1 "skopeo rejects the tampered signature" pull "$T/pol-ed.json" probe/tamper:1.0
check_rc 1 "ps-verify rejects the tampered signature" \
    "$PSV" --lookaside "$LOOK" "$T/m-tamper.json" "$R/probe/tamper:1.0" "$K/ed.pgp"

# a store writer refuses http
check_rc 1 "ps-sign refuses to write to an http lookaside" \
    "$PSS" "$T/m-tamper.json" "$R/probe/tamper:1.0" "$ED" --lookaside "$LOOK"
check_out "read-only" "the refusal says the http store is read-only"

# ---- 4. crash at every durable step of the writer ---------------------------
# crash_case STORE N: sign with an abort after the N-th durable step, then
# every stored signature must verify, and a normal run must add one more
# with contiguous numbering
crash_case() {
    local store=$1 n=$2 rc before after
    before=$(ls "$store"/probe/crash/x@*/ 2>/dev/null | grep -c '^signature-')
    PODSEC_FAULT_AFTER=$n "$PSS" "$T/m-tamper.json" "$R/probe/crash/x:1.0" "$ED" --lookaside "file://$store" >/dev/null 2>&1
    rc=$?
    [ $rc = 0 ] || [ $rc = 134 ] || { echo "crash run exited $rc"; return 1; }
    "$PSS" "$T/m-tamper.json" "$R/probe/crash/x:1.0" "$ED" --lookaside "file://$store" >/dev/null || return 1
    after=$(ls "$store"/probe/crash/x@*/ | grep -c '^signature-')
    [ "$after" -gt "$before" ] || { echo "no signature added ($before -> $after)"; return 1; }
    [ "$(ls "$store"/probe/crash/x@*/ | grep '^signature-' | sort -V | tail -1)" = "signature-$after" ] ||
        { echo "numbering has a gap"; ls -la "$store"/probe/crash/x@*/; return 1; }
    "$PSV" --lookaside "file://$store" "$T/m-tamper.json" "$R/probe/crash/x:1.0" "$K/ed.pgp" >/dev/null 2>"$T/crash.err" || return 1
    [ ! -s "$T/crash.err" ] || { cat "$T/crash.err"; return 1; }
    echo "abort at step $n: exit $rc, signatures $before -> $after"
}
if grep -q "PODSEC_FAULT_INJECTION 1" "$PODSEC_BUILD/config.h" 2>/dev/null; then
    # a new store: directories, temporary file, link, unlink (7 steps)
    for n in 1 2 3 4 5 6 7 8; do
        check "writer aborted at step $n of a first signature leaves no partial signature" crash_case "$T/crash1-$n" "$n"
    done
    # a store that already holds signatures: temporary file, link, unlink
    for n in 1 2 3 4; do
        check "writer aborted at step $n of a further signature leaves no partial signature" crash_case "$T/crash2" "$n"
    done
else
    echo "# fault injection not compiled in: crash test skipped"
fi

finish

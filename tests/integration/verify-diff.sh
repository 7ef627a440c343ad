#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Differential test: `podsec image verify` and skopeo 1.9.3 (containers/image
# 5.23) decide the same policy/signature cases, with the same policy.json,
# registries.d, key files, registry (docker-registry on loopback) and
# lookaside store (nginx on loopback).
#
# skopeo's verdict: `skopeo --policy P --registries.d D copy
# --src-tls-verify=false docker://REF dir:OUT`, exit 0 = accepted; a
# failure saying "Source image rejected" (or "not accepted", "no signature",
# "Invalid GPG signature") = rejected; anything else (a connection error, a
# missing manifest) is a failure of the harness, never a verdict.
# podsec's verdict: exit 0 accepted, 1 rejected (2 = could not check is
# never expected here).
#
# Every case also carries the verdict c/image's documentation implies; the
# table printed at the end lists case, expected, podsec, skopeo.  The test
# fails on any disagreement, naming the case and both messages.
. "$(dirname "$0")/lib.sh"
need skopeo gpg gpgconf nginx docker-registry jq python3 sha256sum base64
export GNUPGHOME=$T/gnupg
trap 'gpgconf --homedir "$GNUPGHOME" --kill all 2>/dev/null; _cleanup' EXIT

# ---- keys -------------------------------------------------------------------
ED=$(gpg_key 'Ed Signer <ed@example.test>' ed25519) || skip_all "cannot create a gpg key"
RSA=$(gpg_key 'Rsa Signer <rsa@example.test>' rsa2048)
WRONG=$(gpg_key 'Wrong Signer <wrong@example.test>' ed25519)
REV=$(gpg_key 'Revoked Signer <rev@example.test>' ed25519)
# a key that expired long ago: made and used at a faked time in 2020
gpg --batch --faked-system-time 20200101T000000 --pinentry-mode loopback --passphrase '' \
    --quick-gen-key 'Expired Signer <exp@example.test>' ed25519 sign 1d >/dev/null 2>&1
EXP=$(gpg --batch --with-colons --list-keys exp@example.test 2>/dev/null | awk -F: '/^fpr:/ {print $10; exit}')
[ -n "$EXP" ] || skip_all "cannot create an expired key"
K=$T/keys; mkdir -p "$K"
gpg --export ed@example.test > "$K/ed.pgp"
gpg --armor --export ed@example.test > "$K/ed.asc"
gpg --export rsa@example.test > "$K/rsa.pgp"
gpg --export wrong@example.test > "$K/wrong.pgp"
gpg --export exp@example.test > "$K/exp.pgp"
cat "$K/wrong.pgp" "$K/ed.pgp" > "$K/wrong+ed.pgp"

# ---- registry, lookaside, images ---------------------------------------------------
start_registry || { notok "docker-registry starts"; finish; }
WWW=$T/www; mkdir -p "$WWW/sigstore"
start_nginx "$WWW" || { notok "nginx starts"; finish; }
REG=127.0.0.1:$REG_PORT
LOOK=http://127.0.0.1:$NGINX_PORT/sigstore
D=$T/regd; mkdir -p "$D"
printf 'docker:\n  %s:\n    lookaside: %s\n' "$REG" "$LOOK" > "$D/default.yaml"
mk_oci "$T/oci-a" img:1 "content-a" >/dev/null
mk_oci "$T/oci-b" img:1 "content-b" >/dev/null
push() { skopeo copy --quiet --dest-tls-verify=false "oci:$1:img:1" "docker://$REG/$2" >/dev/null; }
push "$T/oci-a" probe/app:1 && push "$T/oci-a" probe/app:2 && push "$T/oci-b" probe/other:1 &&
    push "$T/oci-a" mirror/app:1 || { notok "push the test images"; finish; }
raw() { skopeo inspect --raw --tls-verify=false "docker://$REG/$1"; }
raw probe/app:1 > "$T/m-app.json"; raw probe/other:1 > "$T/m-other.json"
DA=sha256:$(sha256sum "$T/m-app.json" | cut -d' ' -f1)
DB=sha256:$(sha256sum "$T/m-other.json" | cut -d' ' -f1)

# ---- signatures ----------------------------------------------------------------------
S=$T/sigs; mkdir -p "$S"
psign() { "$PODSEC" image sign "$1" "$2" "$3" -o "$4" >/dev/null || { notok "podsec image sign $4"; finish; }; }
psign "$T/m-app.json" "$REG/probe/app:1" "$ED" "$S/ed-app1"
psign "$T/m-app.json" "$REG/probe/app@$DA" "$ED" "$S/ed-appdig"
psign "$T/m-app.json" "$REG/probe/app" "$ED" "$S/ed-appname" 2>/dev/null
psign "$T/m-app.json" "$REG/probe/other:1" "$ED" "$S/ed-app-as-other"
psign "$T/m-other.json" "$REG/probe/other:1" "$ED" "$S/ed-other1"
psign "$T/m-app.json" "$REG/mirror/app:1" "$ED" "$S/ed-mirror1"
psign "$T/m-app.json" "$REG/probe/app:1" "$RSA" "$S/rsa-app1"
psign "$T/m-app.json" "$REG/probe/app:1" "$WRONG" "$S/wrong-app1"
psign "$T/m-app.json" "$REG/probe/app:1" "$REV" "$S/rev-app1"
skopeo standalone-sign "$T/m-app.json" "$REG/probe/app:1" "$ED" -o "$S/skopeo-ed-app1" || { notok "skopeo standalone-sign"; finish; }
# the expired key signs the same payload at its (faked) time of validity
gpg --batch --decrypt "$S/ed-app1" > "$T/payload-app1" 2>/dev/null
gpg --batch --faked-system-time 20200101T120000 --pinentry-mode loopback --passphrase '' -u "$EXP" \
    --sign -o "$S/exp-app1" "$T/payload-app1" 2>/dev/null || { notok "sign with the expired key"; finish; }
# the revoked key: import its revocation certificate, then export it with the revocation
sed 's/^:-----BEGIN/-----BEGIN/' "$GNUPGHOME/openpgp-revocs.d/$REV.rev" > "$T/rev.rev"
gpg --batch --import "$T/rev.rev" 2>/dev/null
gpg --export rev@example.test > "$K/rev.pgp"
gpg --batch --with-colons --list-keys rev@example.test | grep -q '^pub:r:' || { notok "revoke the key"; finish; }
flip_at() { python3 -c 'import sys; b=bytearray(open(sys.argv[1],"rb").read()); i=int(sys.argv[3]); i = i if i >= 0 else len(b)+i; b[i]^=1; open(sys.argv[2],"wb").write(b)' "$1" "$2" "$3"; }
flip_at "$S/ed-app1" "$S/flip-end" -5
flip_at "$S/ed-app1" "$S/flip-mid" $(( $(stat -c %s "$S/ed-app1") / 2 ))
flip_at "$S/rsa-app1" "$S/flip-rsa" -5
head -c 60 "$S/ed-app1" > "$S/truncated"
: > "$S/empty"
head -c 300 /dev/urandom > "$S/garbage"
printf 'not a signature\n' > "$S/text"
{ printf '\0simple-signing\n'; cat "$S/ed-app1"; } > "$S/prefixed"
gpg --batch --enarmor < "$S/ed-app1" > "$S/armored" 2>/dev/null

# ---- cases -----------------------------------------------------------------------------
# sigs REPO DIGEST FILE... : the lookaside holds exactly these as signature-1..N
clear_sigs() { rm -rf "$WWW/sigstore"; mkdir -p "$WWW/sigstore"; }
sigs() {
    local repo=$1 dig=$2 n=1 f; shift 2
    local dir="$WWW/sigstore/$repo@${dig/:/=}"; mkdir -p "$dir"
    for f in "$@"; do
        if [ "$f" = - ]; then n=$((n+1)); continue; fi   # "-": leave a gap
        cp "$S/$f" "$dir/signature-$n"; n=$((n+1))
    done
    chmod -R a+rX "$WWW"
}
# pol JSON: policy.json from a compact form; @REG@ and @K@ are replaced
pol() { local j=${1//@REG@/$REG}; j=${j//@K@/$K}; echo "$j" | jq . > "$T/case.json" || { echo "# bad policy: $j"; return 1; }; }
sb() { echo "{\"type\":\"signedBy\",\"keyType\":\"GPGKeys\",\"keyPath\":\"@K@/$1\"${2:+,$2}}"; }
scope() { pol "{\"default\":[{\"type\":\"reject\"}],\"transports\":{\"docker\":{\"@REG@\":[$1]}}}"; }
B64_ED=$(base64 -w0 < "$K/ed.pgp"); B64_WRONG=$(base64 -w0 < "$K/wrong.pgp")

ROWS=$T/rows; : > "$ROWS"; N=0; DISAGREE=0; UNEXPECTED=0
podsec_verdict() {
    "$PODSEC" image verify --policy "$T/case.json" --registries.d "$D" --tls-verify=false "$1" >"$T/p.out" 2>&1
    case $? in 0) echo accepted ;; 1) echo rejected ;; 2) echo could-not-check ;; *) echo "exit-$?" ;; esac
}
skopeo_verdict() {
    rm -rf "$T/sk-out"
    if skopeo --policy "$T/case.json" --registries.d "$D" copy --quiet --src-tls-verify=false "docker://$1" "dir:$T/sk-out" >"$T/s.out" 2>&1; then
        echo accepted
    elif grep -Eq 'dial tcp|connection refused|manifest unknown|MANIFEST_UNKNOWN|no such host' "$T/s.out"; then
        echo harness-error
    elif grep -Eq 'Source image rejected|not accepted|no signature exists|Invalid GPG signature|is rejected by policy' "$T/s.out"; then
        echo rejected
    else
        echo harness-error
    fi
}
# run ID EXPECTED REF
run() {
    local id=$1 want=$2 ref=$3 p s
    N=$((N+1))
    p=$(podsec_verdict "$ref"); s=$(skopeo_verdict "$ref")
    printf '%-44s %-9s %-16s %-16s\n' "$id" "$want" "$p" "$s" >> "$ROWS"
    if [ "$p" = "$s" ] && [ "$s" = "$want" ]; then
        ok "$id: $want"
    else
        [ "$p" != "$s" ] && DISAGREE=$((DISAGREE+1))
        [ "$s" != "$want" ] && UNEXPECTED=$((UNEXPECTED+1))
        notok "$id: expected $want, podsec $p, skopeo $s (ref $ref)"
        echo "#   policy: $(jq -c . "$T/case.json")"
        sed 's/^/#   podsec: /' "$T/p.out" | tail -4
        sed 's/^/#   skopeo: /' "$T/s.out" | tail -3
    fi
}
A1=$REG/probe/app:1 A2=$REG/probe/app:2 AD=$REG/probe/app@$DA O1=$REG/probe/other:1 M1=$REG/mirror/app:1

# -- signatures and tampering
scope "$(sb ed.pgp)"
clear_sigs; sigs probe/app "$DA" ed-app1;              run valid-ed25519 accepted "$A1"
clear_sigs; sigs probe/app "$DA" skopeo-ed-app1;       run skopeo-standalone-signed accepted "$A1"
clear_sigs; sigs probe/app "$DA" flip-end;             run flipped-byte-end rejected "$A1"
clear_sigs; sigs probe/app "$DA" flip-mid;             run flipped-byte-middle rejected "$A1"
clear_sigs; sigs probe/app "$DA" truncated;            run truncated rejected "$A1"
clear_sigs; sigs probe/app "$DA" empty;                run empty-file rejected "$A1"
clear_sigs; sigs probe/app "$DA" garbage;              run random-bytes rejected "$A1"
clear_sigs; sigs probe/app "$DA" text;                 run text-file rejected "$A1"
clear_sigs;                                            run missing-signature rejected "$A1"
clear_sigs; sigs probe/other "$DB" ed-app1;            run moved-to-other-image rejected "$O1"
clear_sigs; sigs probe/app "$DA" ed-other1;            run other-image-sig-in-dir rejected "$A1"
clear_sigs; sigs probe/app "$DA" ed-app-as-other;      run identity-other-repo rejected "$A1"
clear_sigs; sigs probe/app "$DA" ed-app1;              run retag-same-digest rejected "$A2"
clear_sigs; sigs probe/app "$DA" ed-app1;              run pull-by-digest accepted "$AD"
clear_sigs; sigs probe/app "$DA" ed-appname;           run identity-without-tag rejected "$A1"
clear_sigs; sigs probe/app "$DA" wrong-app1;           run wrong-key rejected "$A1"
clear_sigs; sigs probe/app "$DA" exp-app1;             run expired-key rejected "$A1"
clear_sigs; sigs probe/app "$DA" flip-end ed-app1;     run second-of-two-valid accepted "$A1"
clear_sigs; sigs probe/app "$DA" ed-app1 flip-end;     run first-of-two-valid accepted "$A1"
clear_sigs; sigs probe/app "$DA" flip-mid flip-end;    run two-invalid rejected "$A1"
clear_sigs; sigs probe/app "$DA" wrong-app1 exp-app1 ed-app1; run third-of-three-valid accepted "$A1"
# c/image parses every blob before verifying any: one it cannot parse fails them all
clear_sigs; sigs probe/app "$DA" garbage ed-app1;      run unparseable-then-valid rejected "$A1"
clear_sigs; sigs probe/app "$DA" ed-app1 text;         run valid-then-unparseable rejected "$A1"
clear_sigs; sigs probe/app "$DA" ed-app1 empty;        run valid-then-empty rejected "$A1"
clear_sigs; sigs probe/app "$DA" prefixed;             run simple-signing-prefixed accepted "$A1"
clear_sigs; sigs probe/app "$DA" armored;              run armored-signature rejected "$A1"
clear_sigs; sigs probe/app "$DA" - ed-app1;            run gap-before-valid rejected "$A1"
clear_sigs; sigs probe/app "$DA" exp-app1 ed-app1;     run expired-then-valid accepted "$A1"
scope "$(sb rev.pgp)"
clear_sigs; sigs probe/app "$DA" rev-app1;             run revoked-key rejected "$A1"
scope "$(sb exp.pgp)"
clear_sigs; sigs probe/app "$DA" exp-app1;             run expired-key-own-policy rejected "$A1"
scope "$(sb rsa.pgp)"
clear_sigs; sigs probe/app "$DA" rsa-app1;             run valid-rsa accepted "$A1"
clear_sigs; sigs probe/app "$DA" flip-rsa;             run flipped-byte-rsa rejected "$A1"
clear_sigs; sigs probe/app "$DA" ed-app1;              run ed-sig-rsa-policy rejected "$A1"

# -- key forms
scope "{\"type\":\"signedBy\",\"keyType\":\"GPGKeys\",\"keyPaths\":[\"@K@/wrong.pgp\",\"@K@/ed.pgp\"]}"
clear_sigs; sigs probe/app "$DA" ed-app1;              run keyPaths-right-key-second accepted "$A1"
scope "{\"type\":\"signedBy\",\"keyType\":\"GPGKeys\",\"keyPaths\":[\"@K@/wrong.pgp\",\"@K@/rsa.pgp\"]}"
clear_sigs; sigs probe/app "$DA" ed-app1;              run keyPaths-without-signer rejected "$A1"
scope "{\"type\":\"signedBy\",\"keyType\":\"GPGKeys\",\"keyPaths\":[\"@K@/rev.pgp\",\"@K@/ed.pgp\"]}"
clear_sigs; sigs probe/app "$DA" ed-app1;              run keyPaths-revoked-and-valid accepted "$A1"
scope "{\"type\":\"signedBy\",\"keyType\":\"GPGKeys\",\"keyData\":\"$B64_ED\"}"
clear_sigs; sigs probe/app "$DA" ed-app1;              run keyData-right accepted "$A1"
scope "{\"type\":\"signedBy\",\"keyType\":\"GPGKeys\",\"keyData\":\"$B64_WRONG\"}"
clear_sigs; sigs probe/app "$DA" ed-app1;              run keyData-wrong rejected "$A1"
scope "$(sb ed.asc)"
clear_sigs; sigs probe/app "$DA" ed-app1;              run armored-key-file accepted "$A1"
scope "$(sb wrong+ed.pgp)"
clear_sigs; sigs probe/app "$DA" ed-app1;              run keyring-with-two-keys accepted "$A1"

# -- signedIdentity forms
scope "$(sb ed.pgp '"signedIdentity":{"type":"matchExact"}')"
clear_sigs; sigs probe/app "$DA" ed-app1;              run matchExact-tag accepted "$A1"
clear_sigs; sigs probe/app "$DA" ed-app1;              run matchExact-digest-pull-tag-sig rejected "$AD"
clear_sigs; sigs probe/app "$DA" ed-appdig;            run matchExact-digest-pull-digest-sig accepted "$AD"
clear_sigs; sigs probe/app "$DA" ed-app1;              run matchExact-retag rejected "$A2"
scope "$(sb ed.pgp '"signedIdentity":{"type":"matchRepoDigestOrExact"}')"
clear_sigs; sigs probe/app "$DA" ed-appdig;            run matchRepoDigestOrExact-digest-sig accepted "$AD"
clear_sigs; sigs probe/app "$DA" ed-appdig;            run matchRepoDigestOrExact-tag-pull-digest-sig rejected "$A1"
scope "$(sb ed.pgp '"signedIdentity":{"type":"matchRepository"}')"
clear_sigs; sigs probe/app "$DA" ed-app1;              run matchRepository-across-tags accepted "$A2"
clear_sigs; sigs probe/app "$DA" ed-appname;           run matchRepository-untagged-sig accepted "$A1"
clear_sigs; sigs probe/app "$DA" ed-app-as-other;      run matchRepository-other-repo rejected "$A1"
scope "$(sb ed.pgp '"signedIdentity":{"type":"exactReference","dockerReference":"@REG@/probe/app:1"}')"
clear_sigs; sigs probe/app "$DA" ed-app1;              run exactReference-right accepted "$A2"
scope "$(sb ed.pgp '"signedIdentity":{"type":"exactReference","dockerReference":"@REG@/probe/app:2"}')"
clear_sigs; sigs probe/app "$DA" ed-app1;              run exactReference-wrong rejected "$A2"
scope "$(sb ed.pgp '"signedIdentity":{"type":"exactRepository","dockerRepository":"@REG@/probe/app"}')"
clear_sigs; sigs probe/app "$DA" ed-app1;              run exactRepository-right accepted "$A2"
scope "$(sb ed.pgp '"signedIdentity":{"type":"exactRepository","dockerRepository":"@REG@/probe/other"}')"
clear_sigs; sigs probe/app "$DA" ed-app1;              run exactRepository-wrong rejected "$A1"
scope "$(sb ed.pgp '"signedIdentity":{"type":"remapIdentity","prefix":"@REG@/mirror","signedPrefix":"@REG@/probe"}')"
clear_sigs; sigs mirror/app "$DA" ed-app1;             run remapIdentity-matching accepted "$M1"
clear_sigs; sigs mirror/app "$DA" ed-mirror1;          run remapIdentity-unmapped-sig rejected "$M1"
clear_sigs; sigs probe/app "$DA" ed-app1;              run remapIdentity-prefix-not-matching accepted "$A1"
scope "$(sb ed.pgp '"signedIdentity":{"type":"remapIdentity","prefix":"@REG@/elsewhere","signedPrefix":"@REG@/probe"}')"
clear_sigs; sigs mirror/app "$DA" ed-app1;             run remapIdentity-other-prefix rejected "$M1"

# -- requirement lists and scopes
scope "$(sb ed.pgp),{\"type\":\"reject\"}"
clear_sigs; sigs probe/app "$DA" ed-app1;              run signedBy-and-reject rejected "$A1"
scope "$(sb ed.pgp),$(sb rsa.pgp)"
clear_sigs; sigs probe/app "$DA" ed-app1;              run two-signedBy-one-sig rejected "$A1"
clear_sigs; sigs probe/app "$DA" ed-app1 rsa-app1;     run two-signedBy-both-sigs accepted "$A1"
scope "{\"type\":\"insecureAcceptAnything\"},$(sb ed.pgp)"
clear_sigs; sigs probe/app "$DA" ed-app1;              run insecure-and-signedBy accepted "$A1"
clear_sigs;                                            run insecure-and-signedBy-unsigned rejected "$A1"
scope '{"type":"insecureAcceptAnything"}'
clear_sigs;                                            run insecureAcceptAnything-scope accepted "$A1"
pol '{"default":[{"type":"reject"}],"transports":{"docker":{"other.example":[{"type":"insecureAcceptAnything"}]}}}'
clear_sigs; sigs probe/app "$DA" ed-app1;              run default-reject rejected "$A1"
pol '{"default":[{"type":"insecureAcceptAnything"}]}'
clear_sigs;                                            run default-insecure accepted "$A1"
pol '{"default":[{"type":"reject"}],"transports":{"docker":{"":[{"type":"insecureAcceptAnything"}]}}}'
clear_sigs;                                            run transport-default-insecure accepted "$A1"
pol "{\"default\":[{\"type\":\"insecureAcceptAnything\"}],\"transports\":{\"docker\":{\"\":[{\"type\":\"reject\"}]}}}"
clear_sigs;                                            run transport-default-reject rejected "$A1"
pol "{\"default\":[{\"type\":\"reject\"}],\"transports\":{\"docker\":{\"@REG@\":[$(sb ed.pgp)],\"@REG@/probe/app\":[{\"type\":\"insecureAcceptAnything\"}]}}}"
clear_sigs;                                            run repo-scope-beats-host accepted "$A1"
clear_sigs;                                            run host-scope-for-other-repo rejected "$O1"
pol "{\"default\":[{\"type\":\"reject\"}],\"transports\":{\"docker\":{\"@REG@\":[{\"type\":\"insecureAcceptAnything\"}],\"@REG@/probe\":[$(sb wrong.pgp)]}}}"
clear_sigs; sigs probe/app "$DA" ed-app1;              run namespace-scope-beats-host rejected "$A1"
clear_sigs;                                            run host-scope-outside-namespace accepted "$M1"
pol "{\"default\":[{\"type\":\"reject\"}],\"transports\":{\"docker\":{\"@REG@/probe/app:1\":[{\"type\":\"insecureAcceptAnything\"}],\"@REG@\":[$(sb ed.pgp)]}}}"
clear_sigs;                                            run exact-tag-scope accepted "$A1"
clear_sigs;                                            run exact-tag-scope-other-tag rejected "$A2"
pol "{\"default\":[{\"type\":\"reject\"}],\"transports\":{\"docker\":{\"@REG@/probe/app@$DA\":[{\"type\":\"insecureAcceptAnything\"}]}}}"
clear_sigs;                                            run exact-digest-scope accepted "$AD"
clear_sigs;                                            run exact-digest-scope-tag-pull rejected "$A1"
pol "{\"default\":[{\"type\":\"reject\"}],\"transports\":{\"docker\":{\"127.0.0.1\":[{\"type\":\"insecureAcceptAnything\"}]}}}"
clear_sigs;                                            run portless-host-scope-not-used rejected "$A1"

# ---- the table -----------------------------------------------------------------------------
echo "# $(printf '%-44s %-9s %-16s %-16s' case expected podsec skopeo)"
sed 's/^/# /' "$ROWS"
echo "# $N cases: $DISAGREE disagreements between podsec and skopeo, $UNEXPECTED where skopeo's verdict differs from the expected one"
[ "$N" -ge 50 ] && ok "at least 50 cases ($N)" || notok "at least 50 cases ($N)"
[ "$DISAGREE" = 0 ] && ok "podsec and skopeo agree on every case" || notok "podsec and skopeo disagree on $DISAGREE cases"
finish

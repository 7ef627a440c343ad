#!/bin/bash
# Two hosts: network namespaces A (registry node, 10.77.0.1) and B (client
# node, 10.77.0.2) joined by a veth pair; each has its own --root, and runs
# with a hosts file bind-mounted over /etc/hosts in its own mount namespace so
# that registry.local and sigstore.local name host A.  No traffic leaves
# those two namespaces.
#
#   A: policy init 10.77.0.1 (detected as local), services run (registry on
#      :80, signature server on :81), image maker imk, a signed and an
#      unsigned image pushed with skopeo, the policy signed (policy sign);
#   B: policy init --trust-key admin.pgp 10.77.0.1: skopeo pulls the signed
#      image and is refused the unsigned one;
#   A: a second image maker dev, its image pushed and signed, policy signed
#      again; B: refused dev's image until 'policy sync', then pulls it;
#   A: policy.json tampered with: B's sync refuses it and changes nothing.
. "$(dirname "$0")/lib.sh"
need ip unshare skopeo nginx docker-registry gpg jq curl groupadd useradd

[ "$(id -u)" = 0 ] || skip_all "needs root (network namespaces, mounts)"

NSA=psA$$; NSB=psB$$; VA=psva$$; VB=psvb$$
IPA=10.77.0.1; IPB=10.77.0.2
ns_cleanup() {
    local h
    for h in "$T"/*-gnupg "$T"/A/home/*/.gnupg; do
        [ -d "$h" ] && gpgconf --homedir "$h" --kill all >/dev/null 2>&1
    done
    _cleanup                                   # lib.sh: stops the processes, removes $T
    ip netns del "$NSA" 2>/dev/null
    ip netns del "$NSB" 2>/dev/null
    ip link del "$VA" 2>/dev/null
    true
}
trap ns_cleanup EXIT

ip netns add "$NSA" && ip netns add "$NSB" || skip_all "cannot create network namespaces"
ip link add "$VA" type veth peer name "$VB" || skip_all "cannot create a veth pair"
ip link set "$VA" netns "$NSA" && ip link set "$VB" netns "$NSB" &&
ip -n "$NSA" addr add "$IPA/30" dev "$VA" && ip -n "$NSB" addr add "$IPB/30" dev "$VB" &&
ip -n "$NSA" link set "$VA" up && ip -n "$NSB" link set "$VB" up &&
ip -n "$NSA" link set lo up && ip -n "$NSB" link set lo up || { notok "network namespaces set up"; finish; }
ok "network namespaces $NSA ($IPA) and $NSB ($IPB) joined by a veth pair"

printf '127.0.0.1\tlocalhost\n%s\tregistry.local sigstore.local trivy.local\n' "$IPA" > "$T/hosts"
# on NS CMD...: CMD in network namespace NS, in a mount namespace of its own
# where $T/hosts is /etc/hosts
on() {
    local ns=$1; shift
    ip netns exec "$ns" unshare --mount --propagation private -- \
        bash -c 'mount --bind "$0" /etc/hosts && exec "$@"' "$T/hosts" "$@"
}

RA=$T/A; RB=$T/B; mkroot "$RA"; mkroot "$RB"
KEYS=/var/sigstore/keys
export GNUPGHOME=$T/admin-gnupg           # the policy administrator's keyring (on A)
ADMIN=$(gpg_key "Policy Admin <admin@example.test>") || { notok "admin key"; finish; }
gpg --export "$ADMIN" > "$T/admin.pgp"    # handed to B out of band
mkdir -p "$RA/etc/podsec"
cat > "$RA/etc/podsec/podsec.conf" <<EOC
registry_listen=$IPA:80
sigstore_listen=$IPA:81
policy_signing_key=$ADMIN
EOC

# ---------------------------------------------------------------- host A
pa() { on "$NSA" "$PODSEC" --root "$RA" "$@"; }
check "A: policy init $IPA" pa policy init "$IPA"
check_out "registry node $IPA: [0-9]+ created" "A: detected as the registry node inside its namespace"
check_out "created +file $KEYS/policy.json.sig: signed by $ADMIN" "A: publishes a signed reject-all policy"
mkdir -p "$RA/var/lib/containers/storage/volumes/registry/_data"
ip netns exec "$NSA" "$PODSEC" --root "$RA" services run > "$T/services.log" 2>&1 &
SVC_PID=$!; _pids+=("$SVC_PID")
for _ in $(seq 1 100); do
    on "$NSA" curl -fsS -o /dev/null "http://registry.local/v2/" 2>/dev/null &&
        on "$NSA" curl -fsS -o /dev/null "http://sigstore.local:81/keys/" 2>/dev/null && break
    sleep 0.1
done
check "A: services run: registry on registry.local:80" on "$NSA" curl -fsS "http://registry.local/v2/"
check "A: services run: signature server on sigstore.local:81" on "$NSA" curl -fsS "http://sigstore.local:81/keys/"
check "B reaches A's signature server over the veth pair" on "$NSB" curl -fsS -o /dev/null "http://sigstore.local:81/"
check_rc 7 "nothing else is reachable from B (127.0.0.1:$((${SVC_PID} % 1000 + 40000)) is B's own loopback)" \
    on "$NSB" curl -sS -o /dev/null --max-time 3 "http://127.0.0.1:$((${SVC_PID} % 1000 + 40000))/"

printf 'maker passphrase\n' > "$T/pass"
have_addmaker=false
"$PODSEC" user add-imagemaker --help >/dev/null 2>&1 && have_addmaker=true
# add_maker USER SCOPE: prints the key's fingerprint; the secret key ends up
# in $T/USER-gnupg (a copy of the maker's keyring) for skopeo to sign with.
# With 'podsec user add-imagemaker' when there is one; otherwise (marked
# FALLBACK) a key from gpg and the scope written with jq.
add_maker() {
    local u=$1 scope=$2 fpr
    if $have_addmaker; then
        "$PODSEC" --root "$RA" user add-imagemaker --passphrase-file "$T/pass" --no-password "$u@$scope" \
            > "$T/addmaker-$u.log" 2>&1 || { cat "$T/addmaker-$u.log" >&2; return 1; }
        mkdir -m 700 "$T/$u-gnupg"
        tar -C "$RA/home/$u/.gnupg" --exclude='S.*' --exclude='.#*' -cf - . | tar -C "$T/$u-gnupg" -xf - ||
            return 1
        chown -R root:root "$T/$u-gnupg"
        fpr=$(gpg --homedir "$T/$u-gnupg" --with-colons --list-secret-keys | awk -F: '/^fpr:/ {print $10; exit}')
    else
        # FALLBACK: no 'podsec user add-imagemaker' yet
        mkdir -m 700 "$T/$u-gnupg"
        fpr=$(GNUPGHOME=$T/$u-gnupg; gpg --homedir "$T/$u-gnupg" --batch --pinentry-mode loopback \
              --passphrase-file "$T/pass" --quick-gen-key "$u <$u@example.test>" ed25519 sign never >/dev/null 2>&1 &&
              gpg --homedir "$T/$u-gnupg" --with-colons --list-keys | awk -F: '/^fpr:/ {print $10; exit}')
        gpg --homedir "$T/$u-gnupg" --armor --export "$fpr" > "$RA$KEYS/$u.pgp"
        jq --arg s "$scope" --arg k "$KEYS/$u.pgp" \
            '.transports.docker[$s] = [{type:"signedBy",keyType:"GPGKeys",keyPath:$k}]' \
            "$RA/etc/containers/policy.json" > "$T/p.json" &&
            cat "$T/p.json" > "$RA/etc/containers/policy.json" && cp "$T/p.json" "$RA$KEYS/policy.json"
    fi
    chmod -R a+rX "$RA/var/sigstore"
    [ -n "$fpr" ] && echo "$fpr"
}
IMK=$(add_maker imk registry.local/team1) && ok "A: image maker imk@registry.local/team1 ($IMK)" || notok "A: image maker imk"

default-docker:
  lookaside: http://sigstore.local:81/sigstore/
  lookaside-staging: file://$RA/var/sigstore/sigstore/
EOC
# push USER REF [CONTENT]: a tiny image to registry.local/REF; USER "-":
# pushed unsigned by skopeo; otherwise as an image maker does it: an OCI
# archive load-signed by podsec with USER's key (signatures go to A's
# signature store, behind the site's lookaside)
push() {
    local u=$1 ref=$2 dir; dir=$(mktemp -d "$T/img.XXXXXX")
    if [ "$u" = - ]; then
        mk_oci "$dir" "$ref" "${3:-$ref}" >/dev/null || return 1
        on "$NSA" skopeo copy --dest-tls-verify=false "oci:$dir:$ref" "docker://registry.local/$ref"
        return
    fi
    mk_oci "$dir/amd64" "$ref" "${3:-$ref}" >/dev/null || return 1
    tar -C "$dir" -cJf "$dir/amd64.tar.xz" amd64 || return 1
    local fpr
    fpr=$(gpg --homedir "$T/$u-gnupg" --with-colons --list-secret-keys | awk -F: '/^fpr:/ {print $10; exit}')
    GNUPGHOME=$T/$u-gnupg on "$NSA" "$PODSEC" --root "$RA" image load-sign -y --no-legacy-alias \
        --passphrase-file "$T/pass" "$dir/amd64.tar.xz" amd64 "$fpr" "registry.local/${ref%%/*}"
}
[ -n "$IMK" ] || { notok "no key for imk: cannot go on"; finish; }
check "A: push and sign registry.local/team1/hello:1.0 (imk)" push imk team1/hello:1.0
check "A: push registry.local/team1/unsigned:1.0 without a signature" push - team1/unsigned:1.0
check "A: push and sign registry.local/other/hello:1.0 (imk, no scope for it)" push imk other/hello:1.0
chmod -R a+rX "$RA/var/sigstore"
ls "$RA"/var/sigstore/sigstore/team1/hello@sha256=*/signature-1 >/dev/null 2>&1 &&
    ok "A: signature in the staging directory" || notok "A: signature in the staging directory"
# add-imagemaker signed the published set again itself (policy_signing_key is set)
if $have_addmaker; then
    grep -q "policy.json.sig: signed by $ADMIN" "$T/addmaker-imk.log" && ok "A: add-imagemaker signed the new key and scope" ||
        { notok "A: add-imagemaker signed the new key and scope"; sed 's/^/#   /' "$T/addmaker-imk.log"; }
    check "A: policy sign: nothing to do" pa policy sign
    check_out "nothing to change: .* already covers" "A: the signature covers the new key and scope"
else
    check "A: policy sign (the new key and scope)" pa policy sign
    check_out "signed by $ADMIN" "A: signed with the site's policy_signing_key"
fi

# ---------------------------------------------------------------- host B
pb() { on "$NSB" "$PODSEC" --root "$RB" "$@"; }
check "B: policy init --trust-key admin.pgp $IPA" pb policy init --trust-key "$T/admin.pgp" "$IPA"
check_out "is not one of this host's addresses: this is a client node" "B: detected as a client node"
check_out "created +file $KEYS/imk.pgp: key $IMK" "B: imk's key installed"
check_out "policy.json.sig: signature by $ADMIN" "B: the policy signature verified"
grep -q "^$IPA registry.local sigstore.local trivy.local$" "$RB/etc/hosts" && ok "B: hosts line names A" ||
    notok "B: hosts line"
unchanged_b() { local s; s=$(tree_hash "$RB"); check "$1" pb policy sync; check_out 'nothing to change' "$1: nothing to change"
                [ "$(tree_hash "$RB")" = "$s" ] && ok "$1: B unchanged" || notok "$1: B unchanged"; }
unchanged_b "B: policy sync right after init"

# skopeo on B with B's policy, key paths rewritten for --root
bpolicy() {
    jq --arg r "$RB" 'walk(if type == "object" and has("keyPath") then .keyPath = $r + .keyPath else . end)' \
        "$RB/etc/containers/policy.json" > "$T/b-policy.json"
}
pull() {
    bpolicy || return 1
    local out; out=$(mktemp -d "$T/pull.XXXXXX")
    on "$NSB" skopeo --policy "$T/b-policy.json" --registries.d "$RB/etc/containers/registries.d" \
        copy --src-tls-verify=false "docker://registry.local/$1" "dir:$out"
}
check "B: pulls the signed registry.local/team1/hello:1.0" pull team1/hello:1.0
check_rc 1 "B: refuses the unsigned registry.local/team1/unsigned:1.0" pull team1/unsigned:1.0
check_out 'A signature was required, but no signature exists' "B: unsigned: no signature"
check_rc 1 "B: refuses registry.local/other/hello:1.0 (no scope: default reject)" pull other/hello:1.0
check_out 'rejected' "B: other scope: rejected by the policy"

# ---------------------------------------------------------------- a second image maker
DEV=$(add_maker dev registry.local/team2) && ok "A: image maker dev@registry.local/team2 ($DEV)" || notok "A: image maker dev"
check "A: push and sign registry.local/team2/app:2.0 (dev)" push dev team2/app:2.0
chmod -R a+rX "$RA/var/sigstore"
check_rc 1 "B: refuses dev's image before sync" pull team2/app:2.0
refused_b() {   # RC PATTERN DESC
    local s; s=$(tree_hash "$RB")
    check_rc "$1" "$3: exit $1" pb policy sync
    check_out "$2" "$3: says why"
    [ "$(tree_hash "$RB")" = "$s" ] && ok "$3: B unchanged" || notok "$3: B unchanged"
}
if $have_addmaker; then
    # published keys changed behind the signature (by hand, not by podsec): B refuses to update
    cp "$RA$KEYS/imk.pgp" "$RA$KEYS/stray.pgp"; chmod a+r "$RA$KEYS/stray.pgp"
    refused_b 1 'stray.pgp is not covered by the signature' "B: sync with a key file nobody signed"
    rm -f "$RA$KEYS/stray.pgp"
fi
check "A: policy sign (current or signed again)" pa policy sign
check "B: policy sync" pb policy sync
check_out "created +file $KEYS/dev.pgp: key $DEV" "B: dev's key installed"
check_out "changed +file /etc/containers/policy.json" "B: policy changed"
check "B: pulls dev's registry.local/team2/app:2.0 after sync" pull team2/app:2.0
check "B: still pulls imk's image" pull team1/hello:1.0
unchanged_b "B: sync again"

# ---------------------------------------------------------------- tampering on A
cp "$RA$KEYS/policy.json" "$T/policy.good"
sed -i '0,/registry.local\/team2/s//registry.local\/team3/' "$RA$KEYS/policy.json"
cmp -s "$RA$KEYS/policy.json" "$T/policy.good" && notok "tampering changed policy.json" || ok "A: policy.json tampered (team2 -> team3)"
refused_b 1 'policy.json differs from the signed version' "B: sync of the tampered policy"
check "B: dev's image still pulls (old policy kept)" pull team2/app:2.0
cp "$T/policy.good" "$RA$KEYS/policy.json"
# signature server down: exit 6, nothing changed
kill "$SVC_PID" 2>/dev/null; wait "$SVC_PID" 2>/dev/null
for _ in $(seq 1 50); do on "$NSB" curl -fsS -o /dev/null "http://sigstore.local:81/" 2>/dev/null || break; sleep 0.1; done
refused_b 6 'cannot get the keys and the policy from the signature server' "B: sync with A's services stopped"

finish

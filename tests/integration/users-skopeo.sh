#!/bin/bash
# The peers are the oracle for what user add-imagemaker sets up: an image
# maker signs with the key podsec generated in their own keyring, as
# themselves (skopeo copy --sign-by, their registries.d staging into
# SIGSTORE_DIR/sigstore), and skopeo under the system policy podsec wrote
# accepts the image with the signature served by nginx; an unsigned image,
# and an image signed by a maker outside their scope, are rejected; a
# second maker of the same scope (keyPaths) is accepted too.
#
# The --root rule: files podsec writes hold paths of the node
# (keyPath /var/sigstore/keys/USER.pgp, lookaside-staging
# file:///var/sigstore/sigstore/), not paths under the root tree.  skopeo
# runs on this host, so the test gives it copies with those paths rewritten
# to $R/var/sigstore/...; that rewriting is exactly what a chroot into $R
# would do.
. "$(dirname "$0")/lib.sh"
need jq gpg skopeo docker-registry nginx setpriv useradd

[ "$(id -u)" = 0 ] || skip_all "needs root (useradd --prefix, running as the image makers)"

R=$T/root; mkroot "$R"
start_registry || { notok "docker-registry starts"; finish; }
mkdir -p "$R/var/sigstore"
start_nginx "$R/var/sigstore" || { notok "nginx starts"; finish; }
REG=127.0.0.1:$REG_PORT
mkdir -p "$R/etc/podsec"
printf 'registry=%s\nsigstore_url=http://127.0.0.1:%s/sigstore/\n' "$REG" "$NGINX_PORT" > "$R/etc/podsec/podsec.conf"
printf 'signing passphrase\n' > "$T/pp"; chmod 644 "$T/pp"   # the makers read it as themselves

check "policy init" "$PODSEC" --root "$R" policy init --registry-node 192.0.2.10
mk() { setsid -w "$PODSEC" --root "$R" user add-imagemaker --passphrase-file "$T/pp" --no-password "$@" < /dev/null; }
check "add-imagemaker alice (scope $REG)" mk alice
check "add-imagemaker bob@$REG/bob" mk "bob@$REG/bob"

uid_of() { awk -F: -v u="$1" '$1==u {print $3}' "$R/etc/passwd"; }
gid_of() { awk -F: -v g="$1" '$1==g {print $3}' "$R/etc/group"; }
fpr_of() { gpg --show-keys --with-colons "$R/var/sigstore/keys/$1.pgp" 2>/dev/null | awk -F: '/^fpr:/ {print $10; exit}'; }

# the maker's registries.d, with the staging path under the root
regd_of() {
    mkdir -p "$T/regd-$1"
    sed "s|file:///var/sigstore/|file://$R/var/sigstore/|" "$R/home/$1/.config/containers/registries.d/default.yaml" \
        > "$T/regd-$1/default.yaml"
    chmod -R a+rX "$T/regd-$1"
}
# as_maker USER CMD...: as the image maker (primary podman, supplementary podman_dev)
as_maker() {
    local u=$1; shift
    setpriv --reuid "$(uid_of "$u")" --regid "$(gid_of podman)" --groups "$(gid_of podman_dev)" \
        env -i PATH=/usr/bin:/bin HOME="$R/home/$u" GNUPGHOME="$R/home/$u/.gnupg" "$@"
}
# push_signed USER LAYOUT REPO:TAG
push_signed() {
    regd_of "$1"
    as_maker "$1" skopeo --policy "$R/home/$1/.config/containers/policy.json" --registries.d "$T/regd-$1" \
        copy --dest-tls-verify=false --sign-by "$(fpr_of "$1")" --sign-passphrase-file "$T/pp" \
        "oci:$2:img:1" "docker://$REG/$3"
    local rc=$?
    as_maker "$1" gpgconf --kill all
    return $rc
}

mk_oci "$T/oci1" img:1 one > /dev/null
mk_oci "$T/oci2" img:1 two > /dev/null
mk_oci "$T/oci3" img:1 three > /dev/null
mk_oci "$T/oci4" img:1 four > /dev/null
chmod -R a+rX "$T/oci1" "$T/oci2" "$T/oci3" "$T/oci4"

check "alice signs and pushes test/img:1 as herself" push_signed alice "$T/oci1" test/img:1
SIG=$(find "$R/var/sigstore/sigstore/test" -name signature-1 | head -1)
[ -n "$SIG" ] && ok "signature staged under SIGSTORE_DIR/sigstore: ${SIG#$R}" || notok "signature staged"
[ -n "$SIG" ] && [ "$(stat -c %u "$SIG")" = "$(uid_of alice)" ] && ok "the signature was written by alice" || notok "signature owner"

# the system policy as skopeo on this host must see it
sed "s|\"/var/sigstore/|\"$R/var/sigstore/|g" "$R/etc/containers/policy.json" > "$T/host-policy.json"
pull() { skopeo --policy "$T/host-policy.json" --registries.d "$R/etc/containers/registries.d" \
             copy --src-tls-verify=false "docker://$REG/$1" "dir:$T/pulled-$2"; }
check "skopeo accepts alice's signed image under the system policy" pull test/img:1 a
grep -Eq "GET /sigstore/+test/img@sha256=" "$T/nginx/logs/access.log" && ok "the signature came from nginx (lookaside)" || { notok "signature fetched through nginx"; sed "s/^/#   /" "$T/nginx/logs/access.log" | tail -5; }

skopeo --policy "$R/home/alice/.config/containers/policy.json" copy --dest-tls-verify=false \
    "oci:$T/oci2:img:1" "docker://$REG/test/unsigned:1" > /dev/null 2>&1
check_rc 1 "an unsigned image is rejected" pull test/unsigned:1 u
check_out "no signature exists|signature was required" "rejected for the missing signature"

# bob's key is trusted only for his own scope
check "bob signs and pushes bob/img:1" push_signed bob "$T/oci3" bob/img:1
check "bob's image in his scope is accepted" pull bob/img:1 b
# (a new repository path: c/image creates signature directories 0755 as the
# signer, so one maker cannot add signatures under another maker's
# directories, weakness W4 of the signature store)
check "bob signs and pushes bobs/img:1 (in alice's scope, not his)" push_signed bob "$T/oci4" bobs/img:1
[ -n "$(find "$R/var/sigstore/sigstore/bobs" -name signature-1)" ] && ok "bob's signature was stored" || notok "bob's signature was stored"
check_rc 1 "bob's signature in alice's scope is rejected" pull bobs/img:1 bx
check_out "[Ss]ignature|GPG" "rejected for the signature"

# carol joins alice's scope: keyPaths, either maker's signature is accepted
check "add-imagemaker carol@$REG (alice's scope)" mk "carol@$REG"
sed "s|\"/var/sigstore/|\"$R/var/sigstore/|g" "$R/etc/containers/policy.json" > "$T/host-policy.json"
jq -e --arg s "$REG" '.transports.docker[$s][0].keyPaths | length == 2' "$T/host-policy.json" >/dev/null \
    && ok "the scope has two key files" || notok "keyPaths: $(jq -c .transports "$T/host-policy.json")"
mk_oci "$T/oci5" img:1 five > /dev/null; chmod -R a+rX "$T/oci5"
check "carol signs and pushes shared/carol:1" push_signed carol "$T/oci5" shared/carol:1
check "carol's image is accepted" pull shared/carol:1 c
check "alice's image is still accepted" pull test/img:1 a2

# a client node that copied the distributed policy sees the same
cmp -s "$R/etc/containers/policy.json" "$R/var/sigstore/keys/policy.json" && ok "keys/policy.json is the system policy" || notok "keys/policy.json"
curl -fsS "http://127.0.0.1:$NGINX_PORT/keys/policy.json" -o "$T/client-policy.json" && \
    cmp -s "$T/client-policy.json" "$R/etc/containers/policy.json" && ok "nginx serves the distributed policy" || notok "nginx serves keys/policy.json"
curl -fsS "http://127.0.0.1:$NGINX_PORT/keys/alice.pgp" | gpg --show-keys --with-colons 2>/dev/null | grep -q "^fpr:::::::::$(fpr_of alice):" \
    && ok "nginx serves alice's key" || notok "nginx serves alice's key"
finish

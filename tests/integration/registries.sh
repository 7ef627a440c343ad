#!/bin/bash
# registries.d cross-check against skopeo: where `skopeo copy --sign-by`
# writes signatures (lookaside-staging, file://) must be the path podsec
# computes (ps-sigurl --write), and skopeo must find a signature placed at
# podsec's read path (ps-sigurl) when it verifies under a signedBy policy.
# References cover host:port, nested namespaces, the old sigstore names, a
# section without staging, default-docker, and a wildcard scope.
. "$(dirname "$0")/lib.sh"
need skopeo docker-registry gpg jq
SIGURL=$PODSEC_BUILD/tests/tools/ps-sigurl
[ -x "$SIGURL" ] || skip_all "ps-sigurl not built"

start_registry || { notok "registry started"; finish; }
P=$REG_PORT
export GNUPGHOME=$T/gnupg
FPR=$(gpg_key 'Registries Test <regd@example.test>' ed25519) || { notok "gpg key"; finish; }
gpg --batch --export "$FPR" > "$T/key.gpg"
mk_oci "$T/oci" img:1 >/dev/null

# two registries.d directories; A is split over two files (merge)
mkdir -p "$T/regd-a" "$T/regd-w"
cat > "$T/regd-a/10-hosts.yaml" <<EOC
docker:
  127.0.0.1:$P:
    lookaside: file://$T/read-host
    lookaside-staging: file://$T/sig-host
  127.0.0.1:$P/team/nested:
    sigstore: file://$T/read-nested
    sigstore-staging: file://$T/sig-nested/
  127.0.0.1:$P/same:
    lookaside: file://$T/sig-same
EOC
cat > "$T/regd-a/20-default.yaml" <<EOC
default-docker:
  lookaside: file://$T/read-default
  lookaside-staging: file://$T/sig-default
EOC
cat > "$T/regd-w/w.yaml" <<EOC
docker:
  '*.0.0.1':
    lookaside: file://$T/read-wild
    lookaside-staging: file://$T/sig-wild
EOC

cat > "$T/accept.json" <<'EOC'
{"default":[{"type":"insecureAcceptAnything"}]}
EOC
cat > "$T/signed.json" <<EOC
{"default":[{"type":"reject"}],
 "transports":{"docker":{
   "127.0.0.1:$P":[{"type":"signedBy","keyType":"GPGKeys","keyPath":"$T/key.gpg"}],
   "localhost:$P":[{"type":"signedBy","keyType":"GPGKeys","keyPath":"$T/key.gpg"}]}}}
EOC

# REF REGD: push signed with skopeo, then compare
cases=(
  "127.0.0.1:$P/app:1 regd-a"
  "127.0.0.1:$P/team/nested/img:2 regd-a"
  "127.0.0.1:$P/team/other/deep/img:1 regd-a"
  "127.0.0.1:$P/same/x:1 regd-a"
  "localhost:$P/lh/app:1 regd-a"
  "127.0.0.1:$P/w/app:1 regd-w"
)
declare -A want
for c in "${cases[@]}"; do
    set -- $c; ref=$1; regd=$T/$2
    before=$(find "$T" -path "$T/registry" -prune -o -name 'signature-*' -print | sort)
    check "skopeo copy --sign-by to $ref ($2)" skopeo --policy "$T/accept.json" --registries.d "$regd" \
        copy --dest-tls-verify=false --sign-by "$FPR" "oci:$T/oci:img:1" "docker://$ref"
    after=$(find "$T" -path "$T/registry" -prune -o -name 'signature-*' -print | sort)
    new=$(comm -13 <(echo "$before") <(echo "$after"))
    dig=$(skopeo inspect --tls-verify=false --registries.d "$regd" "docker://$ref" | jq -r .Digest)
    mine=$("$SIGURL" --write --file-path "$regd" "$ref" "$dig" 1 2>&1)
    if [ -n "$new" ] && [ "$new" = "$mine" ]; then ok "staging path of $ref = $mine"
    else notok "staging path of $ref: skopeo wrote [${new//$'\n'/ }], podsec computes [$mine]"; fi
    want[$ref]=$dig
done

# the URLs themselves (not only paths): a file:// URL with the repository path, no host
u=$("$SIGURL" --write "$T/regd-a" "127.0.0.1:$P/team/nested/img:2" "${want[127.0.0.1:$P/team/nested/img:2]}")
d=${want[127.0.0.1:$P/team/nested/img:2]#sha256:}
check_rc 0 "old sigstore-staging name, trailing slash dropped" test "$u" = "file://$T/sig-nested/team/nested/img@sha256=$d/signature-1"

# read side: put each signature only where podsec says it is read, then
# skopeo must verify the image under the signedBy policy
for c in "${cases[@]}"; do
    set -- $c; ref=$1; regd=$T/$2; dig=${want[$ref]}
    src=$("$SIGURL" --write --file-path "$regd" "$ref" "$dig" 1)
    dst=$("$SIGURL" --file-path "$regd" "$ref" "$dig" 1)
    if [ "$src" != "$dst" ]; then mkdir -p "$(dirname "$dst")"; mv "$src" "$dst"; fi
    out=$T/pulled-$(echo "$ref" | tr -c 'a-z0-9\n' '_')
    check "skopeo verifies $ref with the signature at podsec's read path" skopeo --policy "$T/signed.json" \
        --registries.d "$regd" copy --src-tls-verify=false "docker://$ref" "dir:$out"
done

# the control: without the signature at the read path the same pull is rejected
ref=127.0.0.1:$P/app:1
dst=$("$SIGURL" --file-path "$T/regd-a" "$ref" "${want[$ref]}" 1)
mv "$dst" "$T/moved-away"
check_rc 1 "control: signature removed, skopeo rejects $ref" skopeo --policy "$T/signed.json" \
    --registries.d "$T/regd-a" copy --src-tls-verify=false "docker://$ref" "dir:$T/pulled-control"
check_out 'signature' "control: rejected for the missing signature"

# a registries.d conflict is refused by both
cp "$T/regd-a/20-default.yaml" "$T/regd-a/30-again.yaml"
check_rc 1 "ps-sigurl refuses default-docker in two files" "$SIGURL" "$T/regd-a" "$ref" "${want[$ref]}"
check_out '"default-docker" defined both in ".*/20-default.yaml" and ".*/30-again.yaml"' "the message names both files"
check_rc 1 "skopeo refuses it too" skopeo --policy "$T/accept.json" --registries.d "$T/regd-a" \
    copy --dest-tls-verify=false --sign-by "$FPR" "oci:$T/oci:img:1" "docker://$ref"
check_out 'default-docker' "skopeo names default-docker"
finish

#!/bin/bash
# podsec image load-sign (= podsec-load-sign-oci) against a real
# docker-registry, nginx serving the signatures, real GnuPG keys, and
# skopeo/podman as the judges of what it pushed and signed.
. "$(dirname "$0")/lib.sh"
need docker-registry nginx gpg skopeo jq python3 xz curl setpriv
[ "$(id -u)" = 0 ] || skip_all "needs root (podman pull as root, setpriv)"

FX=$PODSEC_SRC/tests/fixtures/loadsign
start_registry || { notok "registry starts"; finish; }
REG=127.0.0.1:$REG_PORT
mkdir -p "$T/www/sigstore" "$T/keys" "$T/home/.config/containers/registries.d"
start_nginx "$T/www" || { notok "nginx starts"; finish; }
LOOK=http://127.0.0.1:$NGINX_PORT/sigstore

export GNUPGHOME=$T/gnupg
FPR1=$(gpg_key 'Signer <signer@example.test>' ed25519)
FPR2=$(gpg_key 'Second Signer <second@example.test>' rsa2048)
gpg_key 'Wrong <wrong@example.test>' ed25519 >/dev/null
for k in signer second wrong; do gpg --export "$k@example.test" > "$T/keys/$k.pgp"; done
[ -n "$FPR1" ] && [ -n "$FPR2" ] && ok "gpg keys (ed25519 and rsa2048)" || notok "gpg keys"

# the image maker's registries.d: lookaside for readers, staging for writing
cat > "$T/home/.config/containers/registries.d/default.yaml" <<EOF
docker:
  $REG:
    lookaside: $LOOK
    lookaside-staging: file://$T/www/sigstore
EOF
REGD=$T/home/.config/containers/registries.d
policy() { # policy KEY... : signedBy any of the keys for $REG
    local paths; paths=$(printf '"%s",' "${@/#/$T/keys/}"); paths=${paths%,}
    printf '{"default":[{"type":"reject"}],"transports":{"docker":{"%s":[{"type":"signedBy","keyType":"GPGKeys","keyPaths":[%s]}]},"dir":{"":[{"type":"insecureAcceptAnything"}]}}}\n' \
        "$REG" "$paths"
}
policy signer.pgp > "$T/pol-signer.json"
policy second.pgp > "$T/pol-second.json"
policy wrong.pgp > "$T/pol-wrong.json"
printf 'registry=%s\nsigstore_dir=%s/var-sigstore\n' "$REG" "$T" > "$T/podsec.conf"
ls_run() { HOME=$T/home U7S_PLATFORM=c10f "$PODSEC" --config "$T/podsec.conf" "$@"; }
jrun() { local out=$1; shift; ls_run "$@" > "$out"; }
catalog() { curl -fsS "http://$REG/v2/_catalog" | jq -c '.repositories'; }
sigs() { (cd "$T/www/sigstore" && find . -type f | LC_ALL=C sort); }

# ---- the fixture: 4 images, 5 references (one multi-arch index, a multi-layer one, two tags on one digest)
python3 "$FX/mk-archive.py" --big-mb 5 "$T/fx.tar" > "$T/fx.refs" && xz -1 -T1 -k "$T/fx.tar" &&
    ok "fixture archive ($(wc -l < "$T/fx.refs") references)" || notok "fixture archive"
DIGEST_PAUSE=$(awk '$1=="c10f/pause:3.9"{print $2}' "$T/fx.refs")
DIGEST_BASE=$(awk '$1=="alt/base:p10"{print $2}' "$T/fx.refs")

check "load-sign (signer ed25519, progress forced)" ls_run image load-sign --progress "$T/fx.tar.xz" amd64 signer@example.test
check_out "goes to $REG/c10f/multi:1" "plan shows the destination"
check_out "goes to $REG/k8s-c10f2/multi:1" "legacy alias for a c10f image"
check_out "\[100%\]" "progress line"
[ "$(catalog)" = "[\"alt/base\",\"c10f/multi\",\"c10f/pause\",\"k8s-c10f2/multi\",\"k8s-c10f2/pause\"]" ] &&
    ok "catalog: the images and their aliases, no staging repository" || notok "catalog: $(catalog)"
# D17: no alias for an image outside the prefix
[ -z "$(curl -fsS "http://$REG/v2/_catalog" | jq -r '.repositories[]' | grep -E 'k8s-c10f2/(base|lt)')" ] &&
    ok "no alias for alt/base (outside the c10f/ prefix)" || notok "alias for alt/base"
[ -s "$T/www/sigstore/c10f/pause@sha256=${DIGEST_PAUSE#sha256:}/signature-1" ] &&
    [ -s "$T/www/sigstore/c10f/pause@sha256=${DIGEST_PAUSE#sha256:}/signature-2" ] &&
    [ ! -e "$T/www/sigstore/c10f/pause@sha256=${DIGEST_PAUSE#sha256:}/signature-3" ] &&
    ok "two tags on one digest: signature-1 and signature-2" || { notok "two tags on one digest"; sigs | sed 's/^/#   /'; }
# the index and each per-arch manifest are signed
n=$(ls "$T/www/sigstore/alt/" | wc -l)
[ "$n" = 3 ] && ok "multi-arch: index and both per-arch manifests signed" || notok "multi-arch signatures: $n dirs"
[ ! -d "$T/var-sigstore" ] && ok "registries.d staging used, not the fallback" || notok "fallback store used"

# ---- the judges: skopeo under signedBy, via nginx
verify() { # verify POLICY REF [extra skopeo args]
    local pol=$1 ref=$2; shift 2; rm -rf "$T/out"
    skopeo --policy "$pol" --registries.d "$REGD" copy --src-tls-verify=false "$@" "docker://$ref" "dir:$T/out"
}
for r in c10f/multi:1 c10f/pause:3.9 c10f/pause:latest alt/base:p10 k8s-c10f2/multi:1 k8s-c10f2/pause:latest; do
    check "skopeo accepts $r (signer's key)" verify "$T/pol-signer.json" "$REG/$r"
    check_rc 1 "skopeo refuses $r (another key)" verify "$T/pol-wrong.json" "$REG/$r"
done
check "skopeo accepts alt/base:p10 --all" verify "$T/pol-signer.json" "$REG/alt/base:p10" --all
arm=$(skopeo inspect --raw --tls-verify=false "docker://$REG/alt/base:p10" | jq -r '.manifests[] | select(.platform.architecture=="arm64") | .digest')
check "skopeo accepts the arm64 instance by digest" verify "$T/pol-signer.json" "$REG/alt/base@$arm"
# blobs unchanged: the registry serves the archive's digests
[ "$(skopeo inspect --raw --tls-verify=false "docker://$REG/c10f/pause:3.9" | sha256sum | cut -d' ' -f1)" = "${DIGEST_PAUSE#sha256:}" ] &&
    ok "manifest bytes in the registry are the archive's" || notok "manifest bytes differ"
grep -q 'GET /sigstore/.*/signature-1 HTTP[^"]*" 200' "$T/nginx/logs/access.log" &&
    ok "skopeo fetched signatures from nginx" || notok "no signature fetched through nginx"

# ---- root podman pull with the policy
if command -v podman >/dev/null; then
    pp() { HOME=$T/home podman --root "$T/storage" --runroot "$T/run" --storage-driver vfs --cgroup-manager=cgroupfs \
              --events-backend=file pull --tls-verify=false --signature-policy "$1" "$2"; }
    check "podman pull c10f/multi:1 (signedBy)" pp "$T/pol-signer.json" "$REG/c10f/multi:1"
    check "podman pull alt/base:p10 (signedBy, index)" pp "$T/pol-signer.json" "$REG/alt/base:p10"
    check_rc 125 "podman pull refused with another key" pp "$T/pol-wrong.json" "$REG/c10f/pause:3.9"
    HOME=$T/home podman --root "$T/storage" --runroot "$T/run" --storage-driver vfs rmi -a -f >/dev/null 2>&1
else
    ok "# SKIP podman not installed"
fi

# ---- re-run: nothing new written; second signer: next free signature-N, nothing overwritten
before=$(cd "$T/www/sigstore" && find . -type f -exec sha256sum {} + | LC_ALL=C sort)
check "re-run with the same key (--json)" jrun "$T/rerun.json" image load-sign --json "$T/fx.tar.xz" amd64 signer@example.test
jq -e '.status=="ok" and .signatures.written==0 and .signatures.existing==9 and (.images|length)==4' "$T/rerun.json" >/dev/null &&
    ok "re-run: every signature recognised, none written again" || notok "re-run JSON: $(jq -c '.signatures' "$T/rerun.json" 2>&1)"
after=$(cd "$T/www/sigstore" && find . -type f -exec sha256sum {} + | LC_ALL=C sort)
[ "$before" = "$after" ] && ok "re-run: signature store unchanged" || notok "re-run changed the store"
check "second signer (rsa2048)" ls_run image load-sign "$T/fx.tar.xz" amd64 second@example.test
after=$(cd "$T/www/sigstore" && find . -type f -exec sha256sum {} + | LC_ALL=C sort)
[ -z "$(comm -23 <(echo "$before") <(echo "$after"))" ] && ok "second signer: no signature overwritten" ||
    notok "second signer overwrote: $(comm -23 <(echo "$before") <(echo "$after"))"
[ -s "$T/www/sigstore/c10f/pause@sha256=${DIGEST_PAUSE#sha256:}/signature-4" ] &&
    [ -s "$T/www/sigstore/c10f/multi@sha256=$(awk '$1=="c10f/multi:1"{print substr($2,8)}' "$T/fx.refs")/signature-2" ] &&
    ok "second signer: signature-2 (and -3/-4 for two tags)" || { notok "second signer's files"; sigs | sed 's/^/#   /'; }
check "skopeo accepts with only the second key" verify "$T/pol-second.json" "$REG/c10f/pause:latest"

# ---- an archive in directory order (layers before index.json): spooled, 4th argument
python3 "$FX/mk-archive.py" --order dir --big-mb 5 --seed 7 "$T/dir.tar" > "$T/dir.refs" && xz -1 -T1 -k "$T/dir.tar"
check "directory-order archive to $REG/team (4 arguments)" jrun "$T/dir.json" --json image load-sign "$T/dir.tar.xz" amd64 signer@example.test "$REG/team"
jq -e '.blobs.spooled >= 2 and .blobs.streamed == 0' "$T/dir.json" >/dev/null && ok "layers before index.json were spooled" ||
    notok "spool counters: $(jq -c .blobs "$T/dir.json")"
jq -e '.blobs.streamed >= 2' "$T/rerun.json" >/dev/null && ok "podsec-order archive: layers streamed while reading" ||
    notok "stream counters: $(jq -c .blobs "$T/rerun.json")"
check "skopeo accepts team/multi:1" verify "$T/pol-signer.json" "$REG/team/multi:1"
check "skopeo accepts alt/base:p10 (outside the prefix: same registry, own path)" verify "$T/pol-signer.json" "$REG/alt/base:p10"
curl -fsS "http://$REG/v2/_catalog" | jq -e '.repositories | index("k8s-c10f2/extra1") == null' >/dev/null && ok "catalog sane" || notok "catalog"

# ---- root without a staging store: file://SIGSTORE_DIR/sigstore/
mkdir -p "$T/home2"
check "root without registries.d: fallback store" env HOME=$T/home2 U7S_PLATFORM=c10f "$PODSEC" --config "$T/podsec.conf" \
    image load-sign "$T/fx.tar.xz" amd64 signer@example.test
[ -s "$T/var-sigstore/sigstore/c10f/pause@sha256=${DIGEST_PAUSE#sha256:}/signature-1" ] && ok "signature in SIGSTORE_DIR/sigstore" ||
    notok "no signature in $T/var-sigstore"

# ---- a key with a passphrase, unattended (--passphrase-file): wrong one first (gpg-agent caches a right one)
export GNUPGHOME=$T/gnupg-pass; mkdir -m 700 -p "$GNUPGHOME"
gpg --batch --pinentry-mode loopback --passphrase 'correct horse' --quick-gen-key 'Pass <pass@example.test>' ed25519 sign never 2>/dev/null
gpg --export pass@example.test > "$T/keys/pass.pgp"; policy pass.pgp > "$T/pol-pass.json"
printf 'wrong\n' > "$T/pass-wrong"; printf 'correct horse\n' > "$T/pass-right"
S1=$(sigs; catalog)
check_rc 10 "wrong passphrase: exit 10" ls_run image load-sign --passphrase-file "$T/pass-wrong" "$T/fx.tar.xz" amd64 pass@example.test "$REG/pass"
check_out "wrong passphrase" "wrong passphrase: message"
[ "$(sigs; catalog)" = "$S1" ] && ok "wrong passphrase: nothing pushed or signed" || notok "wrong passphrase changed something"
check "right passphrase from a file" ls_run image load-sign --passphrase-file "$T/pass-right" "$T/fx.tar.xz" amd64 pass@example.test "$REG/pass"
check "skopeo accepts pass/multi:1 with the passphrase key" verify "$T/pol-pass.json" "$REG/pass/multi:1"
gpgconf --kill all
export GNUPGHOME=$T/gnupg

# ---- dry run: reads, checks and plans; pushes nothing
check "--dry-run" ls_run --dry-run image load-sign "$T/dir.tar.xz" amd64 signer@example.test 127.0.0.1:1/nothing
check_out "would go to 127.0.0.1:1/nothing/multi:1" "dry run shows the plan"

# ---- hostile archives: clear error, non-zero exit, nothing pushed, nothing signed
# a second, empty registry (start_registry keeps one in REG_PORT)
P2=$(free_port); mkdir -p "$T/reg2/data"
sed -e "s#$T/registry/data#$T/reg2/data#" -e "s#127.0.0.1:$REG_PORT#127.0.0.1:$P2#" "$T/registry/config.yml" > "$T/reg2/config.yml"
docker-registry serve "$T/reg2/config.yml" > "$T/reg2/log" 2>&1 & _pids+=($!)
wait_http "http://127.0.0.1:$P2/v2/" 15
printf 'registry=127.0.0.1:%s\nsigstore_dir=%s/var-sig2\n' "$P2" "$T" > "$T/p2.conf"
mkdir -p "$T/home3/.config/containers/registries.d" "$T/sig3"
printf 'default-docker:\n  lookaside-staging: file://%s/sig3\n' "$T" > "$T/home3/.config/containers/registries.d/default.yaml"
python3 "$FX/mk-hostile.py" "$T/fx.tar" "$T/hostile" > /dev/null
head -c $(( $(stat -c %s "$T/fx.tar.xz") / 2 )) "$T/fx.tar.xz" > "$T/hostile/truncated.tar.xz"
declare -A want=(
    [traversal]="escapes the archive" [absolute]="absolute paths are not allowed"
    [symlink]="symbolic links are not allowed" [hardlink]="hard links are not allowed"
    [mismatch]="does not match its name" [missing]="which is not in the archive"
    [deep]="nesting is deeper" [bigjson]="larger than 4 MiB" [bigindex]="too large"
    [noname]="has no org.opencontainers.image.ref.name" [truncated]="truncated xz stream"
)
for c in traversal absolute symlink hardlink mismatch missing deep bigjson bigindex noname truncated; do
    f=$T/hostile/$c.tar; [ -e "$f" ] || f=$T/hostile/$c.tar.xz
    check_rc 6 "hostile $c: exit 6" env HOME=$T/home3 U7S_PLATFORM=c10f "$PODSEC" --config "$T/p2.conf" \
        image load-sign "$f" amd64 signer@example.test
    check_out "${want[$c]}" "hostile $c: says why"
done
[ "$(curl -fsS "http://127.0.0.1:$P2/v2/_catalog" | jq -c .repositories)" = "[]" ] &&
    ok "hostile archives: registry catalog empty" || notok "catalog: $(curl -fsS "http://127.0.0.1:$P2/v2/_catalog")"
[ -z "$(find "$T/sig3" "$T/var-sig2" -type f 2>/dev/null)" ] && ok "hostile archives: no signature written" ||
    notok "signatures written: $(find "$T/sig3" -type f)"
ls /etc/podsec-evil >/dev/null 2>&1 && notok "traversal wrote /etc/podsec-evil" || ok "traversal wrote nothing outside"

# ---- the original's check table (spec core §5.5), nothing changed
S0=$(sigs; catalog)
ec() { # ec RC DESC PATTERN ARGS...
    local rc=$1 d=$2 pat=$3; shift 3
    check_rc "$rc" "exit $rc: $d" ls_run image load-sign "$@"
    check_out "$pat" "exit $rc: $d: message"
}
ec 1 "no arguments" "expected 3 or 4 arguments"
ec 1 "two arguments" "expected 3 or 4 arguments" "$T/fx.tar.xz" amd64
ec 1 "five arguments" "expected 3 or 4 arguments" "$T/fx.tar.xz" amd64 signer@example.test "$REG/c10f" x
ec 1 "4th argument without a path" "a path is needed after the registry name" "$T/fx.tar.xz" amd64 signer@example.test registry.local
ec 1 "archive missing" "No such file" "$T/nope.tar.xz" amd64 signer@example.test
ec 1 "archive is a directory" "not a regular file" "$T" amd64 signer@example.test
ec 3 "unknown architecture" "unknown architecture" "$T/fx.tar.xz" x86_64 signer@example.test
ec 4 "empty registry name" "no registry name" "$T/fx.tar.xz" amd64 signer@example.test /c10f
ec 5 "registry name without a dot" "must contain a dot" "$T/fx.tar.xz" amd64 signer@example.test registry/c10f
printf 'registry=registry\n' > "$T/nodot.conf"
check_rc 5 "exit 5: site registry without a dot" env HOME=$T/home U7S_PLATFORM=c10f "$PODSEC" --config "$T/nodot.conf" \
    image load-sign "$T/fx.tar.xz" amd64 signer@example.test
ec 7 "no ARCH directory (archive of another architecture)" "outside the arm64/ directory" "$T/fx.tar.xz" arm64 signer@example.test
python3 - "$T/fx.tar" "$T/noindex.tar" <<'EOF'
import sys, tarfile
with tarfile.open(sys.argv[1]) as i, tarfile.open(sys.argv[2], "w") as o:
    for m in i.getmembers():
        if not m.name.endswith("/index.json"):
            o.addfile(m, i.extractfile(m) if m.isfile() else None)
EOF
ec 8 "no index.json" "has no amd64/index.json" "$T/noindex.tar" amd64 signer@example.test
ec 10 "unknown signer" "signer@nowhere" "$T/fx.tar.xz" amd64 signer@nowhere.test
check_rc 1 "exit 1: platform not confirmed" env HOME=$T/home U7S_PLATFORM=p10 "$PODSEC" --config "$T/podsec.conf" \
    image load-sign "$T/fx.tar.xz" amd64 signer@example.test </dev/null
check_out "does not match the archive's platform c10f" "platform mismatch: message"
check_rc 1 "exit 1: platform answered 'n'" sh -c "echo n | HOME=$T/home U7S_PLATFORM=p10 '$PODSEC' --config '$T/podsec.conf' image load-sign '$T/fx.tar.xz' amd64 signer@example.test"
python3 "$FX/mk-archive.py" --platform k8s-c10f1 --big-mb 0.01 "$T/k8s.tar" >/dev/null
check_rc 1 "exit 1: k8s- platform refused" env HOME=$T/home U7S_PLATFORM=c10f "$PODSEC" --config "$T/podsec.conf" \
    image load-sign -y "$T/k8s.tar" amd64 signer@example.test
check_out "no longer supported" "k8s- platform: message"
[ "$(sigs; catalog)" = "$S0" ] && ok "bad arguments changed nothing" || notok "bad arguments changed something"

# ---- the original name
ln -sf "$PODSEC" "$T/podsec-load-sign-oci"
check_rc 1 "podsec-load-sign-oci with 2 arguments: exit 1" env HOME=$T/home "$T/podsec-load-sign-oci" a b

# ---- who may run it: root, or members of podman_dev by gid (D22)
chmod 755 "$T"; chmod 644 "$T/fx.tar.xz"
check_rc 1 "uid 65534 outside podman_dev: exit 1" setpriv --reuid 65534 --regid 65534 --clear-groups \
    env HOME=/nonexistent U7S_PLATFORM=c10f "$PODSEC" --config "$T/podsec.conf" image load-sign "$T/fx.tar.xz" amd64 signer@example.test
check_out "not in the group podman_dev|no group podman_dev" "not an image maker: message"
R=$T/root; mkroot "$R"
printf 'podman_devx:x:4242:nobody\npodman_dev:x:4243:\n' >> "$R/etc/group"
cp "$T/podsec.conf" "$R/podsec.conf"
check_rc 1 "member of podman_devx only (substring): exit 1" setpriv --reuid 65534 --regid 65534 --groups 4242 \
    env HOME=/nonexistent "$PODSEC" --root "$R" --config "$R/podsec.conf" --dry-run image load-sign "$T/fx.tar.xz" amd64 signer@example.test
check_out "not in the group podman_dev" "podman_devx does not count"
check "member of podman_dev (by gid): allowed (dry run)" setpriv --reuid 65534 --regid 65534 --groups 4243 \
    env HOME=/nonexistent "$PODSEC" --root "$R" --config "$R/podsec.conf" --dry-run image load-sign "$T/fx.tar.xz" amd64 signer@example.test

finish

#!/bin/bash
# podsec image save (= podsec-save-oci, podsec-k8s-save-oci) against a real
# docker-registry on loopback: images pushed with skopeo and curl (gzip,
# zstd and uncompressed layers, Docker schema 2, multi-arch indexes), saved
# by podsec, then checked with xz, tar, jq, sha256sum, skopeo and podsec's
# own archive reader; bad input and registry faults leave nothing behind.
. "$(dirname "$0")/lib.sh"
need docker-registry skopeo jq xz curl python3 zstd sha256sum
MK="python3 $PODSEC_SRC/tests/integration/mk-image.py"
PSOCI=$PODSEC_BUILD/tests/tools/ps-oci
start_registry || skip_all "docker-registry did not start"
R=127.0.0.1:$REG_PORT
API=http://$R/v2
L=$T/layout

# ---- pushing fixtures -------------------------------------------------------

# push_blob REPO FILE DIGEST: monolithic upload unless the registry has it
push_blob() {
    local repo=$1 f=$2 d=$3 loc
    curl -fsS -o /dev/null -I "$API/$repo/blobs/$d" 2>/dev/null && return 0
    loc=$(curl -fsS -X POST -D - -o /dev/null "$API/$repo/blobs/uploads/" | tr -d '\r' |
        awk -F': ' 'tolower($1)=="location"{print $2}')
    case $loc in http*) ;; *) loc="http://$R$loc" ;; esac
    case $loc in *\?*) loc="$loc&digest=$d" ;; *) loc="$loc?digest=$d" ;; esac
    curl -fsS -X PUT -H 'Content-Type: application/octet-stream' --data-binary "@$f" -o /dev/null "$loc"
}
# push_manifest LAYOUT DIGEST REPO REF: a manifest with its blobs, or an
# index with its manifests (by digest), byte for byte (skopeo would
# recompress uncompressed layers)
push_manifest() {
    local lay=$1 d=$2 repo=$3 ref=$4 f mt c
    f=$lay/blobs/sha256/${d#sha256:}
    mt=$(jq -r .mediaType "$f")
    if [ "$mt" = application/vnd.oci.image.index.v1+json ]; then
        for c in $(jq -r '.manifests[].digest' "$f"); do push_manifest "$lay" "$c" "$repo" "$c" || return 1; done
    else
        for c in $(jq -r '.config.digest, .layers[].digest' "$f"); do
            push_blob "$repo" "$lay/blobs/sha256/${c#sha256:}" "$c" || return 1
        done
    fi
    curl -fsS -X PUT -H "Content-Type: $mt" --data-binary "@$f" -o /dev/null "$API/$repo/manifests/$ref"
}
# push_ref REF REPO TAG: the layout entry REF as REPO:TAG
push_ref() {
    local d
    d=$(jq -r --arg r "$1" '.manifests[]|select(.annotations["org.opencontainers.image.ref.name"]==$r)|.digest' "$L/index.json")
    push_manifest "$L" "$d" "$2" "$3"
}
# blob_file DIGEST: the registry's storage file of a blob
blob_file() { local h=${1#sha256:}; echo "$T/registry/data/docker/registry/v2/blobs/sha256/${h:0:2}/$h/data"; }
# corrupt FILE: flip the first byte, size unchanged
corrupt() { printf '\x00' | dd of="$1" bs=1 count=1 conv=notrunc status=none; }
# remote_config REPO:TAG [ARCH]: the raw config bytes at the registry
remote_config() {
    skopeo ${2:+--override-arch $2} inspect --tls-verify=false --config --raw "docker://$R/$1"
}
sha() { sha256sum | cut -d' ' -f1; }

mkdir -p "$L"
$MK image "$L" simple:1 gzip:text:hello gzip:mixed:3000000 none:text:plain zstd:text:zstd-layer >/dev/null
push_ref simple:1 c10f/simple 1 || { echo "# push simple failed"; exit 1; }
$MK image "$L" dock:1 gzip:text:docker-one gzip:text:docker-two >/dev/null
skopeo copy -q --format v2s2 --dest-tls-verify=false "oci:$L:dock:1" "docker://$R/c10f/dock:1" >/dev/null 2>&1 ||
    { echo "# push dock failed"; exit 1; }
for a in amd64 arm64/v8 arm/v7 ppc64le 386; do
    arch=${a%/*} var=()
    [ "$a" != "$arch" ] && var=(--variant "${a#*/}")
    $MK image "$L" "m-$arch:1" --arch "$arch" "${var[@]}" gzip:text:"multi-$a" gzip:text:shared-base >/dev/null
done
$MK index "$L" multi:1 m-amd64:1 m-arm64:1 m-arm:1 m-ppc64le:1 m-386:1 >/dev/null
push_ref multi:1 c10f/multi 1 || { echo "# push multi failed"; exit 1; }
$MK image "$L" h-amd64:1 --arch amd64 gzip:text:half-amd >/dev/null
$MK image "$L" h-arm64:1 --arch arm64 gzip:text:half-arm >/dev/null
$MK index "$L" half:1 h-amd64:1 h-arm64:1 >/dev/null
push_ref half:1 c10f/half 1 || { echo "# push half failed"; exit 1; }
$MK image "$L" big:1 gzip:mixed:42000000 gzip:text:after-big >/dev/null
push_ref big:1 c10f/big 1 || { echo "# push big failed"; exit 1; }
$MK image "$L" baddiff:1 --bad-diffid 1 gzip:text:bad >/dev/null
push_ref baddiff:1 c10f/baddiff 1 || { echo "# push baddiff failed"; exit 1; }
$MK image "$L" corrupt:1 gzip:text:to-be-corrupted >/dev/null
push_ref corrupt:1 c10f/corrupt 1 || { echo "# push corrupt failed"; exit 1; }
corrupt "$(blob_file "$(jq -r '.layers[0].digest' "$L/blobs/sha256/$(jq -r '.manifests[]|select(.annotations["org.opencontainers.image.ref.name"]=="corrupt:1")|.digest' "$L/index.json" | cut -c8-)")")"
# the arm64 layer of half:1 corrupted: amd64 saves, arm64 fails
hm=$(jq -r '.manifests[]|select(.annotations["org.opencontainers.image.ref.name"]=="half:1")|.digest' "$L/index.json")
harm=$(jq -r '.manifests[]|select(.platform.architecture=="arm64")|.digest' "$L/blobs/sha256/${hm#sha256:}")
corrupt "$(blob_file "$(jq -r '.layers[0].digest' "$L/blobs/sha256/${harm#sha256:}")")"

# site settings: the registry under test is the site registry (plain http)
CONF=$T/podsec.conf
printf 'registry=%s\n' "$R" > "$CONF"

# ---- one architecture, several kinds of image -------------------------------

D1=$T/out1
check "save amd64: simple (gzip+uncompressed+zstd), Docker schema 2, multi-arch, 40 MB layer" \
    "$PODSEC" --json image save --tls-verify=false "$D1" amd64 "docker://$R" c10f/simple:1 c10f/dock:1 c10f/multi:1 c10f/big:1
cp "$T/.out" "$T/save1.json"
A=$D1/amd64.tar.xz
check "only amd64.tar.xz is left in DIR (no layout, no temporary files)" test "$(ls -A "$D1")" = amd64.tar.xz
check "the --json summary names the archive's sha256 and 4 images" \
    test "$(jq -r '.archives[0].sha256' "$T/save1.json" 2>/dev/null)" = "sha256:$(sha < "$A")" -a \
         "$(jq '.archives[0].images|length' "$T/save1.json" 2>/dev/null)" = 4
blocks=$(xz -lvv "$A" | awk '/^ *Blocks:/ {print $2; exit}')
check "xz -lvv: the archive has several blocks ($blocks), so it decompresses in parallel" test "${blocks:-0}" -ge 2
check "xz -t -T2 accepts it" xz -t -T2 "$A"
tar -tJf "$A" > "$T/list1"
check "tar order: ARCH/, oci-layout, index.json, blobs/, blobs/sha256/ first" \
    test "$(head -5 "$T/list1" | tr '\n' ' ')" = "amd64/ amd64/oci-layout amd64/index.json amd64/blobs/ amd64/blobs/sha256/ "
X=$T/x1; mkdir -p "$X"; tar -C "$X" -xJf "$A"
IDX=$X/amd64/index.json
mans=$(jq -r '.manifests[].digest' "$IDX" | cut -c8-)
cfgs=$(for m in $mans; do jq -r .config.digest "$X/amd64/blobs/sha256/$m" | cut -c8-; done | awk '!s[$0]++')
lays=$(for m in $mans; do jq -r '.layers[].digest' "$X/amd64/blobs/sha256/$m" | cut -c8-; done | awk '!s[$0]++')
want=$(printf '%s\n' $mans $cfgs $lays | sed 's|^|amd64/blobs/sha256/|')
check "tar order: manifests, then configs, then layers" test "$(tail -n +6 "$T/list1")" = "$want"
check "podsec's archive reader sees index.json before any blob" test "$("$PSOCI" walk "$A" amd64 | head -1)" = "index 4"
check "podsec's archive reader accepts the archive (both passes, every size and digest)" "$PSOCI" list "$A" amd64
check "index.json names the images as given, without the registry" \
    test "$(jq -r '[.manifests[].annotations["org.opencontainers.image.ref.name"]]|join(" ")' "$IDX")" = \
         "c10f/simple:1 c10f/dock:1 c10f/multi:1 c10f/big:1"
check "index.json entries carry the platform" \
    test "$(jq -r '[.manifests[].platform|.os+"/"+.architecture]|unique|join(" ")' "$IDX")" = "linux/amd64"
for img in simple dock multi big; do
    m=$(jq -r --arg r "c10f/$img:1" '.manifests[]|select(.annotations["org.opencontainers.image.ref.name"]==$r)|.digest' "$IDX")
    M=$X/amd64/blobs/sha256/${m#sha256:}
    c=$(jq -r .config.digest "$M")
    orig=$(remote_config "c10f/$img:1" amd64 | sha)
    check "$img: config bytes unchanged (sha256 equals the registry's config)" test "${c#sha256:}" = "$orig"
    check "$img: skopeo reads the extracted layout, same config" \
        test "$(skopeo inspect --config --raw "oci:$X/amd64:c10f/$img:1" | sha)" = "$orig"
    check "$img: the manifest is OCI with uncompressed layers" \
        test "$(jq -r '[.mediaType, .config.mediaType, (.layers[].mediaType)]|unique|join(" ")' "$M")" = \
             "application/vnd.oci.image.config.v1+json application/vnd.oci.image.layer.v1.tar application/vnd.oci.image.manifest.v1+json"
    ok_l=1
    n=$(jq '.layers|length' "$M")
    for i in $(seq 0 $((n - 1))); do
        ld=$(jq -r ".layers[$i].digest" "$M"); ls_=$(jq -r ".layers[$i].size" "$M")
        did=$(jq -r ".rootfs.diff_ids[$i]" "$X/amd64/blobs/sha256/${c#sha256:}")
        f=$X/amd64/blobs/sha256/${ld#sha256:}
        [ "$ld" = "$did" ] && [ "sha256:$(sha < "$f")" = "$ld" ] && [ "$(stat -c %s "$f")" = "$ls_" ] || ok_l=0
    done
    check "$img: every layer's sha256 and size match its descriptor, and its digest is the diff_id" test $ok_l = 1
done
check "skopeo copies the saved layout back to the registry" \
    skopeo copy -q --dest-tls-verify=false "oci:$X/amd64:c10f/simple:1" "docker://$R/copy/simple:1"
check "... and the copy has the original config" \
    test "$(remote_config copy/simple:1 | sha)" = "$(remote_config c10f/simple:1 | sha)"

# ---- every architecture of an index ------------------------------------------

D2=$T/out2
check "save all: five archives from one multi-arch index (default site registry, no transport)" \
    "$PODSEC" --config "$CONF" image save --compression-level 0 "$D2" all c10f/multi:1
check "all five archives exist, nothing else" \
    test "$(ls -A "$D2" | tr '\n' ' ')" = "386.tar.xz amd64.tar.xz arm.tar.xz arm64.tar.xz ppc64le.tar.xz "
for a in amd64 arm64 arm ppc64le 386; do
    mkdir -p "$T/x2/$a"; tar -C "$T/x2/$a" -xJf "$D2/$a.tar.xz"
    c=$(skopeo inspect --config --raw "oci:$T/x2/$a/$a:c10f/multi:1" 2>/dev/null)
    check "$a: the config is the $a one from the index" \
        test "$(printf %s "$c" | sha)" = "$(remote_config c10f/multi:1 "$a" | sha)" -a \
             "$(printf %s "$c" | jq -r .architecture)" = "$a"
done
check "arm: index.json records variant v7" \
    test "$(jq -r '.manifests[0].platform.variant' "$T/x2/arm/arm/index.json")" = v7

# ---- reproducible output -----------------------------------------------------

"$PODSEC" image save --tls-verify=false --compression-level 1 --threads 1 "$T/r1" amd64 "docker://$R" c10f/simple:1 c10f/dock:1 >/dev/null 2>&1
"$PODSEC" image save --tls-verify=false --compression-level 1 --threads 2 --block-size 1 "$T/r2" amd64 "docker://$R" c10f/simple:1 c10f/dock:1 >/dev/null 2>&1
"$PODSEC" image save --tls-verify=false --compression-level 1 --threads 2 "$T/r3" amd64 "docker://$R" c10f/simple:1 c10f/dock:1 >/dev/null 2>&1
check "the same images give the same archive bytes, whatever the thread count" \
    cmp "$T/r1/amd64.tar.xz" "$T/r3/amd64.tar.xz"
check "--block-size 1: a 3 MB image gives several blocks, same tar inside" \
    test "$(xz -lvv "$T/r2/amd64.tar.xz" | awk '/^ *Blocks:/ {print $2; exit}')" -ge 3 -a \
         "$(xz -dc "$T/r2/amd64.tar.xz" | sha)" = "$(xz -dc "$T/r1/amd64.tar.xz" | sha)"
check "SOURCE_DATE_EPOCH sets the entries' mtime" \
    env SOURCE_DATE_EPOCH=1700000000 "$PODSEC" image save --tls-verify=false --compression-level 0 "$T/r4" amd64 "docker://$R" c10f/dock:1
check "... to that time" test "$(tar -tvJf "$T/r4/amd64.tar.xz" | awk 'NR==2 {print $4}')" = 2023-11-14

# ---- options and compatible invocations ---------------------------------------

check "--keep-layout keeps DIR/amd64/ as an OCI layout skopeo reads" \
    "$PODSEC" image save --tls-verify=false --keep-layout --compression-level 0 "$T/k" amd64 "docker://$R" c10f/dock:1
check "... with the same config" \
    test "$(skopeo inspect --config --raw "oci:$T/k/amd64:c10f/dock:1" | sha)" = "$(remote_config c10f/dock:1 | sha)"
md=$(skopeo inspect --tls-verify=false --raw "docker://$R/c10f/simple:1" | sha)
check "NAME:TAG@DIGEST pins the manifest" \
    "$PODSEC" image save --tls-verify=false --compression-level 0 "$T/pin" amd64 "docker://$R" "c10f/simple:1@sha256:$md"
check "... and is named NAME:TAG in the archive" \
    test "$(xz -dc "$T/pin/amd64.tar.xz" | tar -xOf - amd64/index.json | jq -r '.manifests[0].annotations[]')" = c10f/simple:1
check "an image with the registry host in its name is read from that host" \
    "$PODSEC" --config "$CONF" image save --compression-level 0 "$T/hostimg" amd64 "$R/c10f/dock:1"
check "docker://HOST/PATH prepends PATH to each image" \
    "$PODSEC" image save --tls-verify=false --compression-level 0 "$T/pfx" amd64 "docker://$R/c10f" dock:1
check "... which is named as given" \
    test "$(xz -dc "$T/pfx/amd64.tar.xz" | tar -xOf - amd64/index.json | jq -r '.manifests[0].annotations[]')" = dock:1
check "--dry-run resolves every image and writes nothing" \
    "$PODSEC" --dry-run image save --tls-verify=false "$T/dry" amd64,arm64 "docker://$R" c10f/multi:1
check_out "^arm64	c10f/multi:1	docker://$R/c10f/multi:1	sha256:" "--dry-run lists arch, name, source and manifest"
check "... and DIR does not exist" test ! -e "$T/dry"

mkdir -p "$T/bin" "$T/root/etc/podsec"
ln -s "$PODSEC" "$T/bin/podsec-save-oci"
ln -s "$PODSEC" "$T/bin/podsec-k8s-save-oci"
cp "$CONF" "$T/root/etc/podsec/podsec.conf"
check_rc 1 "podsec-save-oci without arguments: exit 1" "$T/bin/podsec-save-oci"
check_out "Usage: podsec-save-oci " "the usage names the program, not the directory (D15)"
check "podsec-save-oci DIR ARCH \"\" IMAGE: U7S_ALTREGISTRY is the source, the site registry is plain http" \
    env PODSEC_ROOT="$T/root" U7S_ALTREGISTRY="$R" "$T/bin/podsec-save-oci" "$T/orig" amd64 "" c10f/dock:1
check "podsec-save-oci DIR ARCH docker://HOST IMAGE (the original's transport argument)" \
    env PODSEC_ROOT="$T/root" "$T/bin/podsec-save-oci" "$T/orig2" amd64 "docker://$R" c10f/dock:1

# ---- bad input: exit code, message, nothing created ---------------------------

bad() {   # bad RC PATTERN DESC ARGS...
    local rc=$1 pat=$2 d=$3; shift 3
    check_rc "$rc" "$d: exit $rc" "$PODSEC" --config "$CONF" image save --compression-level 0 "$@"
    check_out "$pat" "$d: message"
    check "$d: nothing created" test ! -e "$T/bad"
}
bad 1 "archive directory is not given" "no arguments"
bad 1 "no image list given" "only DIR" "$T/bad"
bad 1 "no image given" "DIR and ARCHS only" "$T/bad" amd64
bad 1 "no image given" "DIR, ARCHS and a transport only" "$T/bad" amd64 "docker://$R"
mkdir -p "$T/exists"
check_rc 1 "DIR exists: exit 1" "$PODSEC" image save "$T/exists" amd64 c10f/dock:1
check_out "already exists" "DIR exists: message"
check "DIR exists: left empty" test -z "$(ls -A "$T/exists")"
bad 1 "parent directory .*No such file" "DIR's parent is missing" "$T/bad/sub/dir" amd64 c10f/dock:1
bad 2 'unknown architecture "sparc"' "unknown architecture" "$T/bad" sparc c10f/dock:1
bad 2 'unknown architecture "sparc"' "unknown second architecture (D16)" "$T/bad" amd64,sparc c10f/dock:1
bad 2 "empty entry" "empty architecture entry" "$T/bad" amd64,,arm64 c10f/dock:1
bad 1 "containers-storage.*not supported" "containers-storage transport" "$T/bad" amd64 "containers-storage:[share/usernetes/images/c10f/amd64]" c10f/dock:1
bad 1 "not supported" "oci: transport" "$T/bad" amd64 "oci:/tmp/x" c10f/dock:1
bad 1 "not a registry host" "docker:// without a host-like name" "$T/bad" amd64 "docker://c10f" dock:1
bad 1 "needs a tag" "digest without a tag" "$T/bad" amd64 "c10f/dock@sha256:$md"
bad 1 "given twice" "same image twice" "$T/bad" amd64 c10f/dock:1 c10f/dock:1
bad 1 "lowercase|invalid" "invalid image name" "$T/bad" amd64 C10F/Dock:1
bad 1 "give the transport once" "transport given as an image" "$T/bad" amd64 c10f/dock:1 "docker://$R/c10f/x:1"
bad 1 "compression-level" "bad --compression-level" --compression-level 10 "$T/bad" amd64 c10f/dock:1
bad 3 "MANIFEST_UNKNOWN|not found|unknown" "image not in the registry" "$T/bad" amd64 c10f/dock:1 c10f/missing:1
bad 3 "no manifest for linux/ppc64le.*linux/amd64, linux/arm64" "architecture missing from an index" "$T/bad" amd64,ppc64le c10f/half:1
bad 3 "no image for linux/arm64 \(its config says linux/amd64\)" "single-arch image asked for another arch" "$T/bad" arm64 c10f/dock:1
bad 3 "digest|does not match" "a layer corrupted in the registry" "$T/bad" amd64 c10f/dock:1 c10f/corrupt:1
bad 3 "uncompresses to .* diff_id" "a layer that does not match its diff_id" "$T/bad" amd64 c10f/baddiff:1
bad 3 "MANIFEST_UNKNOWN|unknown|not found" "a pinned digest that is not the image's" "$T/bad" amd64 "c10f/dock:1@sha256:$md"
down=127.0.0.1:$(free_port)
check_rc 3 "registry down: exit 3" "$PODSEC" image save --tls-verify=false "$T/bad" amd64 "docker://$down" c10f/dock:1
check_out "$down" "registry down: the message names the registry"
check "registry down: nothing created" test ! -e "$T/bad"
check_rc 3 "second architecture fails after the first was saved: exit 3" \
    "$PODSEC" image save --tls-verify=false --compression-level 0 "$T/half" amd64,arm64 "docker://$R" c10f/half:1
check_out "finished before the failure: .*amd64.tar.xz" "... the finished archive is named"
check "... it stays, and the failed architecture leaves nothing" test "$(ls -A "$T/half")" = amd64.tar.xz

# ---- Kubernetes mode -----------------------------------------------------------

$MK image "$L" k8s:1 gzip:text:kubernetes >/dev/null
for n in kube-apiserver:v1.28.3 pause:3.9 etcd:3.5.9-0 flannel:v0.9.0 flannel:v0.26.7 flannel-cni-plugin:v1.2.0; do
    push_ref k8s:1 "c10f/${n%%:*}" "${n#*:}" || echo "# push $n failed"
done
cat > "$T/kubeadm" <<EOF
#!/bin/sh
echo "\$*" >> "$T/kubeadm.args"
case "\$1" in
version) echo v1.28.3 ;;
config) for i in kube-apiserver:v1.28.3 pause:3.9 etcd:3.5.9-0; do echo "\$7/\$i"; done ;;
*) exit 1 ;;
esac
EOF
chmod +x "$T/kubeadm"
check "--k8s: the images kubeadm lists plus flannel (newest vN.N.N tags)" \
    "$PODSEC" --json image save --k8s --platform c10f --kubeadm "$T/kubeadm" --tls-verify=false --compression-level 0 "$T/k8s" amd64 "docker://$R"
check "... kubeadm was asked for its images under REGISTRY/PLATFORM" \
    grep -q "config images list --kubernetes-version v1.28.3 --image-repository $R/c10f" "$T/kubeadm.args"
check "... the archive names them PLATFORM/NAME:TAG, flannel v0.26.7 (not v0.9.0)" \
    test "$(xz -dc "$T/k8s/amd64.tar.xz" | tar -xOf - amd64/index.json | jq -r '[.manifests[].annotations[]]|join(" ")')" = \
         "c10f/kube-apiserver:v1.28.3 c10f/pause:3.9 c10f/etcd:3.5.9-0 c10f/flannel:v0.26.7 c10f/flannel-cni-plugin:v1.2.0"
check "U7S_KUBEVERSION and U7S_FLANNEL_TAG are honoured" \
    env U7S_KUBEVERSION=v1.28.3 U7S_FLANNEL_TAG=v0.9.0 "$PODSEC" --dry-run image save --k8s --platform c10f --kubeadm "$T/kubeadm" --tls-verify=false "$T/k8s2" amd64 "docker://$R"
check_out "c10f/flannel:v0.9.0" "... flannel v0.9.0 chosen"
check_rc 1 "podsec-k8s-save-oci with a k8s- platform: exit 1" \
    env PODSEC_ROOT="$T/root" "$T/bin/podsec-k8s-save-oci" "$T/bad" amd64 k8s-c10f1
check_out "k8s- prefix" "... message"
check_rc 1 "podsec-k8s-save-oci with too many arguments: exit 1" \
    env PODSEC_ROOT="$T/root" "$T/bin/podsec-k8s-save-oci" "$T/bad" amd64 c10f extra
if ! command -v kubeadm >/dev/null 2>&1; then
    check_rc 1 "podsec-k8s-save-oci without kubeadm: exit 1" \
        env PODSEC_ROOT="$T/root" "$T/bin/podsec-k8s-save-oci" "$T/bad" amd64 c10f
    check_out "kubeadm is needed" "... the message says kubeadm is needed and what to do instead"
fi
check "Kubernetes mode created nothing on failures" test ! -e "$T/bad"

# ---- round trip: save, then load-sign ----------------------------------------

if "$PODSEC" image load-sign --help >/dev/null 2>&1; then
    export GNUPGHOME=$T/gnupg
    fpr=$(gpg_key "Round Trip <roundtrip@example.test>" ed25519 2>/dev/null)
    RT=$T/rtroot; mkroot "$RT"; mkdir -p "$RT/var/sigstore/sigstore" "$RT/etc/podsec"
    printf 'registry=%s\nsigstore_dir=/var/sigstore\n' "$R" > "$RT/etc/podsec/podsec.conf"
    : > "$T/nopass"
    check "round trip: podsec image load-sign pushes and signs the saved archive" \
        "$PODSEC" --root "$RT" image load-sign -y --no-legacy-alias --passphrase-file "$T/nopass" \
            "$A" amd64 "$fpr" "$R/roundtrip"
    for img in simple dock multi big; do
        c=$(remote_config "roundtrip/$img:1" 2>/dev/null | sha)
        check "round trip: $img has its original config (so the same diff_ids)" \
            test "$c" = "$(remote_config "c10f/$img:1" amd64 | sha)"
        m=$(jq -r --arg r "c10f/$img:1" '.manifests[]|select(.annotations["org.opencontainers.image.ref.name"]==$r)|.digest' "$IDX")
        check "round trip: $img's manifest in the registry is the archive's, byte for byte" \
            test "sha256:$(skopeo inspect --tls-verify=false --raw "docker://$R/roundtrip/$img:1" | sha)" = "$m"
    done
    check "round trip: a signature was written for each image" \
        test "$(find "$RT" -name signature-1 | wc -l)" -ge 4
else
    echo "# SKIP round trip: 'podsec image load-sign' is not available in this build"
fi

finish

#!/bin/bash
# OCI archive reader against real layouts written by skopeo: listings must
# agree with `skopeo inspect --raw`, every compression must read the same,
# and hostile archives must be refused with clear messages.
. "$(dirname "$0")/lib.sh"
need skopeo tar xz gzip zstd bzip2 jq python3 sha256sum
PSOCI=$PODSEC_BUILD/tests/tools/ps-oci
[ -x "$PSOCI" ] || skip_all "ps-oci not built"

# ---- a layout with two images and a multi-arch index, written by skopeo ----
mk_oci "$T/a" a hello-a >/dev/null
mk_oci "$T/b" b hello-b >/dev/null
x=$(mk_oci "$T/x" x amd64-content)
y=$(mk_oci "$T/y" y arm64-content)
mkdir -p "$T/m/blobs/sha256"
cp "$T"/x/blobs/sha256/* "$T"/y/blobs/sha256/* "$T/m/blobs/sha256/"
xs=$(stat -c %s "$T/x/blobs/sha256/${x#sha256:}")
ys=$(stat -c %s "$T/y/blobs/sha256/${y#sha256:}")
printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"%s","size":%s,"platform":{"architecture":"amd64","os":"linux"}},{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"%s","size":%s,"platform":{"architecture":"arm64","os":"linux","variant":"v8"}}]}' \
    "$x" "$xs" "$y" "$ys" > "$T/m/idx.json"
id=$(sha256sum < "$T/m/idx.json" | cut -d' ' -f1)
is=$(stat -c %s "$T/m/idx.json")
mv "$T/m/idx.json" "$T/m/blobs/sha256/$id"
printf '{"imageLayoutVersion":"1.0.0"}' > "$T/m/oci-layout"
printf '{"schemaVersion":2,"manifests":[{"mediaType":"application/vnd.oci.image.index.v1+json","digest":"sha256:%s","size":%s,"annotations":{"org.opencontainers.image.ref.name":"multi"}}]}' \
    "$id" "$is" > "$T/m/index.json"

L=$T/src/amd64
mkdir -p "$T/src"
check "skopeo writes image 1" skopeo copy -q "oci:$T/a:a" "oci:$L:c10f/pause:3.9"
check "skopeo writes image 2" skopeo copy -q "oci:$T/b:b" "oci:$L:c10f/alt:p10"
check "skopeo writes a multi-arch index" skopeo copy -q --all "oci:$T/m:multi" "oci:$L:c10f/flannel:v0.19.2"

# what skopeo says: ref, digest of the raw manifest, media type, blob count
expected() {
    local ref raw
    for ref in c10f/pause:3.9 c10f/alt:p10 c10f/flannel:v0.19.2; do
        raw=$(skopeo inspect --raw "oci:$L:$ref") || return 1
        printf '%s\tsha256:%s\t%s\t' "$ref" "$(printf '%s' "$raw" | sha256sum | cut -d' ' -f1)" \
            "$(jq -r '.manifests[] | select(.annotations["org.opencontainers.image.ref.name"] == "'"$ref"'") | .mediaType' "$L/index.json")"
        if [ "$(printf '%s' "$raw" | jq -r '.manifests // empty | length')" != "" ]; then
            # an index: config + layers of every instance
            local d n=0
            for d in $(printf '%s' "$raw" | jq -r '.manifests[].digest'); do
                n=$((n + 1 + $(jq '.layers | length' "$L/blobs/sha256/${d#sha256:}")))
            done
            echo "$n"
        else
            printf '%s' "$raw" | jq '1 + (.layers | length)'
        fi
    done
}
expected > "$T/expected" || { notok "skopeo inspect --raw"; finish; }

# ---- every compression, detected by content ----
tar -C "$T/src" -cf "$T/amd64.tar" amd64
tar -C "$T/src" -cJf "$T/amd64.tar.xz" amd64
tar -C "$T/src" -czf "$T/amd64.tar.gz" amd64
tar -C "$T/src" -I zstd -cf "$T/amd64.tar.zst" amd64
tar -C "$T/src" -cjf "$T/amd64.tar.bz2" amd64
cp "$T/amd64.tar.xz" "$T/named-wrongly.tar.gz"
for f in amd64.tar amd64.tar.xz amd64.tar.gz amd64.tar.zst amd64.tar.bz2 named-wrongly.tar.gz; do
    check "ps-oci lists $f" "$PSOCI" list "$T/$f" amd64
    if diff -u "$T/expected" "$T/.out" >"$T/.diff"; then
        ok "$f: refs, digests, media types and blob counts agree with skopeo"
    else
        notok "$f: listing differs from skopeo"; sed 's/^/#   /' "$T/.diff"
    fi
done
for f in amd64.tar amd64.tar.xz; do
    check "ps-oci stream (one pass) reads $f" "$PSOCI" stream "$T/$f" amd64
    if diff -u "$T/expected" "$T/.out" >"$T/.diff"; then
        ok "$f: one-pass listing agrees with skopeo"
    else
        notok "$f: one-pass listing differs from skopeo"; sed 's/^/#   /' "$T/.diff"
    fi
done
check "stream reads a pipe" bash -c 'cat "$2" | "$1" stream - amd64' _ "$PSOCI" "$T/amd64.tar.gz"
check "one-pass walk verifies every blob" "$PSOCI" walk "$T/amd64.tar.xz" amd64
n_blobs=$(ls "$L/blobs/sha256" | wc -l)
if [ "$(grep -c '^blob ' "$T/.out")" = "$n_blobs" ] && grep -qx 'index 3' "$T/.out"; then
    ok "walk saw $n_blobs blobs and index.json"
else
    notok "walk output"; sed 's/^/#   /' "$T/.out"
fi
check "walk reads standard input" bash -c '"$1" walk - amd64 < "$2"' _ "$PSOCI" "$T/amd64.tar.zst"
check "list reads a seekable standard input twice" bash -c '"$1" list - amd64 < "$2"' _ "$PSOCI" "$T/amd64.tar.xz"
check_rc 1 "list refuses a pipe (two passes need a file)" bash -c 'cat "$2" | "$1" list - amd64' _ "$PSOCI" "$T/amd64.tar.xz"
check_out "cannot read standard input a second time" "pipe: clear message"
check_rc 1 "wrong architecture" "$PSOCI" list "$T/amd64.tar.xz" arm64
check_out "archive entry amd64.*outside the arm64/ directory" "wrong architecture: clear message"

# skopeo's own oci-archive has no ARCH/ directory: not the podsec format
check "skopeo writes an oci-archive" skopeo copy -q "oci:$T/a:a" "oci-archive:$T/skopeo-archive.tar:c10f/pause:3.9"
check_rc 1 "an oci-archive without ARCH/ is refused" "$PSOCI" list "$T/skopeo-archive.tar" amd64
check_out "outside the amd64/ directory" "oci-archive without ARCH/: clear message"

# ---- hostile archives ----
cat > "$T/hostile.py" <<'EOF'
import io, os, sys, tarfile
src, out, case = sys.argv[1:4]
victim = sys.argv[4] if len(sys.argv) > 4 else None
def skip_victim(ti):
    return None if victim and ti.name.endswith(victim) else ti
def add(tf, name, data=b"x", **kw):
    ti = tarfile.TarInfo(name)
    for k, v in kw.items():
        setattr(ti, k, v)
    if ti.type == tarfile.REGTYPE:
        ti.size = len(data)
        tf.addfile(ti, io.BytesIO(data))
    else:
        tf.addfile(ti)
with tarfile.open(out, "w", format=tarfile.PAX_FORMAT) as tf:
    tf.add(src, arcname="amd64", filter=skip_victim)
    if case == "traversal":
        add(tf, "amd64/../../x")
    elif case == "dotdot":
        add(tf, "../x")
    elif case == "absolute":
        add(tf, "/etc/podsec-test")
    elif case == "symlink":
        add(tf, "amd64/blobs/sha256/" + victim, type=tarfile.SYMTYPE, linkname="/etc/passwd")
    elif case == "hardlink":
        add(tf, "amd64/blobs/sha256/" + victim, type=tarfile.LNKTYPE, linkname="amd64/index.json")
    elif case == "device":
        add(tf, "amd64/null", type=tarfile.CHRTYPE, devmajor=1, devminor=3)
    elif case == "fifo":
        add(tf, "amd64/fifo", type=tarfile.FIFOTYPE)
    elif case == "outside":
        add(tf, "arm64/index.json", b"{}")
    elif case == "duplicate":
        add(tf, "amd64/index.json", open(os.path.join(src, "index.json"), "rb").read())
    elif case == "badname":
        add(tf, "amd64/blobs/sha256/not-a-digest")
    elif case == "deep":
        add(tf, "amd64/index.json", b"[" * 10000)
    elif case == "huge":
        add(tf, "amd64/index.json", b'{"schemaVersion":2,"manifests":[]' + b" " * (5 << 20) + b"}")
EOF
pause_hex=$(jq -r '.manifests[0].digest' "$L/index.json"); pause_hex=${pause_hex#sha256:}
layer_hex=$(jq -r '.layers[0].digest' "$L/blobs/sha256/$pause_hex"); layer_hex=${layer_hex#sha256:}

hostile() {   # hostile CASE MESSAGE-ERE [VICTIM] [EXTRA-PY-ARGS]
    local c=$1 re=$2 v=${3:-}
    python3 "$T/hostile.py" "$L" "$T/h-$c.tar" "$c" $v || { notok "building $c"; return; }
    xz -T1 -q "$T/h-$c.tar"
    check_rc 1 "hostile $c: refused by list" "$PSOCI" list "$T/h-$c.tar.xz" amd64
    check_out "$re" "hostile $c: message"
    check_rc 1 "hostile $c: refused by walk" "$PSOCI" walk "$T/h-$c.tar.xz" amd64
    check_rc 1 "hostile $c: refused by stream" "$PSOCI" stream "$T/h-$c.tar.xz" amd64
}
hostile traversal  'archive entry amd64/\.\./\.\./x: path escapes the archive'
hostile dotdot     'archive entry \.\./x: path escapes the archive'
hostile absolute   'archive entry /etc/podsec-test: absolute paths are not allowed'
hostile symlink    "archive entry amd64/blobs/sha256/$layer_hex: symbolic links are not allowed" "$layer_hex"
hostile hardlink   "archive entry amd64/blobs/sha256/$layer_hex: hard links are not allowed" "$layer_hex"
hostile device     'archive entry amd64/null: device nodes are not allowed'
hostile fifo       'archive entry amd64/fifo: FIFOs are not allowed'
hostile outside    'archive entry arm64/index.json: outside the amd64/ directory'
hostile duplicate  'archive entry amd64/index.json: appears twice in the archive'
hostile badname    'blob name is not a sha256 digest'
hostile deep       'amd64/index.json: index.json: JSON nesting is deeper than 64 levels' index.json
hostile huge       'amd64/index.json: too large \([0-9]+ bytes, the limit is 4194304\)' index.json
[ -e /etc/podsec-test ] && notok "something was written to /etc" || ok "nothing was extracted"

# a layer whose content does not match its name (same size): pass 1 does
# not hash layers, pass 2 must catch it
cp -a "$L" "$T/mm"
printf 'X' | dd of="$T/mm/blobs/sha256/$layer_hex" bs=1 seek=20 conv=notrunc status=none
tar -C "$T" -cJf "$T/mismatch.tar.xz" --transform 's,^mm,amd64,' mm
check_rc 1 "mismatching layer: list fails" "$PSOCI" list "$T/mismatch.tar.xz" amd64
check_out "blob sha256:$layer_hex content does not match its name" "mismatching layer: message"
check_rc 1 "mismatching layer: walk fails" "$PSOCI" walk "$T/mismatch.tar.xz" amd64
check_out "blob sha256:$layer_hex content does not match its name" "mismatching layer: walk message"
check_rc 1 "mismatching layer: stream fails" "$PSOCI" stream "$T/mismatch.tar.xz" amd64
check_out "blob sha256:$layer_hex content does not match its name" "mismatching layer: stream message"

# index.json naming a blob that is not in the archive
cp -a "$L" "$T/miss"
rm "$T/miss/blobs/sha256/$pause_hex"
tar -C "$T" -cJf "$T/missing.tar.xz" --transform 's,^miss,amd64,' miss
check_rc 1 "missing manifest blob" "$PSOCI" list "$T/missing.tar.xz" amd64
check_out "index.json names sha256:$pause_hex which is not in the archive" "missing manifest blob: message"

# truncated xz
size=$(stat -c %s "$T/amd64.tar.xz")
head -c $((size - 7)) "$T/amd64.tar.xz" > "$T/trunc.tar.xz"
check_rc 1 "truncated xz stream" "$PSOCI" list "$T/trunc.tar.xz" amd64
check_out "truncated xz stream" "truncated xz: message"
head -c $((size / 2)) "$T/amd64.tar.xz" > "$T/half.tar.xz"
check_rc 1 "xz stream cut in half" "$PSOCI" walk "$T/half.tar.xz" amd64
check_out "reading $T/half.tar.xz: " "half xz: message names the file"

# not an archive, missing file
printf 'just text\n' > "$T/text.tar.xz"
check_rc 1 "not an archive" "$PSOCI" list "$T/text.tar.xz" amd64
check_out "reading $T/text.tar.xz: " "not an archive: message"
check_rc 1 "missing file" "$PSOCI" list "$T/nope.tar.xz" amd64
check_out "cannot open archive $T/nope.tar.xz: No such file" "missing file: message"

finish

#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Write test images into an OCI image layout, by hand (no image store).

  mk-image.py image LAYOUT REF [--arch A] [--variant V] [--docker]
                     [--bad-diffid N] LAYER...
      add an image manifest named REF to LAYOUT's index.json.  Each LAYER
      is COMPRESSION:CONTENT with COMPRESSION gzip, zstd or none and
      CONTENT one of
          text:WORDS        a file /etc/content holding WORDS
          random:BYTES      a file of random bytes
          mixed:BYTES       half random, half repetitive text (xz-friendly)
      --docker writes a Docker schema 2 manifest (gzip layers only);
      --bad-diffid N gives layer N (1-based) a wrong diff_id in the config.
      Prints the manifest digest.
  mk-image.py index LAYOUT REF REF1 REF2...
      replace the entries REF1 REF2... of index.json by one entry REF
      naming an OCI image index of them (platforms from their configs),
      for `skopeo copy --all`.  Prints the index digest.
"""
import gzip
import hashlib
import io
import json
import os
import random
import subprocess
import sys
import tarfile

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_CONFIG = "application/vnd.docker.container.image.v1+json"
LAYER_TYPES = {
    ("none", False): "application/vnd.oci.image.layer.v1.tar",
    ("gzip", False): "application/vnd.oci.image.layer.v1.tar+gzip",
    ("zstd", False): "application/vnd.oci.image.layer.v1.tar+zstd",
    ("gzip", True): "application/vnd.docker.image.rootfs.diff.tar.gzip",
}


def put_blob(layout, data):
    d = hashlib.sha256(data).hexdigest()
    os.makedirs(os.path.join(layout, "blobs", "sha256"), exist_ok=True)
    p = os.path.join(layout, "blobs", "sha256", d)
    if not os.path.exists(p):
        with open(p, "wb") as f:
            f.write(data)
    return "sha256:" + d, len(data)


def read_index(layout):
    p = os.path.join(layout, "index.json")
    if os.path.exists(p):
        with open(p) as f:
            return json.load(f)
    return {"schemaVersion": 2, "manifests": []}


def write_index(layout, idx):
    with open(os.path.join(layout, "oci-layout"), "w") as f:
        f.write('{"imageLayoutVersion":"1.0.0"}')
    with open(os.path.join(layout, "index.json"), "w") as f:
        json.dump(idx, f, separators=(",", ":"))


def layer_tar(content, seed):
    kind, _, arg = content.partition(":")
    if kind == "text":
        name, data = "etc/content", (arg + "\n").encode()
    elif kind == "random":
        name, data = "data/random.bin", random.Random(seed).randbytes(int(arg))
    elif kind == "mixed":
        n = int(arg)
        rnd = random.Random(seed).randbytes(n // 2)
        line = b"podsec image save test line %d: the quick brown fox\n"
        text = b"".join(line % (i % 1000) for i in range(n // 40 + 1))[: n - n // 2]
        name, data = "data/mixed.bin", rnd + text
    else:
        sys.exit("unknown layer content " + content)
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as t:
        dirs = os.path.dirname(name)
        ti = tarfile.TarInfo(dirs)
        ti.type, ti.mode, ti.mtime = tarfile.DIRTYPE, 0o755, 0
        t.addfile(ti)
        ti = tarfile.TarInfo(name)
        ti.size, ti.mode, ti.mtime = len(data), 0o644, 0
        t.addfile(ti, io.BytesIO(data))
    return buf.getvalue()


def compress(comp, data):
    if comp == "none":
        return data
    if comp == "gzip":
        return gzip.compress(data, compresslevel=6, mtime=0)
    if comp == "zstd":
        return subprocess.run(["zstd", "-q", "-3", "-c"], input=data, stdout=subprocess.PIPE, check=True).stdout
    sys.exit("unknown compression " + comp)


def cmd_image(argv):
    layout, ref = argv[0], argv[1]
    arch, variant, docker, bad = "amd64", None, False, 0
    layers = []
    i = 2
    while i < len(argv):
        a = argv[i]
        if a == "--arch":
            arch = argv[i + 1]; i += 2
        elif a == "--variant":
            variant = argv[i + 1]; i += 2
        elif a == "--docker":
            docker = True; i += 1
        elif a == "--bad-diffid":
            bad = int(argv[i + 1]); i += 2
        else:
            layers.append(a); i += 1
    diff_ids, descs = [], []
    for n, spec in enumerate(layers, 1):
        comp, _, content = spec.partition(":")
        seed = int(hashlib.sha256(f"{ref}/{arch}/{n}".encode()).hexdigest()[:8], 16)
        tar = layer_tar(content, seed)
        diff = "sha256:" + hashlib.sha256(tar).hexdigest()
        if n == bad:
            diff = "sha256:" + hashlib.sha256(b"not this layer").hexdigest()
        diff_ids.append(diff)
        blob = compress(comp, tar)
        d, s = put_blob(layout, blob)
        descs.append({"mediaType": LAYER_TYPES[(comp, docker)], "digest": d, "size": s})
    cfg = {"architecture": arch, "os": "linux",
           "config": {"Cmd": ["/bin/sh"], "Labels": {"ref": ref}},
           "rootfs": {"type": "layers", "diff_ids": diff_ids},
           "history": [{"created_by": "mk-image.py"} for _ in layers]}
    if variant:
        cfg["variant"] = variant
    cd, cs = put_blob(layout, json.dumps(cfg, separators=(",", ":")).encode())
    man = {"schemaVersion": 2,
           "mediaType": DOCKER_MANIFEST if docker else OCI_MANIFEST,
           "config": {"mediaType": DOCKER_CONFIG if docker else OCI_CONFIG, "digest": cd, "size": cs},
           "layers": descs}
    md, ms = put_blob(layout, json.dumps(man, separators=(",", ":")).encode())
    idx = read_index(layout)
    idx["manifests"] = [m for m in idx["manifests"]
                        if m.get("annotations", {}).get("org.opencontainers.image.ref.name") != ref]
    idx["manifests"].append({"mediaType": man["mediaType"], "digest": md, "size": ms,
                             "annotations": {"org.opencontainers.image.ref.name": ref}})
    write_index(layout, idx)
    print(md)


def cmd_index(argv):
    layout, ref, members = argv[0], argv[1], argv[2:]
    idx = read_index(layout)
    byref = {m.get("annotations", {}).get("org.opencontainers.image.ref.name"): m for m in idx["manifests"]}
    entries = []
    for r in members:
        m = dict(byref[r])
        m.pop("annotations", None)
        with open(os.path.join(layout, "blobs", "sha256", m["digest"][7:])) as f:
            man = json.load(f)
        with open(os.path.join(layout, "blobs", "sha256", man["config"]["digest"][7:])) as f:
            cfg = json.load(f)
        plat = {"architecture": cfg["architecture"], "os": cfg["os"]}
        if "variant" in cfg:
            plat["variant"] = cfg["variant"]
        m["platform"] = plat
        entries.append(m)
    ix = {"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": entries}
    d, s = put_blob(layout, json.dumps(ix, separators=(",", ":")).encode())
    idx["manifests"] = [m for r, m in byref.items() if r not in members and r != ref]
    idx["manifests"].append({"mediaType": OCI_INDEX, "digest": d, "size": s,
                             "annotations": {"org.opencontainers.image.ref.name": ref}})
    write_index(layout, idx)
    print(d)


if __name__ == "__main__":
    if len(sys.argv) < 4 or sys.argv[1] not in ("image", "index"):
        sys.exit(__doc__)
    (cmd_image if sys.argv[1] == "image" else cmd_index)(sys.argv[2:])

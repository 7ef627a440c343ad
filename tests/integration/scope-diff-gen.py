#!/usr/bin/env python3
"""Case generator for tests/integration/scope-diff.sh (standard library only).

Sub-commands:

  gen --seed N --per-kind M --digests D0,D1,... --ports P1,P2 --out DIR
      Writes DIR/cases.tsv (id, intended kind, reference as written, its
      normalised identity), DIR/<id>.base.json
      (every scope present, all "reject"), DIR/push.tsv (repository, tag,
      image index) and DIR/hosts (host names to map to 127.0.0.1).

  policies --seed N --dir DIR --answers FILE
      FILE has "id<TAB>answer" lines, answer being what ps-scope printed
      ("docker:<scope>", "docker:" or "default").  Writes DIR/<id>.a.json
      (the answered scope accepts, everything else rejects) and
      DIR/<id>.b.json (the answered scope rejects, one other candidate
      accepts) and prints "id<TAB>kind<TAB>other" lines, kind being the
      kind of the answer (exact, namespace, host, wildcard, transport,
      global, or bogus when the answer names no entry of the policy).

  model POLICY REFERENCE [--bug NAME]
      A stand-in for ps-scope written from containers/image's documented
      lookup order; used only to develop and self-test the harness
      (SCOPE_DIFF_TOOL).  --bug injects a deliberate mistake so that one
      can watch the harness fail.

The oracle is skopeo, never this file.
"""

import json
import os
import random
import sys

KINDS = ["exact", "namespace", "host", "wildcard", "transport", "global"]

# Host names the test maps to 127.0.0.1.  "myreg" has no dot, so it is only a
# registry host with a port; "localhost" is one without.  docker.io is fetched from registry-1.docker.io, which
# c/image reaches on port 80 after https fails (--src-tls-verify=false).
HOSTS = ["registry.example.com", "a.b.example.com", "x.a.b.example.com",
         "reg.local", "Reg.Example.com", "localhost", "127.0.0.1", "myreg",
         "docker.io"]
DOTTED = [h for h in HOSTS if "." in h]
RESOLVED = HOSTS + ["registry-1.docker.io", "index.docker.io"]

LEVELS = [["acme", "base", "ops"], ["web", "db"], ["x1", "x2"]]
REPOS = ["app", "api", "my-app", "my_app", "my.tool", "db"]
TAGS = ["v1", "latest", "1.0", "2.3-rc1", "V2", "x_y"]
DECOY_HOSTS = ["other.example.com", "example.com", "reg.local2", "docker.io",
               "quay.io"]


class Ref:
    """A fully qualified docker reference host[:port]/path(:tag|@digest)."""

    def __init__(self, host, port, path, tag=None, digest=None, written=None):
        self.host, self.port, self.path = host, port, path
        self.tag, self.digest = tag, digest
        self.written = written      # as the user wrote it, if not identity

    @property
    def hostport(self):
        return self.host if self.port is None else "%s:%s" % (self.host, self.port)

    @property
    def name(self):
        return self.hostport + "/" + self.path

    @property
    def identity(self):
        if self.digest:
            return self.name + "@" + self.digest
        return self.name + ":" + self.tag

    def __str__(self):
        return self.written or self.identity


def parse_ref(s):
    """Normalises as docker/reference.ParseNormalizedNamed + TagNameOnly do
    (for the forms this generator writes; no tag+digest)."""
    if "@" in s:
        name, digest = s.split("@", 1)
        tag = None
    else:
        slash = s.rfind("/")
        colon = s.rfind(":")
        if colon > slash:
            name, tag = s[:colon], s[colon + 1:]
        else:
            name, tag = s, "latest"
        digest = None
    i = name.find("/")
    first = name[:i] if i >= 0 else ""
    if i < 0 or ("." not in first and ":" not in first and first != "localhost"):
        hostport, path = "docker.io", name
    else:
        hostport, path = first, name[i + 1:]
    if hostport == "index.docker.io":
        hostport = "docker.io"
    if hostport == "docker.io" and "/" not in path:
        path = "library/" + path
    if ":" in hostport:
        host, port = hostport.split(":", 1)
    else:
        host, port = hostport, None
    ref = Ref(host, port, path, tag, digest)
    if s != ref.identity:
        ref.written = s
    return ref


def chain(ref):
    """The docker scopes containers/image tries, most specific first."""
    res = [ref.identity]
    name = ref.name
    while True:
        res.append(name)
        i = name.rfind("/")
        if i < 0:
            break
        name = name[:i]
    host = name.split(":", 1)[0]
    while "." in host:
        host = host[host.index(".") + 1:]
        res.append("*." + host)
    return res


def kind_of(ref, answer, present):
    """Kind of a ps-scope answer for ref; "bogus" if it names no policy entry."""
    if answer == "default":
        return "global"
    if not answer.startswith("docker:"):
        return "bogus"
    scope = answer[len("docker:"):]
    if scope not in present:
        return "bogus"
    if scope == "":
        return "transport"
    if scope == ref.identity:
        return "exact"
    if scope.startswith("*."):
        return "wildcard"
    if scope == ref.hostport:
        return "host"
    if scope in chain(ref):
        return "namespace"
    return "nonmatching"


def decoys(rng, ref, digests):
    """Near-miss scopes that must never match ref (filtered by chain())."""
    out = []
    parts = ref.path.split("/")
    other_tag = rng.choice([t for t in TAGS if t != ref.tag])
    out.append(ref.name + ":" + other_tag)
    other_digests = [d for d in digests if d != ref.digest]
    out.append(ref.name + "@" + rng.choice(other_digests))
    if ref.digest:
        out.append(ref.name + ":latest")
    else:
        out.append(ref.name + "@" + digests[0])
    # the same path under a different port, or with/without one
    ports = ["5000", "5001", "80", None]
    for p in ports:
        if p != ref.port and not (p is None and ref.host == "myreg"):
            hp = ref.host if p is None else "%s:%s" % (ref.host, p)
            out.append(hp)
            out.append(hp + "/" + ref.path)
            out.append(hp + "/" + parts[0])
    # case variants of the host
    for h in (ref.host.lower(), ref.host.upper(), ref.host.capitalize()):
        if h != ref.host:
            hp = h if ref.port is None else "%s:%s" % (h, ref.port)
            out.append(hp)
            out.append(hp + "/" + ref.path)
    # string prefixes that stop inside a path component
    out.append(ref.name[:-1])
    out.append(ref.hostport + "/" + parts[0][:-1])
    if len(parts) > 1:
        out.append(ref.hostport + "/" + "/".join(parts[:-1]) + "/" + parts[-1][:2])
    # siblings and deeper paths
    out.append(ref.name + "/sub")
    out.append(ref.hostport + "/" + "/".join(parts[:-1] + ["zz"]))
    out.append(ref.hostport + "/" + "zz/" + ref.path)
    # other hosts with the same path
    for h in rng.sample(DECOY_HOSTS + HOSTS, 3):
        out.append(h + "/" + ref.path)
        out.append(h)
    # wildcards that do not apply
    out.append("*." + ref.host)
    out.append("*.example.org")
    out.append("*.b.example.com")
    out.append("*.example.com")
    out.append("*.Example.com")
    out.append("*.local")
    out.append("*.0.1")
    if "." in ref.host:
        out.append(ref.host.split(".", 1)[1])         # parent domain, no "*."
    # the same path on docker.io, and docker.io spellings that scopes never
    # normalise
    out.append("docker.io/" + ref.path)
    if ref.host == "docker.io":
        short = ref.path[len("library/"):] if ref.path.startswith("library/") else ref.path
        out += [ref.path, short, "index.docker.io/" + ref.path, "registry-1.docker.io",
                "index.docker.io", "docker.io/" + short, short + ":" + (ref.tag or "latest")]
    c = set(chain(ref))
    seen = set()
    res = []
    for d in out:
        if d and d not in c and d not in seen:
            seen.add(d)
            res.append(d)
    return res


def random_ref(rng, kind, digests, ports):
    hosts = DOTTED if kind == "wildcard" else HOSTS
    host = rng.choice(hosts)
    r = rng.random()
    if host == "docker.io":
        port = None
    elif host == "myreg":
        port = rng.choice(ports)
    elif r < 0.45:
        port = None
    elif r < 0.9:
        port = rng.choice(ports)
    else:
        port = "80"
    depth = rng.choice([1, 2, 2, 3, 3, 4])
    comps = [rng.choice(LEVELS[i]) for i in range(depth - 1)]
    path = "/".join(comps + [rng.choice(REPOS)])
    if host == "docker.io" and depth == 1:
        path = "library/" + path
    r = rng.random()
    if r < 0.35:
        ref = Ref(host, port, path, digest=digests[image_of(path, len(digests))])
        suffix = "@" + ref.digest
    elif r < 0.45:
        ref = Ref(host, port, path, tag="latest")
        suffix = ""                         # implied ":latest"
    else:
        ref = Ref(host, port, path, tag=rng.choice(TAGS))
        suffix = ":" + ref.tag
    if host == "docker.io":
        short = path[len("library/"):] if path.startswith("library/") else path
        spelling = rng.choice([ref.name, short, path, "index.docker.io/" + path,
                               "docker.io/" + short, "index.docker.io/" + short])
    else:
        spelling = ref.name
    if spelling + suffix != ref.identity:
        ref.written = spelling + suffix
    assert parse_ref(str(ref)).identity == ref.identity, str(ref)
    return ref


def image_of(path, n):
    """Which of the n pushed images lives in repository path (stable)."""
    return sum(path.encode()) % n


# Fixed cases for edges worth pinning down whatever the seed: (reference, scopes).
def fixed_cases(d, p1, p2):
    return [
        ("127.0.0.1:%s/app:v1" % p1, ["*.0.1", "*.1", "127.0.0.1"]),
        ("127.0.0.1/app:v1", ["*.0.0.1", "127.0.0.1:80"]),
        ("reg.local:80/acme/app:v1", ["reg.local", "reg.local:80"]),
        ("reg.local/acme/app:v1", ["reg.local:80", "reg.local/acme/app"]),
        ("localhost:%s/app:v1" % p1, ["localhost", ""]),
        ("localhost/app:v1", ["localhost", "localhost:%s" % p1]),
        ("Reg.Example.com/app:v1", ["reg.example.com", "*.Example.com", "*.example.com"]),
        ("Reg.Example.com/app:v1", ["reg.example.com/app", "*.example.com", "*.com"]),
        ("registry.example.com:%s/acme/web/app:v1" % p2, ["*.example.com", "registry.example.com"]),
        ("a.b.example.com/acme/app:v1", ["*.b.example.com", "*.example.com", "b.example.com"]),
        ("x.a.b.example.com:%s/app@%s" % (p1, d[0]), ["*.a.b.example.com", "*.b.example.com"]),
        ("myreg:%s/acme/web/x1/app:v1" % p1, ["myreg:%s/acme/web" % p1, "myreg:%s/acme" % p1, "myreg"]),
        ("reg.local/acme/app@%s" % d[0], ["reg.local/acme/app:latest", "reg.local/acme/app@%s" % d[0]]),
        ("reg.local/acme/app@%s" % d[0], ["reg.local/acme/app:latest", "reg.local/acme/app@%s" % d[1]]),
        ("reg.local/acme/app:v1", ["reg.local/acme/ap", "reg.local/acm", "reg.local/acme/app/"]),
        ("reg.local/acme/app:v1", ["acme/app", "docker.io/acme/app", "reg.local/acme/app:V1"]),
        ("reg.local/acme/app", ["reg.local/acme/app:latest", "reg.local/acme/app:"]),
        ("app", ["docker.io/library/app:latest", "app", "library/app", "docker.io/app"]),
        ("acme/app:v1", ["docker.io/acme", "acme", "docker.io/library/acme/app"]),
        ("index.docker.io/acme/app:v1", ["index.docker.io", "*.io", "*.docker.io"]),
        ("docker.io/app:v1", ["docker.io/app", "docker.io"]),
    ]


def write_policy(path, scopes, accept, rng):
    """scopes: docker scopes present ("" = transport default); accept: the
    one entry that accepts ("default", a scope, or None)."""
    def req(name):
        t = "insecureAcceptAnything" if name == accept else "reject"
        return [{"type": t}]
    order = list(scopes)
    rng.shuffle(order)
    pol = {"default": req("default")}
    if order:
        pol["transports"] = {"docker": {s: req(s) for s in order}}
    with open(path, "w") as f:
        json.dump(pol, f, indent=1)
        f.write("\n")


def cmd_gen(args):
    seed = int(args["--seed"])
    per_kind = int(args["--per-kind"])
    digests = args["--digests"].split(",")
    ports = args["--ports"].split(",")
    out = args["--out"]
    rng = random.Random(seed)
    cases = []          # (intended kind, Ref, scopes)
    for ref_s, scopes in fixed_cases(digests, ports[0], ports[1]):
        ref = parse_ref(ref_s)
        present = set(scopes)
        ans = model_answer(ref, present)
        cases.append((kind_of(ref, ans, present), ref, scopes))
    for i in range(per_kind * len(KINDS)):
        kind = KINDS[i % len(KINDS)]
        ref = random_ref(rng, kind, digests, ports)
        c = chain(ref)
        nwild = sum(1 for s in c if s.startswith("*."))
        host_i = len(c) - nwild - 1
        if kind == "exact":
            win = 0
        elif kind == "namespace":
            win = rng.randrange(1, host_i)
        elif kind == "host":
            win = host_i
        elif kind == "wildcard":
            win = rng.randrange(host_i + 1, len(c))
        else:
            win = len(c)
        scopes = [c[win]] if win < len(c) else []
        for s in c[win + 1:]:
            if rng.random() < 0.5:
                scopes.append(s)
        if kind == "transport" or (kind != "global" and rng.random() < 0.5):
            scopes.append("")
        dec = decoys(rng, ref, digests)
        scopes += rng.sample(dec, rng.randint(1, 5))
        cases.append((kind, ref, scopes))
    os.makedirs(out, exist_ok=True)
    push = set()
    hosts = set()
    with open(os.path.join(out, "cases.tsv"), "w") as f:
        for n, (kind, ref, scopes) in enumerate(cases, 1):
            f.write("%d\t%s\t%s\t%s\n" % (n, kind, ref, ref.identity))
            write_policy(os.path.join(out, "%d.base.json" % n), scopes, None, rng)
            if ref.digest:
                push.add((ref.path, "img%d" % digests.index(ref.digest),
                          digests.index(ref.digest)))
            else:
                push.add((ref.path, ref.tag, image_of(ref.path, len(digests))))
            hosts.add(ref.host)
    with open(os.path.join(out, "push.tsv"), "w") as f:
        for path, tag, img in sorted(push):
            f.write("%s\t%s\t%d\n" % (path, tag, img))
    with open(os.path.join(out, "hosts"), "w") as f:
        for h in sorted(hosts | set(RESOLVED)):
            f.write(h + "\n")


def load_scopes(path):
    with open(path) as f:
        pol = json.load(f)
    return list(pol.get("transports", {}).get("docker", {}).keys())


def cmd_policies(args):
    seed = int(args["--seed"])
    d = args["--dir"]
    answers = {}
    with open(args["--answers"]) as f:
        for line in f:
            n, _, ans = line.rstrip("\n").partition("\t")
            answers[int(n)] = ans
    with open(os.path.join(d, "cases.tsv")) as f:
        for line in f:
            n, _, ref_s, _ = line.rstrip("\n").split("\t")
            n = int(n)
            ref = parse_ref(ref_s)
            scopes = load_scopes(os.path.join(d, "%d.base.json" % n))
            present = set(scopes)
            if n not in answers:
                continue                # ps-scope failed; the script reports it
            ans = answers[n]
            kind = kind_of(ref, ans, present)
            if kind == "bogus":
                print("%d\tbogus\t-" % n)
                continue
            picked = "default" if ans == "default" else ans[len("docker:"):]
            rng = random.Random(seed * 100003 + n)
            # every other entry that could decide for this reference
            c = chain(ref)
            cand = [s for s in c + [""] if s in present and s != picked]
            if picked != "default":
                cand.append("default")
            if not cand:
                cand = sorted(s for s in present if s != picked)
            other = rng.choice(cand)
            write_policy(os.path.join(d, "%d.a.json" % n), scopes, picked, rng)
            write_policy(os.path.join(d, "%d.b.json" % n), scopes, other, rng)
            shown = other if other == "default" else "docker:" + other
            print("%d\t%s\t%s" % (n, kind, shown))


def model_answer(ref, present, bug=None):
    c = chain(ref)
    if bug == "no-wildcards":
        c = [s for s in c if not s.startswith("*.")]
    elif bug == "port-blind":
        c = c + [ref.host]
    elif bug == "host-before-namespace":
        c = [c[0], ref.hostport] + c[1:]
    elif bug == "no-transport-default":
        present = present - {""}
    for s in c:
        if s in present:
            return "docker:" + s
    if "" in present:
        return "docker:"
    return "default"


def cmd_model(argv):
    bug = None
    if "--bug" in argv:
        i = argv.index("--bug")
        bug = argv[i + 1]
        del argv[i:i + 2]
    policy, ref_s = argv
    print(model_answer(parse_ref(ref_s), set(load_scopes(policy)), bug))


def main():
    if len(sys.argv) < 2:
        sys.exit("usage: scope-diff-gen.py gen|policies|model ...")
    cmd, rest = sys.argv[1], sys.argv[2:]
    if cmd == "model":
        return cmd_model(rest)
    args = dict(zip(rest[::2], rest[1::2]))
    if cmd == "gen":
        return cmd_gen(args)
    if cmd == "policies":
        return cmd_policies(args)
    sys.exit("scope-diff-gen.py: unknown command %s" % cmd)


if __name__ == "__main__":
    main()

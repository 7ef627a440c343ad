#!/bin/bash
# podsec policy show: the effective policy of root and of users on a --root
# tree, with fingerprints checked against gpg's, --json checked with jq,
# --for for several references, and bad inputs; nothing under the root may
# change.
. "$(dirname "$0")/lib.sh"
need gpg jq

R=$T/root; mkroot "$R"
for u in alice:1001 bob:1002 carol:1003 dave:1004; do
    n=${u%:*} id=${u#*:}
    printf '%s:x:%s:100::/home/%s:/bin/bash\n' "$n" "$id" "$n" >> "$R/etc/passwd"
    mkdir -p "$R/home/$n"
done
export GNUPGHOME=$T/gnupg
FPR1=$(gpg_key 'Group One <one@example.test>' ed25519) || { notok "gpg key 1"; finish; }
FPR2=$(gpg_key 'Group Two <two@example.test>' rsa2048) || { notok "gpg key 2"; finish; }
mkdir -p "$R/var/sigstore/keys" "$R/etc/pki/containers"
gpg --batch --export "$FPR1" > "$R/var/sigstore/keys/group1.pgp"
gpg --batch --armor --export "$FPR2" > "$R/etc/pki/containers/group2.asc"
KEYDATA=$(gpg --batch --export "$FPR2" | base64 -w0)
HEX=817a12c32a39bbe394944ba49de563e085f1d3c5266eb8e9723256bc4448680e

C=$R/etc/containers
cat > "$C/policy.json" <<EOC
{
  "default": [{"type": "reject"}],
  "transports": {
    "docker": {
      "registry.local": [{"type": "signedBy", "keyType": "GPGKeys", "keyPath": "/var/sigstore/keys/group1.pgp"}],
      "registry.local:5000/ns": [{"type": "signedBy", "keyType": "GPGKeys",
          "keyPaths": ["/var/sigstore/keys/group1.pgp", "/etc/pki/containers/group2.asc"],
          "signedIdentity": {"type": "matchRepository"}}],
      "*.example.com": [{"type": "signedBy", "keyType": "GPGKeys", "keyData": "$KEYDATA"}],
      "": [{"type": "reject"}]
    },
    "docker-daemon": {"": [{"type": "insecureAcceptAnything"}]}
  }
}
EOC
cat > "$C/registries.d/default.yaml" <<'EOC'
default-docker:
  lookaside: http://sigstore.local:81/sigstore/
  lookaside-staging: file:///var/sigstore/sigstore/
EOC
cat > "$C/registries.d/port.yaml" <<'EOC'
docker:
  registry.local:5000:
    lookaside: http://other.local:81/sigs
EOC
# alice: her own policy and registries.d (which replaces the system one)
A=$R/home/alice/.config/containers
mkdir -p "$A/registries.d"
cat > "$A/policy.json" <<'EOC'
{"default": [{"type": "insecureAcceptAnything"}],
 "transports": {"docker": {"registry.local/alice": [{"type": "signedBy", "keyType": "GPGKeys",
     "keyPath": "/var/sigstore/keys/group1.pgp", "signedIdentity": {"type": "matchExact"}}]}}}
EOC
cat > "$A/registries.d/mine.yaml" <<'EOC'
docker:
  registry.local/alice:
    lookaside: https://alice.example.org/sigs/
EOC
# carol: a policy naming a key file that does not exist
mkdir -p "$R/home/carol/.config/containers"
cat > "$R/home/carol/.config/containers/policy.json" <<'EOC'
{"default": [{"type": "reject"}],
 "transports": {"docker": {"registry.local": [{"type": "signedBy", "keyType": "GPGKeys",
     "keyPaths": ["/var/sigstore/keys/group1.pgp", "/var/sigstore/keys/missing.pgp"]}]}}}
EOC
# dave: an invalid policy
mkdir -p "$R/home/dave/.config/containers"
printf '{"default": [{"type": "reject"}], "transports": {"docker": {"x": [{"type": "signedBy", "keyPath": "/k"}]}}}\n' \
    > "$R/home/dave/.config/containers/policy.json"

before=$(tree_hash "$R")
J="$T/out.json"
js() { "$PODSEC" --root "$R" --json policy show "$@" > "$J" 2>"$T/err"; }
jcheck() { # DESC JQ-EXPR (must print true)
    if [ "$(jq -r "$2" "$J" 2>&1)" = true ]; then ok "$1"; else notok "$1"; echo "#   jq: $2"; sed 's/^/#   /' "$J" | head -60; fi
}

# --- root, text
check_rc 0 "root: policy show" "$PODSEC" --root "$R" policy show
check_out '^Policy: +/etc/containers/policy.json \(system\)$' "root: system policy file named"
check_out '^Registries.d: +/etc/containers/registries.d \(system\): default.yaml, port.yaml$' "root: registries.d files named"
check_out "^docker +registry.local +signedBy +/var/sigstore/keys/group1.pgp +$FPR1 +http://sigstore.local:81/sigstore/\$" "root: registry.local row with fingerprint and lookaside"
check_out "^ +/etc/pki/containers/group2.asc +$FPR2\$" "root: second key of keyPaths on its own row"
check_out "^docker +\\*.example.com +signedBy +keyData +$FPR2 " "root: keyData fingerprint"
check_out '^\(all\) +default +reject ' "root: global default row"
check_out '^docker-daemon +"" +insecureAcceptAnything$' "root: other transport without lookaside"

# --- root, JSON
check_rc 0 "root: --json" js
jcheck "json: policy source system" '.policy.source == "system" and .policy.path == "/etc/containers/policy.json"'
jcheck "json: user root uid 0" '.user.name == "root" and .user.uid == 0'
jcheck "json: registries.d files" '.registries_d.files == ["/etc/containers/registries.d/default.yaml", "/etc/containers/registries.d/port.yaml"]'
jcheck "json: 5 scopes in file order" '[.scopes[] | .transport + ":" + .scope] == ["docker:registry.local", "docker:registry.local:5000/ns", "docker:*.example.com", "docker:", "docker-daemon:"]'
jcheck "json: registry.local key fingerprint = gpg's" ".scopes[0].requirements[0].keys[0].fingerprints == [\"$FPR1\"]"
jcheck "json: key file resolved under the root" ".scopes[0].requirements[0].keys[0].file == \"$R/var/sigstore/keys/group1.pgp\""
jcheck "json: keyPaths: both fingerprints" ".scopes[1].requirements[0].keys | map(.fingerprints[0]) == [\"$FPR1\", \"$FPR2\"]"
jcheck "json: signedIdentity matchRepository" '.scopes[1].requirements[0].signedIdentity.type == "matchRepository"'
jcheck "json: keyData fingerprint" ".scopes[2].requirements[0].keys == [{\"keyData\": true, \"fingerprints\": [\"$FPR2\"]}]"
jcheck "json: host:port scope lookaside from port.yaml" '.scopes[1].lookaside.url == "http://other.local:81/sigs" and .scopes[1].lookaside.section == "registry.local:5000" and .scopes[1].lookaside.file == "/etc/containers/registries.d/port.yaml"'
jcheck "json: staging of default-docker" '.scopes[0].lookaside_staging.url == "file:///var/sigstore/sigstore/"'
jcheck "json: no lookaside for docker-daemon" '.scopes[4] | has("lookaside") | not'
jcheck "json: default lookaside" '.default.lookaside.url == "http://sigstore.local:81/sigstore/" and .default.requirements[0].type == "reject"'
jcheck "json: no problems" '.problems == []'

# --- --for
check_rc 0 "--for registry.local/app:1" js --for registry.local/app:1
jcheck "for: host scope" '.for.scope == "registry.local" and .for.scope_kind == "host" and .for.identity == "registry.local/app:1"'
jcheck "for: URL template without a digest" '.for.signature_url == "http://sigstore.local:81/sigstore/app@sha256=<digest>/signature-1" and .for.digest == null'
check_rc 0 "--for host:port with a digest" js --for "docker://registry.local:5000/ns/sub/app@sha256:$HEX"
jcheck "for: namespace scope under host:port" '.for.scope == "registry.local:5000/ns" and .for.scope_kind == "namespace"'
jcheck "for: exact signature URL (path without host and port)" ".for.signature_url == \"http://other.local:81/sigs/ns/sub/app@sha256=$HEX/signature-1\" and .for.digest == \"sha256:$HEX\""
jcheck "for: fingerprints of the scope's keys" ".for.requirements[0].keys | map(.fingerprints[0]) == [\"$FPR1\", \"$FPR2\"]"
check_rc 0 "--for host:port that has no scope" js --for registry.local:5000/other/app:2
jcheck "for: host:port does not fall back to the port-less host" '.for.scope == "" and .for.scope_kind == "transport_default" and .for.requirements[0].type == "reject"'
check_rc 0 "--for a wildcard host" js --for a.b.example.com/x/y:1
jcheck "for: wildcard scope" '.for.scope == "*.example.com" and .for.scope_kind == "wildcard"'
check_rc 0 "--for a docker.io short name" js --for busybox
jcheck "for: busybox normalised" '.for.identity == "docker.io/library/busybox:latest" and .for.scope == ""'
jcheck "for: docker.io path gets library/" '.for.signature_url == "http://sigstore.local:81/sigstore/library/busybox@sha256=<digest>/signature-1"'
check_rc 0 "--for text" "$PODSEC" --root "$R" policy show --for "registry.local:5000/ns/app@sha256:$HEX"
check_out '^Scope: +docker "registry.local:5000/ns" \(namespace\)$' "for text: scope line"
check_out "^Signature 1: +http://other.local:81/sigs/ns/app@sha256=$HEX/signature-1\$" "for text: signature URL"
check_out '^Lookaside: +http://other.local:81/sigs \(lookaside of docker scope "registry.local:5000" in /etc/containers/registries.d/port.yaml\)$' "for text: where the lookaside comes from"

# --- users
check_rc 0 "alice: own policy" js --user alice
jcheck "alice: her policy and registries.d" '.policy.source == "user" and .policy.path == "/home/alice/.config/containers/policy.json" and .registries_d.source == "user" and .registries_d.files == ["/home/alice/.config/containers/registries.d/mine.yaml"]'
jcheck "alice: her lookaside" '.scopes[0].lookaside.url == "https://alice.example.org/sigs/"'
jcheck "alice: system registries.d replaced: built-in default for the rest" '.default.lookaside.url == "file:///home/alice/.local/share/containers/sigstore" and .default.lookaside.builtin'
check_rc 0 "alice --for" js --user alice --for registry.local/alice/app:1
jcheck "alice --for: signature URL from her registries.d" '.for.signature_url == "https://alice.example.org/sigs/alice/app@sha256=<digest>/signature-1" and .for.requirements[0].signedIdentity.type == "matchExact"'
check_rc 0 "bob: system policy" js --user bob
jcheck "bob: system files, uid 1002" '.policy.source == "system" and .registries_d.source == "system" and .user.uid == 1002 and .user.home == "/home/bob"'
check_rc 0 "alice text" "$PODSEC" --root "$R" policy show --user alice
check_out '^Policy: +/home/alice/.config/containers/policy.json \(the user.s own\)$' "alice text: policy file"
check_out 'the user.s own, replacing the system one' "alice text: registries.d replaces the system one"

# --- problems and errors
check_rc 3 "carol: missing key file is a problem (exit 3)" js --user carol
jcheck "carol: the missing key has an error, the other its fingerprint" ".scopes[0].requirements[0].keys[0].fingerprints == [\"$FPR1\"] and (.scopes[0].requirements[0].keys[1].error | test(\"missing.pgp\"))"
jcheck "carol: listed in problems" '.problems | length == 1 and (.[0] | test("missing.pgp"))'
check_rc 3 "carol text" "$PODSEC" --root "$R" policy show --user carol
check_out '^Problems:$' "carol text: problems section"
check_out '/var/sigstore/keys/missing.pgp +ERROR' "carol text: the row says ERROR"
check_rc 1 "unknown user" "$PODSEC" --root "$R" policy show --user nosuchuser
check_out 'unknown user "nosuchuser"' "unknown user: message"
check_rc 1 "dave: invalid policy" "$PODSEC" --root "$R" policy show --user dave
check_out 'home/dave/.config/containers/policy.json.*keyType' "dave: the parser's message names the file and the field"
check_rc 1 "invalid --for reference" "$PODSEC" --root "$R" policy show --for 'Upper/Case'
check_out 'invalid reference' "invalid --for: message"
check_rc 2 "extra argument" "$PODSEC" --root "$R" policy show extra
check_rc 0 "--help" "$PODSEC" policy show --help
check_out '"problems"' "--help documents the JSON shape"

after=$(tree_hash "$R")
check_rc 0 "nothing under the root changed" test "$before" = "$after"

R2=$T/empty; mkroot "$R2"
check_rc 1 "missing policy" "$PODSEC" --root "$R2" policy show
check_out 'no policy for root: neither .*/root/.config/containers/policy.json nor .*/etc/containers/policy.json exists' "missing policy: message"
finish

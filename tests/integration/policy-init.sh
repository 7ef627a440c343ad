#!/bin/bash
# podsec policy init (= podsec-create-policy) on root trees made by mkroot:
# the files, links, owners and modes it creates; a second run changes
# nothing; bad input and bad existing files are refused with the documented
# exit code and leave the tree byte for byte as it was; the host's /etc is
# never touched.
. "$(dirname "$0")/lib.sh"
need jq sha256sum groupadd

[ "$(id -u)" = 0 ] || skip_all "needs root (groupadd --prefix, chown)"

IP=10.20.30.40
NAMES="registry.local sigstore.local trivy.local"
POLICY='{
  "default": [
    {
      "type": "reject"
    }
  ],
  "transports": {
    "docker": {}
  }
}'
YAML='default-docker:
  lookaside: http://sigstore.local:81/sigstore/
  sigstore: http://sigstore.local:81/sigstore/'
REGBLOCK='[[registry]]
location = "registry.local"
insecure = true'
TS='[0-9]{4}-[0-9]{2}-[0-9]{2}_[0-9]{2}:[0-9]{2}:[0-9]{2}'

# The host must not change: hash what policy init would touch on the host.
host_state() {
    local f
    for f in /etc/hosts /etc/group /etc/gshadow /etc/passwd; do
        [ -e "$f" ] && echo "$f $(sha256sum < "$f")"
    done
    for f in /etc/containers /etc/sysctl.d /var/sigstore; do
        [ -d "$f" ] && tree_hash "$f" | sed "s|^|$f |"
    done
    [ -e /dev/nul ] && echo "/dev/nul exists"
    true
}
HOST_BEFORE=$(host_state)

pi() { "$PODSEC" --root "$R" policy init "$@"; }
gid_of() { awk -F: -v g="$2" '$1==g {print $3}' "$1/etc/group"; }
same() { [ "$(cat "$1")" = "$2" ]; }
# refused RC PATTERN DESC CMD...: exit RC, message matches, $R unchanged
refused() {
    local rc=$1 pat=$2 d=$3 before; shift 3
    before=$(tree_hash "$R")
    check_rc "$rc" "$d: exit $rc" "$@"
    check_out "$pat" "$d: says why"
    if [ "$(tree_hash "$R")" = "$before" ]; then ok "$d: root unchanged"; else
        notok "$d: root unchanged"; diff <(echo "$before") <(tree_hash "$R") | head -10 | sed 's/^/#   /'; fi
}

# ---------------------------------------------------------------- help
check "policy init --help exits 0" "$PODSEC" policy init --help
check_out '^Usage: podsec policy init' "--help: usage line"
check_out 'Exit status' "--help: exit status table"
check_out 'leading zeros' "--help: says how leading zeros are treated"
check_out '--registry-node' "--help: documents --registry-node"

# ---------------------------------------------------------------- fresh root
R=$T/fresh; mkroot "$R"
check "fresh root: policy init $IP" pi --registry-node "$IP"
check_out "created +group podman$" "summary lists the created group"
check_out "registry node $IP: [0-9]+ created" "summary line"
C=$R/etc/containers

link=$(readlink "$C/policy.json")
[[ -L $C/policy.json && $link =~ ^policy_$TS$ ]] && ok "policy.json -> policy_<now> ($link)" || notok "policy.json -> policy_<now> ($link)"
same "$C/policy.json" "$POLICY" && ok "policy.json: exact initial text" || notok "policy.json: exact initial text"
jq -e '.default[0].type == "reject" and .transports.docker == {}' "$C/policy.json" >/dev/null && ok "policy.json parses (jq)" || notok "policy.json parses (jq)"
[ "$(stat -c '%u:%g %a' "$C/$link")" = "0:0 644" ] && ok "dated policy file root 0644" || notok "dated policy file root 0644"

link=$(readlink "$C/registries.d/default.yaml")
[[ $link =~ ^default_$TS$ ]] && ok "default.yaml -> default_<now> (no .yaml suffix)" || notok "default.yaml -> default_<now> ($link)"
same "$C/registries.d/default.yaml" "$YAML" && ok "default.yaml: exact text" || notok "default.yaml: exact text"
[ "$(ls "$C/registries.d" | grep -c '\.yaml$')" = 1 ] && ok "only one *.yaml in registries.d" || notok "only one *.yaml in registries.d"

link=$(readlink "$C/registries.conf")
[[ $link =~ ^registries_$TS$ ]] && ok "registries.conf -> registries_<now> (created when missing)" || notok "registries.conf -> registries_<now> ($link)"
same "$C/registries.conf" "$REGBLOCK" && ok "registries.conf: exactly the insecure block" || notok "registries.conf: exactly the insecure block"

grep -q '^podman:x:[0-9]*:$' "$R/etc/group" && ok "group podman in ROOT/etc/group" || notok "group podman in ROOT/etc/group"
grep -q '^podman_dev:x:[0-9]*:$' "$R/etc/group" && ok "group podman_dev in ROOT/etc/group" || notok "group podman_dev in ROOT/etc/group"
G=$(gid_of "$R" podman_dev)
[ "$G" -lt 1000 ] 2>/dev/null && ok "podman_dev is a system group (gid $G)" || notok "podman_dev is a system group (gid $G)"

st() { stat -c '%u:%g %a %F' "$R$1"; }
[ "$(st /var/sigstore)" = "0:0 755 directory" ] && ok "/var/sigstore root:root 0755" || notok "/var/sigstore: $(st /var/sigstore)"
# W4: keys/ not group-writable (root writes it); sigstore/ group-writable, setgid and sticky
[ "$(st /var/sigstore/keys)" = "0:$G 755 directory" ] && ok "keys/ root:podman_dev 0755" || notok "keys/: $(st /var/sigstore/keys)"
[ "$(st /var/sigstore/sigstore)" = "0:$G 3775 directory" ] && ok "sigstore/ root:podman_dev 3775" || notok "sigstore/: $(st /var/sigstore/sigstore)"
if command -v setpriv >/dev/null; then
    # what two podman_dev members (uids 23401, 23402) can do, on a copy of the store
    cp -a "$R/var/sigstore" "$T/w4"
    as() { local u=$1; shift; setpriv --reuid "$u" --regid "$u" --groups "$G" --inh-caps=-all --bounding-set=-all -- "$@"; }
    ! as 23401 sh -c ": > '$T/w4/keys/evil.pgp'" 2>/dev/null && ok "W4: a podman_dev member cannot add a key" || notok "W4: a podman_dev member cannot add a key"
    as 23401 sh -c "umask 022; mkdir -p '$T/w4/sigstore/a/img@sha256=1' && echo s > '$T/w4/sigstore/a/img@sha256=1/signature-1'" \
        && ok "W4: a member writes a signature" || notok "W4: a member writes a signature"
    [ "$(stat -c %a "$T/w4/sigstore/a")" = 2755 ] && ok "W4: its directory keeps the group (setgid)" || notok "W4: setgid ($(stat -c %a "$T/w4/sigstore/a"))"
    ! as 23402 rm -rf "$T/w4/sigstore/a" 2>/dev/null && [ -e "$T/w4/sigstore/a/img@sha256=1/signature-1" ] \
        && ok "W4: another member cannot remove it (sticky)" || notok "W4: another member cannot remove it (sticky)"
    ! as 23402 mv "$T/w4/sigstore/a" "$T/w4/sigstore/b" 2>/dev/null && ok "W4: ... nor rename it" || notok "W4: ... nor rename it"
    rm -rf "$T/w4"
fi
[ "$(st /var/sigstore/index.html)" = "0:0 644 regular file" ] && ok "index.html root 0644" || notok "index.html: $(st /var/sigstore/index.html)"
grep -qi 'works' "$R/var/sigstore/index.html" && ok "index.html says the sigstore works" || notok "index.html content"

[ "$(cat "$R/etc/hosts")" = "$(printf '127.0.0.1\tlocalhost\n%s %s' "$IP" "$NAMES")" ] && ok "hosts: line appended, old line kept" || notok "hosts: $(cat "$R/etc/hosts")"
same "$R/etc/sysctl.d/99-podman.conf" "kernel.unprivileged_userns_clone = 1" && ok "sysctl drop-in: one line" || notok "sysctl drop-in"
[ ! -e "$R/dev/nul" ] && [ ! -e "$R/dev" ] && ok "no stray /dev/nul (D12)" || notok "no stray /dev/nul (D12)"
[ -z "$(find "$R" -name '.*' -newer "$R/etc/passwd")" ] && ok "no temporary files left" || notok "temporary files left: $(find "$R" -name '.*')"

# ---------------------------------------------------------------- second run: nothing
S1=$(tree_hash "$R")
sleep 1.1   # a new dated file would get another name now
check "second run with the same IP" pi --registry-node "$IP"
check_out 'nothing to change' "second run says nothing to change"
[ "$(tree_hash "$R")" = "$S1" ] && ok "second run: tree identical" || { notok "second run: tree identical"; diff <(echo "$S1") <(tree_hash "$R") | sed 's/^/#   /' | head; }
"$PODSEC" --json --root "$R" policy init --registry-node "$IP" > "$T/j" 2>/dev/null
jq -e '.changed == false and (.items | length) >= 11 and all(.items[]; .action == "unchanged")' "$T/j" >/dev/null \
    && ok "--json: every item unchanged" || { notok "--json: every item unchanged"; sed 's/^/#   /' "$T/j" | head -30; }
jq -e '[.items[] | select(.name == "/etc/containers/policy.json" and .kind == "file")] | length == 1' "$T/j" >/dev/null \
    && ok "--json: items have kind/name/action" || notok "--json: items have kind/name/action"

# --json on a fresh root lists created items
R=$T/fresh-json; mkroot "$R"
"$PODSEC" --json --root "$R" policy init --registry-node "$IP" > "$T/j" 2>"$T/e"
jq -e '.changed == true and ([.items[] | select(.action == "created")] | length) >= 9
       and (.items[] | select(.name == "/etc/hosts") | .action) == "changed"' "$T/j" >/dev/null \
    && ok "--json: first run lists created/changed items" || { notok "--json first run"; sed 's/^/#   /' "$T/j" | head -40; }

# ---------------------------------------------------------------- dry run
R=$T/dry; mkroot "$R"
S=$(tree_hash "$R")
check "--dry-run" "$PODSEC" --dry-run --root "$R" policy init --registry-node "$IP"
check_out 'would create +file /etc/containers/policy.json' "--dry-run prints the plan"
check_out 'nothing was changed' "--dry-run says nothing was changed"
[ "$(tree_hash "$R")" = "$S" ] && ok "--dry-run changes nothing" || notok "--dry-run changes nothing"

# ---------------------------------------------------------------- existing regular files
R=$T/old; mkroot "$R"; C=$R/etc/containers
OLDPOL='{"default":[{"type":"insecureAcceptAnything"}],"transports":{"docker-daemon":{"":[{"type":"insecureAcceptAnything"}]}}}'
OLDYAML='docker:
  example.com:
    lookaside: https://example.com/sigs'
OLDREG='unqualified-search-registries = ["docker.io"]'
echo "$OLDPOL" > "$C/policy.json"; echo "$OLDYAML" > "$C/registries.d/default.yaml"
printf '%s' "$OLDREG" > "$C/registries.conf"     # no final newline
printf '127.0.0.1\tlocalhost' > "$R/etc/hosts"    # no final newline
check "existing regular files: policy init" pi --registry-node "$IP"
check_out 'replaced a policy that does not reject by default' "stock permissive policy is replaced, and said so"
Y=$(date -d '-1 day' +%F)
b=$(cd "$C" && ls -d policy_"$Y"_* 2>/dev/null | head -1)
[ -n "$b" ] && [ "$(cat "$C/$b")" = "$OLDPOL" ] && [ ! -L "$C/$b" ] && ok "policy.json kept as $b" || notok "policy.json backup policy_<yesterday> ($(ls "$C"))"
same "$C/policy.json" "$POLICY" && ok "policy.json replaced by the initial policy" || notok "policy.json replaced"
first=$(cd "$C" && ls policy_* | sort | head -1)
[ "$first" = "$b" ] && ok "the backup sorts before the new dated file" || notok "backup sorts first ($first)"
b=$(cd "$C/registries.d" && ls -d default.yaml."$Y"_* 2>/dev/null | head -1)
[ -n "$b" ] && [ "$(cat "$C/registries.d/$b")" = "$OLDYAML" ] && ok "default.yaml kept as $b" || notok "default.yaml backup ($(ls "$C/registries.d"))"
same "$C/registries.d/default.yaml" "$YAML" && ok "default.yaml replaced" || notok "default.yaml replaced"
b=$(cd "$C" && ls -d registries.conf."$Y"_* 2>/dev/null | head -1)
[ -n "$b" ] && [ "$(cat "$C/$b")" = "$OLDREG" ] && ok "registries.conf kept as $b" || notok "registries.conf backup ($(ls "$C"))"
[ "$(cat "$C/registries.conf")" = "$(printf '%s\n\n%s' "$OLDREG" "$REGBLOCK")" ] && ok "registries.conf: old content kept, block appended after a blank line" \
    || { notok "registries.conf content"; sed 's/^/#   /' "$C/registries.conf"; }
[ "$(cat "$R/etc/hosts")" = "$(printf '127.0.0.1\tlocalhost\n%s %s' "$IP" "$NAMES")" ] && ok "hosts without final newline: newline added" || notok "hosts: $(cat -A "$R/etc/hosts")"
tail -c1 "$R/etc/hosts" | od -An -c | grep -q '\\n' && ok "hosts ends with a newline" || notok "hosts ends with a newline"
check "existing files: second run" pi --registry-node "$IP"
check_out 'nothing to change' "existing files: second run says nothing to change"
[ "$(grep -c '^\[\[registry\]\]' "$C/registries.conf")" = 1 ] && ok "registries.conf block present exactly once" || notok "registries.conf block once"
[ "$(grep -cF "$IP $NAMES" "$R/etc/hosts")" = 1 ] && ok "hosts line present exactly once" || notok "hosts line once"

# a policy that rejects by default, with image-maker scopes, is kept
R=$T/keep; mkroot "$R"; C=$R/etc/containers
KEEP='{
  "default": [ { "type": "reject" } ],
  "transports": { "docker": {
      "registry.local/c10f": [ { "type": "signedBy", "keyType": "GPGKeys", "keyPath": "/var/sigstore/keys/imk.pgp" } ],
      "registry.local/k8s": [ { "type": "signedBy", "keyType": "GPGKeys", "keyPath": "/var/sigstore/keys/k8s.pgp" } ] } }
}'
echo "$KEEP" > "$C/policy_2020-01-01_00:00:00"; ln -s policy_2020-01-01_00:00:00 "$C/policy.json"
check "existing reject policy with scopes" pi --registry-node "$IP"
check_out 'kept existing policy with 2 scopes' "scopes kept, and said so"
[ "$(readlink "$C/policy.json")" = policy_2020-01-01_00:00:00 ] && [ "$(cat "$C/policy.json")" = "$KEEP" ] \
    && ok "policy.json untouched" || notok "policy.json untouched"
[ "$(ls "$C" | grep -c '^policy_')" = 1 ] && ok "no new dated policy file" || notok "no new dated policy file"
check "--reset-policy replaces it" pi --registry-node --reset-policy "$IP"
check_out 'reset to reject-all' "--reset-policy says what it did"
same "$C/policy.json" "$POLICY" && ok "--reset-policy: initial policy" || notok "--reset-policy: initial policy"
[ "$(cat "$C/policy_2020-01-01_00:00:00")" = "$KEEP" ] && ok "--reset-policy: old dated file kept" || notok "old dated file kept"

# a permissive policy with docker scopes is refused, --reset-policy replaces it
R=$T/perm; mkroot "$R"; C=$R/etc/containers
echo '{"default":[{"type":"insecureAcceptAnything"}],"transports":{"docker":{"registry.local/x":[{"type":"reject"}]}}}' > "$C/policy.json"
refused 1 'does not reject by default but has 1 docker scope.*--reset-policy' "permissive policy with scopes" pi --registry-node "$IP"
check "permissive policy with scopes, --reset-policy" pi --registry-node --reset-policy "$IP"
same "$C/policy.json" "$POLICY" && ok "replaced after --reset-policy" || notok "replaced after --reset-policy"

# a dangling policy.json link (the original's D7) is replaced
R=$T/dangling; mkroot "$R"; C=$R/etc/containers
ln -s policy_missing "$C/policy.json"
check "dangling policy.json link" pi --registry-node "$IP"
check_out 'dangling symbolic link to policy_missing' "dangling link reported"
same "$C/policy.json" "$POLICY" && ok "dangling link replaced" || notok "dangling link replaced"

# ---------------------------------------------------------------- bad input
R=$T/bad; mkroot "$R"
refused 1 'IP address of the registry and signature server is missing' "no argument" pi
refused 1 'only one IP address may be given' "two arguments" pi 10.1.1.1 10.1.1.2
refused 1 'only one IP address may be given' "three arguments" pi 10.1.1.1 10.1.1.2 10.1.1.3
refused 1 'exclude each other' "--registry-node with --client-node" pi --registry-node --client-node "$IP"
refused 1 'Usage' "unknown option" pi --bogus "$IP"
refused 2 'empty' "empty IP" pi ""
refused 2 'has 3 fields' "1.2.3" pi 1.2.3
refused 2 'has 5 fields' "1.2.3.4.5" pi 1.2.3.4.5
refused 2 'IPv6 address; only IPv4' "IPv6 ::1" pi ::1
refused 2 'IPv6 address; only IPv4' "IPv6 2001:db8::1" pi 2001:db8::1
refused 3 "field 1 \('a'\) is not a decimal number" "a.b.c.d" pi a.b.c.d
refused 3 "field 1 \('999'\)" "999.1.1.1" pi 999.1.1.1
refused 3 "field 4 \('-4'\)" "1.2.3.-4" pi 1.2.3.-4
refused 3 "field 2 \(''\) is empty" "1..2.3" pi 1..2.3
refused 3 "field 1 \(' 1'\)" "leading space" pi " 1.2.3.4"
refused 3 "field 1 \('\+1'\)" "leading +" pi "+1.2.3.4"
refused 3 'leading zero' "leading zero" pi 10.020.30.40
refused 1 'loopback' "127.0.0.1" pi 127.0.0.1
refused 1 'loopback' "127.1.2.3" pi 127.1.2.3
refused 1 '0.0.0.0/8' "0.0.0.0" pi 0.0.0.0
refused 1 'multicast' "multicast" pi 224.0.0.5

# client node whose signature server does not answer (keys_url on a closed
# loopback port): exit 6 before anything is changed; policy-client.sh tests
# the client flow itself
printf 'keys_url=http://127.0.0.1:%s/keys/\n' "$(free_port)" > "$T/closed.conf"
pic() { "$PODSEC" --root "$R" --config "$T/closed.conf" policy init "$@"; }
CLIENT_IP=198.51.100.77
if ! ip -4 -o addr show 2>/dev/null | grep -q " $CLIENT_IP/"; then
    refused 6 'cannot get the keys and the policy from the signature server http://127.0.0.1:[0-9]+/keys/ \(registry node 198.51.100.77\)' \
        "client node (IP not local)" pic "$CLIENT_IP"
fi
refused 6 'cannot get the keys.*nothing was changed' "--client-node" pic --client-node "$IP"

C=$R/etc/containers
mkdir "$C/policy.json"
refused 1 'policy.json is a directory' "policy.json is a directory" pi --registry-node "$IP"
rmdir "$C/policy.json"
echo '{"default": [{"type": "reject"}], "transports": {' > "$C/policy.json"
refused 1 'policy.json is not a valid policy: invalid JSON at line' "policy.json truncated" pi --registry-node "$IP"
echo '{"default": [{"type": "reject"}], "default": [{"type": "insecureAcceptAnything"}]}' > "$C/policy.json"
refused 1 'policy.json is not a valid policy: .*duplicate' "policy.json with a duplicate key" pi --registry-node "$IP"
echo '{"default": [{"type": "reject"}], "transports": {"docker": {"registry.local/x": [{"type": "signedBy", "keyType": "GPGKeys", "keypath": "/k.pgp"}]}}}' > "$C/policy.json"
refused 1 'policy.json is not a valid policy: .*registry.local/x.*keypath' "policy.json with an unknown key (as podman would refuse it)" pi --registry-node "$IP"
echo '{"transports": {"docker": {}}}' > "$C/policy.json"
refused 1 '"default" is missing' "policy.json without default" pi --registry-node "$IP"
echo "$POLICY" > "$C/policy.json"
printf 'default-docker:\n  lookaside: [unclosed\n' > "$C/registries.d/default.yaml"
refused 1 'default.yaml is not valid YAML: line' "default.yaml invalid YAML" pi --registry-node "$IP"
rm "$C/registries.d/default.yaml"
printf '[registries.insecure]\nregistries = ["x"]\n' > "$C/registries.conf"
refused 1 'registries.conf' "registries.conf in the v1 format" pi --registry-node "$IP"
rm "$C/registries.conf"
mv "$R/etc/hosts" "$R/etc/hosts.real"; mkdir "$R/etc/hosts"
refused 1 '/etc/hosts is a directory' "hosts is a directory" pi --registry-node "$IP"
rmdir "$R/etc/hosts"; mv "$R/etc/hosts.real" "$R/etc/hosts"
mkdir -p "$R/var/sigstore"; ln -s /tmp "$R/var/sigstore/keys"
refused 1 'keys exists and is not a directory \(a symbolic link\)' "keys is a symlink" pi --registry-node "$IP"
rm "$R/var/sigstore/keys"; rmdir "$R/var/sigstore"
mkdir -p "$R/etc/podsec"; printf 'registry = registry.local\nbogus_key = 1\n' > "$R/etc/podsec/podsec.conf"
refused 1 'podsec.conf:2: unknown setting .bogus_key.' "unknown key in ROOT/etc/podsec/podsec.conf" pi --registry-node "$IP"
rm -r "$R/etc/podsec"
printf '127.0.0.1 localhost\n# old registry\n10.9.9.9 registry.local sigstore.local trivy.local\n' > "$R/etc/hosts"
refused 1 'line 3 binds registry.local to 10.9.9.9, not to 10.20.30.40.*--replace-hosts' \
    "hosts binds the names to another IP" pi --registry-node "$IP"

# --replace-hosts rebinds, in place
check "--replace-hosts" pi --registry-node --replace-hosts "$IP"
check_out 'replaced the binding to 10.9.9.9 on line 3' "--replace-hosts says what it replaced"
[ "$(cat "$R/etc/hosts")" = "$(printf '127.0.0.1 localhost\n# old registry\n%s %s' "$IP" "$NAMES")" ] \
    && ok "--replace-hosts: the line is rewritten in place" || notok "--replace-hosts: $(cat "$R/etc/hosts")"

# site settings: names, URL and registry come from ROOT/etc/podsec/podsec.conf
R=$T/site; mkroot "$R"; mkdir -p "$R/etc/podsec"
printf 'registry = 127.0.0.1:5000\nsigstore_url = http://127.0.0.1:8081/sigstore/\nhosts_names = reg.test sig.test\nsigstore_dir = /srv/sig\ngroup_dev = devs\n' > "$R/etc/podsec/podsec.conf"
check "site settings" pi --registry-node "$IP"
grep -qxF "$IP reg.test sig.test" "$R/etc/hosts" && ok "hosts_names used" || notok "hosts_names used"
grep -q 'lookaside: http://127.0.0.1:8081/sigstore/' "$R/etc/containers/registries.d/default.yaml" && ok "sigstore_url used" || notok "sigstore_url used"
grep -q 'location = "127.0.0.1:5000"' "$R/etc/containers/registries.conf" && ok "registry used" || notok "registry used"
[ "$(stat -c '%u:%g %a' "$R/srv/sig/sigstore")" = "0:$(gid_of "$R" devs) 3775" ] && ok "sigstore_dir and group_dev used" || notok "sigstore_dir/group_dev"

# ---------------------------------------------------------------- original name
mkdir -p "$T/bin"; ln -s "$PODSEC" "$T/bin/podsec-create-policy"
R=$T/orig; mkroot "$R"
check "podsec-create-policy --help" "$T/bin/podsec-create-policy" --help
check_out '^Usage: podsec-create-policy' "podsec-create-policy --help: usage"
S=$(tree_hash "$R")
check_rc 1 "podsec-create-policy without IP: exit 1" env PODSEC_ROOT="$R" "$T/bin/podsec-create-policy"
check_out '^podsec-create-policy: the IP address of the registry' "podsec-create-policy names itself"
check_rc 2 "podsec-create-policy 1.2.3: exit 2" env PODSEC_ROOT="$R" "$T/bin/podsec-create-policy" 1.2.3
check_rc 3 "podsec-create-policy 1.2.3.999: exit 3" env PODSEC_ROOT="$R" "$T/bin/podsec-create-policy" 1.2.3.999
[ "$(tree_hash "$R")" = "$S" ] && ok "podsec-create-policy: refusals change nothing" || notok "podsec-create-policy: refusals change nothing"
LOCAL_IP=$(ip -4 -o addr show scope global 2>/dev/null | awk '{sub("/.*", "", $4); print $4; exit}')
if [ -n "$LOCAL_IP" ]; then
    check "podsec-create-policy $LOCAL_IP (this host's address: registry node)" env PODSEC_ROOT="$R" "$T/bin/podsec-create-policy" "$LOCAL_IP"
    grep -qxF "$LOCAL_IP $NAMES" "$R/etc/hosts" && ok "podsec-create-policy: hosts line" || notok "podsec-create-policy: hosts line"
    [ -d "$R/var/sigstore/keys" ] && same "$R/etc/containers/policy.json" "$POLICY" && ok "podsec-create-policy: registry node set up" || notok "podsec-create-policy: registry node set up"
    check "podsec-create-policy again" env PODSEC_ROOT="$R" "$T/bin/podsec-create-policy" "$LOCAL_IP"
    check_out 'nothing to change' "podsec-create-policy again: nothing to change"
else
    echo "# no global IPv4 address on this host: local-address detection not exercised"
fi

# ---------------------------------------------------------------- the host
[ "$(host_state)" = "$HOST_BEFORE" ] && ok "host /etc/hosts, /etc/group, /etc/containers, /etc/sysctl.d unchanged" \
    || { notok "host state unchanged"; diff <(echo "$HOST_BEFORE") <(host_state) | head | sed 's/^/#   /'; }
finish

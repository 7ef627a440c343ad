#!/bin/bash
# podsec user add-imagemaker / add-podman on a --root tree made by mkroot and
# set up by policy init: accounts made by the real shadow tools (passwd,
# group, shadow, subuid, subgid), homes with the owners and modes of the
# spec, the signing key in the user's own keyring and its public key
# exported (checked with gpg and with podsec policy show), the system policy
# only after the key (D6), keyPaths for a second maker of a scope, personal
# policies of other image makers updated and nobody else's touched (D14),
# image users' locked configuration (immutable; the user cannot write it),
# refusals that leave the tree byte for byte as it was, a failure half-way
# that says what was done and is completed by a second run, and the host's
# account files untouched.
. "$(dirname "$0")/lib.sh"
need jq gpg sha256sum useradd usermod groupadd setpriv lsattr chattr python3

[ "$(id -u)" = 0 ] || skip_all "needs root (useradd --prefix, chown, chattr)"

host_state() {
    local f
    for f in /etc/passwd /etc/group /etc/shadow /etc/gshadow /etc/subuid /etc/subgid; do
        [ -e "$f" ] && echo "$f $(sha256sum < "$f")"
    done
    true
}
HOST_BEFORE=$(host_state)

R=$T/root; mkroot "$R"
PORT=$(free_port); SPORT=$(free_port)
REG=127.0.0.1:$PORT
mkdir -p "$R/etc/podsec"
printf 'registry=%s\nsigstore_url=http://127.0.0.1:%s/sigstore/\n' "$REG" "$SPORT" > "$R/etc/podsec/podsec.conf"
printf 'key passphrase 1\n' > "$T/pp"; chmod 600 "$T/pp"
printf 'login password\n' > "$T/pw"; chmod 600 "$T/pw"
: > "$T/empty"

P() { setsid -w "$PODSEC" --root "$R" "$@" < /dev/null; }    # no controlling terminal
mk() { P user add-imagemaker "$@"; }
pm() { P user add-podman "$@"; }
uid_of() { awk -F: -v u="$1" '$1==u {print $3}' "$R/etc/passwd"; }
gid_of() { awk -F: -v g="$1" '$1==g {print $3}' "$R/etc/group"; }
# state_is DESC PATH OWNER:GROUP MODE (owner and group as names of $R)
state_is() {
    local want got
    want="$(uid_of "${3%:*}"):$(gid_of "${3#*:}") $4"
    got=$(stat -c '%u:%g %a' "$2" 2>&1)
    if [ "$got" = "$want" ]; then ok "$1"; else notok "$1: $2 is '$got', expected '$want'"; fi
}
# tree_fast DIR: like lib.sh's tree_hash (type, mode, owner, size, link
# target, content of every entry) with one sha256sum for all files, which is
# much quicker on a tree with a few hundred files
tree_fast() {
    (cd "$1" && { find . -printf '%y %m %U:%G %s %l %p\n'; find . -type f -exec sha256sum {} +; } | LC_ALL=C sort)
}
# refused RC PATTERN DESC CMD...: exit RC, message matches, $R unchanged
refused() {
    local rc=$1 pat=$2 d=$3 before; shift 3
    before=$(tree_fast "$R")
    check_rc "$rc" "$d: exit $rc" "$@"
    check_out "$pat" "$d: says why"
    check_out "nothing was changed" "$d: says nothing was changed"
    if [ "$(tree_fast "$R")" = "$before" ]; then ok "$d: root unchanged"; else
        notok "$d: root unchanged"; diff <(echo "$before") <(tree_fast "$R") | head -10 | sed 's/^/#   /'; fi
}
# as_user USER CMD...: run CMD as USER of $R (primary group podman) with USER's GnuPG home
as_user() {
    local u=$1; shift
    setpriv --reuid "$(uid_of "$u")" --regid "$(gid_of podman)" --clear-groups \
        env -i PATH=/usr/bin:/bin HOME="$R/home/$u" GNUPGHOME="$R/home/$u/.gnupg" "$@"
}
no_agents() { ! ps -eo args | grep -v grep | grep -q -- "$R/home"; }
tree_nognupg() { tree_fast "$R" | grep -v '/\.gnupg'; }

# the comparison must see a change of content, mode and owner
mkdir "$T/self"; echo a > "$T/self/f"; s0=$(tree_fast "$T/self"); echo b > "$T/self/f"; s1=$(tree_fast "$T/self")
chmod 600 "$T/self/f"; s2=$(tree_fast "$T/self"); chown 1:1 "$T/self/f"; s3=$(tree_fast "$T/self")
[ "$s0" != "$s1" ] && [ "$s1" != "$s2" ] && [ "$s2" != "$s3" ] && ok "tree_fast sees content, mode and owner" || notok "tree_fast sees changes"

# ---------------------------------------------------------------- help
check "add-imagemaker --help" "$PODSEC" user add-imagemaker --help
check_out 'Exit status' "add-imagemaker --help lists exit codes"
check_out 'keyPaths' "add-imagemaker --help explains a second maker of a scope"
check_out '--passphrase-file' "add-imagemaker --help lists --passphrase-file"
check "add-podman --help" "$PODSEC" user add-podman --help
check_out 'XDG_CONFIG_HOME' "add-podman --help tells about environment overrides (W3)"
check_out '--signature-policy' "add-podman --help names --signature-policy (W3)"
check "original name in podsec --help" "$PODSEC" --help
check_out 'podsec-create-imagemakeruser += podsec user add-imagemaker' "podsec --help maps podsec-create-imagemakeruser"
check_out 'podsec-create-podmanusers += podsec user add-podman' "podsec --help maps podsec-create-podmanusers"

# ---------------------------------------------------------------- refusals before policy init
refused 1 "must be run as root" "not root" setpriv --reuid 65534 --regid 65534 --clear-groups \
    "$PODSEC" --root "$R" user add-imagemaker --no-password --passphrase-file "$T/empty" alice
refused 1 "podsec policy init" "no signature store yet" mk --no-password --passphrase-file "$T/pp" alice
refused 1 "must be run as root" "add-podman: not root" setpriv --reuid 65534 --regid 65534 --clear-groups \
    "$PODSEC" --root "$R" user add-podman --no-password erin

check "policy init" "$PODSEC" --root "$R" policy init --registry-node 192.0.2.10
GU=$(gid_of podman); GD=$(gid_of podman_dev)
[ -n "$GU" ] && [ -n "$GD" ] && ok "groups podman ($GU) and podman_dev ($GD) exist" || notok "groups exist"

# a user that is neither kind, and a home without a user
useradd --prefix "$R" -m -g users plain >/dev/null 2>&1 && ok "useradd plain" || notok "useradd plain"
mkdir -p "$R/home/plain/.config/containers"
echo '{"default":[{"type":"insecureAcceptAnything"}]}' > "$R/home/plain/.config/containers/policy.json"
chown -R "$(uid_of plain)" "$R/home/plain/.config"
mkdir "$R/home/ghost"
echo stale > "$R/var/sigstore/keys/stale.pgp"

# ---------------------------------------------------------------- bad input
refused 1 "user name before '@' is empty" "@x" mk --no-password --passphrase-file "$T/pp" @x
refused 1 "scope after '@' is empty" "u@" mk --no-password --passphrase-file "$T/pp" u@
refused 1 "more than one '@'" "u@@x" mk --no-password --passphrase-file "$T/pp" u@@x
refused 1 "more than one '@'" "a@b@c" mk --no-password --passphrase-file "$T/pp" a@b@c
refused 1 "each one must be USER@SCOPE" "bare user among several" mk --no-password --passphrase-file "$T/pp" "a@$REG" b
refused 2 "is given twice" "duplicate scope" mk --no-password --passphrase-file "$T/pp" "a@$REG/x" "b@$REG" "c@$REG/x"
refused 1 "lowercase" "upper-case name (Debian's useradd would take it)" mk --no-password --passphrase-file "$T/pp" UPPER
refused 1 "lowercase" "name starting with '-'" mk --no-password --passphrase-file "$T/pp" -- -bad
refused 1 "invalid scope" "invalid scope" mk --no-password --passphrase-file "$T/pp" "u@$REG/UPPER"
refused 1 "unknown key type" "bad --key-type" mk --no-password --passphrase-file "$T/pp" --key-type dsa1024 alice
refused 1 "control character" "control character in --uid" mk --no-password --passphrase-file "$T/pp" \
    --uid "$(printf 'Alice\tX <a@b.c>')" alice
refused 1 "one user" "--uid with two users" mk --no-password --passphrase-file "$T/pp" --uid "A <a@b.c>" "a@$REG" "b@$REG/b"
refused 1 "cannot open the password file" "missing --password-file" mk --password-file "$T/none" --passphrase-file "$T/pp" alice
refused 1 "is empty" "empty --passphrase-file" mk --no-password --passphrase-file "$T/empty" alice
refused 1 "exclude each other" "--password-file with --no-password" mk --no-password --password-file "$T/pw" alice
refused 1 "no terminal" "no terminal and no --passphrase-file" mk --no-password alice
refused 1 "no terminal" "no terminal and no password option" mk --passphrase-file "$T/pp" alice
refused 1 "not an image maker.*--adopt" "existing account that is not an image maker" mk --no-password --passphrase-file "$T/pp" plain
refused 1 "/home/ghost does" "home exists, user does not" mk --no-password --passphrase-file "$T/pp" ghost
refused 1 "stale.pgp exists but user stale does not" "stale key file" mk --no-password --passphrase-file "$T/pp" stale
refused 1 "no user name given" "add-podman without users" pm --no-password
refused 1 "lowercase" "add-podman: upper-case name" pm --no-password Erin
refused 1 "given twice" "add-podman: the same user twice" pm --no-password erin erin
refused 1 "not an image user.*--adopt" "add-podman: existing other account" pm --no-password plain
rm -rf "$R/home/ghost" "$R/var/sigstore/keys/stale.pgp"

# ---------------------------------------------------------------- dry run
before=$(tree_fast "$R")
check "dry run" P --dry-run --json user add-imagemaker --passphrase-file "$T/pp" --password-file "$T/pw" alice
check_out '"dry_run": true' "dry run: json says so"
[ "$(tree_fast "$R")" = "$before" ] && ok "dry run: root unchanged" || notok "dry run: root unchanged"
check "dry run (human)" P --dry-run user add-imagemaker --passphrase-file "$T/pp" --password-file "$T/pw" alice
check_out "would create +user alice" "dry run lists the user"
check_out "would create +scope $REG" "dry run lists the scope"

# ---------------------------------------------------------------- image maker alice
mkdir -p "$R/etc/skel"; echo 'root tree skeleton' > "$R/etc/skel/.podsec-skel"
P --json user add-imagemaker --passphrase-file "$T/pp" --password-file "$T/pw" alice > "$T/alice.json" 2> "$T/alice.err"
rc=$?
[ $rc = 0 ] && ok "add-imagemaker alice: exit 0" || { notok "add-imagemaker alice: exit $rc"; sed 's/^/#   /' "$T/alice.err"; }
FPR=$(jq -r '.users[0].fingerprint' "$T/alice.json")
[ "$(jq -r '.users[0].scopes[0]' "$T/alice.json")" = "$REG" ] && ok "bare USER means USER@REGISTRY" || notok "bare USER means USER@REGISTRY"
[[ $FPR =~ ^[0-9A-F]{40}$ ]] && ok "json: fingerprint $FPR" || notok "json: fingerprint ($FPR)"
AU=$(uid_of alice)
[ -n "$AU" ] && ok "alice in passwd (uid $AU)" || notok "alice in passwd"
[ "$(awk -F: '$1=="alice" {print $4}' "$R/etc/passwd")" = "$GU" ] && ok "alice: primary group podman" || notok "alice: primary group podman"
grep -Eq "^podman_dev:[^:]*:$GD:(.*,)?alice(,|$)" "$R/etc/group" && ok "alice in podman_dev" || notok "alice in podman_dev"
grep -q '^alice:[0-9]*:65536$' "$R/etc/subuid" && ok "subuid range" || notok "subuid range"
grep -q '^alice:[0-9]*:65536$' "$R/etc/subgid" && ok "subgid range" || notok "subgid range"
HASH=$(awk -F: '$1=="alice" {print $2}' "$R/etc/shadow")
if python3 -W ignore -c 'import crypt,sys; sys.exit(0 if crypt.crypt("login password", sys.argv[1]) == sys.argv[1] else 1)' "$HASH"
then ok "password hash in shadow matches --password-file"; else notok "password hash in shadow ($HASH)"; fi

H=$R/home/alice; C=$H/.config/containers
state_is "home" "$H" alice:podman 755
state_is "~/.config" "$H/.config" alice:podman 755
state_is "~/.config/containers" "$C" alice:podman 755
state_is "registries.d" "$C/registries.d" alice:podman 755
state_is "registries.d/default.yaml" "$C/registries.d/default.yaml" alice:podman 644
state_is "personal policy.json" "$C/policy.json" alice:podman 644
state_is "~/.gnupg" "$H/.gnupg" alice:podman 700
[ -f "$H/.podsec-skel" ] && ok "skeleton files come from ROOT/etc/skel" || notok "skeleton from ROOT/etc/skel"
leak=
for f in /etc/skel/.* /etc/skel/*; do
    [ -f "$f" ] && [ ! -e "$R/etc/skel/${f##*/}" ] && [ -e "$H/${f##*/}" ] && leak="$leak ${f##*/}"
done
[ -z "$leak" ] && ok "no skeleton file of the host in the new home" || notok "the host's skeleton files leaked into the root:$leak"
[ -z "$(find "$H" ! -uid "$AU")" ] && ok "everything in alice's home is hers" || notok "everything in alice's home is hers: $(find "$H" ! -uid "$AU" | head -3)"
printf 'default-docker:\n  lookaside: http://127.0.0.1:%s/sigstore/\n  sigstore: http://127.0.0.1:%s/sigstore/\n  lookaside-staging: file:///var/sigstore/sigstore/\n  sigstore-staging: file:///var/sigstore/sigstore/\n' \
    "$SPORT" "$SPORT" > "$T/want.yaml"
cmp -s "$T/want.yaml" "$C/registries.d/default.yaml" && ok "maker registries.d/default.yaml (spec §3.3)" || notok "maker default.yaml"

K=$R/var/sigstore/keys/alice.pgp
state_is "key file" "$K" alice:podman 644
head -1 "$K" | grep -q 'BEGIN PGP PUBLIC KEY BLOCK' && ok "key file is armored" || notok "key file is armored"
gpg --show-keys --with-colons "$K" > "$T/show" 2>&1
[ "$(awk -F: '/^fpr:/ {print $10; exit}' "$T/show")" = "$FPR" ] && ok "gpg --show-keys: same fingerprint" || notok "gpg --show-keys fingerprint"
grep -q "^uid:.*alice <alice@127.0.0.1>" "$T/show" && ok "key uid 'alice <alice@127.0.0.1>'" || notok "key uid"
[ "$(awk -F: '/^pub:/ {print $4; exit}' "$T/show")" = 22 ] && ok "ed25519 by default" || notok "ed25519 by default"
grep -q '^sec' <(as_user alice gpg --batch --list-secret-keys --with-colons "$FPR" 2>/dev/null) && ok "secret key in alice's keyring" || notok "secret key in alice's keyring"
as_user alice gpgconf --kill all 2>/dev/null
no_agents && ok "no gpg-agent left running for the homes" || notok "no gpg-agent left: $(ps -eo pid,args | grep -- "$R/home" | grep -v grep)"

SYS=$R/etc/containers/policy.json
[ -L "$SYS" ] && [[ $(readlink "$SYS") =~ ^policy_ ]] && ok "policy.json -> $(readlink "$SYS")" || notok "policy.json is a dated link"
jq -e --arg s "$REG" '.default == [{"type":"reject"}] and .transports.docker[$s] ==
    [{"type":"signedBy","keyType":"GPGKeys","keyPath":"/var/sigstore/keys/alice.pgp"}]' "$SYS" >/dev/null \
    && ok "system policy: signedBy with the node path of the key" || notok "system policy scope: $(jq -c . "$SYS")"
cmp -s "$SYS" "$R/var/sigstore/keys/policy.json" && ok "keys/policy.json = system policy" || notok "keys/policy.json = system policy"
state_is "keys/policy.json" "$R/var/sigstore/keys/policy.json" root:root 644
jq -e '.default == [{"type":"insecureAcceptAnything"}]' "$C/policy.json" >/dev/null && ok "personal default insecureAcceptAnything" || notok "personal default"
[ "$(jq -c .transports "$C/policy.json")" = "$(jq -c .transports "$SYS")" ] && ok "personal policy: the system scopes" || notok "personal policy scopes"

# podsec's own view of it (policy show, by another helper)
if "$PODSEC" --root "$R" --json policy show > "$T/show.json" 2>"$T/show.err" || [ $? = 3 ]; then
    jq -e --arg s "$REG" --arg f "$FPR" '.scopes[] | select(.scope == $s) | .requirements[0].keys[0].fingerprints == [$f]' \
        "$T/show.json" >/dev/null && ok "policy show: the scope's key has alice's fingerprint" || notok "policy show fingerprint: $(head -c 600 "$T/show.json")"
else
    ok "policy show not available yet # SKIP $(head -1 "$T/show.err")"
fi

# ---------------------------------------------------------------- running it again
before=$(tree_nognupg)
check "add-imagemaker alice again" mk --passphrase-file "$T/pp" --password-file "$T/pw" alice
check_out 'nothing to change' "second run: nothing to change"
[ "$(tree_nognupg)" = "$before" ] && ok "second run: tree unchanged" || { notok "second run: tree unchanged"; diff <(echo "$before") <(tree_nognupg) | head | sed 's/^/#   /'; }
no_agents && ok "second run: no gpg-agent left" || notok "second run: gpg-agent left"

# ---------------------------------------------------------------- D14 setup: other users' policies
jq '.transports["docker-daemon"] = {"": [{"type":"insecureAcceptAnything"}]} | .transports.docker["example.com/mine"] = [{"type":"reject"}]' \
    "$C/policy.json" > "$T/alice-pol" && cat "$T/alice-pol" > "$C/policy.json"
# dan: an image maker (made by hand) whose personal policy is broken
printf 'dan:x:2001:%s::/home/dan:/bin/sh\n' "$GU" >> "$R/etc/passwd"
sed -i "s/^\(podman_dev:[^:]*:[0-9]*:.*\)$/\1,dan/" "$R/etc/group"
mkdir -p "$R/home/dan/.config/containers"; echo '{"default": [' > "$R/home/dan/.config/containers/policy.json"
chown -R 2001:"$GU" "$R/home/dan"
PLAIN_BEFORE=$(sha256sum < "$R/home/plain/.config/containers/policy.json")
DAN_BEFORE=$(sha256sum < "$R/home/dan/.config/containers/policy.json")

# ---------------------------------------------------------------- bob (own scope) and carol (alice's scope)
check "add-imagemaker bob@REG/bob carol@REG" mk --passphrase-file "$T/pp" --no-password --key-type rsa2048 "bob@$REG/bob" "carol@$REG"
check_out "carol.pgp added to keyPaths" "carol joins alice's scope through keyPaths"
check_out "personal policy of image maker dan not updated" "dan's broken policy is reported"
jq -e --arg s "$REG" '.transports.docker[$s] == [{"type":"signedBy","keyType":"GPGKeys",
    "keyPaths":["/var/sigstore/keys/alice.pgp","/var/sigstore/keys/carol.pgp"]}]' "$SYS" >/dev/null \
    && ok "system policy: keyPaths [alice, carol] (either signature accepted)" || notok "keyPaths: $(jq -c .transports "$SYS")"
jq -e --arg s "$REG/bob" '.transports.docker[$s][0].keyPath == "/var/sigstore/keys/bob.pgp"' "$SYS" >/dev/null \
    && ok "system policy: bob's scope" || notok "bob's scope"
[ "$(ls "$R/etc/containers" | grep -c '^policy_')" -ge 2 ] && ok "a new dated policy file per change" || notok "dated policy files"
jq -e --arg s "$REG" '.transports.docker[$s][0].keyPaths | length == 2' "$C/policy.json" >/dev/null \
    && ok "alice's personal policy got carol's key" || notok "alice's personal policy: $(jq -c . "$C/policy.json")"
jq -e --arg s "$REG/bob" '.transports.docker[$s] != null and .transports["docker-daemon"] != null and
    .transports.docker["example.com/mine"] == [{"type":"reject"}]' "$C/policy.json" >/dev/null \
    && ok "alice's own additions kept (D14)" || notok "alice's additions kept"
state_is "alice's personal policy keeps its owner and mode" "$C/policy.json" alice:podman 644
[ "$(sha256sum < "$R/home/plain/.config/containers/policy.json")" = "$PLAIN_BEFORE" ] && ok "a non-maker's policy untouched (D14)" || notok "non-maker's policy untouched"
[ "$(sha256sum < "$R/home/dan/.config/containers/policy.json")" = "$DAN_BEFORE" ] && ok "a broken maker policy untouched" || notok "broken policy untouched"
gpg --show-keys --with-colons "$R/var/sigstore/keys/bob.pgp" 2>/dev/null | awk -F: '/^pub:/ {print $3, $4}' | grep -q '^2048 1$' \
    && ok "--key-type rsa2048" || notok "--key-type rsa2048"
[ "$(awk -F: '$1=="bob" {print $2}' "$R/etc/shadow")" = '!' ] && ok "--no-password: account locked" || notok "--no-password: account locked"
no_agents && ok "no gpg-agent left after two makers" || notok "gpg-agent left"

# ---------------------------------------------------------------- --adopt an existing account as image maker
useradd --prefix "$R" -m -g users greta >/dev/null 2>&1
check "add-imagemaker --adopt greta" mk --adopt --passphrase-file "$T/pp" --no-password "greta@$REG/greta"
check_out "changed +user greta: existing user adopted" "--adopt is reported"
[ "$(awk -F: '$1=="greta" {print $4}' "$R/etc/passwd")" = "$GU" ] && ok "--adopt: greta's primary group is podman" || notok "--adopt: greta's primary group"
grep -Eq "^podman_dev:.*[:,]greta(,|$)" "$R/etc/group" && ok "--adopt: greta in podman_dev" || notok "--adopt: greta in podman_dev"
[ -s "$R/var/sigstore/keys/greta.pgp" ] && ok "--adopt: key exported" || notok "--adopt: key exported"

# ---------------------------------------------------------------- a failure half-way, then completed
chattr +i "$R/var/sigstore/keys"
P user add-imagemaker --passphrase-file "$T/pp" --no-password "erik@$REG/erik" > "$T/half.out" 2>&1; rc=$?
chattr -i "$R/var/sigstore/keys"
cp "$T/half.out" "$T/.out"
[ $rc = 5 ] && ok "failure half-way: exit 5" || notok "failure half-way: exit $rc"
check_out "erik.pgp" "failure: names the key file"
check_out "created +user erik" "failure: lists what was done (the account)"
check_out "NOT done" "failure: lists what was not done"
check_out "would create +scope $REG/erik" "failure: the scope is among the things not done"
jq -e --arg s "$REG/erik" '.transports.docker[$s] == null' "$SYS" >/dev/null && ok "failure: the policy does not name the missing key (D6)" || notok "policy names a missing key"
EFPR=$(as_user erik gpg --batch --with-colons --list-keys 2>/dev/null | awk -F: '/^fpr:/ {print $10; exit}')
as_user erik gpgconf --kill all 2>/dev/null
check "second run completes the job" mk --passphrase-file "$T/pp" --no-password "erik@$REG/erik"
check_out "unchanged +user erik" "second run: the account is kept"
check_out "already in the keyring" "second run: the key in the keyring is reused"
[ "$(gpg --show-keys --with-colons "$R/var/sigstore/keys/erik.pgp" 2>/dev/null | awk -F: '/^fpr:/ {print $10; exit}')" = "$EFPR" ] \
    && ok "second run: exported the key made by the first" || notok "second run: key file fingerprint"
jq -e --arg s "$REG/erik" '.transports.docker[$s][0].keyPath == "/var/sigstore/keys/erik.pgp"' "$SYS" >/dev/null \
    && ok "second run: scope added" || notok "second run: scope added"

# ---------------------------------------------------------------- image users
check "add-podman erin frank" pm --password-file "$T/pw" erin frank
for u in erin frank; do
    EC=$R/home/$u/.config/containers
    [ "$(awk -F: -v u=$u '$1==u {print $4}' "$R/etc/passwd")" = "$GU" ] && ok "$u: primary group podman" || notok "$u: primary group podman"
    grep -Eq "^podman_dev:.*[:,]$u(,|$)" "$R/etc/group" && notok "$u must not be in podman_dev" || ok "$u: not in podman_dev"
    grep -q "^$u:" "$R/etc/subuid" && grep -q "^$u:" "$R/etc/subgid" && ok "$u: subordinate ids" || notok "$u: subordinate ids"
    state_is "$u: ~/.config/containers" "$EC" $u:podman 500
    state_is "$u: storage.conf" "$EC/storage.conf" $u:podman 400
    lsattr -d "$EC" | cut -c5 | grep -q i && ok "$u: directory immutable" || notok "$u: directory immutable ($(lsattr -d "$EC"))"
    lsattr "$EC/storage.conf" | cut -c5 | grep -q i && ok "$u: storage.conf immutable" || notok "$u: storage.conf immutable"
    [ "$(ls -A "$EC")" = storage.conf ] && ok "$u: only storage.conf" || notok "$u: contents $(ls -A "$EC")"
done
EC=$R/home/erin/.config/containers
grep -q '^driver = "overlay"' "$EC/storage.conf" && ok "storage.conf: overlay" || notok "storage.conf: overlay"
grep -q 'mount_program' "$EC/storage.conf" && notok "no fuse-overlayfs in the root: no mount_program" || ok "no fuse-overlayfs in the root: no mount_program"
grep -Eq '^(graph|run)root' "$EC/storage.conf" && notok "rootless default storage paths" || ok "rootless default storage paths (not set)"
EU=$(uid_of erin)
check_rc 1 "erin cannot create a file in her locked directory" setpriv --reuid "$EU" --regid "$GU" --clear-groups touch "$EC/x"
check_rc 1 "erin cannot create policy.json" setpriv --reuid "$EU" --regid "$GU" --clear-groups sh -c "echo '{}' > '$EC/policy.json' || exit 1"
check_rc 1 "erin cannot chmod the directory" setpriv --reuid "$EU" --regid "$GU" --clear-groups chmod 700 "$EC"
check_rc 1 "erin cannot replace storage.conf" setpriv --reuid "$EU" --regid "$GU" --clear-groups rm -f "$EC/storage.conf"
[ ! -e "$EC/x" ] && [ ! -e "$EC/policy.json" ] && ok "nothing was created there" || notok "something was created"
before=$(tree_fast "$R")
check "add-podman again" pm --password-file "$T/pw" erin frank
check_out 'nothing to change' "add-podman again: nothing to change"
[ "$(tree_fast "$R")" = "$before" ] && ok "add-podman again: tree unchanged" || notok "add-podman again: tree unchanged"
# fuse-overlayfs appears in the root: the locked file is rewritten and locked again
mkdir -p "$R/usr/bin"; printf '#!/bin/sh\n' > "$R/usr/bin/fuse-overlayfs"; chmod 755 "$R/usr/bin/fuse-overlayfs"
check "add-podman erin with fuse-overlayfs present" pm --password-file "$T/pw" erin
check_out "changed +directory /home/erin/.config/containers" "the locked configuration is updated"
grep -q '^mount_program = "/usr/bin/fuse-overlayfs"' "$EC/storage.conf" && ok "storage.conf: fuse-overlayfs" || notok "storage.conf: fuse-overlayfs"
lsattr -d "$EC" | cut -c5 | grep -q i && lsattr "$EC/storage.conf" | cut -c5 | grep -q i && ok "locked again" || notok "locked again"
state_is "still 0500 after the update" "$EC" erin:podman 500
refused 1 "image maker" "add-podman on an image maker" pm --no-password alice
refused 1 "is immutable" "add-imagemaker on a locked image user" mk --adopt --no-password --passphrase-file "$T/pp" "erin@$REG/erin"
# --adopt, and an existing ~/.config/containers with content
refused 1 "holds policy.json" "add-podman --adopt with a policy.json in place" pm --adopt --no-password plain
rm -f "$R/home/plain/.config/containers/policy.json"
check "add-podman --adopt plain" pm --adopt --no-password plain
[ "$(awk -F: '$1=="plain" {print $4}' "$R/etc/passwd")" = "$GU" ] && ok "--adopt: primary group is now podman" || notok "--adopt: primary group"
lsattr -d "$R/home/plain/.config/containers" | cut -c5 | grep -q i && ok "--adopt: locked" || notok "--adopt: locked"
check "add-podman --json" P --json user add-podman --no-password plain
check_out '"locked": true' "json: locked"

# ---------------------------------------------------------------- secrets asked on a terminal
if command -v script >/dev/null; then
    # answers are typed only once the prompt is there (the prompt flushes input typed ahead)
    (for l in 'ian pw' 'ian typo' 'ian pw' 'ian pw' 'ian key pp' 'ian key pp'; do sleep 1; echo "$l"; done) |
        script -qec "'$PODSEC' --root '$R' user add-imagemaker 'ian@$REG/ian'" /dev/null > "$T/.out" 2>&1
    rc=$?
    [ $rc = 0 ] && ok "interactive add-imagemaker: exit 0" || { notok "interactive add-imagemaker: exit $rc"; sed 's/^/#   /' "$T/.out" | tail; }
    check_out "New password for ian: " "asks for the password"
    check_out "Retype new password for ian: " "asks for it twice"
    check_out "entries differ; try again" "a mismatch is asked again"
    check_out "Passphrase for the new signing key of ian: " "asks for the key passphrase"
    grep -q 'ian pw\|ian key pp' "$T/.out" && notok "secrets are not echoed" || ok "secrets are not echoed"
    IH=$(awk -F: '$1=="ian" {print $2}' "$R/etc/shadow")
    python3 -W ignore -c 'import crypt,sys; sys.exit(0 if crypt.crypt("ian pw", sys.argv[1]) == sys.argv[1] else 1)' "$IH" \
        && ok "the password typed is set" || notok "the password typed is set ($IH)"
    echo data > "$T/data"; chmod 644 "$T/data"
    check "the passphrase typed protects ian's key" as_user ian gpg --batch --pinentry-mode loopback --passphrase 'ian key pp' \
        -o /dev/null --sign "$T/data"
    as_user ian gpgconf --kill all
    check_rc 2 "a wrong passphrase does not unlock it" as_user ian gpg --batch --pinentry-mode loopback --passphrase 'wrong' \
        -o /dev/null --sign "$T/data"
    as_user ian gpgconf --kill all
else
    ok "interactive prompts # SKIP script(1) not installed"
fi

# ---------------------------------------------------------------- the original names
ln -s "$PODSEC" "$T/podsec-create-podmanusers"; ln -s "$PODSEC" "$T/podsec-create-imagemakeruser"
refused 1 "no user name given" "podsec-create-podmanusers without users" env PODSEC_ROOT="$R" setsid -w "$T/podsec-create-podmanusers"
check "podsec-create-podmanusers frank (again)" env PODSEC_ROOT="$R" setsid -w "$T/podsec-create-podmanusers" --no-password frank
check_out "unchanged +user frank" "podsec-create-podmanusers: frank is an existing image user"
refused 1 "more than one '@'" "podsec-create-imagemakeruser a@b@c" env PODSEC_ROOT="$R" setsid -w "$T/podsec-create-imagemakeruser" a@b@c
refused 2 "given twice" "podsec-create-imagemakeruser: duplicate scope (exit 2 as the original meant)" \
    env PODSEC_ROOT="$R" setsid -w "$T/podsec-create-imagemakeruser" "a@$REG/d" "b@$REG/d"

# ---------------------------------------------------------------- the host
[ "$(host_state)" = "$HOST_BEFORE" ] && ok "host passwd, group, shadow, gshadow, subuid, subgid untouched" || notok "host account files changed"
no_agents && ok "no gpg-agent left at the end" || notok "gpg-agent left at the end"
finish

#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# podsec check policy (podsec-inotify-check-policy) on a --root tree made by
# mkroot, `podsec policy init` and `podsec user add-podman/add-imagemaker`:
#  - the tree podsec provisions is OK (exit 0, metric 0);
#  - every rule (101-107, the two share rules) is triggered by one specific
#    violation, named in the status line, -v/-vv/-vvv output, perfdata and
#    --json, and is gone again once the violation is fixed;
#  - the original's accidents stay fixed: exact group names (podman_devs,
#    xpodmanx), a rejecting other transport, a trailing slash, root-only
#    files planted through a user's symlink, division by zero, a .test file;
#  - levels in severity order (-w 0 -h 0 -c 100 with 101 -> CRITICAL, journal
#    Critical), exit codes 0/1/2/3, the journal lines (tag, priority,
#    "<Level>: <Level>(<id>): ...") in a test-owned /dev/log;
#  - -M through a sendmail stand-in (--sendmail), not sent when OK;
#  - the original command name with its tolerant options; non-root UNKNOWN.
. "$(dirname "$0")/lib.sh"
need jq gpg setpriv chattr lsattr python3 useradd
[ "$(id -u)" = 0 ] || skip_all "needs root (useradd --prefix, chown, chattr)"
export GNUPGHOME=$T/gnupg-root
trap 'for h in "$T"/root/home/*/.gnupg; do gpgconf --homedir "$h" --kill all 2>/dev/null; done; _cleanup' EXIT

R=$T/root; mkroot "$R"
printf 'key passphrase\n' > "$T/pp"; chmod 600 "$T/pp"
P() { setsid -w "$PODSEC" --root "$R" "$@" < /dev/null; }
CP() { P check policy "$@"; }
uid_of() { awk -F: -v u="$1" '$1==u {print $3}' "$R/etc/passwd"; }
gid_of() { awk -F: -v g="$1" '$1==g {print $3}' "$R/etc/group"; }
storage() {   # storage USER: a rootless container storage in the user's home
    local h=$R/home/$1
    mkdir -p "$h/.local/share/containers/storage/overlay"
    chown -R "$(uid_of "$1"):$(gid_of podman 2>/dev/null || echo 0)" "$h/.local"
}
# edit_policy JQ-FILTER: change the system policy (the dated file behind the link)
SYSPOL=$R/etc/containers/policy.json
edit_policy() {
    local f; f=$(readlink -f "$SYSPOL")
    jq "$1" "$f" > "$T/p.json" && cat "$T/p.json" > "$f"
}

check "policy init on the root tree" P policy init --registry-node 192.0.2.10
check "user add-podman alice" P user add-podman --no-password alice
check "user add-imagemaker bob@registry.local" P user add-imagemaker --no-password --passphrase-file "$T/pp" bob@registry.local
mkdir -p "$R/var/lib/containers/storage"
storage alice; storage bob
cp "$(readlink -f "$SYSPOL")" "$T/policy.orig"

syslog=$T/syslog.txt
have_syslog=1
capture_syslog "$syslog" || have_syslog=0

# ---- a system as podsec provisions it ------------------------------------------
BEFORE=$(tree_hash "$R")
check_rc 0 "provisioned tree: OK" CP
check_out '^POLICY OK: Containerization policies are not violated \| metric=0;;100;0 r101=0;;;0 .*accounts=3;;;0 unchecked=0;;;0$' \
    "OK status line with perfdata (metric, per-rule counts, 3 accounts: root alice bob)"
if [ "$(tree_hash "$R")" = "$BEFORE" ]; then ok "nothing written under the root (no .test probe)"; else
    notok "the check changed the tree"; diff <(echo "$BEFORE") <(tree_hash "$R") | head | sed 's/^/#   /'; fi
check_rc 0 "-vvv on the provisioned tree" CP -vvv
check_out "^account alice: storage /home/alice/.local/share/containers/storage, policy /etc/containers/policy.json \(default reject\).*config locked$" \
    "-vvv: alice's configuration is locked (immutable)"
check_out "^account bob: .*policy /home/bob/.config/containers/policy.json \(default insecureAcceptAnything\), registries.d /home/bob/.config/containers/registries.d" \
    "-vvv: bob's personal policy and registries.d are the ones in effect"

# ---- 101: exact group names ------------------------------------------------------
printf 'dave:x:1500:100::/home/dave:/bin/sh\n' >> "$R/etc/passwd"
printf 'podman_devs:x:1600:dave\nxpodmanx:x:1601:dave\n' >> "$R/etc/group"
mkdir -p "$R/home/dave"; chown 1500:100 "$R/home/dave"; storage dave
check_rc 2 "101: dave (groups users, podman_devs, xpodmanx) has a storage: CRITICAL" CP -c 100 -vv
check_out '^POLICY CRITICAL: Violation of user containerization policies \(metric 101\): dave \| metric=101;;100;0 r101=1;;;0 ' \
    "101: status line names dave, metric 101"
check_out '^Critical\(101\): Users "dave" have images but are not in the podman group$' "101: message (-vv)"
check_out '^outside the podman group, \(r101, weight 101\): "dave"$' "101: heading (-v)"
rm -rf "$R/home/dave/.local"
check_rc 0 "101: gone when dave has no storage" CP

# ---- 102 / 103 / 104 / 105: the system policy -----------------------------------
edit_policy '.default = [{"type":"insecureAcceptAnything"}]'
check_rc 2 "102: default insecureAcceptAnything in the system policy" CP -c 100 -vvv
check_out '^Critical\(102\): Users "root" "alice" have defaultPolicy!=reject in policy.json but are not in the podman_dev group$' \
    "102: root and alice (system policy); bob (podman_dev) is exempt"
check_out '^r102 alice: default requirement insecureAcceptAnything in /etc/containers/policy.json$' "102: -vvv says why"
cat "$T/policy.orig" > "$(readlink -f "$SYSPOL")"

edit_policy 'del(.transports.docker["registry.local"]) | .transports.docker["registry.local.evil.example"] = [{"type":"signedBy","keyType":"GPGKeys","keyPath":"/var/sigstore/keys/bob.pgp"}]'
check_rc 2 "103: no scope of registry.local needs a signature (registry.local.evil.example is not it)" CP -c 100 -vv
check_out '^Critical\(103\): Users "root" "alice" do not have registry.local in the list of registries' "103: root and alice; bob's copy still has the scope"
cat "$T/policy.orig" > "$(readlink -f "$SYSPOL")"

edit_policy '.transports.docker["docker.io"] = [{"type":"insecureAcceptAnything"}] | .transports.docker["quay.io"] = [{"type":"reject"}]'
check_rc 2 "104: docker.io accepts unsigned images" CP -c 100 -vvv
check_out '^Critical\(104\): Users "root" "alice" have registries in the policy for which' "104: root and alice"
check_out '^r104 root: docker.io accept unsigned images' "104: names docker.io only (quay.io rejects)"
cat "$T/policy.orig" > "$(readlink -f "$SYSPOL")"

edit_policy '.transports.oci = {"": [{"type":"reject"}]}'
check_rc 0 "105: a transport that only rejects is not a violation" CP
edit_policy '.transports.dir = {"": [{"type":"insecureAcceptAnything"}]}'
check_rc 2 "105: the dir transport accepts anything" CP -c 100 -vvv
check_out '^Critical\(105\): Users "root" "alice" have transports other than docker' "105: logged at its own level"
check_out '^r105 root: transports dir ' "105: dir, not oci"
cat "$T/policy.orig" > "$(readlink -f "$SYSPOL")"

# ---- 106: registries.d ---------------------------------------------------------------
REGD=$R/etc/containers/registries.d/default.yaml
cp "$(readlink -f "$REGD")" "$T/regd.orig"
sed -i 's|http://sigstore.local:81/sigstore/|http://sigstore.local:81/sigstore|' "$(readlink -f "$REGD")"
check_rc 0 "106: a missing trailing slash is the same store" CP
sed -i 's|http://sigstore.local:81/sigstore|http://elsewhere.example/sigs/|' "$(readlink -f "$REGD")"
check_rc 2 "106: another default lookaside" CP -c 100 -vvv
check_out '^Critical\(106\): Users "root" "alice" do not use the signature store http://sigstore.local:81/sigstore/ as the default signature store$' \
    "106: root and alice; bob's own registries.d is right"
check_out '^r106 alice: default-docker lookaside http://elsewhere.example/sigs/ in /etc/containers/registries.d$' "106: -vvv says which file"
cp "$T/regd.orig" "$(readlink -f "$REGD")"
check_rc 0 "fixed again: OK" CP

# ---- 107 ------------------------------------------------------------------------------
check "user add-podman carol" P user add-podman --no-password carol
printf 'wheel:x:10:carol\n' >> "$R/etc/group"
check_rc 2 "107: carol is in podman and wheel" CP -c 100 -vv
check_out '^Critical\(107\): the "carol" users are members of the podman and wheel groups$' "107: message names carol (defect 11 fixed)"
check_out 'Violation of user containerization policies \(metric 107\): carol \|' "107: status line"
sed -i '/^wheel:/d' "$R/etc/group"

# ---- share rules: storage.conf and a writable configuration ----------------------------
check "user add-podman erin" P user add-podman --no-password erin
check_rc 0 "three locked image users: OK" CP
chattr -i "$R/home/erin/.config/containers" "$R/home/erin/.config/containers/storage.conf"
rm "$R/home/erin/.config/containers/storage.conf"
check_rc 0 "erin lost storage.conf: weight 90*1/3 = 30 is below -c 100: OK" CP -c 100
check_out '^POLICY OK: .* no_storage_conf=1;;;0 ' "perfdata counts the offender even when OK"
check_rc 1 "with -w 0 -c 100: WARNING" CP -w 0 -c 100 -vv
check_out '^POLICY WARNING: Violation of user containerization policies \(metric 30\): erin \| metric=30;0;100;0 ' "WARNING line, metric 30"
check_out '^\(30\): "erin" users do not have config file .config/containers/storage.conf \(not logged\)$' "share rule message, weight 30, not logged without a journal level"
printf '[storage]\ndriver = "overlay"\n' > "$R/home/erin/.config/containers/storage.conf"
chown "$(uid_of erin):$(gid_of podman)" "$R/home/erin/.config/containers/storage.conf"
check_rc 1 "erin's configuration is writable now (not immutable): WARNING" CP -w 0 -vvv
check_out '^writable_config erin: /home/erin/.config/containers is not immutable and it is owned by the user' "writable: says why"
chattr +i "$R/home/erin/.config/containers/storage.conf" "$R/home/erin/.config/containers"
check_rc 0 "locked again: OK" CP -w 0
# the original probe would have left a root-owned .test file behind
[ ! -e "$R/home/erin/.config/containers/.test" ] && ok "no .test file in erin's configuration" || notok ".test file created"

# ---- levels in severity order, the journal ---------------------------------------------
storage dave
: > "$syslog"
check_rc 2 "-w 0 -h 0 -c 100 and metric 101: CRITICAL (the original said Warning)" CP -w 0 -h 0 -c 100
check_out '^POLICY CRITICAL: .*\| metric=101;0;100;0 ' "perfdata carries warn and crit"
if [ "$have_syslog" = 1 ]; then
    sleep 0.2
    check "journal: Critical at priority 2 (user.crit = <10>) with the original tag and text" \
        grep -qE '^<10>.* podsec-inotify-check-policy\[[0-9]+\]: Critical: Critical\(101\): Users "dave" have images but are not in the podman group$' "$syslog"
    : > "$syslog"
    CP -h 0 -c 200 > /dev/null
    sleep 0.2
    check "journal: -h 0 -c 200 logs 101 as High at priority 3 (<11>)" \
        grep -qE '^<11>.* podsec-inotify-check-policy\[[0-9]+\]: High: High\(101\): Users "dave"' "$syslog"
    : > "$syslog"
    CP -w 0 > /dev/null
    sleep 0.2
    # (only this plugin's entries count: /dev/log is machine-wide)
    if grep -q 'podsec-inotify-check-policy\[' "$syslog"; then notok "-w alone logs nothing (Warning is not on the journal scale)"; sed 's/^/#   /' "$syslog"; else
        ok "-w alone logs nothing (Warning is not on the journal scale)"; fi
else
    ok "# SKIP journal checks: /dev/log is taken"
fi

# ---- mail --------------------------------------------------------------------------------
cat > "$T/sendmail" <<EOF
#!/bin/sh
printf '%s\n' "\$@" > "$T/mail.args"
cat > "$T/mail.txt"
EOF
chmod 755 "$T/sendmail"
check_rc 2 "-M mails the report" CP -c 100 -v -M admin@example.org --sendmail "$T/sendmail"
check "sendmail got '-oi -- admin@example.org'" diff <(printf -- '-oi\n--\nadmin@example.org\n') "$T/mail.args"
check "subject as the original, with the summary metric" grep -q '^Subject: POLICY Critical(101): Violation of user containerization policies dave$' "$T/mail.txt"
check "body is the report" grep -q '^outside the podman group, (r101, weight 101): "dave"$' "$T/mail.txt"
rm -f "$T/mail.txt"
rm -rf "$R/home/dave/.local"
check_rc 0 "no mail when OK" CP -c 100 -M admin@example.org --sendmail "$T/sendmail"
[ ! -e "$T/mail.txt" ] && ok "nothing was mailed" || notok "mailed although OK"
check_rc 3 "-M with an option-like address: UNKNOWN" CP -M -oQ/tmp/x
storage dave

# ---- --json --------------------------------------------------------------------------------
P --json check policy -c 100 > "$T/out.json"; rc=$?
[ "$rc" = 2 ] && ok "--json: exit 2" || notok "--json: exit $rc"
check "--json: state, metric, rule 101 with dave, accounts with facts" jq -e '
    .state == "CRITICAL" and .exit == 2 and .metric == 101
    and (.rules[] | select(.id == 101) | .matched and .users[0].user == "dave" and (.users[0].why | test("groups: users,podman_devs,xpodmanx")))
    and (.accounts[] | select(.name == "alice") | .config_writable == false and .policy == "/etc/containers/policy.json")
    and (.perfdata[] | select(.label == "metric") | .value == 101)' "$T/out.json"

# ---- options and the original name ------------------------------------------------------------
CP > "$T/out.txt"; rc=$?
[ "$rc" = 2 ] && grep -q '^Critical(101): Users "dave"' "$T/out.txt" && ok "no options: -c 100 and -vv applied" || notok "defaults: exit $rc"
CP -c 100 > "$T/out.txt"
[ "$(wc -l < "$T/out.txt")" = 1 ] && ok "verbosity 0: one line" || notok "verbosity 0 printed $(wc -l < "$T/out.txt") lines"
check_rc 0 "-v alone sets no thresholds (as the original)" CP -v
check_rc 3 "a bad range: UNKNOWN" CP -c abc
check_out '^POLICY UNKNOWN: option -c: invalid range "abc"' "says which option and why"
check_rc 3 "an unknown option: UNKNOWN" CP --bogus
check_rc 0 "--help" CP --help
check_out 'podsec-inotify-check-policy' "--help names the journal tag"
mkdir -p "$T/bin"; ln -s "$PODSEC" "$T/bin/podsec-inotify-check-policy"
check_rc 2 "original name, systemd's literal '>/dev/null 2>&1' words ignored" \
    env PODSEC_ROOT="$R" "$T/bin/podsec-inotify-check-policy" -vvv -critical 100 '>/dev/null' '2>&1'
check_out '^Critical\(101\): Users "dave"' "original name: -critical is -c, -vvv"
if setpriv --reuid=65534 --regid=65534 --clear-groups true 2>/dev/null; then
    check_rc 3 "not root (and no --root): UNKNOWN" setpriv --reuid=65534 --regid=65534 --clear-groups "$PODSEC" check policy
    check_out '^POLICY UNKNOWN: plugin must be run as root user$' "not root: the original's reason"
fi

# ---- site settings (podsec.conf) name the groups, also with -h (High) given ----------------
rm -rf "$R/home/dave/.local"
mkdir -p "$R/etc/podsec"; printf 'group_user=imageusers\n' > "$R/etc/podsec/podsec.conf"
check_rc 2 "podsec.conf group_user=imageusers: alice (podman) is outside it, with -h 0 given" CP -h 0 -c 100 -vv
check_out '^Critical\(101\): Users "alice" have images but are not in the imageusers group$' "the message names the site's group"
rm "$R/etc/podsec/podsec.conf"

# ---- a planted symlink is not followed -----------------------------------------------------
printf 'frank:x:1700:%s::/home/frank:/bin/sh\n' "$(gid_of podman)" >> "$R/etc/passwd"
mkdir -p "$R/home/frank/.config/containers"; ln -s /etc/shadow "$R/home/frank/.config/containers/policy.json"
printf '[storage]\n' > "$R/home/frank/.config/containers/storage.conf"
chown -R -h 1700 "$R/home/frank"; storage frank
check_rc 3 "frank's policy.json is a symlink: could not check (UNKNOWN)" CP -v
check_out '^POLICY UNKNOWN: could not check 1 account: frank: /home/frank/.config/containers/policy.json is a symbolic link' \
    "UNKNOWN says which file"
finish

#!/bin/bash
# user add-podman interrupted after the N-th filesystem change (fault-
# injection build: PODSEC_FAULT_AFTER=N aborts there), for N = 1, 2, ...
# until a run completes.  After every abort storage.conf, where it exists,
# is complete (old or new, never half-written) and nothing else is in a
# locked directory; a run without the fault must then converge to the state
# of an uninterrupted run: the same accounts, subordinate ids, homes, owners,
# modes, contents and immutable attributes.
. "$(dirname "$0")/lib.sh"
need sha256sum useradd groupadd lsattr chattr jq
[ "$(id -u)" = 0 ] || skip_all "needs root (useradd --prefix, chown, chattr)"

printf 'a password\n' > "$T/pw"
ARGS=(user add-podman --password-file "$T/pw" newa newb old)

# the prepared root: no subgid file yet; "old" is an image user from an
# earlier run whose locked directory has an outdated storage.conf
B=$T/base; mkroot "$B"
rm -f "$B/etc/subgid"
groupadd --prefix "$B" -r podman
useradd --prefix "$B" -m -g podman -k "$B/etc/skel" old
mkdir -p "$B/home/old/.config/containers"
printf '[storage]\ndriver = "vfs"\n' > "$B/home/old/.config/containers/storage.conf"
chown -R "$(awk -F: '$1=="old" {print $3":"$4}' "$B/etc/passwd")" "$B/home/old/.config"
chmod 700 "$B/home/old/.config/containers"
OLD_SUM=$(sha256sum < "$B/home/old/.config/containers/storage.conf")

# does this build inject faults at all?
cp -a "$B" "$T/probe"
(PODSEC_FAULT_AFTER=1 "$PODSEC" --root "$T/probe" "${ARGS[@]}" >/dev/null 2>&1; exit $?) 2>/dev/null; rc=$?
chattr -R -i "$T/probe" 2>/dev/null; rm -rf "$T/probe"
[ "$rc" = 134 ] || skip_all "PODSEC_FAULT_AFTER has no effect in this build (exit $rc; configure with -Dfault_injection=true)"

cp -a "$B" "$T/ref"
check "uninterrupted run" "$PODSEC" --root "$T/ref" "${ARGS[@]}"
NEW_SUM=$(sha256sum < "$T/ref/home/newa/.config/containers/storage.conf")

# leftovers of an abort between writing a temporary file and renaming it
TMPNAMES=(-name '.*.????????????????')
final_state() {
    local r=$1 u
    grep -E '^(podman|newa|newb|old):' "$r/etc/passwd" "$r/etc/group" | sed "s|^$r/||"
    awk -F: '$1 ~ /^(newa|newb|old)$/ {print $1, ($2 ~ /^\$/ ? "hash" : $2)}' "$r/etc/shadow"
    cat "$r/etc/subuid" "$r/etc/subgid"
    for u in newa newb old; do
        (cd "$r" && find "home/$u" ! \( "${TMPNAMES[@]}" \) -printf '%y %m %U:%G %p\n' | LC_ALL=C sort)
        sha256sum < "$r/home/$u/.config/containers/storage.conf"
        lsattr -d "$r/home/$u/.config/containers" "$r/home/$u/.config/containers/storage.conf" | cut -c1-22
    done
}
REF=$(final_state "$T/ref")

aborts=0; bad=0; torn=0; done_at=
for N in $(seq 1 300); do
    R=$T/crash-$N
    cp -a "$B" "$R"
    (PODSEC_FAULT_AFTER=$N "$PODSEC" --root "$R" "${ARGS[@]}" >"$T/run.out" 2>&1; exit $?) 2>/dev/null
    rc=$?
    if [ "$rc" != 134 ]; then
        done_at=$N
        [ "$rc" = 0 ] && ok "N=$N: the run completes without reaching the fault" || notok "N=$N: exit $rc"
        [ "$(final_state "$R")" = "$REF" ] && ok "N=$N: same state as the uninterrupted run" || notok "N=$N: state differs"
        break
    fi
    aborts=$((aborts + 1))
    for u in newa newb old; do
        f=$R/home/$u/.config/containers/storage.conf
        [ -e "$f" ] || continue
        s=$(sha256sum < "$f")
        if [ "$s" != "$OLD_SUM" ] && [ "$s" != "$NEW_SUM" ]; then
            torn=$((torn + 1)); echo "# N=$N: $u's storage.conf is neither old nor new"
        fi
        extra=$(cd "$R/home/$u/.config/containers" && find . -mindepth 1 ! -name storage.conf ! \( "${TMPNAMES[@]}" \))
        [ -z "$extra" ] || { torn=$((torn + 1)); echo "# N=$N: $u's directory holds $extra"; }
    done
    if ! "$PODSEC" --root "$R" "${ARGS[@]}" >"$T/rerun.out" 2>&1; then
        bad=$((bad + 1)); echo "# N=$N: the run after the abort failed:"; sed 's/^/#   /' "$T/rerun.out" | tail -5
    elif [ "$(final_state "$R")" != "$REF" ]; then
        bad=$((bad + 1)); echo "# N=$N: the run after the abort did not converge:"
        diff <(echo "$REF") <(final_state "$R") | head -10 | sed 's/^/#   /'
    fi
    chattr -R -i "$R" 2>/dev/null; rm -rf "$R"
done
[ -n "$done_at" ] && ok "aborted after each of $aborts changes" || notok "no run completed within 300 faults"
[ "$aborts" -ge 10 ] && ok "at least 10 fault points were reached ($aborts)" || notok "only $aborts fault points"
[ "$torn" = 0 ] && ok "after every abort: storage.conf old or new, nothing else in a locked directory" || notok "$torn torn states"
[ "$bad" = 0 ] && ok "after every abort a second run converges to the uninterrupted state" || notok "$bad aborts did not converge"

# ---------------------------------------------------------------- add-imagemaker
# The base: carol is a complete image maker; bob is one whose earlier run
# stopped after his key was generated (the keys directory was immutable), so
# the run under test reuses the key (no key generation per fault) and then
# writes the key file, the system policy, its copy, bob's files and carol's
# personal policy.
command -v gpg >/dev/null || { ok "add-imagemaker part # SKIP gpg not installed"; finish; }
B2=$T/base2; mkroot "$B2"
REG=127.0.0.1:5000
mkdir -p "$B2/etc/podsec"; printf 'registry=%s\n' "$REG" > "$B2/etc/podsec/podsec.conf"
printf 'pass phrase\n' > "$T/pp"
mk() { setsid -w "$PODSEC" --root "$1" user add-imagemaker --no-password --passphrase-file "$T/pp" "${@:2}" < /dev/null; }
check "base: policy init" "$PODSEC" --root "$B2" policy init --registry-node 192.0.2.10
check "base: carol" mk "$B2" carol
chattr +i "$B2/var/sigstore/keys"
mk "$B2" "bob@$REG/bob" > /dev/null 2>&1; rc=$?
chattr -i "$B2/var/sigstore/keys"
[ $rc = 5 ] && [ -d "$B2/home/bob/.gnupg" ] && [ ! -e "$B2/var/sigstore/keys/bob.pgp" ] \
    && ok "base: bob stopped after his key was made" || notok "base: bob stopped half-way (exit $rc)"
ARGS2=("bob@$REG/bob")

final2() {
    local r=$1 f
    for f in etc/containers/policy.json var/sigstore/keys/policy.json var/sigstore/keys/bob.pgp \
             var/sigstore/keys/carol.pgp home/bob/.config/containers/policy.json \
             home/bob/.config/containers/registries.d/default.yaml home/carol/.config/containers/policy.json; do
        echo "$f $(sha256sum < "$r/$f" 2>/dev/null | cut -c1-16)"
    done
    (cd "$r" && find home var/sigstore -path '*/.gnupg' -prune -o ! \( "${TMPNAMES[@]}" \) -printf '%y %m %U:%G %p\n' |
        LC_ALL=C sort)
    grep -E '^(bob|carol):' "$r/etc/passwd"
}
cp -a "$B2" "$T/ref2"
check "uninterrupted add-imagemaker" mk "$T/ref2" "${ARGS2[@]}"
REF2=$(final2 "$T/ref2")

aborts=0; bad=0; torn=0; done_at=
for N in $(seq 1 300); do
    R=$T/mk-$N
    cp -a "$B2" "$R"
    (PODSEC_FAULT_AFTER=$N setsid -w "$PODSEC" --root "$R" user add-imagemaker --no-password --passphrase-file "$T/pp" \
        "${ARGS2[@]}" < /dev/null > "$T/run.out" 2>&1; exit $?) 2>/dev/null
    rc=$?
    if [ "$rc" != 134 ]; then
        done_at=$N
        [ "$rc" = 0 ] && ok "add-imagemaker N=$N: completes without reaching the fault" || notok "add-imagemaker N=$N: exit $rc"
        [ "$(final2 "$R")" = "$REF2" ] && ok "add-imagemaker N=$N: same state as the uninterrupted run" || notok "N=$N: state differs"
        break
    fi
    aborts=$((aborts + 1))
    # every policy parses, and the system policy never names a missing key (D6)
    for f in etc/containers/policy.json var/sigstore/keys/policy.json home/bob/.config/containers/policy.json \
             home/carol/.config/containers/policy.json; do
        [ -e "$R/$f" ] || continue
        jq -e . "$R/$f" > /dev/null 2>&1 || { torn=$((torn + 1)); echo "# N=$N: $f does not parse"; }
    done
    for k in $(jq -r '.. | .keyPath? // empty, (.keyPaths? // [] | .[])' "$R/etc/containers/policy.json" 2>/dev/null); do
        [ -s "$R$k" ] || { torn=$((torn + 1)); echo "# N=$N: the system policy names the missing $k"; }
    done
    if ! mk "$R" "${ARGS2[@]}" > "$T/rerun.out" 2>&1; then
        bad=$((bad + 1)); echo "# N=$N: the run after the abort failed:"; sed 's/^/#   /' "$T/rerun.out" | tail -5
    elif [ "$(final2 "$R")" != "$REF2" ]; then
        bad=$((bad + 1)); echo "# N=$N: the run after the abort did not converge:"
        diff <(echo "$REF2") <(final2 "$R") | head -10 | sed 's/^/#   /'
    fi
    rm -rf "$R"
done
[ -n "$done_at" ] && ok "add-imagemaker: aborted after each of $aborts changes" || notok "add-imagemaker: no run completed"
[ "$aborts" -ge 8 ] && ok "add-imagemaker: at least 8 fault points were reached ($aborts)" || notok "add-imagemaker: only $aborts fault points"
[ "$torn" = 0 ] && ok "add-imagemaker: after every abort the policies parse and name no missing key" || notok "add-imagemaker: $torn bad states"
[ "$bad" = 0 ] && ok "add-imagemaker: after every abort a second run converges" || notok "add-imagemaker: $bad aborts did not converge"
finish

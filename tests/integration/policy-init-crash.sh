#!/bin/bash
# policy init interrupted after the N-th filesystem write (fault-injection
# build: PODSEC_FAULT_AFTER=N aborts there), for N = 1, 2, ... until a run
# completes.  After every abort each managed file must be complete: either
# the old or the new version, never half-written, never missing, and JSON
# must parse.  A run without the fault on the aborted tree must then
# converge to the state of an uninterrupted run.
. "$(dirname "$0")/lib.sh"
need jq sha256sum groupadd
[ "$(id -u)" = 0 ] || skip_all "needs root (groupadd --prefix, chown)"

IP=10.20.30.40
ARGS=(policy init --registry-node --replace-hosts --reset-policy "$IP")

# the prepared root: older versions of every managed file, as regular files
B=$T/base; mkroot "$B"; C=$B/etc/containers
cat > "$C/policy.json" <<'EOF'
{
  "default": [ { "type": "reject" } ],
  "transports": { "docker": {
    "registry.local/c10f": [ { "type": "signedBy", "keyType": "GPGKeys", "keyPath": "/var/sigstore/keys/imk.pgp" } ] } }
}
EOF
printf 'default-docker:\n  lookaside: http://old.example:81/sigstore/\n' > "$C/registries.d/default.yaml"
printf 'unqualified-search-registries = ["docker.io"]\n' > "$C/registries.conf"
printf '127.0.0.1\tlocalhost\n10.9.9.9 registry.local sigstore.local trivy.local\n' > "$B/etc/hosts"
mkdir -p "$B/etc/sysctl.d"; printf 'kernel.unprivileged_userns_clone = 0\n' > "$B/etc/sysctl.d/99-podman.conf"

MANAGED=(etc/containers/policy.json etc/containers/registries.d/default.yaml etc/containers/registries.conf
         etc/hosts etc/sysctl.d/99-podman.conf)

# does this build inject faults at all?
cp -a "$B" "$T/probe"
(PODSEC_FAULT_AFTER=1 "$PODSEC" --root "$T/probe" "${ARGS[@]}" >/dev/null 2>&1; exit $?) 2>/dev/null; rc=$?
[ "$rc" = 134 ] || skip_all "PODSEC_FAULT_AFTER has no effect in this build (exit $rc; configure with -Dfault_injection=true)"

# the reference: an uninterrupted run
cp -a "$B" "$T/ref"
check "uninterrupted run" "$PODSEC" --root "$T/ref" "${ARGS[@]}"

# state that must be equal after convergence: managed contents, the
# signature store, the groups (dated names differ with the clock).  An abort
# between writing a temporary file and renaming it leaves that file
# (.NAME.XXXXXX, .NAME.lnkXXXXXXXX) behind: it is not a managed name and
# is only counted.
TMPNAMES=(-name '.*.??????' -o -name '.*.lnk????????')
final_state() {
    local r=$1 f
    for f in "${MANAGED[@]}"; do echo "$f $(sha256sum < "$r/$f" | cut -c1-16) $( [ -L "$r/$f" ] && echo link)"; done
    (cd "$r" && find var/sigstore ! \( "${TMPNAMES[@]}" \) -printf '%y %m %U:%G %p\n' | LC_ALL=C sort)
    sha256sum < "$r/var/sigstore/index.html"
    grep -E '^(podman|podman_dev):' "$r/etc/group"
    ls "$r/etc/containers/registries.d" | grep '\.yaml$'
}
REF=$(final_state "$T/ref")

aborts=0; bad=0; done_at=
for N in $(seq 1 300); do
    R=$T/crash-$N
    cp -a "$B" "$R"
    # (a subshell, so that bash's "Aborted" notice goes nowhere)
    (PODSEC_FAULT_AFTER=$N "$PODSEC" --root "$R" "${ARGS[@]}" >"$T/out-$N" 2>&1; exit $?) 2>/dev/null; rc=$?
    if [ "$rc" = 0 ]; then done_at=$N; rm -rf "$R"; break; fi
    if [ "$rc" != 134 ]; then notok "N=$N: exit $rc, expected 134 (abort) or 0"; sed 's/^/#   /' "$T/out-$N" | head -5; bad=$((bad+1)); continue; fi
    aborts=$((aborts+1))
    for f in "${MANAGED[@]}"; do
        if [ ! -e "$R/$f" ]; then notok "N=$N: $f missing after abort"; bad=$((bad+1)); continue; fi
        if ! cmp -s "$R/$f" "$B/$f" && ! cmp -s "$R/$f" "$T/ref/$f"; then
            notok "N=$N: $f is neither the old nor the new version"; bad=$((bad+1)); sed 's/^/#   /' "$R/$f" | head -5
        fi
    done
    jq . "$R/etc/containers/policy.json" >/dev/null 2>&1 || { notok "N=$N: policy.json does not parse"; bad=$((bad+1)); }
    n=$(ls "$R/etc/containers/registries.d" | grep -c '\.yaml$')
    [ "$n" = 1 ] || { notok "N=$N: $n *.yaml files in registries.d (containers/image would fail)"; bad=$((bad+1)); }
    # finish the job
    "$PODSEC" --root "$R" "${ARGS[@]}" >"$T/re-$N" 2>&1; rc=$?
    if [ "$rc" != 0 ]; then notok "N=$N: re-run after the abort: exit $rc"; sed 's/^/#   /' "$T/re-$N" | head -5; bad=$((bad+1)); continue; fi
    if [ "$(final_state "$R")" != "$REF" ]; then
        notok "N=$N: re-run converges to the uninterrupted state"; bad=$((bad+1))
        diff <(echo "$REF") <(final_state "$R") | head -10 | sed 's/^/#   /'
    fi
    "$PODSEC" --root "$R" "${ARGS[@]}" >"$T/re2-$N" 2>&1
    grep -q 'nothing to change' "$T/re2-$N" || { notok "N=$N: a third run still changes something"; bad=$((bad+1)); sed 's/^/#   /' "$T/re2-$N" | head; }
    left=$(find "$R" "${TMPNAMES[@]}" | wc -l)
    [ "$left" = 0 ] || echo "# N=$N: $left temporary file(s) left behind by the abort (harmless, not managed names)"
    rm -rf "$R"
done
[ -n "$done_at" ] && ok "a run with PODSEC_FAULT_AFTER=$done_at completes (exit 0) after $aborts aborted runs" \
    || notok "no run completed within 300 fault points"
[ "$aborts" -ge 10 ] && ok "at least 10 distinct crash points exercised ($aborts)" || notok "only $aborts crash points"
[ "$bad" = 0 ] && ok "every aborted tree held old-or-new files and converged on re-run" || notok "$bad problems after aborts"
finish

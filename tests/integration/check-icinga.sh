#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# icinga2, run as a plain process by this test (test-recipes §11: every path
# under $T through -DConfiguration.*, RunAsUser root), executes
#   podsec --root R check policy -c 100 -v
#   podsec --root R check images -w 0 -c 400
# as CheckCommands (command arrays, no shell) against a --root tree holding a
# user outside the podman group with a storage (rule 101) and root images
# that are unsigned, signed by another key or outside the policy (102, 103).
# icinga2 must record CRITICAL and WARNING with podsec's perfdata (its
# PerfdataWriter file), then OK for both once the violations are fixed, and
# keep the results in its state file.  The daemon is stopped by its pid and
# no icinga2 process of the test may be left.
. "$(dirname "$0")/lib.sh"
need icinga2 skopeo gpg jq sha256sum
[ "$(id -u)" = 0 ] || skip_all "needs root (icinga2 RunAsUser root, chown)"
export GNUPGHOME=$T/gnupg
trap 'gpgconf --homedir "$GNUPGHOME" --kill all 2>/dev/null; _cleanup' EXIT
SIGNER=$(gpg_key 'Image Signer <signer@example.test>' ed25519 2>/dev/null) || skip_all "cannot create a gpg key"
OTHER=$(gpg_key 'Other Signer <other@example.test>' ed25519 2>/dev/null)

# ---- the root tree ----------------------------------------------------------------
R=$T/root; mkroot "$R"
check "policy init on the root tree" setsid -w "$PODSEC" --root "$R" policy init --registry-node 192.0.2.10
gpg --export signer@example.test > "$R/var/sigstore/keys/signer.pgp"
SYSPOL=$(readlink -f "$R/etc/containers/policy.json")
jq '.transports.docker["registry.local"] = [{"type":"signedBy","keyType":"GPGKeys","keyPath":"/var/sigstore/keys/signer.pgp"}]' \
    "$SYSPOL" > "$T/p.json" && cat "$T/p.json" > "$SYSPOL"
printf 'docker:\n  registry.local:\n    lookaside: file:///var/sigstore/sigstore\n' > "$R/etc/containers/registries.d/zz-test.yaml"
# dave: a storage, but in no podman group (rule 101)
printf 'dave:x:1500:100::/home/dave:/bin/sh\n' >> "$R/etc/passwd"
mkdir -p "$R/home/dave/.local/share/containers/storage"; chown -R 1500:100 "$R/home/dave"
# root's images
RS=$R/var/lib/containers/storage
n=0
store() {
    n=$((n+1)); mk_oci "$T/oci-$n" img:1 "$2" > /dev/null
    skopeo copy --quiet "oci:$T/oci-$n:img:1" "containers-storage:[vfs@$RS+$T/run-$n]$1"
}
sign() {   # sign NAME KEY
    local id m dg repo=${1#*/}; repo=${repo%:*}
    id=$(jq -r --arg n "$1" '.[] | select(.names // [] | index($n)) | .id' "$RS/vfs-images/images.json")
    m=$RS/vfs-images/$id/manifest; dg=$(sha256sum < "$m" | cut -d' ' -f1)
    mkdir -p "$R/var/sigstore/sigstore/$repo@sha256=$dg"
    skopeo standalone-sign -o "$R/var/sigstore/sigstore/$repo@sha256=$dg/signature-1" "$m" "$1" "$2"
}
check "root image registry.local/app/good:1" store registry.local/app/good:1 good
check "  signed by the policy's key" sign registry.local/app/good:1 "$SIGNER"
check "root image registry.local/app/unsigned:1" store registry.local/app/unsigned:1 unsigned
check "root image registry.local/app/wrong:1" store registry.local/app/wrong:1 wrong
check "  signed by another key" sign registry.local/app/wrong:1 "$OTHER"
check "root image docker.io/library/alpine:3 (outside the policy)" store docker.io/library/alpine:3 alpine

# the plugins by themselves first
check_rc 2 "check policy: CRITICAL" setsid -w "$PODSEC" --root "$R" check policy -c 100 -v
check_rc 1 "check images: WARNING" setsid -w "$PODSEC" --root "$R" check images -w 0 -c 400 -v

# ---- icinga2 ----------------------------------------------------------------------
I=$T/icinga; mkdir -p "$I"/{lib,log,cache,spool,run,perfdata,tmp}
cat > "$I/icinga2.conf" <<EOF
const PluginDir = "/usr/lib/nagios/plugins"
const ManubulonPluginDir = "/usr/lib/nagios/plugins"
const PluginContribDir = "/usr/lib/nagios/plugins"
const NodeName = "podsec-node"
const ZoneName = "podsec-node"
const TicketSalt = ""
include <itl>
include <plugins>
object CheckerComponent "checker" { }
object FileLogger "main-log" { severity = "information"; path = "$I/log/icinga2.log" }
object PerfdataWriter "perfdata" {
  service_perfdata_path = "$I/perfdata/service-perfdata"
  service_temp_path = "$I/tmp/service-perfdata"
  host_perfdata_path = "$I/perfdata/host-perfdata"
  host_temp_path = "$I/tmp/host-perfdata"
  service_format_template = "SERVICE::\$service.name\$\tSTATE::\$service.state\$\tEXIT::\$service.state_id\$\tOUTPUT::\$service.output\$\tPERF::\$service.perfdata\$"
  rotation_interval = 1s
}
object CheckCommand "podsec-check-policy" {
  command = [ "$PODSEC", "--root", "$R", "check", "policy", "-c", "100", "-v" ]
}
object CheckCommand "podsec-check-images" {
  command = [ "$PODSEC", "--root", "$R", "check", "images", "-w", "0", "-c", "400" ]
}
object Host "podsec-host" { check_command = "dummy"; vars.dummy_state = 0; check_interval = 1s }
object Service "podsec-inotify-check-policy" {
  host_name = "podsec-host"; check_command = "podsec-check-policy"
  check_interval = 1s; retry_interval = 1s; max_check_attempts = 1
}
object Service "podsec-inotify-check-images" {
  host_name = "podsec-host"; check_command = "podsec-check-images"
  check_interval = 1s; retry_interval = 1s; max_check_attempts = 1
}
EOF
D=(-DConfiguration.DataDir="$I/lib" -DConfiguration.LogDir="$I/log" -DConfiguration.CacheDir="$I/cache"
   -DConfiguration.SpoolDir="$I/spool" -DConfiguration.InitRunDir="$I/run" -DConfiguration.PidPath="$I/run/icinga2.pid"
   -DConfiguration.StatePath="$I/lib/icinga2.state" -DConfiguration.ObjectsPath="$I/cache/icinga2.debug"
   -DConfiguration.VarsPath="$I/cache/icinga2.vars" -DConfiguration.ModAttrPath="$I/lib/modified-attributes.conf"
   -DConfiguration.RunAsUser=root -DConfiguration.RunAsGroup=root)
check "icinga2 accepts the configuration" icinga2 daemon -C -c "$I/icinga2.conf" "${D[@]}"
icinga2 daemon -c "$I/icinga2.conf" "${D[@]}" > "$I/daemon.out" 2>&1 &
ICINGA_PID=$!; _pids+=("$ICINGA_PID")

# records: the PerfdataWriter file, one record per check; the output of a
# plugin with long output (-v) spans several lines, joined here with " // "
records() {
    cat "$I"/perfdata/service-perfdata* 2>/dev/null |
        awk '/^SERVICE::/ { if (r != "") print r; r = $0; next } { r = r " // " $0 } END { if (r != "") print r }'
}
# wait_state SERVICE STATE: the newest record of SERVICE has STATE (kept in $T/record)
wait_state() {
    local i
    for i in $(seq 1 150); do
        records | grep "^SERVICE::$1"$'\t' | tail -1 > "$T/record"
        grep -q $'\t'"STATE::$2"$'\t' "$T/record" && return 0
        sleep 0.2
    done
    echo "# last record: $(cat "$T/record")"; return 1
}
check "icinga2 records CRITICAL for check policy" wait_state podsec-inotify-check-policy CRITICAL
check "  exit code 2, podsec's status line as the output" \
    grep -qE $'\t''EXIT::2'$'\t''OUTPUT::POLICY CRITICAL: Violation of user containerization policies \(metric 101\): dave' "$T/record"
check "  perfdata: metric with warn/crit/min and the per-rule counts" \
    grep -qE $'\t''PERF::metric=101;;100;0 r101=1;;;0 r102=0;;;0 .* unchecked=0;;;0$' "$T/record"
check "  the long output (-v) is recorded too" grep -qF ' // There are users: // outside the podman group, (r101, weight 101): "dave"' "$T/record"
if grep -qE 'OUTPUT::.*podsec-inotify-check-policy: ' "$T/record"; then notok "no journal fallback text in the output"; else ok "no journal fallback text in the output"; fi
check "icinga2 records WARNING for check images" wait_state podsec-inotify-check-images WARNING
check "  exit code 1, users and metric in the output" \
    grep -qE $'\t''EXIT::1'$'\t''OUTPUT::POLICY WARNING: Users root have images that violate established policies \(metric 205\)' "$T/record"
check "  perfdata: metric=205;0;400;0, two names not accepted, one outside" \
    grep -qE $'\t''PERF::metric=205;0;400;0 r101=0;;;0 r102=1;;;0 r103=1;;;0 images=4;;;0 not_accepted=2;;;0 outside=1;;;0 ' "$T/record"

# ---- fix the violations ----------------------------------------------------------------
rm -rf "$R/home/dave/.local"
jq '[.[] | select(.names // [] | index("registry.local/app/good:1"))]' "$RS/vfs-images/images.json" > "$T/i.json" &&
    cat "$T/i.json" > "$RS/vfs-images/images.json"
check "icinga2 records OK for check policy once dave has no storage" wait_state podsec-inotify-check-policy OK
check "  OK output and perfdata" \
    grep -qE $'\t''EXIT::0'$'\t''OUTPUT::POLICY OK: Containerization policies are not violated ?'$'\t''PERF::metric=0;;100;0 ' "$T/record"
check "icinga2 records OK for check images once only the signed image is left" wait_state podsec-inotify-check-images OK
check "  OK perfdata: one image, accepted" grep -qE $'\t''PERF::metric=0;0;400;0 .*images=1;;;0 not_accepted=0;;;0 outside=0;;;0 ' "$T/record"
if grep -iE 'perfdata|plugin' "$I/log/icinga2.log" | grep -qiE 'invalid|could not|error'; then
    notok "icinga2 logged no plugin or perfdata errors"; grep -iE 'invalid|could not|error' "$I/log/icinga2.log" | head -5 | sed 's/^/#   /'
else
    ok "icinga2 logged no plugin or perfdata errors"
fi

# ---- stop icinga2 ---------------------------------------------------------------------------
kill "$ICINGA_PID"
for _ in $(seq 1 50); do kill -0 "$ICINGA_PID" 2>/dev/null || break; sleep 0.2; done
if kill -0 "$ICINGA_PID" 2>/dev/null; then notok "icinga2 stops on SIGTERM"; else ok "icinga2 stops on SIGTERM"; fi
left=""
for _ in $(seq 1 25); do
    left=$(ps -eo pid=,args= | grep -F -- "$I/icinga2.conf" | grep -v grep || true)
    [ -z "$left" ] && break; sleep 0.2
done
if [ -z "$left" ]; then ok "no icinga2 process of the test is left"; else notok "icinga2 processes left: $left"; fi
# the state file keeps the last results (one JSON object per line after a length prefix)
check "the state file holds both services with their last check result (exit 0)" python3 - "$I/lib/icinga2.state" <<'EOF'
import json, sys
data = open(sys.argv[1], 'rb').read().decode(errors='replace')
found = {}
# netstring-framed JSON objects: "<len>:<json>,"
i = 0
while i < len(data):
    j = data.index(':', i); n = int(data[i:j]); obj = json.loads(data[j + 1:j + 1 + n]); i = j + 1 + n + 1
    name = obj.get('name', '')
    for svc in ('podsec-inotify-check-policy', 'podsec-inotify-check-images'):
        if name == 'podsec-host!' + svc:
            cr = obj.get('update', {}).get('last_check_result') or {}
            found[svc] = (cr.get('exit_status'), cr.get('output', ''))
ok = all(found.get(s, (None,))[0] == 0 for s in ('podsec-inotify-check-policy', 'podsec-inotify-check-images'))
print(found)
sys.exit(0 if ok else 1)
EOF
finish

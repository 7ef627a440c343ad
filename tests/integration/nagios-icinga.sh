#!/bin/bash
# The Nagios plugin contract of src/lib/nagios.c as real consumers read it:
# exit codes and status lines of a plugin built on it (tests/tools/ps-nagios),
# the level order of the man-page example, mail through a sendmail stand-in,
# icinga2's perfdata parser on every item, and an icinga2 daemon running the
# plugin as a service check (states and perfdata as recorded by icinga2).
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
need icinga2
PSN=$PODSEC_BUILD/tests/tools/ps-nagios
[ -x "$PSN" ] || skip_all "tests/tools/ps-nagios is not built"

# ---- the plugin by itself ------------------------------------------------
check_rc 0 "no thresholds: OK" "$PSN" 5
check_out "^PODSEC OK: metric 5 \| weight=5;;;0 'bad users'=5 'it''s'=1c$" "OK line with quoted perfdata labels"
check_rc 2 "-w 0 -h 0 -c 100 and 101: CRITICAL (severity order, not the original's Warning)" "$PSN" 101 -w 0 -h 0 -c 100
check_out "^PODSEC CRITICAL: metric 101 is Critical \| weight=101;0;100;0 " "CRITICAL line with warn/crit/min"
if [ -S /dev/log ] && python3 -c 'import socket; s=socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM); s.connect("/dev/log")' 2>/dev/null; then
    ok "# SKIP journal text on stderr: a syslog listener owns /dev/log"
else
    check_out "podsec-inotify-check-policy: Critical: Critical\(101\): metric 101" "journal text: tag, prefix (stderr without a logger)"
fi
check_rc 1 "metric 50 with -w 0 -c 100: WARNING" "$PSN" 50 -w 0 -c 100
check_rc 2 "the man pages' 20-100 means 20:100 (101 alerts)" "$PSN" 101 -c 20-100
check_rc 0 "the man pages' 20-100 means 20:100 (50 does not)" "$PSN" 50 -c 20-100
check_rc 2 "@10:20 alerts inside" "$PSN" 15 -c @10:20
check_rc 3 "a garbage range: UNKNOWN with the reason" "$PSN" 5 -c abc
check_out 'option -c: invalid range "abc"' "message names the option and the text"
check_rc 3 "start above end: UNKNOWN" "$PSN" 5 -w 20:10
check_rc 2 "compatibility: systemd's literal '>/dev/null 2>&1' words are ignored" \
    "$PSN" --compat 101 -vvv -c 100 '>/dev/null' '2>&1'
check_out "^verbosity 3 / journal level Critical$" "verbosity -vvv, '|' kept out of the long output"

cat > "$T/sendmail" <<EOF
#!/bin/sh
printf '%s\n' "\$@" > "$T/mail.args"
cat > "$T/mail.txt"
EOF
chmod 755 "$T/sendmail"
check_rc 2 "-M mails the report" env PS_SENDMAIL="$T/sendmail" "$PSN" 101 -c 100 -M admin@example.org
check "sendmail got '-oi -- admin@example.org'" diff <(printf -- '-oi\n--\nadmin@example.org\n') "$T/mail.args"
check "mail has headers and the report" grep -q "^PODSEC CRITICAL: metric 101" "$T/mail.txt"
check_rc 3 "-M with an option-like address is refused" "$PSN" 101 -M -oQ/tmp/x

# ---- icinga2 parses every perfdata item back -----------------------------
"$PSN" 101 -w 0 -c 100 > "$T/line" 2>/dev/null
perf=$(sed -n '1s/^[^|]*| //p' "$T/line")
pd() { icinga2 console --eval "parse_performance_data(\"$1\")" 2>&1 | tail -1; }
check_pd() {   # ITEM LABEL VALUE
    local out; out=$(pd "$1")
    if echo "$out" | jq -e --arg l "$2" --argjson v "$3" '.label == $l and .value == $v' >/dev/null 2>&1; then
        ok "icinga2 reads $1"; else notok "icinga2 reads $1: $out"; fi
}
check_pd "weight=101;0;100;0" weight 101
check_pd "'bad users'=101" "bad users" 101
check_pd "'it''s'=1c" "it''s" 1
out=$(pd "weight=101;0;100;0")
if echo "$out" | jq -e '.warn == 0 and .crit == 100 and .min == 0' >/dev/null 2>&1; then ok "icinga2 reads warn/crit/min"; else notok "warn/crit/min: $out"; fi
[ "$perf" = "weight=101;0;100;0 'bad users'=101 'it''s'=1c" ] && ok "perfdata part of the line" || notok "perfdata part: $perf"

# ---- icinga2 runs the plugin as a service check --------------------------
I=$T/icinga; mkdir -p "$I"/{lib,log,cache,spool,run,perfdata,tmp}
printf '101 -w 0 -h 0 -c 100\n' > "$I/args"
cat > "$I/plugin" <<EOF
#!/bin/sh
# shellcheck disable=SC2046
# stderr carries the journal fallback line here (no logger); icinga2 would
# merge it into the output
exec "$PSN" \$(cat "$I/args") 2>/dev/null
EOF
chmod 755 "$I/plugin"
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
  service_format_template = "STATE::\$service.state\$\tOUTPUT::\$service.output\$\tPERF::\$service.perfdata\$"
  rotation_interval = 1s
}
object CheckCommand "podsec-plugin" { command = [ "$I/plugin" ] }
object Host "podsec-host" { check_command = "dummy"; vars.dummy_state = 0; check_interval = 1s }
object Service "podsec-check" {
  host_name = "podsec-host"; check_command = "podsec-plugin"
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
_pids+=($!)

# wait_state STATE: the latest service record in the perfdata files has STATE
wait_state() {
    local i
    for i in $(seq 1 100); do
        if cat "$I"/perfdata/service-perfdata* 2>/dev/null | tail -1 | grep -q "^STATE::$1"$'\t'; then
            cat "$I"/perfdata/service-perfdata* | tail -1 > "$T/record"; return 0; fi
        sleep 0.2
    done
    return 1
}
check "icinga2 records CRITICAL for 101 with -w 0 -h 0 -c 100" wait_state CRITICAL
check "icinga2's output field is the status text" grep -qE "OUTPUT::PODSEC CRITICAL: metric 101 is Critical ?"$'\t' "$T/record"
# icinga2 keeps the label of 'it''s' literally as it''s (it does not undo
# the guidelines' '' escape) and writes it back unquoted
check "icinga2 keeps the three perfdata items" grep -q "PERF::weight=101;0;100;0 'bad users'=101 it''s=1c$" "$T/record"
printf '50 -w 0 -c 100\n' > "$I/args"
check "icinga2 records WARNING for 50" wait_state WARNING
printf '5 -w 0:10 -c 100\n' > "$I/args"
check "icinga2 records OK for 5" wait_state OK
printf '5 -c abc\n' > "$I/args"
check "icinga2 records UNKNOWN for a bad range" wait_state UNKNOWN
if grep -qi 'perfdata' "$I/log/icinga2.log" && grep -i 'perfdata' "$I/log/icinga2.log" | grep -qiE 'invalid|warning|error'; then
    notok "icinga2 complained about perfdata"; grep -i perfdata "$I/log/icinga2.log" | head -5 | sed 's/^/#   /'
else
    ok "icinga2 logged no perfdata complaints"
fi
finish

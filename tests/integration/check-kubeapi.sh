#!/bin/bash
# podsec check kubeapi: denied requests of a kube-apiserver audit log reach
# the event file and syslog exactly once through partial lines, rotation,
# truncation, rewrites and restarts (--once and -d stopped with SIGTERM);
# -m mails them through a sendmail stand-in and resets the event file, keeps
# them when mail fails and loses none that arrive while it works; --nagios
# reports the waiting events; the original command name and its errors.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
need python3 jq
# the system interpreter when there is one: a pyenv shim costs seconds a call
PY=$(command -v /usr/bin/python3 || command -v python3)

R=$T/root; mkdir -p "$R/etc/kubernetes/audit"
LOG=$R/etc/kubernetes/audit/audit.log
SD=$R/var/lib/podsec/u7s/log/kubeapi
EV=$SD/forbidden.log
EXP=$T/expected            # every event with code >= 400 fed so far, in order
FIX=$PODSEC_SRC/tests/fixtures/audit
: > "$EXP"
K() { "$PODSEC" --root "$R" check kubeapi "$@"; }

# gen FIRST LAST: audit events numbered FIRST..LAST on stdout; every
# second one is denied (403/404/500 in turn) and its projection is appended
# to $EXP
cat > "$T/gen.py" <<'EOF'
import json, sys
first, last, exp = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
codes = [403, 404, 500]
with open(exp, "a") as e:
    for i in range(first, last + 1):
        ts = "2024-05-01T%02d:%02d:%02d.%06dZ" % (i // 3600, i // 60 % 60, i % 60, i)
        code = 200 if i % 2 == 0 else codes[i % 3]
        msg = 'pods "p%d" is forbidden: User "u%d" cannot get resource "pods" \\ | %s' % (i, i, "\u00e9")
        ev = {"kind": "Event", "apiVersion": "audit.k8s.io/v1", "level": "Metadata",
              "auditID": "id-%06d" % i, "stage": "ResponseComplete",
              "requestURI": "/api/v1/namespaces/default/pods/p%d?x=\"code\":500" % i, "verb": "get",
              "user": {"username": "u%d" % i, "groups": ["system:authenticated"]},
              "sourceIPs": ["10.1.%d.%d" % (i // 250, i % 250)], "userAgent": "kubectl/v1.26.3",
              "objectRef": {"resource": "pods", "namespace": "default", "name": "p%d" % i, "apiVersion": "v1"},
              "responseStatus": {"metadata": {}, "code": code},
              "requestReceivedTimestamp": ts, "stageTimestamp": ts}
        if code >= 400:
            ev["responseStatus"].update(status="Failure", message=msg, reason="Forbidden")
            e.write(json.dumps([ts, ev["sourceIPs"][0], msg], ensure_ascii=False, separators=(",", ":")) + "\n")
        sys.stdout.write(json.dumps(ev, separators=(",", ":")) + "\n")
EOF
gen() { "$PY" "$T/gen.py" "$1" "$2" "$EXP"; }
same_events() { diff "$EXP" "$EV" > "$T/diff" 2>&1; }
check_events() { if same_events; then ok "$1"; else notok "$1"; sed 's/^/#   /' "$T/diff" | head -10; fi; }

# ---- syslog capture: a test-owned /dev/log (test-recipes §8) --------------
CAP=$T/syslog.txt; : > "$CAP"
OWN_DEVLOG=
if [ ! -e /dev/log ]; then
    cat > "$T/capture.py" <<'EOF'
import os, signal, socket, sys
path, out = sys.argv[1], open(sys.argv[2], "a")
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM); s.bind(path); os.chmod(path, 0o666)
def stop(*_):
    try: os.unlink(path)
    except FileNotFoundError: pass
    sys.exit(0)
signal.signal(signal.SIGTERM, stop)
open(sys.argv[3], "w").close()
while True:
    out.write(s.recv(65536).decode(errors="replace") + "\n"); out.flush()
EOF
    "$PY" "$T/capture.py" /dev/log "$CAP" "$T/capture.ready" 2>"$T/capture.err" & CAP_PID=$!
    for _ in $(seq 50); do [ -e "$T/capture.ready" ] && break; sleep 0.1; done
    if [ -e "$T/capture.ready" ]; then
        OWN_DEVLOG=$(stat -c %i /dev/log)
        # stop the capture first (it removes its socket); remove a socket it
        # left behind only when it is still the one it bound
        stop_capture() {
            kill "$CAP_PID" 2>/dev/null; wait "$CAP_PID" 2>/dev/null
            [ -S /dev/log ] && [ "$(stat -c %i /dev/log)" = "$OWN_DEVLOG" ] && rm -f /dev/log
        }
        trap 'stop_capture; _cleanup' EXIT
    else
        kill "$CAP_PID" 2>/dev/null; OWN_DEVLOG=
    fi
fi

# ---- usage errors, as the original's ----------------------------------------
check_rc 1 "no mode: exit 1" K
check_out "Invalid number of parameters" "no mode: 'Invalid number of parameters'"
check_out "Format:" "... with the format line"
check_rc 1 "two modes: exit 1" K -d -m
check_rc 1 "a stray word: exit 1" K -d '>/dev/null'
check_out 'Invalid value for 1st parameter: unexpected argument ">/dev/null"' "a stray word is named"
check_rc 1 "-h is not help (Nagios High letter): exit 1" K -h
check_rc 0 "--help" K --help
check_out "audit-log FILE" "--help lists the options"
check_rc 1 "--nagios -c garbage: exit 1 with the reason" K --nagios -c abc
check_out 'option -c: invalid range "abc"' "the range error names the option"

# ---- --once: a whole log, then nothing twice ----------------------------------
check_rc 0 "--once without an audit log: exit 0" K --once
[ ! -s "$EV" ] && ok "no events without a log" || notok "no events without a log"
cp "$FIX/realistic.jsonl" "$LOG"
cat "$FIX/realistic.expected" >> "$EXP"
check_rc 0 "--once over a real-shaped audit log" K --once
check_events "the event file holds the 24 denied requests of the fixture, as the original projects them"
check_rc 0 "--once again" K --once
check_events "a second --once repeats nothing"
check "the checkpoint is JSON with the offset at the end of the log" \
    jq -e --argjson s "$(stat -c %s "$LOG")" '.offset == $s and .version == 1' "$SD/audit-checkpoint.json"

# ---- another log (--audit-log) has its own checkpoint ---------------------------
cp "$FIX/realistic.jsonl" "$T/other-audit.log"
cat "$FIX/realistic.expected" >> "$EXP"
check_rc 0 "--once --audit-log FILE" K --once --audit-log "$T/other-audit.log"
check_events "its denied requests are delivered"
check "it has a checkpoint of its own" test "$(ls "$SD"/audit-checkpoint-*.json | wc -l)" = 1
check_rc 0 "--once on the default log after it" K --once
check_events "the default log's position is untouched: nothing again"

# ---- partial last line -----------------------------------------------------------
gen 1 4 >> "$LOG"
gen 5 5 > "$T/line5"
head -c 200 "$T/line5" >> "$LOG"
check_rc 0 "--once with a half-written last line" K --once
head -n -1 "$EXP" > "$T/exp-partial"     # event 5 is denied but not complete yet
if diff -q "$T/exp-partial" "$EV" >/dev/null; then ok "the half line is not read yet"; else notok "the half line is not read yet"; fi
tail -c +201 "$T/line5" >> "$LOG"
gen 6 7 >> "$LOG"
check_rc 0 "--once after the line is completed" K --once
check_events "the completed line is delivered once"

# ---- rotation by rename: the old file is finished, the new one read ----------
mv "$LOG" "$R/etc/kubernetes/audit/audit-2024-05-01T00-00-10.000.log"
gen 8 11 >> "$R/etc/kubernetes/audit/audit-2024-05-01T00-00-10.000.log"   # the writer finishes the old file
gen 12 15 > "$LOG"
check_rc 0 "--once after a rotation" K --once
check_events "rotation: the rest of the old file and the new file, each event once"

# ---- truncation in place (copytruncate) and a rewrite with another head ----------
: > "$LOG"
gen 16 17 >> "$LOG"
check_rc 0 "--once after truncation" K --once
check_events "truncation: the new content is read from the start"
gen 18 60 > "$T/rewrite"            # larger than the old offset, another first line
cp "$T/rewrite" "$LOG"
check_rc 0 "--once after a rewrite in place" K --once
check_events "rewrite in place (same inode, other head): read from the start"

# ---- a malformed line does not stop anything ----------------------------------------
printf '{"kind":"Event","responseStatus":{"code":403},"requestReceivedTimestamp":"bad\n' >> "$LOG"
gen 61 63 >> "$LOG"
check_rc 0 "--once over a malformed line" K --once
check_events "the events after a malformed line are delivered"

# ---- the daemon: follows, stops on SIGTERM, resumes where it stopped ----------------
wait_events() {   # until the event file equals $EXP (10 s)
    local i; for i in $(seq 100); do same_events && return 0; sleep 0.1; done; return 1
}
# (started directly, not through the K function, so that $! is podsec itself)
"$PODSEC" --root "$R" check kubeapi -d 2> "$T/daemon.err" & DPID=$!; _pids+=("$DPID")
sleep 0.3
gen 64 70 >> "$LOG"
check "-d picks up appended events" wait_events
mv "$LOG" "$R/etc/kubernetes/audit/audit-2024-05-01T00-01-10.000.log"
gen 71 74 > "$LOG"
check "-d follows a rotation by name" wait_events
head -c 150 < <(gen 75 75) >> "$LOG"; tail -n 1 "$EXP" > "$T/last75"; head -n -1 "$EXP" > "$T/e"; mv "$T/e" "$EXP"
sleep 0.5
check "-d does not deliver a half line" same_events
kill -TERM "$DPID"; wait "$DPID"; drc=$?
[ "$drc" = 0 ] && ok "SIGTERM: the daemon exits 0" || notok "SIGTERM: the daemon exits 0 (exit $drc)"
# complete the line and add more while it is stopped, rotate once more
"$PY" "$T/gen.py" 75 75 /dev/null | tail -c +151 >> "$LOG"; cat "$T/last75" >> "$EXP"
gen 76 80 >> "$LOG"
mv "$LOG" "$R/etc/kubernetes/audit/audit-2024-05-01T00-02-10.000.log"
gen 81 84 > "$LOG"
"$PODSEC" --root "$R" check kubeapi -d 2>> "$T/daemon.err" & DPID=$!; _pids+=("$DPID")
check "restarted -d: what came while it was stopped, nothing twice" wait_events
check_rc 1 "--once while -d runs: refused" K --once
check_out "is following the audit log" "the refusal says why"

# ---- -m while the daemon appends: nothing lost, nothing twice ----------------------
cat > "$T/sendmail" <<EOF
#!/bin/sh
n=\$(ls "$T"/mail.* 2>/dev/null | wc -l)
printf '%s\n' "\$@" > "$T/args.\$n"
cat > "$T/mail.\$n"
EOF
chmod 755 "$T/sendmail"
for b in 0 1 2 3 4 5; do
    gen $((100 + b * 20)) $((119 + b * 20)) >> "$LOG"
    K -m --sendmail "$T/sendmail" -M sec@example.org || notok "-m while -d appends (round $b)"
done
gen 300 305 >> "$LOG"
# the bodies of the mails in the order they were sent
mailed() { local i=0; while [ -e "$T/mail.$i" ]; do sed '1,/^$/d' "$T/mail.$i"; i=$((i+1)); done; }
for _ in $(seq 100); do
    [ "$( (mailed; cat "$EV" 2>/dev/null) | wc -l)" = "$(wc -l < "$EXP")" ] && break; sleep 0.1
done
kill -TERM "$DPID"; wait "$DPID"; drc=$?
[ "$drc" = 0 ] && ok "second daemon exits 0 on SIGTERM" || notok "second daemon exits 0 on SIGTERM (exit $drc)"
(mailed; cat "$EV" 2>/dev/null) > "$T/all"
if diff "$EXP" "$T/all" > "$T/diff"; then ok "mailed + remaining = every event, in order, once"
else notok "mailed + remaining = every event, in order, once"; sed 's/^/#   /' "$T/diff" | head; fi
check "sendmail got '-oi -- sec@example.org'" diff <(printf -- '-oi\n--\nsec@example.org\n') "$T/args.0"
check "the mail has the original's subject" grep -q '^Subject: Detected requests to the kubernetes cluster with excess authority$' "$T/mail.0"
ls "$SD"/forbidden.log.mailing >/dev/null 2>&1 && notok "no events left aside" || ok "no events left aside"
check_rc 0 "-m drains the rest" K -m --sendmail "$T/sendmail"
[ ! -s "$EV" ] && ok "the event file is reset after mailing" || notok "the event file is reset after mailing"
check "lastTime.log holds the last mailed timestamp as a JSON string" \
    test "$(cat "$SD/lastTime.log")" = "$(tail -n 1 "$EXP" | jq -c '.[0]')"
check_rc 0 "-m with no events: exit 0, no mail" K -m --sendmail "$T/sendmail"
n_before=$(ls "$T"/mail.* | wc -l)
K -m --sendmail "$T/sendmail"
[ "$(ls "$T"/mail.* | wc -l)" = "$n_before" ] && ok "nothing to mail: no mail sent" || notok "nothing to mail: no mail sent"

# ---- mail failure keeps the events ---------------------------------------------------
: > "$EXP"
gen 400 409 >> "$LOG"
K --once
cp "$EV" "$T/before-fail"
printf '#!/bin/sh\ncat >/dev/null\necho "mail: connection refused" >&2\nexit 75\n' > "$T/badmail"; chmod 755 "$T/badmail"
check_rc 1 "-m with a failing sendmail: exit 1" K -m --sendmail "$T/badmail"
check_out "exited with status 75: mail: connection refused; the events stay in" "the failure names sendmail's reason and where the events are"
check "the events are back in the event file" diff "$T/before-fail" "$EV"
gen 410 413 >> "$LOG"; K --once
check "new events are appended after the kept ones" same_events
check_rc 1 "-m with an option-like address is refused" K -m --sendmail "$T/sendmail" -M -oQ/tmp/x
check_out "starts with '-'" "the refusal says why"

# ---- --nagios ---------------------------------------------------------------------------
check_rc 2 "--nagios with waiting events: CRITICAL" K --nagios
check_out "^KUBEAPI CRITICAL: 7 denied requests to the Kubernetes API since the last report; the latest at 2024-05-01T00:06:53.000413Z from 10.1.1.163: .* \| denied=7;;0;0$" "status line with the latest event and perfdata"
check_rc 1 "--nagios -w 5 -c 10: WARNING" K --nagios -w 5 -c 10
check_rc 0 "--nagios -c 10: OK" K --nagios -c 10
K -m --sendmail "$T/sendmail"
check_rc 0 "--nagios after mailing: OK" K --nagios
check_out "^KUBEAPI OK: no denied requests .* \| denied=0;;0;0$" "OK line"
check_rc 0 "--nagios --json" "$PODSEC" --root "$R" --json check kubeapi --nagios
check "--json has state and perfdata" jq -e '.state == "OK" and .exit == 0 and .perfdata[0].label == "denied"' "$T/.out"

# ---- the original name, PODSEC_ROOT, symlinked event file ------------------------------
mkdir -p "$T/bin"; ln -s "$PODSEC" "$T/bin/podsec-inotify-check-kubeapi"
check_rc 1 "podsec-inotify-check-kubeapi with 3 words (the broken unit's '-m >/dev/null 2>&1')" \
    env PODSEC_ROOT="$R" "$T/bin/podsec-inotify-check-kubeapi" -m '>/dev/null' '2>&1'
check_out "Invalid value for 1st parameter" "the original's message"
gen 500 503 >> "$LOG"
check_rc 0 "podsec-inotify-check-kubeapi -m mails (to root by default)" \
    env PODSEC_ROOT="$R" "$T/bin/podsec-inotify-check-kubeapi" -m --sendmail "$T/sendmail"
echo "secret" > "$T/victim"; rm -f "$EV"; ln -s "$T/victim" "$EV"
gen 504 507 >> "$LOG"
check_rc 1 "a symlinked event file is refused" K --once
check_out "cannot open .*forbidden.log for appending" "the refusal names the file"
check "the symlink target is untouched" test "$(cat "$T/victim")" = secret
rm -f "$EV"
check_rc 0 "after removing the symlink the events are delivered" K --once

# ---- syslog: tag, priority and text the nagwad filter reads ------------------------------
if [ -n "$OWN_DEVLOG" ]; then
    sleep 0.3
    crit=$(grep -c '^<10>.* podsec-inotify-check-kubeapi\[[0-9]*\]: Critical: \["' "$CAP")
    # every delivered event once: the fixture (24, twice: two logs) + generated ones
    want=$(( 48 + $("$PY" - "$T" <<'EOF'
import sys
n = 0
for i in list(range(1, 85)) + list(range(100, 220)) + list(range(300, 306)) + list(range(400, 414)) + list(range(500, 508)):
    n += i % 2
print(n)
EOF
) ))
    [ "$crit" = "$want" ] && ok "syslog got each denied request once at user.crit (<10>) with tag and 'Critical: '" \
        || notok "syslog got $crit Critical entries, expected $want"
    check "a syslog entry carries the projection" grep -q 'podsec-inotify-check-kubeapi\[[0-9]*\]: Critical: \["2024-03-01T10:00:03.000111Z","203.0.113.7","Unauthorized"\]' "$CAP"
    check "the malformed line is a Warning at user.notice (<13>) with its offset" \
        grep -q '^<13>.* podsec-inotify-check-kubeapi\[[0-9]*\]: Warning: malformed audit event.* at offset [0-9]* of ' "$CAP"
    # the nagwad filter the package ships turns them into its buckets
    sed -f "$PODSEC_SRC/data/nagwad/podsec.sed" "$CAP" > "$T/nagwad"
    n=$(grep -c '^podsec-inotify-check-kubeapi:CRITICAL:podsec-inotify-check-kubeapi(Critical) \["' "$T/nagwad")
    [ "$n" = "$want" ] && ok "nagwad's filter puts every event in the kubeapi bucket as CRITICAL" \
        || notok "nagwad's filter: $n CRITICAL lines, expected $want"
    check "nagwad's filter: the malformed line is a WARNING" \
        grep -q '^podsec-inotify-check-kubeapi:WARNING:podsec-inotify-check-kubeapi(Warning) malformed audit event' "$T/nagwad"
else
    ok "# SKIP syslog checks: /dev/log exists (not ours to bind)"
fi
finish

#!/bin/bash
# podsec check vuln / check build-image with stand-ins for trivy and podman
# (trivy cannot be installed here): every fixture report gives the exit code,
# status line and journal entry the spec asks for; trivy absent or failing is
# UNKNOWN with the reason; the arguments trivy and podman get; mails; the
# inventory of local stores under --root (--dry-run); build, scan and
# removal of a vulnerable image; the original command names.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
need python3 jq
# the system interpreter when there is one: a pyenv shim costs seconds a call
PY=$(command -v /usr/bin/python3 || command -v python3)
F=$PODSEC_SRC/tests/fixtures/trivy
B=$T/bin; mkdir -p "$B" "$T/tmp"
export TMPDIR=$T/tmp

# trivy stand-in: the report is chosen by the image name (reg.test/NAME:1 ->
# NAME.json), or for --input by the name the podman stand-in wrote into the
# archive; "fail" exits 1 like trivy does when the server is unreachable
cat > "$B/trivy" <<EOF
#!/bin/sh
n=\$(ls "$T"/trivy.args.* 2>/dev/null | wc -l)
printf '%s\n' "\$@" > "$T/trivy.args.\$n"
for last; do :; done
img=\$last
prev=
for a; do [ "\$prev" = --input ] && img=\$(cat "\$a"); prev=\$a; done
name=\${img#reg.test/}; name=\${name%:1}
case "\$name" in
  fail) echo "2024-03-01T10:00:00.000Z	FATAL	image scan error: scan error: unable to initialize a scanner: connect: connection refused" >&2; exit 1;;
  notjson) cat "$F/not-json.txt";;
  *) cat "$F/\$name.json";;
esac
EOF
# podman stand-in: build (fails for an image named "broken"), image inspect
# (unknown for "absent"), save (writes the image name), rmi
cat > "$B/podman" <<EOF
#!/bin/sh
echo "\$*" >> "$T/podman.log"
case "\$1" in
  build) for a; do last=\$a; done; case "\$*" in *broken*) echo "STEP 1/2: FROM nothing" ; echo "Error: building at STEP 1" >&2; exit 125;; esac
         echo "STEP 1/1: FROM scratch"; exit 0;;
  image) for a; do img=\$a; done
         case "\$img" in *absent*) echo "Error: \$img: image not known" >&2; exit 125;; esac
         printf '%s' "\$img" | sha256sum | cut -c1-64
         printf '%s' "\$img" > "$T/ids/\$(printf '%s' "\$img" | sha256sum | cut -c1-64)";;
  save)  while [ \$# -gt 1 ]; do [ "\$1" = --output ] && out=\$2; shift; done
         cat "$T/ids/\$1" > "\$out";;
  rmi)   for a; do img=\$a; done; echo "Untagged: \$img";;
esac
EOF
cat > "$B/sendmail" <<EOF
#!/bin/sh
n=\$(ls "$T"/mail.[0-9]* 2>/dev/null | wc -l)
printf '%s\n' "\$@" > "$T/mail.args.\$n"
cat > "$T/mail.\$n"
EOF
chmod 755 "$B"/*; mkdir -p "$T/ids"
V() { "$PODSEC" check vuln --trivy "$B/trivy" "$@"; }
BI() { "$PODSEC" check build-image --trivy "$B/trivy" --podman "$B/podman" "$@"; }
img() { echo "reg.test/$1:1"; }

# ---- syslog capture (test-recipes §8), only when /dev/log is free -------------
CAP=$T/syslog.txt; : > "$CAP"; OWN_DEVLOG=
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
        stop_capture() {
            kill "$CAP_PID" 2>/dev/null; wait "$CAP_PID" 2>/dev/null
            [ -S /dev/log ] && [ "$(stat -c %i /dev/log)" = "$OWN_DEVLOG" ] && rm -f /dev/log
        }
        trap 'stop_capture; _cleanup' EXIT
    else
        kill "$CAP_PID" 2>/dev/null
    fi
fi
# logged TEXT: syslog has "<PRI>… podsec-inotify-check-vuln[pid]: TEXT"
logged() { [ -z "$OWN_DEVLOG" ] || { sleep 0.1; grep -qF -- "$1" "$CAP"; }; }

# ---- trivy absent ----------------------------------------------------------------
check_rc 3 "--trivy pointing nowhere: UNKNOWN (3)" "$PODSEC" check vuln --trivy "$T/nosuch" "$(img high)"
check_out "^VULN UNKNOWN: trivy is not installed: $T/nosuch was not found" "the message names the missing program"
if ! command -v trivy >/dev/null 2>&1; then
    check_rc 3 "default trivy not installed: UNKNOWN (3)" "$PODSEC" check vuln "$(img high)"
    check_out "^VULN UNKNOWN: trivy is not installed: trivy was not found \(searched /usr/local/sbin:.*\); install trivy or give --trivy PATH$" \
        "the message says where it looked and what to do"
fi
# under the original name the old unit's words are ignored (no usage error);
# what it then finds depends on this host's stores: a status line either way
ln -s "$PODSEC" "$B/podsec-inotify-check-vuln"
"$B/podsec-inotify-check-vuln" -vvv -c 100 '>/dev/null' '2>&1' > "$T/.out" 2>&1
check_out "^VULN (OK|UNKNOWN|WARNING|CRITICAL): " "podsec-inotify-check-vuln ignores the old unit's '-vvv -c 100 >/dev/null 2>&1'"

# ---- one fixture per run: exit code, status line, journal -------------------------
check_rc 0 "clean image: OK (0)" V "$(img clean)"
check_out "^VULN OK: 1 images scanned: 0 with CRITICAL, 0 with HIGH vulnerabilities, 0 not scanned \| images=1;;;0 critical=0;;;0 high=0;;;0 failed=0;;;0$" "OK status line with perfdata"
check_out "^In the reg.test/clean:1 image of the user root no vulnerabilities found.$" "the original's clean sentence"
check_rc 0 "LOW/MEDIUM only: OK (0)" V "$(img low-medium)"
check_out "^Vulnerabilities were found in the image reg.test/low-medium:1 of user root, but none were high or critical. \(MEDIUM 2, LOW 1\)$" "the original's Low sentence with the counts"
check "Low is logged: Low: ..." logged ": Low: Vulnerabilities were found in the image reg.test/low-medium:1 of user root"
check_rc 1 "HIGH: WARNING (1)" V "$(img high)"
check_out "^VULN WARNING: .* 1 with HIGH" "WARNING status line"
check_out "^In the image reg.test/high:1 of the user root high vulnerabilities found. \(HIGH 2, MEDIUM 1, LOW 1, UNKNOWN 1\)$" "the original's High sentence"
check "High is logged at priority 3: <11>...: High: ..." logged ": High: In the image reg.test/high:1 of the user root high vulnerabilities found."
check_rc 2 "CRITICAL without HIGH: CRITICAL (2)" V "$(img critical)"
check_out "^In the image reg.test/critical:1 of the user root critical vulnerabilities have been discovered. \(CRITICAL 1, MEDIUM 1\)$" "the critical-only sentence"
check_rc 2 "several targets, CRITICAL and HIGH: CRITICAL (2)" V "$(img multi-target)"
check_out "critical=2;;;0 high=3;;;0" "perfdata counts CRITICAL and HIGH over all targets"
check_out "^In the image reg.test/multi-target:1 of the user root critical and high vulnerabilities were discovered. \(CRITICAL 2, HIGH 3, MEDIUM 2\)$" "the critical-and-high sentence, without the original's stray apostrophe"
check "Critical is logged at priority 2" logged ": Critical: In the image reg.test/multi-target:1 of the user root critical and high"
check_rc 0 "null Vulnerabilities: OK" V "$(img null-vulns)"
check_rc 0 "null Results: OK" V "$(img null-results)"
check_rc 0 "unknown extra fields, unknown severity: OK" V "$(img extra-fields)"
check_out "\(MEDIUM 1, UNKNOWN 2\)" "an unknown severity counts as UNKNOWN"
check_rc 3 "trivy prints no JSON: UNKNOWN (3)" V "$(img notjson)"
check_out "^The trivy vulnerability analysis command failed on the image reg.test/notjson:1 of the user root: not a trivy JSON report" "the parse error is named"
check_rc 3 "trivy fails: UNKNOWN (3)" V "$(img fail)"
check_out "failed on the image reg.test/fail:1 of the user root: $B/trivy exited with status 1: .*FATAL.*connection refused$" "trivy's own last line is in the message"
check "Fatal is logged at priority 1" logged ": Fatal: The trivy vulnerability analysis command failed on the image reg.test/fail:1"
for f in truncated legacy-array no-schema duplicate-key vulns-not-array severity-not-string; do
    check_rc 3 "bad report $f.json: UNKNOWN" V "$(img $f)"
done
if [ -n "$OWN_DEVLOG" ]; then
    check "Critical entry at <10> with the tag" grep -q '^<10>.* podsec-inotify-check-vuln\[[0-9]*\]: Critical: ' "$CAP"
    check "High entry at <11>" grep -q '^<11>.* podsec-inotify-check-vuln\[[0-9]*\]: High: ' "$CAP"
    check "Low entry at <13>" grep -q '^<13>.* podsec-inotify-check-vuln\[[0-9]*\]: Low: Vulnerabilities were found' "$CAP"
    check "Fatal entry at <9>" grep -q '^<9>.* podsec-inotify-check-vuln\[[0-9]*\]: Fatal: ' "$CAP"
    grep -q 'podsec-inotify-check-vuln\[[0-9]*\]: [A-Za-z]*: In the reg.test/clean:1 image' "$CAP" && notok "a clean image is not logged" || ok "a clean image is not logged"
    sed -f "$PODSEC_SRC/data/nagwad/podsec.sed" "$CAP" > "$T/nagwad"
    check "nagwad's filter: High is a CRITICAL of the check-vuln bucket" \
        grep -qx 'podsec-inotify-check-vuln:CRITICAL:podsec-inotify-check-vuln(High) In the image reg.test/high:1 of the user root high vulnerabilities found.' "$T/nagwad"
    check "nagwad's filter: Fatal is CRITICAL" grep -q '^podsec-inotify-check-vuln:CRITICAL:podsec-inotify-check-vuln(Fatal) The trivy vulnerability analysis command failed' "$T/nagwad"
    grep -q '(Low)' "$T/nagwad" && notok "nagwad's filter drops Low" || ok "nagwad's filter drops Low"
fi

# ---- several images: the worst state wins (CRITICAL > UNKNOWN > WARNING > OK) ------
check_rc 1 "clean + high: WARNING" V "$(img clean)" "$(img high)"
check_rc 3 "high + failing: UNKNOWN" V "$(img high)" "$(img fail)"
check_rc 2 "high + failing + critical: CRITICAL" V "$(img high)" "$(img fail)" "$(img critical)"
check_out "^VULN CRITICAL: 2 images scanned: 1 with CRITICAL, 1 with HIGH vulnerabilities, 1 not scanned \| images=3;;;0 critical=1;;;0 high=2;;;0 failed=1;;;0$" "the summary counts each kind"

# ---- what trivy gets ---------------------------------------------------------------
rm -f "$T"/trivy.args.*
V "$(img clean)" >/dev/null
check "trivy image --server http://trivy.local:4954 --format json --exit-code 0 --quiet -- IMAGE" \
    diff <(printf '%s\n' image --server http://trivy.local:4954 --format json --exit-code 0 --quiet -- reg.test/clean:1) "$T/trivy.args.0"
V --server scanner.example:8080 "$(img clean)" >/dev/null
check "--server HOST:PORT becomes http://HOST:PORT" grep -qx 'http://scanner.example:8080' "$T/trivy.args.1"
U7S_TRIVY_SERVER=10.0.0.9 V "$(img clean)" >/dev/null
check "U7S_TRIVY_SERVER is honoured as in the original" grep -qx 'http://10.0.0.9:4954' "$T/trivy.args.2"
check_rc 3 "--server with a blank: UNKNOWN" V --server 'a b' "$(img clean)"
check_out "invalid trivy server" "the message says what is wrong"
check_rc 3 "an option-like image: UNKNOWN" V -- -oops
check_out 'invalid image reference "-oops"' "the image is named"
check_rc 3 "an unknown option: UNKNOWN" V --frobnicate
check_rc 0 "--help" V --help
check_out "Exit status: 0 OK, 1 WARNING" "help tells the exit codes"

# ---- verbose and JSON -----------------------------------------------------------------
check_rc 2 "-v lists HIGH and CRITICAL vulnerabilities" V -v "$(img multi-target)"
check_out "^  CRITICAL CVE-2022-37434 zlib 1.2.12-r1 -> 1.2.12-r2 \[registry.local/apps/billing:2.4.1 \(alpine 3.16.2\)\]: zlib: heap-based" "a CRITICAL line with package, versions, target, title"
check_out "^  HIGH CVE-2022-41723 golang.org/x/net " "a HIGH line from a Go binary target"
grep -q "MEDIUM CVE-2023-32681" "$T/.out" && notok "-v hides MEDIUM" || ok "-v hides MEDIUM"
check_rc 2 "-vv lists every vulnerability" V -vv "$(img multi-target)"
check_out "^  MEDIUM CVE-2023-32681 requests 2.28.1 -> 2.31.0 \[app/requirements.txt\]" "MEDIUM listed with -vv"
"$PODSEC" --json check vuln --trivy "$B/trivy" "$(img multi-target)" "$(img fail)" > "$T/v.json"
check "--json: state, exit, images with counts and vulnerabilities" jq -e '
    .state == "CRITICAL" and .exit == 2 and (.images | length) == 2 and
    .images[0].verdict == "critical" and .images[0].counts.CRITICAL == 2 and .images[0].counts.HIGH == 3 and
    (.images[0].vulnerabilities | length) == 7 and .images[1].code == 3 and (.images[1].error | test("exited with status 1"))' "$T/v.json"

# ---- mail per vulnerable or unscanned image -------------------------------------------
V -M sec@example.org --sendmail "$B/sendmail" "$(img clean)" "$(img low-medium)" "$(img high)" "$(img fail)" >/dev/null
n=$(ls "$T"/mail.[0-9]* 2>/dev/null | wc -l)
[ "$n" = 2 ] && ok "two mails: HIGH and failed (none for clean or LOW)" || notok "two mails: HIGH and failed (got $n)"
check "the mail goes to the -M address" diff <(printf -- '-oi\n--\nsec@example.org\n') "$T/mail.args.0"
check "subject as the original" grep -qx 'Subject: Vulnerabilities found in image reg.test/high:1 of user root' "$T/mail.0"
check "the body has the verdict and the CVEs (the original's mails were empty)" \
    grep -q 'CVE-2023-0464' "$T/mail.0"
check "the failure mail carries trivy's reason" grep -q 'connection refused' "$T/mail.1"
check_rc 3 "-M with an option-like address: UNKNOWN" V -M -oQ/tmp/x "$(img clean)"

# ---- local stores under --root: --dry-run lists, scanning is refused ------------------
R=$T/root; mkroot "$R"
printf 'alice:x:1000:1000::/home/alice:/bin/bash\nu7s-admin:x:990:990::/var/lib/u7s-admin:/bin/false\n-evil:x:1002:1002::/home/evil:/bin/sh\n' >> "$R/etc/passwd"
mkdir -p "$R/var/lib/containers/storage/overlay-images" "$R/home/alice/.local/share/containers/storage/overlay-images" \
    "$R/var/lib/u7s-admin/.local/share/usernetes/containers/storage/overlay-images" \
    "$R/home/evil/.local/share/containers/storage/overlay-images"
cp "$F/images.json" "$R/var/lib/containers/storage/overlay-images/images.json"
echo '[{"id":"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef","names":["localhost/alice/app:1"]}]' \
    > "$R/home/alice/.local/share/containers/storage/overlay-images/images.json"
cp "$R/home/alice/.local/share/containers/storage/overlay-images/images.json" "$R/home/evil/.local/share/containers/storage/overlay-images/"
echo '[{"id":"fedcba9876543210fedcba9876543210fedcba9876543210fedcba9876543210","names":["registry.local/k8s/pause:3.9"]}]' \
    > "$R/var/lib/u7s-admin/.local/share/usernetes/containers/storage/overlay-images/images.json"
check_rc 0 "--dry-run under --root lists the inventory" "$PODSEC" --root "$R" --dry-run check vuln
check_out "^would scan registry.local/alt/alt:p10 \(4d7c3f1e0e2b" "root's rootful image"
check_out "^would scan b2aa39c304c2 \(b2aa39c304c2" "a dangling image is scanned by id (the original's jq aborted)"
check_out "^would scan registry.local/web/nginx:1.22 " "an image whose other names are hostile keeps its usable name"
check_out "^would scan localhost/alice/app:1 \(0123456789ab.*\) of the user alice$" "a user's rootless store"
check_out "^would scan registry.local/k8s/pause:3.9 .* of the user u7s-admin in /var/lib/u7s-admin/.local/share/usernetes/containers/storage$" "u7s-admin's usernetes store, by passwd home (not /home)"
grep -q evil "$T/.out" && notok "a user name starting with '-' is never used" || ok "a user name starting with '-' is never used"
[ "$(grep -c '^would scan' "$T/.out")" = 5 ] && ok "five images in all" || notok "five images in all"
"$PODSEC" --root "$R" --dry-run --json check vuln > "$T/inv.json"
check "--dry-run --json" jq -e 'length == 5 and .[3].user == "alice" and .[4].store != null' "$T/inv.json"
check_rc 3 "scanning local stores under --root: UNKNOWN" "$PODSEC" --root "$R" check vuln --trivy "$B/trivy"
check_out "cannot be exported .*give the images to scan as arguments" "the message says why and what to do instead"
check_rc 1 "images given under --root are scanned by name" "$PODSEC" --root "$R" check vuln --trivy "$B/trivy" "$(img high)"
echo garbage > "$R/home/alice/.local/share/containers/storage/overlay-images/images.json"
check_rc 0 "a damaged images.json" "$PODSEC" --root "$R" --dry-run check vuln
check_out "^cannot scan: cannot list the images of the user alice: .*images.json: not a containers-storage images.json" "is reported, the rest is listed"

# ---- check build-image -----------------------------------------------------------------
check_rc 1 "build-image without arguments: the original's Format line, exit 1" "$PODSEC" check build-image
check_out "^Format: podsec check build-image <image_name> \[ <docker file>" "Format line"
mkdir -p "$T/ctx"; echo "FROM scratch" > "$T/ctx/Dockerfile"
: > "$T/podman.log"; rm -f "$T"/trivy.args.*
check_rc 5 "build + CRITICAL: exit 5" BI "$(img multi-target)" "$T/ctx/Dockerfile" "$T/ctx" --no-cache --pull=never
check_out "^In the image reg.test/multi-target:1 of the user root critical and high vulnerabilities were discovered.$" "the verdict"
check_out "^CRITICAL CVE-2023-24534 stdlib 1.19.1 -> 1.19.8, 1.20.3 " "the report lists the CRITICAL ones"
check_out "^Image reg.test/multi-target:1 of user root has been deleted.$" "the vulnerable image it built is removed"
check "podman build BUILD-OPTIONS -f DOCKERFILE -t IMAGE -- CONTEXT" \
    grep -qx "build --no-cache --pull=never -f $T/ctx/Dockerfile -t reg.test/multi-target:1 -- $T/ctx" "$T/podman.log"
check "the image is exported by id with podman save" grep -q "^save --quiet --format docker-archive --output $T/tmp/podsec-vuln\..*/image.tar [0-9a-f]\{64\}$" "$T/podman.log"
check "trivy scans the export with --input" grep -qx -- "--input" "$T/trivy.args.0"
check "podman rmi -- IMAGE" grep -qx "rmi -- reg.test/multi-target:1" "$T/podman.log"
[ -z "$(ls -A "$T/tmp")" ] && ok "the export directory is removed" || notok "the export directory is removed: $(ls -A "$T/tmp")"
: > "$T/podman.log"
check_rc 0 "build + clean: exit 0" BI "$(img clean)" "$T/ctx/Dockerfile"
grep -q '^rmi' "$T/podman.log" && notok "a clean image is kept" || ok "a clean image is kept"
check "the context defaults to ." grep -qx "build -f $T/ctx/Dockerfile -t reg.test/clean:1 -- ." "$T/podman.log"
: > "$T/podman.log"
check_rc 4 "build + HIGH with --keep: exit 4" BI --keep "$(img high)" "$T/ctx/Dockerfile"
grep -q '^rmi' "$T/podman.log" && notok "--keep keeps it" || ok "--keep keeps it"
: > "$T/podman.log"
check_rc 4 "an existing image (no Dockerfile) with HIGH: exit 4" BI "$(img high)"
grep -q '^build\|^rmi' "$T/podman.log" && notok "not built, not removed" || ok "not built, not removed"
check_rc 2 "a failing build: exit 2" BI "$(img broken)" "$T/ctx/Dockerfile"
check_out "Building image reg.test/broken:1 failed. Image analysis is skipped." "the original's message"
check "... logged as Fatal" logged ": Fatal: Building image reg.test/broken:1 failed. Image analysis is skipped."
check_rc 3 "an image that is not in the local store: exit 3" BI "$(img absent)"
check_out "cannot find the image reg.test/absent:1 in the local store: Error: reg.test/absent:1: image not known" "podman's reason"
: > "$T/podman.log"
check_rc 3 "trivy failing on a built image: exit 3" BI "$(img fail)" "$T/ctx/Dockerfile"
check "... and the image it built is removed, as the original did" grep -qx "rmi -- reg.test/fail:1" "$T/podman.log"
check_rc 3 "trivy absent: exit 3" "$PODSEC" check build-image --trivy "$T/nosuch" --podman "$B/podman" "$(img clean)"
check_out "trivy is not installed \($T/nosuch was not found" "the message names the missing program"
check_rc 1 "build-image under --root: refused" "$PODSEC" --root "$R" check build-image "$(img clean)"
ln -s "$PODSEC" "$B/podsec-inotify-build-invulnerable-image"
check_rc 1 "podsec-inotify-build-invulnerable-image without arguments" "$B/podsec-inotify-build-invulnerable-image"
check_out "^Format: .*podsec-inotify-build-invulnerable-image <image_name>" "the original's Format line"
check_rc 0 "--dry-run says what it would do" "$PODSEC" --dry-run check build-image "$(img clean)" "$T/ctx/Dockerfile"
check_out "^would build reg.test/clean:1 from $T/ctx/Dockerfile in \., then scan it with http://trivy.local:4954$" "plan"
if [ -n "$OWN_DEVLOG" ]; then
    sed -f "$PODSEC_SRC/data/nagwad/podsec.sed" "$CAP" > "$T/nagwad"
    check "nagwad's filter: a failed build is CRITICAL in the build-invulnerable-image bucket" \
        grep -qx 'podsec-inotify-build-invulnerable-image:CRITICAL:podsec-inotify-build-invulnerable-image(Fatal) Building image reg.test/broken:1 failed. Image analysis is skipped.' "$T/nagwad"
    check "nagwad's filter: a CRITICAL built image likewise" \
        grep -q '^podsec-inotify-build-invulnerable-image:CRITICAL:podsec-inotify-build-invulnerable-image(Critical) In the image reg.test/multi-target:1' "$T/nagwad"
fi

# ---- the service files in data/ -------------------------------------------------------
U=$T/units; mkdir -p "$U"
for f in "$PODSEC_SRC"/data/systemd/*; do
    sed "s|@BINDIR@|$(dirname "$PODSEC")|g" "$f" > "$U/$(basename "$f" .in)"
done
if command -v systemd-analyze >/dev/null 2>&1; then
    check "systemd-analyze verify accepts every unit and timer" systemd-analyze verify "$U"/*.service "$U"/*.timer
fi
grep -h '^ExecStart=' "$U"/*.service > "$T/execstart"
grep -q '[<>|&]' "$T/execstart" && notok "no shell redirections in ExecStart (systemd passes them as arguments)" \
    || ok "no shell redirections in ExecStart (systemd passes them as arguments)"
grep -l '^Requires=' "$U"/*.timer >/dev/null 2>&1 && notok "timers do not Require their service" || ok "timers do not Require their service"
while read -r line; do
    # shellcheck disable=SC2086
    set -- ${line#ExecStart=}
    shift   # the podsec binary
    verb="$1 $2"
    # shellcheck disable=SC2086
    if "$PODSEC" $verb --help >/dev/null 2>&1; then ok "ExecStart '$*': podsec knows '$verb'"
    else ok "# SKIP ExecStart '$*': '$verb' is not built into this podsec yet"; fi
done < "$T/execstart"
mkdir -p "$T/empty-root"
check_rc 0 "the kubeapi mail unit's command line: nothing to mail, exit 0" "$PODSEC" --root "$T/empty-root" check kubeapi -m
check_rc 0 "the vuln unit's command line under --root --dry-run" "$PODSEC" --root "$R" --dry-run check vuln

# icinga2 reads data/icinga2/podsec.conf and runs the plugins it defines
if command -v icinga2 >/dev/null 2>&1; then
    I=$T/icinga; mkdir -p "$I"/{lib,log,cache,spool,run,perfdata,tmp}
    KR=$T/kroot; mkdir -p "$KR/var/lib/podsec/u7s/log/kubeapi"
    printf '["2024-05-01T00:00:01.000001Z","10.0.0.1","pods is forbidden"]\n' > "$KR/var/lib/podsec/u7s/log/kubeapi/forbidden.log"
    printf '#!/bin/sh\nexec "%s" --root "%s" "$@"\n' "$PODSEC" "$KR" > "$B/podsec-kroot"
    chmod 755 "$B/podsec-kroot"
    sed "s|@BINDIR@|$(dirname "$PODSEC")|g" "$PODSEC_SRC/data/icinga2/podsec.conf.in" > "$I/podsec.conf"
    {
        printf 'const PluginDir = "/usr/lib/nagios/plugins"\nconst ManubulonPluginDir = "/usr/lib/nagios/plugins"\n'
        printf 'const PluginContribDir = "/usr/lib/nagios/plugins"\nconst NodeName = "podsec-node"\n'
        printf 'const ZoneName = "podsec-node"\nconst TicketSalt = ""\ninclude <itl>\ninclude <plugins>\n'
        printf 'object CheckerComponent "checker" { }\n'
        printf 'object FileLogger "main-log" { severity = "information"; path = "%s/log/icinga2.log" }\n' "$I"
        printf 'object PerfdataWriter "perfdata" {\n'
        printf '  service_perfdata_path = "%s/perfdata/service-perfdata"\n  service_temp_path = "%s/tmp/service-perfdata"\n' "$I" "$I"
        printf '  host_perfdata_path = "%s/perfdata/host-perfdata"\n  host_temp_path = "%s/tmp/host-perfdata"\n' "$I" "$I"
        printf '  service_format_template = "SERVICE::$service.name$\\tSTATE::$service.state$\\tOUTPUT::$service.output$\\tPERF::$service.perfdata$"\n'
        printf '  rotation_interval = 1s\n}\n'
        printf '/* what the distribution'"'"'s conf.d and nagwad provide */\n'
        printf 'template Service "generic-service" { max_check_attempts = 1; check_interval = 1s; retry_interval = 1s }\n'
        printf 'template Service "nagwad-service" { check_command = "dummy"; vars.dummy_state = 0 }\n'
        printf 'object HostGroup "nagwad-nodes" { }\n'
        printf 'include "%s/podsec.conf"\n' "$I"
        printf 'object Host "plugin-node" {\n  import "podsec-host"\n  check_command = "dummy"; vars.dummy_state = 0\n'
        printf '  vars.podsec_kubernetes = true\n  vars.podsec_sudo = false\n  vars.podsec_check_interval = 1s\n'
        printf '  vars.podsec_binary = "%s/podsec-kroot"\n  vars.podsec_trivy = "%s/trivy"\n' "$B" "$B"
        printf '  vars.podsec_vuln_images = [ "reg.test/high:1", "reg.test/clean:1" ]\n}\n'
        printf 'object Host "nagwad-node" {\n  import "podsec-host"\n  groups += [ "nagwad-nodes" ]\n'
        printf '  check_command = "dummy"; vars.dummy_state = 0\n}\n'
    } > "$I/icinga2.conf"
    D=(-DConfiguration.DataDir="$I/lib" -DConfiguration.LogDir="$I/log" -DConfiguration.CacheDir="$I/cache"
       -DConfiguration.SpoolDir="$I/spool" -DConfiguration.InitRunDir="$I/run" -DConfiguration.PidPath="$I/run/icinga2.pid"
       -DConfiguration.StatePath="$I/lib/icinga2.state" -DConfiguration.ObjectsPath="$I/cache/icinga2.debug"
       -DConfiguration.VarsPath="$I/cache/icinga2.vars" -DConfiguration.ModAttrPath="$I/lib/modified-attributes.conf"
       -DConfiguration.RunAsUser=root -DConfiguration.RunAsGroup=root)
    check "icinga2 accepts data/icinga2/podsec.conf" icinga2 daemon -C -c "$I/icinga2.conf" "${D[@]}"
    icinga2 object list --type Service "${D[@]}" > "$T/objects" 2>&1
    n=$(grep -c "Object 'nagwad-node!podsec-inotify-" "$T/objects"); [ "$n" = 6 ] && ok "the nagwad node gets the six buckets" || notok "the nagwad node gets $n buckets, expected 6"
    n=$(grep -c "Object 'plugin-node!podsec-check-" "$T/objects"); [ "$n" = 4 ] && ok "the plugin node gets the four podsec plugins" || notok "the plugin node gets $n plugins, expected 4"
    grep -q "Object 'nagwad-node!podsec-check-" "$T/objects" && notok "no plugins on the nagwad node" || ok "no plugins on the nagwad node"
    icinga2 daemon -c "$I/icinga2.conf" "${D[@]}" > "$I/daemon.out" 2>&1 &
    _pids+=($!)
    wait_record() {   # SERVICE STATE: the latest record of SERVICE has STATE
        local i; for i in $(seq 150); do
            if cat "$I"/perfdata/service-perfdata* 2>/dev/null | grep "^SERVICE::$1"$'\t' | tail -1 | grep -q "STATE::$2"$'\t'; then
                cat "$I"/perfdata/service-perfdata* | grep "^SERVICE::$1"$'\t' | tail -1 > "$T/record"; return 0; fi
            sleep 0.2
        done; return 1
    }
    check "icinga2 runs podsec-check-vuln: WARNING for a HIGH image" wait_record podsec-check-vuln WARNING
    # (the output's long part follows on the next lines of the record, then PERF)
    check "... with podsec's status line" grep -q $'\tOUTPUT::VULN WARNING: 2 images scanned: 0 with CRITICAL, 1 with HIGH vulnerabilities, 0 not scanned' "$T/record"
    check "... and its perfdata" grep -q $'\tPERF::images=2;;;0 critical=0;;;0 high=2;;;0 failed=0;;;0$' "$I"/perfdata/service-perfdata*
    check "icinga2 runs podsec-check-kubeapi --nagios: CRITICAL for a waiting denied request" wait_record podsec-check-kubeapi CRITICAL
    check "... with the count as perfdata" grep -q $'\tPERF::denied=1;;0;0$' "$I"/perfdata/service-perfdata*
fi
finish


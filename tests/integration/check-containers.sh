#!/bin/bash
# podsec check containers: a watcher over fake overlay trees.  File names are
# data (logged literally, never run); new layers and users are picked up; a
# queue overflow is reported and followed by a rescan; SIGTERM stops it.
# WATCH_BACKEND=fanotify (default) or inotify: the backend under test
# (check-containers-inotify.sh runs this script with inotify).
. "$(dirname "$0")/lib.sh"
need python3 jq
B=${WATCH_BACKEND:-fanotify}
R=$T/root; mkroot "$R"
printf 'alice:x:1000:1000::/home/alice:/bin/sh\n' >> "$R/etc/passwd"
ROOTOV=$R/var/lib/containers/storage/overlay
ALOV=$R/home/alice/.local/share/containers/storage/overlay
mkdir -p "$ROOTOV/L1/diff/etc" "$ROOTOV/L1/diff/usr/bin" "$ROOTOV/L1/diff/var/log" "$ROOTOV/l" "$ALOV/A1/diff/home/alice" \
    "$ROOTOV/L1/work/work"

check_rc 3 "an argument is refused" "$PODSEC" --root "$R" check containers extra
check_rc 3 "an unknown backend is refused" "$PODSEC" --root "$R" check containers --backend dnotify
check_out "expected auto, fanotify or inotify, not 'dnotify'" "the message names the choices"
if [ "$B" = fanotify ] && ! "$PODSEC" --root "$R" check containers --setup-only --backend fanotify >"$T/probe" 2>&1; then
    skip_all "fanotify cannot be used here: $(cat "$T/probe")"
fi
echo "# backend under test: $B"
check "--help says which backend is in use" "$PODSEC" --root "$R" check containers --help
check_out "In use on this host for this root now: fanotify\.|In use on this host for this root now: inotify \(fanotify cannot be used: " "--help names the backend in use"
check "--setup-only" "$PODSEC" --root "$R" --json check containers --setup-only --backend "$B"
[ "$(jq -r .storages "$T/.out")" = 2 ] && ok "two storages found (root's and alice's)" || notok "two storages found"
[ "$(jq -r .backend "$T/.out")" = "$B" ] && ok "--setup-only names the backend ($B)" || notok "--setup-only names the backend"
if [ "$B" = inotify ]; then
    dirs=$(jq -r .directories "$T/.out")
    # overlay x2, layer dirs L1 A1, diff trees: L1: diff etc usr usr/bin (var excluded); A1: diff home home/alice
    [ "$dirs" -ge 9 ] && ok "directories watched: $dirs" || notok "directories watched: $dirs"
    q=$(cat /proc/sys/fs/inotify/max_queued_events)
else
    fsn=$(jq -r .filesystems "$T/.out")
    [ "$fsn" -ge 1 ] && ok "filesystems marked: $fsn" || notok "filesystems marked: $fsn"
    [ "$(jq -r .directories "$T/.out")" = 0 ] && ok "no per-directory watches with fanotify" || notok "no per-directory watches with fanotify"
    q=$(cat /proc/sys/fs/fanotify/max_queued_events)
    check "auto picks fanotify here" "$PODSEC" --root "$R" --json check containers --setup-only
    [ "$(jq -r .backend "$T/.out")" = fanotify ] && ok "auto: fanotify" || notok "auto: fanotify ($(cat "$T/.out"))"
    if command -v setpriv >/dev/null; then
        # without CAP_SYS_ADMIN: auto falls back to inotify and says why; fanotify asked for is an error
        check "auto without CAP_SYS_ADMIN" setpriv --bounding-set -sys_admin "$PODSEC" --root "$R" --json check containers --setup-only
        [ "$(jq -r .backend "$T/.out")" = inotify ] && ok "auto falls back to inotify" || notok "auto falls back to inotify ($(cat "$T/.out"))"
        jq -e '.fanotify_unusable | test("fanotify_mark FAN_MARK_FILESYSTEM: Operation not permitted")' "$T/.out" >/dev/null && ok "the fallback says why" || notok "the fallback says why ($(cat "$T/.out"))"
        check_rc 3 "--backend fanotify without CAP_SYS_ADMIN fails" setpriv --bounding-set -sys_admin "$PODSEC" --root "$R" check containers --setup-only --backend fanotify
        check_out "cannot use fanotify \(fanotify_mark FAN_MARK_FILESYSTEM\): Operation not permitted" "... with the reason"
        check "--help without CAP_SYS_ADMIN" setpriv --bounding-set -sys_admin "$PODSEC" --root "$R" check containers --help
        check_out "In use on this host for this root now: inotify \(fanotify cannot be used: fanotify_mark FAN_MARK_FILESYSTEM: Operation not permitted\)" "--help names inotify and why"
    fi
    if unshare -U -r true 2>/dev/null; then
        # in a user namespace (a rootless container): no filesystem marks either
        check "auto in a user namespace" unshare -U -r "$PODSEC" --root "$R" --json check containers --setup-only
        jq -e '.backend == "inotify" and (.fanotify_unusable | test("FAN_MARK_FILESYSTEM"))' "$T/.out" >/dev/null &&
            ok "user namespace: inotify, and why" || notok "user namespace: inotify, and why ($(cat "$T/.out"))"
    fi
fi

syslog=$T/syslog.txt
have_syslog=1
capture_syslog "$syslog" || have_syslog=0
OUT=$T/events.jsonl
(cd "$T" && exec "$PODSEC" --root "$R" --json check containers --foreground --backend "$B") >"$OUT" 2>"$T/watch.err" &
W=$!; _pids+=("$W")
for _ in $(seq 50); do grep -q '"ready"' "$OUT" && break; sleep 0.1; done
grep -q '"ready"' "$OUT" && ok "watcher ready" || { notok "watcher ready"; cat "$T/watch.err"; }
jq -e -s "map(select(.kind == \"ready\" and .backend == \"$B\")) | length == 1" "$OUT" >/dev/null && ok "ready names the backend" || notok "ready names the backend"

waitfor() {  # waitfor JQ-FILTER: until a JSON line matches (3 s)
    for _ in $(seq 30); do jq -e -s "map(select($1)) | length > 0" "$OUT" >/dev/null 2>&1 && return 0; sleep 0.1; done
    return 1
}
names=('$(touch pwned-by-name)' "quote'd \"double\"" 'sp ace' $'new\nline' '`id`;x' 'back\slash')
for n in "${names[@]}"; do
    : > "$ROOTOV/L1/diff/usr/bin/$n"
    echo data >> "$ROOTOV/L1/diff/usr/bin/$n"
    rm -f "$ROOTOV/L1/diff/usr/bin/$n"
done
for n in "${names[@]}"; do
    jn=$(jq -Rn --arg n "$n" '$n')
    waitfor ".name == $jn and .events == \"CREATE\" and .dir == \"/usr/bin/\" and .level == \"Critical\"" && ok "create of $(printf %q "$n") reported literally" || notok "create of $(printf %q "$n") reported literally"
    waitfor ".name == $jn and .events == \"MODIFY\"" && ok "modify reported" || notok "modify of $(printf %q "$n") reported"
    waitfor ".name == $jn and .events == \"DELETE\"" && ok "delete reported" || notok "delete of $(printf %q "$n") reported"
done
[ ! -e "$T/pwned-by-name" ] && [ ! -e "$PODSEC_BUILD/pwned-by-name" ] && ok "nothing from a file name was executed" || notok "nothing from a file name was executed"

: > "$ROOTOV/L1/diff/etc/passwd"
waitfor '.name == "passwd" and .dir == "/etc/" and .level == "Warning"' && ok "/etc is Warning" || notok "/etc is Warning"
: > "$ALOV/A1/diff/home/alice/.bashrc"
waitfor '.name == ".bashrc" and .dir == "/home/alice/" and .level == "Warning"' && ok "/home is Warning" || notok "/home is Warning"
: > "$ROOTOV/L1/diff/var/log/x"
sleep 0.3
jq -e -s 'map(select(.dir == "/var/log/")) | length == 0' "$OUT" >/dev/null && ok "the layer's /var is not watched" || notok "the layer's /var is not watched"

# outside the layers' diff trees nothing is reported (fanotify sees the whole filesystem)
mkdir -p "$T/elsewhere"
: > "$T/elsewhere/outside-file"; : > "$ROOTOV/L1/work/work/in-work-dir"; : > "$ROOTOV/L1/not-diff"
: > "$ROOTOV/L1/diff/usr/bin/marker-after-outside"
waitfor '.name == "marker-after-outside"' || notok "marker seen"
jq -e -s 'map(select(.kind == "file" and (.name == "outside-file" or .name == "in-work-dir" or .name == "not-diff"))) | length == 0' "$OUT" >/dev/null \
    && ok "events outside the diff trees are not reported" || notok "events outside the diff trees are not reported"
# a directory renamed inside a layer: later events name its new place
mkdir -p "$ROOTOV/L1/diff/usr/olddir/sub"
: > "$ROOTOV/L1/diff/usr/olddir/sub/f1"
waitfor '.name == "f1" and .dir == "/usr/olddir/sub/"' && ok "a file in a new subdirectory" || notok "a file in a new subdirectory"
mv "$ROOTOV/L1/diff/usr/olddir" "$ROOTOV/L1/diff/usr/newdir"
waitfor '.name == "newdir" and .events == "MOVED_TO,ISDIR"' && ok "the rename is reported" || notok "the rename is reported"
: > "$ROOTOV/L1/diff/usr/newdir/sub/f2"
waitfor '.name == "f2" and .dir == "/usr/newdir/sub/"' && ok "after a rename events name the new directory" || notok "after a rename events name the new directory ($(jq -c 'select(.name == "f2")' "$OUT"))"
# create, modify and delete queued together (the kernel may merge them): each is reported
kill -STOP "$W"
: > "$ROOTOV/L1/diff/usr/bin/merged"; echo x >> "$ROOTOV/L1/diff/usr/bin/merged"; rm "$ROOTOV/L1/diff/usr/bin/merged"
kill -CONT "$W"
for e in CREATE MODIFY DELETE; do
    waitfor ".name == \"merged\" and .events == \"$e\"" && ok "queued together: $e reported" || notok "queued together: $e reported"
done

# a new layer is watched within a second
mkdir -p "$ROOTOV/L5/diff/opt"
sleep 1
: > "$ROOTOV/L5/diff/opt/new-file"
waitfor '.layer == "L5" and .name == "new-file"' && ok "a new layer is watched within a second" || notok "a new layer is watched within a second"
# a new user with a storage
printf 'bob:x:1001:1001::/home/bob:/bin/sh\n' >> "$R/etc/passwd"
mkdir -p "$R/home/bob/.local/share/containers/storage/overlay/B1/diff"
sleep 1
: > "$R/home/bob/.local/share/containers/storage/overlay/B1/diff/hello"
waitfor '.layer == "B1" and .name == "hello"' && ok "a new user's storage is picked up" || notok "a new user's storage is picked up"

# overflow: stop the watcher, make more events than the kernel queue ($q) holds
mkdir -p "$ROOTOV/L1/diff/burst"
waitfor '.name == "burst" and .events == "CREATE,ISDIR"' || notok "burst directory seen"
sleep 0.2
kill -STOP "$W"
python3 - "$ROOTOV/L1/diff/burst" "$((q + 2000))" <<'EOP'
import os, sys
d, n = sys.argv[1], int(sys.argv[2])
for i in range(n):
    open(os.path.join(d, "f%d" % i), "w").close()
EOP
kill -CONT "$W"
waitfor '.kind == "overflow"' && ok "the overflow is reported ($((q + 2000)) events, queue $q)" || notok "the overflow is reported"
waitfor '.kind == "rescanned"' && ok "a rescan follows the overflow" || notok "a rescan follows the overflow"
kill -0 "$W" 2>/dev/null && ok "the watcher survived the overflow" || notok "the watcher survived the overflow"
: > "$ROOTOV/L1/diff/usr/bin/after-overflow"
waitfor '.name == "after-overflow"' && ok "events are reported after the rescan" || notok "events are reported after the rescan"

if [ "$have_syslog" = 1 ]; then
    # <26> = daemon.crit, <29> = daemon.notice
    grep -qF "<26>" "$syslog" && grep -qF 'podsec-inotify-check-containers[' "$syslog" && ok "syslog: tag and Critical priority" || notok "syslog: tag and Critical priority"
    grep -qF 'Critical: An event CREATE occurred in the container L1 on the file /usr/bin/$(touch pwned-by-name)' "$syslog" && ok "syslog: the name is logged literally" || notok "syslog: the name is logged literally"
    grep -qF 'on the file /usr/bin/new\nline' "$syslog" && ok "syslog: a newline in a name is escaped" || notok "syslog: a newline in a name is escaped"
    grep -q '<29>.*Warning: An event CREATE occurred in the container L1 in configuration directory on the file /etc/passwd' "$syslog" && ok "syslog: Warning with priority notice" || notok "syslog: Warning with priority notice"
    grep -q '<26>.*Critical: the kernel event queue overflowed' "$syslog" && ok "syslog: overflow is Critical" || notok "syslog: overflow is Critical"
else
    ok "# SKIP /dev/log belongs to a system logger: syslog content not checked"
fi

kill -TERM "$W"; wait "$W"; rc=$?
[ "$rc" = 0 ] && ok "SIGTERM stops the watcher (exit 0)" || notok "SIGTERM stops the watcher (exit $rc)"
finish

#!/bin/bash
# The command line: help for every group and verb, version, unknown commands,
# global options, original command names as symlinks.
. "$(dirname "$0")/lib.sh"

check "podsec --help exits 0" "$PODSEC" --help
check_out '^Usage: podsec' "--help prints usage"
check "podsec --version" "$PODSEC" --version
check_out '^podsec [0-9]+\.[0-9]+' "--version prints a version"
check_rc 2 "no command: usage, exit 2" "$PODSEC"
check_out 'Usage: podsec' "no command prints usage to stderr"
check_rc 2 "unknown command" "$PODSEC" frobnicate
check_out "unknown command 'frobnicate'" "unknown command is named"
check_rc 2 "unknown verb" "$PODSEC" policy frobnicate
check_out "unknown command 'policy frobnicate'" "unknown verb is named"
check_rc 2 "unknown global option" "$PODSEC" --bogus policy show
check_rc 2 "--root that is not a directory" "$PODSEC" --root /nonexistent/x platform
check_out 'not a directory' "--root error says why"

# every group and every verb has --help (exit 0, usage on stdout)
groups=$("$PODSEC" --help | awk '/^Commands:/ {on=1; next} /^$/ {on=0} on {print $1}' | sort -u)
[ -n "$groups" ] && ok "commands listed in --help" || notok "commands listed in --help"
for g in $groups; do
    verbs=$("$PODSEC" --help | awk -v g="$g" '/^Commands:/ {on=1; next} /^$/ {on=0} on && $1==g && NF>1 {print $2}')
    if [ "$g" = platform ]; then verbs=""; fi
    if [ -n "$verbs" ]; then
        check "podsec $g --help" "$PODSEC" "$g" --help
        check_out "^Usage: podsec $g" "group $g usage"
        for v in $verbs; do
            case $v in [a-z]*) ;; *) continue;; esac
            check "podsec $g $v --help" "$PODSEC" "$g" "$v" --help
            check_out "Usage" "podsec $g $v --help prints usage"
        done
    else
        check "podsec $g --help" "$PODSEC" "$g" --help
        check_out "Usage" "podsec $g --help prints usage"
    fi
done

# original names: a symlink named like the original runs the mapped command
mkdir -p "$T/bin"
ln -s "$PODSEC" "$T/bin/podsec-get-platform"
R=$T/root; mkroot "$R"
check "podsec-get-platform via symlink" env PODSEC_ROOT="$R" "$T/bin/podsec-get-platform"
check_out '^c10f$' "podsec-get-platform prints c10f for ALT_BRANCH_ID=c10f2"
check "podsec-get-platform --help" "$T/bin/podsec-get-platform" --help

# --config: an unknown key is refused with the line number
printf 'registry=127.0.0.1:5000\nbogus = 1\n' > "$T/bad.conf"
check_rc 1 "unknown key in --config" "$PODSEC" --config "$T/bad.conf" --root "$R" platform
check_out 'bad.conf:2: unknown setting .bogus.' "message names file, line and key"
mkdir -p "$R/etc/podsec"; printf 'registry = has space\n' > "$R/etc/podsec/podsec.conf"
check_rc 1 "invalid value in ROOT/etc/podsec/podsec.conf" "$PODSEC" --root "$R" platform
check_out 'podsec.conf:1: invalid value for registry' "message names the setting"

# writing to a full device is an error, not a silent success
if [ -w /dev/full ]; then
    "$PODSEC" --version >/dev/full 2>"$T/err"; rc=$?
    [ "$rc" != 0 ] && grep -q 'write error' "$T/err" && ok "stdout write error detected" || notok "stdout write error detected (rc $rc)"
fi
finish

#!/bin/bash
# podsec platform reads os-release under --root and honours U7S_PLATFORM.
. "$(dirname "$0")/lib.sh"
R=$T/root; mkroot "$R"
w() { printf '%s\n' "$@" > "$R/etc/os-release"; }
w 'ALT_BRANCH_ID=c10f1'; check "c10f1" "$PODSEC" --root "$R" platform; check_out '^c10f$' "c10f1 -> c10f"
w 'ALT_BRANCH_ID="p10"'; check "p10" "$PODSEC" --root "$R" platform; check_out '^p10$' "p10"
w 'CPE_NAME="cpe:/o:alt:spserver:10"'; check "spserver" "$PODSEC" --root "$R" platform; check_out '^c10f$' "spserver -> c10f"
w 'CPE_NAME="cpe:/o:alt:server:11.1"'; check "server 11.1" "$PODSEC" --root "$R" platform; check_out '^p11$' "server 11.1 -> p11"
check "U7S_PLATFORM wins" env U7S_PLATFORM=alt "$PODSEC" --root "$R" platform; check_out '^alt$' "U7S_PLATFORM=alt"
check_out 'predefined' "a note says the predefined value is used"
check "--json" "$PODSEC" --root "$R" --json platform
check_out '^\{"platform": ?"p11", ?"source": ?"os-release"\}$' "--json output"
w 'NAME=Debian'; check_rc 1 "no ALT fields" "$PODSEC" --root "$R" platform
check_out 'cannot determine the platform' "clear error"
rm "$R/etc/os-release"; check_rc 1 "no os-release" "$PODSEC" --root "$R" platform
check_rc 2 "extra argument" "$PODSEC" --root "$R" platform extra
finish

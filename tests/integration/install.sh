#!/bin/bash
# meson install honours DESTDIR and puts the original command names in place
# as symlinks to podsec.
. "$(dirname "$0")/lib.sh"
D=$T/dest
check "meson install --destdir" meson install -C "$PODSEC_BUILD" --no-rebuild --destdir "$D" --quiet
bin=$(find "$D" -type f -name podsec -perm -u+x | head -1)
[ -n "$bin" ] && ok "podsec binary installed ($bin)" || notok "podsec binary installed"
bindir=$(dirname "$bin")
for name in $("$PODSEC" --help | awk '/^Original command names/ {on=1; next} on && /^  podsec-/ {print $1}'); do
    if [ -L "$bindir/$name" ] && [ "$(readlink "$bindir/$name")" = podsec ]; then ok "symlink $name -> podsec"
    else notok "symlink $name -> podsec"; fi
done
check "installed podsec-get-platform runs" env U7S_PLATFORM=p11 "$bindir/podsec-get-platform"
check_out '^p11$' "installed symlink maps to the platform command"
finish

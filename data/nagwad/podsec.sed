#n
# nagwad filter for podsec (spec monitor §9.1).  Installed as
# /etc/nagwad/podsec.sed.  Journal lines "... <tag>[<pid>]: <Level>: <text>"
# of the podsec checks become "<tag>:<STATE>:<tag>(<Level>) <text>"; the
# first field is the bucket (the original program name).  Low and Debug are
# not forwarded, nor Warning of build-invulnerable-image.
s/^.*\(podsec-inotify-check-[a-z]*\)\[[0-9]*\]: \(Crash\|Fatal\|Critical\|High\|Middle\): \(.*\)$/\1:CRITICAL:\1(\2) \3/p
s/^.*[[:space:]]\(podsec-inotify-check-[a-z]*\)\[[0-9]*\]: Warning: \(.*\)$/\1:WARNING:\1(Warning) \2/p
s/^.*\(podsec-inotify-build-[a-z-]*\)\[[0-9]*\]: \(Crash\|Fatal\|Critical\|High\|Middle\): \(.*\)$/\1:CRITICAL:\1(\2) \3/p

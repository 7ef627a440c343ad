#!/bin/bash
# Differential test of policy scope resolution: podsec (tests/tools/ps-scope)
# against skopeo/containers-image as the oracle.
#
# scope-diff-gen.py generates (policy.json, reference) cases with a fixed seed:
# full references by tag and by digest, nested namespaces, host:port and plain
# hosts, "*." wildcards, the transport default "" and the global default, with
# near-miss scopes that must not match.  For every case ps-scope names the
# scope it picks, and skopeo copies the image from a loopback docker-registry
# twice:
#   a) the picked scope accepts, every other entry rejects -> skopeo must copy;
#   b) the picked scope rejects, one other candidate entry (chosen with the
#      seed) accepts -> skopeo must fail with a policy rejection.
# Any other skopeo failure (connection, unknown manifest, ...) is a harness
# failure, never a pass.
#
# The script re-executes itself in private mount and network namespaces: the
# registry host names resolve through a bind-mounted /etc/hosts, and the
# registries listen on 127.0.0.1:80 (port-less references; c/image falls back
# from https to http with --src-tls-verify=false), :5000 and :5001, all three
# sharing one storage directory.  Nothing on the host is touched.
#
# Environment: SCOPE_DIFF_SEED, SCOPE_DIFF_PER_KIND (cases per kind),
# SCOPE_DIFF_TOOL (a command used instead of ps-scope; for harness development,
# e.g. "python3 tests/integration/scope-diff-gen.py model --bug no-wildcards").

if [ -z "${_SCOPE_DIFF_INNER:-}" ]; then
    if [ "$(id -u)" != 0 ]; then echo "1..0 # SKIP needs root for mount/network namespaces"; exit 77; fi
    if ! unshare --mount --net true 2>/dev/null; then
        echo "1..0 # SKIP unshare --mount --net is not permitted here"; exit 77
    fi
    _SCOPE_DIFF_INNER=1 exec unshare --mount --net --propagation private bash "$0" "$@"
fi

. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
need skopeo docker-registry python3 ip curl

GEN=$PODSEC_SRC/tests/integration/scope-diff-gen.py
SEED=${SCOPE_DIFF_SEED:-20261127}
PER_KIND=${SCOPE_DIFF_PER_KIND:-30}
MIN_PER_KIND=15
if [ -n "${SCOPE_DIFF_TOOL:-}" ]; then
    read -r -a TOOL <<<"$SCOPE_DIFF_TOOL"
    echo "# using SCOPE_DIFF_TOOL instead of ps-scope: $SCOPE_DIFF_TOOL"
else
    TOOL=("$PODSEC_BUILD/tests/tools/ps-scope")
    [ -x "${TOOL[0]}" ] || skip_all "ps-scope not built (${TOOL[0]} missing): no policy engine to compare"
fi

unset http_proxy https_proxy HTTP_PROXY HTTPS_PROXY all_proxy ALL_PROXY no_proxy NO_PROXY
ip link set lo up || { echo "# cannot bring up loopback in the private network namespace"; exit 1; }

# --- images, cases, host names ------------------------------------------------
NIMG=3
digests=()
for k in $(seq 0 $((NIMG-1))); do
    digests+=("$(mk_oci "$T/oci$k" "img$k" "scope-diff image $k")") || { echo "# mk_oci failed"; exit 1; }
done
G=$T/cases
python3 "$GEN" gen --seed "$SEED" --per-kind "$PER_KIND" \
    --digests "$(IFS=,; echo "${digests[*]}")" --ports 5000,5001 --out "$G" ||
    { echo "# case generator failed"; exit 1; }
ncases=$(wc -l < "$G/cases.tsv")
echo "# seed $SEED: $ncases cases, $(wc -l < "$G/push.tsv") repository tags to push"

{ printf '127.0.0.1\tlocalhost\n'; sed 's/^/127.0.0.1\t/' "$G/hosts"; } > "$T/hosts"
mount --bind "$T/hosts" /etc/hosts || { echo "# cannot bind-mount $T/hosts over /etc/hosts"; exit 1; }

# --- registries: one storage, three listeners --------------------------------
mkdir -p "$T/registry/data" "$T/regd" "$T/out"
: > "$T/registries.conf"
start_reg() {
    local port=$1
    cat > "$T/registry/config-$port.yml" <<EOC
version: 0.1
log:
  level: warn
storage:
  filesystem:
    rootdirectory: $T/registry/data
http:
  addr: 127.0.0.1:$port
EOC
    docker-registry serve "$T/registry/config-$port.yml" >"$T/registry/log-$port" 2>&1 &
    _pids+=("$!")
    wait_http "http://127.0.0.1:$port/v2/" 15 ||
        { echo "# docker-registry on 127.0.0.1:$port did not start:"; sed 's/^/#   /' "$T/registry/log-$port"; return 1; }
}
for port in 80 5000 5001; do start_reg "$port" || exit 1; done

sk() { skopeo --registries.d "$T/regd" --registries-conf "$T/registries.conf" "$@"; }
echo '{"default":[{"type":"insecureAcceptAnything"}]}' > "$T/accept-all.json"

# push every needed repository:tag: one job per repository (concurrent pushes
# into one repository make docker-registry answer 500), four jobs at a time
push_repo() {
    local path=$1 log=$T/push-$2.log tag img try
    shift 2
    while [ $# -gt 0 ]; do
        tag=$1 img=$2; shift 2
        for try in 1 2 3; do
            sk --policy "$T/accept-all.json" copy -q --dest-tls-verify=false \
                "oci:$T/oci$img:img$img" "docker://127.0.0.1:5000/$path:$tag" >"$log" 2>&1 && continue 2
            sleep 0.2
        done
        echo "# push of oci:$T/oci$img:img$img to 127.0.0.1:5000/$path:$tag failed:"; sed 's/^/#   /' "$log"
        return 1
    done
}
i=0; jobs_=(); pushfail=0
while read -r path rest; do
    i=$((i+1)); read -r -a args <<<"$rest"
    push_repo "$path" "$i" "${args[@]}" & jobs_+=("$!")
    if [ "${#jobs_[@]}" -ge 4 ]; then
        for j in "${jobs_[@]}"; do wait "$j" || pushfail=1; done; jobs_=()
    fi
done < <(awk -F'\t' '{ t[$1] = t[$1] " " $2 " " $3 } END { for (r in t) print r t[r] }' "$G/push.tsv" | sort)
for j in "${jobs_[@]}"; do wait "$j" || pushfail=1; done
if [ "$pushfail" = 0 ]; then ok "pushed $(wc -l < "$G/push.tsv") tags into $i repositories of the loopback registry"
else notok "pushing the test images"; finish; fi

echo "# registries filled (${SECONDS}s since start)"

# every host[:port] form (after normalisation) is reachable under its name;
# otherwise every case would be a harness failure
for hp in $(cut -f4 "$G/cases.tsv" | sed 's,/.*,,' | sort -u); do
    ref=$(awk -F'\t' -v hp="$hp" 'index($4, hp "/") == 1 { print $3; exit }' "$G/cases.tsv")
    rm -rf "$T/out/pre"
    check "preflight: skopeo fetches docker://$ref with an accept-all policy" \
        sk --policy "$T/accept-all.json" copy -q --src-tls-verify=false "docker://$ref" "dir:$T/out/pre"
done

# references skopeo cannot use at all (no policy is consulted) must be errors
# for ps-scope too ("Myreg/app": a first component without "." or ":" is a
# docker.io namespace, and those must be lowercase)
for ref in "reg.local/acme/app:v1@${digests[0]}" "reg.local/Acme/app:v1" "reg.local//app:v1" \
           "reg.local/acme/app:" "reg.local/-app:v1" "Myreg/app:v1"; do
    rm -rf "$T/out/pre"
    sk --policy "$T/accept-all.json" copy -q --src-tls-verify=false "docker://$ref" "dir:$T/out/pre" >"$T/sk-inv.out" 2>&1
    src=$?
    "${TOOL[@]}" "$G/1.base.json" "$ref" >"$T/ans.out" 2>"$T/ans.err"
    prc=$?
    if [ "$src" != 0 ] && grep -q 'Invalid source name' "$T/sk-inv.out" && [ "$prc" != 0 ] && [ -s "$T/ans.err" ]; then
        ok "invalid reference $ref: skopeo and ps-scope both refuse it"
    else
        notok "invalid reference $ref: skopeo rc $src, ps-scope rc $prc (both must refuse it)"
        sed 's/^/#   skopeo: /' "$T/sk-inv.out"; sed 's/^/#   ps-scope: /' "$T/ans.out" "$T/ans.err"
    fi
done

# --- podsec's answers ------------------------------------------------------------
show_policy() { echo "#   policy $1: $(tr -d ' \n' < "$1")"; }
: > "$T/answers.tsv"
toolfail=0
while IFS=$'\t' read -r n kind ref _; do
    if "${TOOL[@]}" "$G/$n.base.json" "$ref" >"$T/ans.out" 2>"$T/ans.err" &&
       mapfile -t lines <"$T/ans.out" && [ "${#lines[@]}" = 1 ]; then
        printf '%s\t%s\n' "$n" "${lines[0]}" >> "$T/answers.tsv"
    else
        toolfail=$((toolfail+1))
        notok "case $n: ps-scope failed on $ref (policy $n.base.json) — skopeo accepts this policy"
        sed 's/^/#   stdout: /' "$T/ans.out"; sed 's/^/#   stderr: /' "$T/ans.err"
        show_policy "$G/$n.base.json"
    fi
done < "$G/cases.tsv"

echo "# ps-scope answered $ncases cases (${SECONDS}s since start)"
python3 "$GEN" policies --seed "$SEED" --dir "$G" --answers "$T/answers.tsv" > "$T/plan.tsv" ||
    { notok "building the per-case policies"; finish; }

# --- skopeo decides ----------------------------------------------------------------
declare -A covered=()
disagree=0; harness=0
# run_case N a|b REF: skopeo copies REF under policy N.a.json / N.b.json;
# writes its exit code (99: "success" without a manifest) to $T/sk-a.rc and
# its output to $T/sk-a.out (or -b)
run_case() {
    local out=$T/out/$1$2 rc
    sk --policy "$G/$1.$2.json" copy -q --src-tls-verify=false "docker://$3" "dir:$out" >"$T/sk-$2.out" 2>&1
    rc=$?
    [ "$rc" != 0 ] || [ -s "$out/manifest.json" ] || rc=99
    rm -rf "$out"
    echo "$rc" > "$T/sk-$2.rc"
}
declare -A answer=() answer_kind=() other_entry=()
while IFS=$'\t' read -r n a; do answer[$n]=$a; done < "$T/answers.tsv"
while IFS=$'\t' read -r n k o; do answer_kind[$n]=$k; other_entry[$n]=$o; done < "$T/plan.tsv"
while IFS=$'\t' read -r n kind ref _; do
    [ -n "${answer_kind[$n]:-}" ] || continue          # ps-scope failed: reported above
    ans=${answer[$n]:-} akind=${answer_kind[$n]} other=${other_entry[$n]}
    if [ "$akind" = bogus ]; then
        disagree=$((disagree+1))
        notok "case ${n}: $ref → $ans names no entry of the policy"; show_policy "$G/$n.base.json"
        continue
    fi
    good=1
    run_case "$n" a "$ref" & pa=$!
    run_case "$n" b "$ref"; wait "$pa"
    rc=$(<"$T/sk-a.rc")
    if [ "$rc" = 0 ]; then
        ok "case ${n}a: $ref → $ans accepts: skopeo copies"
    elif grep -q 'is rejected by policy' "$T/sk-a.out"; then
        good=0; disagree=$((disagree+1))
        notok "case ${n}a: DISAGREEMENT: ps-scope says $ref → $ans, but with only that entry accepting skopeo rejects"
        show_policy "$G/$n.a.json"; sed 's/^/#   skopeo: /' "$T/sk-a.out"
    else
        good=0; harness=$((harness+1))
        notok "case ${n}a: harness failure: skopeo failed without a policy rejection (rc $rc) on $ref"
        sed 's/^/#   skopeo: /' "$T/sk-a.out"
    fi
    rc=$(<"$T/sk-b.rc")
    if [ "$rc" != 0 ] && grep -q 'is rejected by policy' "$T/sk-b.out"; then
        ok "case ${n}b: $ref → $ans rejects, $other accepts: skopeo rejects"
    elif [ "$rc" = 0 ]; then
        good=0; disagree=$((disagree+1))
        notok "case ${n}b: DISAGREEMENT: ps-scope says $ref → $ans, but skopeo copies when $ans rejects and $other accepts"
        show_policy "$G/$n.b.json"
    else
        good=0; harness=$((harness+1))
        notok "case ${n}b: harness failure: skopeo failed without a policy rejection (rc $rc) on $ref"
        sed 's/^/#   skopeo: /' "$T/sk-b.out"
    fi
    [ "$good" = 1 ] && covered[$akind]=$(( ${covered[$akind]:-0} + 1 ))
done < "$G/cases.tsv"

echo "# skopeo decided all cases (${SECONDS}s since start)"

# --- coverage ------------------------------------------------------------------------
summary=""
for k in exact namespace host wildcard transport global nonmatching; do
    summary+=" $k=${covered[$k]:-0}"
done
echo "# cases agreed by kind:$summary (disagreements: $disagree, harness failures: $harness, ps-scope errors: $toolfail)"
total=0; for k in "${!covered[@]}"; do total=$((total + covered[$k])); done
if [ "$total" -ge 150 ]; then ok "$total of $ncases cases agree with skopeo (at least 150 required)"
else notok "only $total of $ncases cases agree with skopeo (at least 150 required)"; fi
for k in exact namespace host wildcard transport global; do
    case $k in
    exact) name="an exact-reference scope";; namespace) name="a repository/namespace scope";;
    host) name="a host[:port] scope";; wildcard) name="a *. wildcard scope";;
    transport) name="the transport default \"\"";; global) name="the global default";;
    esac
    if [ "${covered[$k]:-0}" -ge "$MIN_PER_KIND" ]; then ok "coverage: ${covered[$k]} agreed cases resolve to $name"
    else notok "coverage: only ${covered[$k]:-0} agreed cases resolve to $name (at least $MIN_PER_KIND required)"; fi
done
finish

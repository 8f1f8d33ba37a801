#!/usr/bin/env bash
# Compile-speed and program-size benchmark: bpfdump's filter compiler against libpcap's
# pcap_compile(), measured in the same run with the same method (see
# filter-compiler/benches/compile_ns.rs and bench/pcap_compile_bench.c: N compiles per
# round, N calibrated so a round lasts >= ROUND_MS, best of 5 rounds). Expressions:
# bench/exprs.txt. Both compile for Ethernet (DLT_EN10MB), snaplen 262144, netmask unknown.
#
# Usage: bash bench/compile.sh            (from anywhere in the repo)
# Env:   ROUND_MS=20  minimum length of one timing round, ms
#        RUNS=2       times each side is run, alternating; the fastest result per row is kept
#
# Ratios are libpcap/bpfdump, so > 1 means bpfdump is better (faster, or a smaller program).
# The criterion benchmarks (cargo bench -p filter-compiler --bench compile) are separate.
set -euo pipefail

cd "$(dirname "$0")/.."
ROUND_MS=${ROUND_MS:-20}
RUNS=${RUNS:-2}

# libpcap's development files (Debian: libpcap-dev).
if ! [ -f /usr/include/pcap/pcap.h ] && ! pkg-config --exists libpcap 2>/dev/null; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
        echo "installing libpcap-dev ..." >&2
        apt-get install -y -qq libpcap-dev >/dev/null 2>&1 ||
            { apt-get update -qq && apt-get install -y -qq libpcap-dev >/dev/null; }
    else
        echo "bench/compile.sh needs libpcap's headers: run 'apt-get install -y libpcap-dev' as root" >&2
        exit 1
    fi
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

echo "building ..." >&2
gcc -O2 -Wall -o "$work/pcap_compile_bench" bench/pcap_compile_bench.c -lpcap
cargo bench -q -p filter-compiler --bench compile_ns --no-run 2>&1 | grep -v '^ *Executable' >&2 || true

for i in $(seq "$RUNS"); do
    echo "run $i/$RUNS: libpcap ..." >&2
    "$work/pcap_compile_bench" bench/exprs.txt "$ROUND_MS" >>"$work/pcap.tsv"
    echo "run $i/$RUNS: bpfdump ..." >&2
    cargo bench -q -p filter-compiler --bench compile_ns -- --round-ms "$ROUND_MS" \
        $([ "$i" = "$RUNS" ] || echo --no-phases) 2>/dev/null >>"$work/ours.tsv"
done

echo "# $(grep -m1 '^# libpcap' "$work/pcap.tsv" | sed 's/^# //'); bpfdump $(git rev-parse --short HEAD 2>/dev/null)$(git diff --quiet 2>/dev/null || echo '+dirty'); $(nproc) cores; ROUND_MS=$ROUND_MS RUNS=$RUNS"

awk -F'\t' -v exprs=bench/exprs.txt '
function fmt_ns(x) { return x == "" ? "-" : (x == "ERR" ? "ERR" : sprintf("%.1f", x / 1000)) }
function ratio(a, b) { return (a == "" || b == "" || a == "ERR" || b == "ERR" || b == 0) ? "-" : sprintf("%.2f", a / b) }
function keep(src, k, ns, len) {  # the fastest of the runs, in R[src, label, optimize]
    k = src SUBSEP k
    if (!(k in R) || R[k] == "ERR" || (ns != "ERR" && ns + 0 < R[k] + 0)) { R[k] = ns; R[k, "len"] = len }
}
BEGIN {
    while ((getline line < exprs) > 0) {
        sub(/^[ \t]+/, "", line); if (line == "" || line ~ /^#/) continue
        label = line; sub(/[ \t].*/, "", label); e = line; sub(/^[^ \t]+[ \t]+/, "", e)
        order[++n] = label; text[label] = e
    }
}
FILENAME ~ /pcap.tsv$/ && !/^#/ { keep("pc", $1 SUBSEP $2, $4, $5); next }
FILENAME ~ /ours.tsv$/ && $1 == "phase" { ph[$2] = $3 "\t" $4 "\t" $5 "\t" $6 "\t" $7; next }
FILENAME ~ /ours.tsv$/ { keep($3 == "kernel" ? "ok" : "oo", $1 SUBSEP $2, $4, $5) }
END {
    for (o = 1; o >= 0; o--) {
        printf "\n== offline EN10MB, optimize %s (times in us per compile; ratios libpcap/bpfdump, >1 = bpfdump better)\n", o ? "ON" : "OFF"
        printf "%-58s %10s %10s %7s | %6s %6s %6s\n", "expression", "bpfdump", "libpcap", "t-ratio", "ours", "pcap", "s-ratio"
        lt = 0; ls = 0; nt = 0; ns_ = 0
        for (i = 1; i <= n; i++) {
            l = order[i]; k = l SUBSEP o
            e = text[l]; if (length(e) > 58) e = substr(e, 1, 52 - length(l)) "... [" l "]"
            tr = ratio(R["pc", k], R["oo", k])
            sr = (R["pc", k] == "ERR" || R["oo", k] == "ERR") ? "-" : ratio(R["pc", k, "len"], R["oo", k, "len"])
            printf "%-58s %10s %10s %7s | %6s %6s %7s\n", e, fmt_ns(R["oo", k]), fmt_ns(R["pc", k]), tr,
                R["oo", k] == "ERR" ? "ERR" : R["oo", k, "len"], R["pc", k] == "ERR" ? "ERR" : R["pc", k, "len"], sr
            if (tr != "-") { lt += log(tr); nt++ }
            if (sr != "-") { ls += log(sr); ns_++ }
            if (sr != "-" && R["oo", k, "len"] + 0 > R["pc", k, "len"] + 0) big[o] = big[o] sprintf("  %-14s ours %4d insns, libpcap %4d: %s\n", l, R["oo", k, "len"], R["pc", k, "len"], length(text[l]) > 70 ? substr(text[l], 1, 66) " ..." : text[l])
            if (R["oo", k] == "ERR" || R["pc", k] == "ERR") errs[o] = errs[o] sprintf("  %-14s bpfdump: %s | libpcap: %s\n", l, R["oo", k] == "ERR" ? R["oo", k, "len"] : "ok", R["pc", k] == "ERR" ? R["pc", k, "len"] : "ok")
        }
        if (nt) printf "geometric mean: time ratio %.2f over %d expressions, size ratio %.2f over %d\n", exp(lt / nt), nt, exp(ls / ns_), ns_
        if (big[o] != "") printf "bpfdump program larger than libpcap'"'"'s:\n%s", big[o]
        if (errs[o] != "") printf "not compiled:\n%s", errs[o]
    }
    printf "\n== bpfdump, kernel EN10MB target (socket filter; also matches tag-stripped frames) vs offline\n"
    printf "%-16s %12s %12s %6s %6s | %12s %12s %6s %6s\n", "", "opt us", "offline us", "insns", "offl", "noopt us", "offline us", "insns", "offl"
    for (i = 1; i <= n; i++) {
        l = order[i]
        printf "%-16s %12s %12s %6s %6s | %12s %12s %6s %6s\n", l,
            fmt_ns(R["ok", l, 1]), fmt_ns(R["oo", l, 1]), R["ok", l, 1] == "ERR" ? "ERR" : R["ok", l, 1, "len"], R["oo", l, 1] == "ERR" ? "ERR" : R["oo", l, 1, "len"],
            fmt_ns(R["ok", l, 0]), fmt_ns(R["oo", l, 0]), R["ok", l, 0] == "ERR" ? "ERR" : R["ok", l, 0, "len"], R["oo", l, 0] == "ERR" ? "ERR" : R["oo", l, 0, "len"]
    }
    printf "\n== bpfdump, where the time goes (offline, optimize on; us; optimize includes the layout check)\n"
    printf "%-16s %9s %9s %9s %9s %9s\n", "", "parse", "lower", "cfg", "optimize", "emit"
    for (i = 1; i <= n; i++) {
        l = order[i]; if (!(l in ph)) continue
        split(ph[l], p, "\t")
        printf "%-16s %9.1f %9.1f %9.1f %9.1f %9.1f\n", l, p[1] / 1000, p[2] / 1000, p[3] / 1000, p[4] / 1000, p[5] / 1000
    }
}' "$work/pcap.tsv" "$work/ours.tsv"

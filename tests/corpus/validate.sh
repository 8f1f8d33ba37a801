#!/usr/bin/env bash
# Checks the filter corpora against tcpdump (the oracle):
#   ethernet.txt, sll.txt, sll2.txt, raw.txt: every expression must be ACCEPTED by
#       `tcpdump -d` for that link type (EN10MB, LINUX_SLL, LINUX_SLL2, RAW);
#   errors.txt: every expression (text before the first TAB) must be REJECTED for EN10MB,
#       with the exit status recorded on the line as "[exit N]".
# Link types come from header-only pcap files made here, so the compile is the offline one
# (the same tcpdump does with -r): netmask 0, no live-capture ancillary loads.
# Prints each offender and exits non-zero if there is any.
# Usage: tests/corpus/validate.sh [TCPDUMP]   (default: tcpdump from PATH)
set -u
here="$(cd "$(dirname "$0")" && pwd)"
tcpdump="${1:-tcpdump}"
if ! command -v "$tcpdump" >/dev/null 2>&1; then
    echo "validate.sh: tcpdump not found" >&2
    exit 2
fi
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

# A pcap file header with no packets: magic, v2.4, zone 0, sigfigs 0, snaplen 262144, linktype.
mkpcap() { # linktype-as-4-little-endian-escapes file
    printf '\xd4\xc3\xb2\xa1\x02\x00\x04\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x04\x00'"$1" >"$2"
}
mkpcap '\x01\x00\x00\x00' "$tmp/EN10MB.pcap"
mkpcap '\x71\x00\x00\x00' "$tmp/LINUX_SLL.pcap"
mkpcap '\x14\x01\x00\x00' "$tmp/LINUX_SLL2.pcap"
mkpcap '\x65\x00\x00\x00' "$tmp/RAW.pcap"

bad=0
total=0

# check FILE LINKTYPE accept|reject
check() {
    local file="$1" lt="$2" want="$3" n=0 line expr note rc out recorded
    [ -f "$here/$file" ] || { echo "MISSING $file"; bad=$((bad + 1)); return; }
    while IFS= read -r line || [ -n "$line" ]; do
        n=$((n + 1))
        case "$line" in '' | '#'*) continue ;; esac
        if [ "$want" = reject ]; then
            expr="${line%%$'\t'*}"
            note="${line#*$'\t'}"
            [ "$note" = "$line" ] && note=""
        else
            expr="$line"
            note=""
        fi
        case "$expr" in *[![:space:]]*) ;; *) continue ;; esac
        total=$((total + 1))
        out="$("$tcpdump" -r "$tmp/$lt.pcap" -d -- "$expr" 2>&1 </dev/null)"
        rc=$?
        if [ "$want" = accept ] && [ $rc -ne 0 ]; then
            echo "$file:$n: REJECTED (exit $rc) but should be accepted: $expr"
            echo "    ${out##*$'\n'}"
            bad=$((bad + 1))
        elif [ "$want" = reject ]; then
            if [ $rc -eq 0 ]; then
                echo "$file:$n: ACCEPTED but should be rejected: $expr"
                bad=$((bad + 1))
            else
                recorded="$(printf '%s' "$note" | sed -n 's/.*\[exit \([0-9]*\)\].*/\1/p')"
                if [ "$recorded" != "$rc" ]; then
                    echo "$file:$n: rejected with exit $rc but the line records '[exit ${recorded:-?}]': $expr"
                    echo "    ${out##*$'\n'}"
                    bad=$((bad + 1))
                fi
            fi
        fi
    done <"$here/$file"
}

check ethernet.txt EN10MB accept
check sll.txt LINUX_SLL accept
check sll2.txt LINUX_SLL2 accept
check raw.txt RAW accept
check errors.txt EN10MB reject

echo "validate.sh: $total expressions checked, $bad offenders"
[ $bad -eq 0 ]

#!/usr/bin/env bash
# Records what libpcap compiles for every corpus expression, so tests can compare program
# sizes and executed instructions with libpcap's on a machine without tcpdump
# (tests/program_size.rs). Writes tests/golden/libpcap/<corpus>.txt, one line per expression:
#   EXPR <TAB> N <TAB> code jt jf k;code jt jf k;...     (N instructions, `tcpdump -ddd` order)
# Compiled offline with the optimizer on, as `tcpdump -r FILE -ddd -- EXPR` does, from a
# header-only pcap of the corpus's link type (snaplen 262144).
# Usage: tests/corpus/record_libpcap.sh [TCPDUMP]   (default: tcpdump from PATH)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
out="$here/../golden/libpcap"
tcpdump="${1:-tcpdump}"
command -v "$tcpdump" >/dev/null || { echo "record_libpcap.sh: tcpdump not found" >&2; exit 2; }
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$out"

# A pcap file header with no packets (as in validate.sh): magic, v2.4, snaplen 262144, linktype.
mkpcap() { printf '\xd4\xc3\xb2\xa1\x02\x00\x04\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x04\x00'"$1" >"$2"; }
mkpcap '\x01\x00\x00\x00' "$tmp/ethernet.pcap"
mkpcap '\x71\x00\x00\x00' "$tmp/sll.pcap"
mkpcap '\x14\x01\x00\x00' "$tmp/sll2.pcap"
mkpcap '\x65\x00\x00\x00' "$tmp/raw.pcap"

version="$("$tcpdump" --version 2>&1 | tr '\n' ' ' | sed 's/ *$//')"
for corpus in ethernet sll sll2 raw; do
    {
        echo "# libpcap's programs for tests/corpus/$corpus.txt, recorded by tests/corpus/record_libpcap.sh"
        echo "# from $version. Do not edit; re-run the script after changing the corpus."
        while IFS= read -r line || [ -n "$line" ]; do
            case "$line" in '' | '#'*) continue ;; esac
            prog="$("$tcpdump" -r "$tmp/$corpus.pcap" -ddd -- "$line" 2>"$tmp/err")" || {
                echo "record_libpcap.sh: tcpdump rejects '$line' ($corpus): $(cat "$tmp/err")" >&2
                exit 1
            }
            n="$(head -1 <<<"$prog")"
            printf '%s\t%s\t%s\n' "$line" "$n" "$(tail -n +2 <<<"$prog" | paste -sd ';')"
        done <"$here/$corpus.txt"
    } >"$out/$corpus.txt"
    echo "$corpus: $(grep -vc '^#' "$out/$corpus.txt") expressions" >&2
done

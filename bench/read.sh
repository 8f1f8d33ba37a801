#!/usr/bin/env bash
# Offline reading benchmark: bpfdump against tcpdump in the same run, on a capture of about
# 1 GB made by bench/make_big.py (not committed).
#
#   sudo bash bench/read.sh            # about 3 minutes once the file exists
#   SIZE_MB=256 RUNS=7 bash bench/read.sh
#
# Environment: BIG (capture path, default bench/big.pcap; made if missing), SIZE_MB (1024),
# RUNS (5: each command runs RUNS times per tool, tools alternating; the best and the median
# wall time are reported), BPFDUMP (binary; default: cargo build --release), OUT (scratch
# dir, /tmp), WARM (1: each timed run follows an untimed run of the same tool; 0: none),
# CACHE (disk: as root, drop the page cache and read the file once, so that it is cached as
# a file read from disk is; kept: leave the cache as it is, e.g. as make_big.py wrote it).
#
# Why WARM and CACHE: on a VM that hands freed memory back to its host (virtio-balloon free
# page reporting), writing 700 MB right after another program freed 700 MB in small pages
# costs host page faults that depend on which program ran before; and how the input sits in
# the page cache (the small pages of a file just written, or the large folios of readahead)
# changes read(2)'s cost by 2x for both tools. bench/README.md has the measurements.
#
# Commands (the issue's three):
#   text:   TOOL -nn -r BIG > /dev/null
#   filter: TOOL -r BIG -w /dev/null 'tcp port 443'
#   count:  TOOL -r BIG -c 1000000 -w OUT/out.pcap
# Reported: wall seconds (best of RUNS), CPU seconds (user+sys of that run), peak RSS (GNU
# time's %M, KiB), and tcpdump/bpfdump ratios (above 1: bpfdump faster). Memory flat as the
# file grows: the text command again on the first quarter of the file, peak RSS compared.
set -euo pipefail
cd "$(dirname "$0")/.."
BIG=${BIG:-bench/big.pcap}
SIZE_MB=${SIZE_MB:-1024}
RUNS=${RUNS:-5}
OUT=${OUT:-/tmp}
WARM=${WARM:-1}
CACHE=${CACHE:-disk}
command -v tcpdump >/dev/null || { echo "bench/read.sh: needs tcpdump (apt-get install -y tcpdump)" >&2; exit 1; }
[ -x /usr/bin/time ] || { echo "bench/read.sh: needs GNU time (apt-get install -y time)" >&2; exit 1; }
if [ -z "${BPFDUMP:-}" ]; then
  cargo build --release -q
  BPFDUMP=target/release/bpfdump
fi
if [ ! -s "$BIG" ]; then
  echo "making $BIG ($SIZE_MB MB) ..." >&2
  python3 bench/make_big.py "$BIG" "$SIZE_MB"
fi
if [ "$CACHE" = disk ]; then
  if [ "$(id -u)" = 0 ]; then
    sync
    echo 1 > /proc/sys/vm/drop_caches
    cat "$BIG" > /dev/null
  else
    echo "bench/read.sh: not root, so the page cache is left as it is (CACHE=kept)" >&2
    CACHE=kept
  fi
fi
quarter="$OUT/read-bench-quarter.pcap"
python3 - "$BIG" "$quarter" <<'PY'
import struct, sys
src, dst = sys.argv[1], sys.argv[2]
import os
want = os.path.getsize(src) // 4
with open(src, "rb") as f, open(dst, "wb") as o:
    o.write(f.read(24)); n = 24
    while n < want:
        h = f.read(16)
        if len(h) < 16: break
        cap = struct.unpack("<I", h[8:12])[0]
        o.write(h + f.read(cap)); n += 16 + cap
PY

# run TOOL LABEL FILE: prints "wall cpu rss" of one run.
one() {
  local tool=$1 what=$2 file=$3 bin
  if [ "$tool" = tcpdump ]; then bin=tcpdump; else bin=$BPFDUMP; fi
  local t; t=$(mktemp)
  case $what in
    text) /usr/bin/time -f "%e %U %S %M" -o "$t" "$bin" -nn -r "$file" >/dev/null 2>/dev/null ;;
    filter) /usr/bin/time -f "%e %U %S %M" -o "$t" "$bin" -r "$file" -w /dev/null 'tcp port 443' 2>/dev/null ;;
    count)
      # A fresh file each time: truncating the last run's 700 MB would be timed too.
      rm -f "$OUT/read-bench-out.pcap"; sync
      /usr/bin/time -f "%e %U %S %M" -o "$t" "$bin" -r "$file" -c 1000000 -w "$OUT/read-bench-out.pcap" 2>/dev/null ;;
  esac
  awk '{printf "%s %.2f %s\n", $1, $2 + $3, $4}' "$t"
  rm -f "$t"
}

echo "file: $BIG ($(du -m "$BIG" | cut -f1) MB), quarter: $(du -m "$quarter" | cut -f1) MB; RUNS=$RUNS WARM=$WARM CACHE=$CACHE; $(tcpdump --version 2>&1 | head -1)"
printf "\n| command | tool | wall s (best) | wall s (median) | CPU s (of the best) | peak RSS MiB |\n| --- | --- | ---: | ---: | ---: | ---: |\n"
declare -A best cpu rss walls med
for what in text filter count; do
  for r in $(seq "$RUNS"); do
    if [ $((r % 2)) = 1 ]; then order="bpfdump tcpdump"; else order="tcpdump bpfdump"; fi
    for tool in $order; do
      if [ "$WARM" = 1 ]; then one "$tool" "$what" "$BIG" >/dev/null; fi
      read -r w c m < <(one "$tool" "$what" "$BIG")
      k="$what/$tool"
      walls[$k]="${walls[$k]:-} $w"
      if [ -z "${best[$k]:-}" ] || awk "BEGIN{exit !($w < ${best[$k]})}"; then best[$k]=$w; cpu[$k]=$c; fi
      if [ -z "${rss[$k]:-}" ] || [ "$m" -gt "${rss[$k]}" ]; then rss[$k]=$m; fi
    done
  done
  for tool in bpfdump tcpdump; do
    k="$what/$tool"
    med[$k]=$(printf "%s\n" ${walls[$k]} | sort -n | awk '{v[NR]=$1} END{print (NR % 2) ? v[(NR+1)/2] : (v[NR/2]+v[NR/2+1])/2}')
    printf "| %s | %s | %s | %s | %s | %.1f |\n" "$what" "$tool" "${best[$k]}" "${med[$k]}" "${cpu[$k]}" "$(awk "BEGIN{print ${rss[$k]}/1024}")"
  done
done
printf "\n| command | tcpdump/bpfdump wall (best) | (median) | tcpdump/bpfdump CPU |\n| --- | ---: | ---: | ---: |\n"
for what in text filter count; do
  printf "| %s | %.2f | %.2f | %.2f |\n" "$what" \
    "$(awk "BEGIN{print ${best[$what/tcpdump]}/${best[$what/bpfdump]}}")" \
    "$(awk "BEGIN{print ${med[$what/tcpdump]}/${med[$what/bpfdump]}}")" \
    "$(awk "BEGIN{c=${cpu[$what/bpfdump]}; if (c < 0.01) c = 0.01; print ${cpu[$what/tcpdump]}/c}")"
done
printf "\nPeak RSS as the file grows (text command), MiB:\n\n| tool | quarter file | whole file |\n| --- | ---: | ---: |\n"
for tool in bpfdump tcpdump; do
  read -r _ _ mq < <(one "$tool" text "$quarter")
  printf "| %s | %.1f | %.1f |\n" "$tool" "$(awk "BEGIN{print $mq/1024}")" "$(awk "BEGIN{print ${rss[text/$tool]}/1024}")"
done
rm -f "$quarter" "$OUT/read-bench-out.pcap"

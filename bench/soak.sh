#!/bin/bash
# soak.sh: a long live capture at a steady load, watched: memory (RSS) and CPU per packet
# over time, drops, and the file(s) against what was sent.
#
# In a private netns-lab, examples/blast (pinned to one CPU) sends RATE 64-byte UDP frames a
# second for SECS seconds while bpfdump (pinned to the other) captures them to a file under
# DIR, in one of two modes:
#   file    -w DIR/soak.pcap                      (one growing file)
#   rotate  -w DIR/soak.pcap -C SIZE -W FILES     (a ring of files, names reused)
#   null    -w /dev/null                          (the capture's own work: no file system)
# Every 10 s it samples bpfdump's RSS and CPU time (/proc/PID/stat, user+sys) and the
# sender's count so far, and prints a line; at the end, the CPU per packet of the first and
# the last minute, RSS at the start and at the end, the capture's own three lines, and the
# records in the file(s) (bpfdump -r --count) against what was sent (file mode: they must
# be equal; rotate mode: the files left hold the newest packets, their count is printed).
#
# Usage (as root; never in CI):  bash bench/soak.sh
# Knobs: MODE=file|rotate|null  RATE=300000  SECS=600  SIZE=100 (MB, rotate)  FILES=3 (rotate)
#        DIR=/work/soak (removed at the end unless KEEP=1)  PREFIX=soak<pid>
#        BPFDUMP=path (another build to soak; default: this repo's release build)
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
MODE=${MODE:-file}
RATE=${RATE:-300000}
SECS=${SECS:-600}
SIZE=${SIZE:-100}
FILES=${FILES:-3}
DIR=${DIR:-/work/soak}
PREFIX=${PREFIX:-soak$$}
LAB=${LAB:-../shared/lab}
case $LAB in /*) lab=$LAB ;; *) lab=$repo/$LAB ;; esac
netns_lab=$lab/netns-lab
die() { echo "soak.sh: $*" >&2; exit 1; }
[ "$(id -u)" = 0 ] || die "needs root (network namespaces, AF_PACKET)"
[ -x "$netns_lab" ] || die "no $netns_lab (set LAB=)"
(cd "$repo" && cargo build --release -q --bin bpfdump --example blast)
bpfdump=${BPFDUMP:-$repo/target/release/bpfdump}
blast=$repo/target/release/examples/blast
mkdir -p "$DIR"
made_lab=0
cap_pid=
cleanup() {
  [ -n "$cap_pid" ] && kill -INT "$cap_pid" 2>/dev/null || true
  if [ "$made_lab" = 1 ]; then "$netns_lab" down "$PREFIX" >/dev/null 2>&1 || true; fi
  if [ "${KEEP:-0}" != 1 ]; then rm -rf "$DIR"; fi
}
trap cleanup EXIT
"$netns_lab" status "$PREFIX" >/dev/null 2>&1 || made_lab=1
"$netns_lab" up "$PREFIX" >/dev/null
eval "$("$netns_lab" env "$PREFIX")"
out=$DIR/soak.pcap
case $MODE in
  file) extra=() ;;
  rotate) extra=(-C "$SIZE" -W "$FILES") ;;
  null) extra=(); out=/dev/null ;;
  *) die "MODE is file, rotate or null" ;;
esac
log=$DIR/bpfdump.log
ip netns exec "$LAB_NS_A" taskset -c 0 "$bpfdump" -i "$LAB_IF_A" -n -Z root -w "$out" "${extra[@]}" udp 2>"$log" &
cap_pid=$!
for _ in $(seq 50); do grep -q "listening on" "$log" && break; sleep 0.1; done
grep -q "listening on" "$log" || die "bpfdump did not start: $(cat "$log")"
count=$((RATE * SECS))
ip netns exec "$LAB_NS_B" taskset -c 1 "$blast" --dst-mac "$LAB_MAC_A" --rate "$RATE" --batch 256 \
  --max-seconds $((SECS + 60)) --size 22 --ports 100 "$LAB_IP4_A" 9000 "$count" \
  >"$DIR/blast.out" 2>&1 &
snd_pid=$!
hz=$(getconf CLK_TCK)
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
rss_kb() { awk '/^VmRSS/ {print $2}' "/proc/$1/status"; }
t0=$(date +%s.%N)
printf '%6s %10s %12s %10s\n' "s" "RSS KiB" "CPU s" "ns/pkt*"
declare -a samples=()
while kill -0 "$snd_pid" 2>/dev/null; do
  sleep 10
  kill -0 "$cap_pid" 2>/dev/null || die "bpfdump exited: $(tail -3 "$log")"
  t=$(date +%s.%N)
  el=$(echo "$t - $t0" | bc)
  c=$(cpu_ticks "$cap_pid")
  r=$(rss_kb "$cap_pid")
  samples+=("$el $c $r")
  # *: bpfdump's own CPU per packet offered over the last 10 s (the filter and the ring
  # copy run in the sender's softirq, not here: this is the reader's side).
  if [ ${#samples[@]} -ge 2 ]; then
    read -r pe pc _ <<<"${samples[-2]}"
    per=$(echo "($c - $pc) / $hz * 1000000000 / (($el - $pe) * $RATE)" | bc -l)
  else
    per=$(echo "$c / $hz * 1000000000 / ($el * $RATE)" | bc -l)
  fi
  printf '%6.0f %10s %12.2f %10.1f\n' "$el" "$r" "$(echo "$c / $hz" | bc -l)" "$per"
done
wait "$snd_pid" || true
sleep 1.5
kill -INT "$cap_pid"
wait "$cap_pid" || true
cap_pid=
echo
echo "sender: $(tail -1 "$DIR/blast.out")"
grep -E "packets (captured|received|dropped)" "$log"
n=${#samples[@]}
if [ "$n" -ge 12 ]; then
  read -r e1 c1 r1 <<<"${samples[0]}"
  read -r e6 c6 _ <<<"${samples[5]}"
  read -r ea ca _ <<<"${samples[$((n - 7))]}"
  read -r eb cb rb <<<"${samples[$((n - 1))]}"
  first=$(echo "($c6 - $c1) / $hz * 1000000000 / (($e6 - $e1) * $RATE)" | bc -l)
  last=$(echo "($cb - $ca) / $hz * 1000000000 / (($eb - $ea) * $RATE)" | bc -l)
  printf 'bpfdump CPU per packet: first minute %.1f ns, last minute %.1f ns (ratio %.2f); RSS %s KiB at 10 s, %s KiB at the end\n' \
    "$first" "$last" "$(echo "$last / $first" | bc -l)" "$r1" "$rb"
fi
sent=$(grep -oE 'sent=[0-9]+' "$DIR/blast.out" | cut -d= -f2)
if [ "$MODE" = null ]; then
  captured=$(grep -oE '^[0-9]+ packets captured' "$log" | cut -d' ' -f1)
  echo "captured: $captured; sent: $sent"
  [ "$captured" = "$sent" ] || { echo "MISMATCH"; exit 1; }
  exit 0
fi
total=0
for f in "$DIR"/soak.pcap*; do
  k=$("$bpfdump" -r "$f" --count 2>/dev/null | grep -oE '^[0-9]+')
  echo "$(basename "$f"): $k records, $(stat -c %s "$f") bytes"
  total=$((total + k))
done
echo "records in the file(s): $total; sent: $sent"
if [ "$MODE" = file ] && [ "$total" != "$sent" ]; then echo "MISMATCH"; exit 1; fi

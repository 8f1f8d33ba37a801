#!/bin/bash
# capture.sh: offered load on a veth pair, captured by bpfdump and by tcpdump in the same run.
#
# For each filter (all packets: `udp`; 1%: `udp dst port $PORT`), each offered load and each
# tool, starts the capture in namespace PREFIX-a on PREFIX-va (`-i PREFIX-va -n -w FILE FILTER`), waits for
# its "listening on" line, sends COUNT packets from namespace b with examples/blast.rs, waits
# SETTLE seconds, stops the capture with SIGINT and reports packets sent, captured (records in
# the written file), dropped (the tool's own "N packets dropped by kernel"), CPU seconds of the
# capture process (user+sys, from wait4) per million packets OFFERED, the sender's CPU per million
# packets sent, and the capture's peak RSS. Tool "none" is the sender alone (nothing capturing).
#
# Usage (as root, from anywhere):  bash bench/capture.sh
# Knobs (environment):
#   COUNT=1000000        packets per run
#   RUNS=1               times the whole matrix is run; the table adds the runs up
#   LOADS="100000 250000 500000 0"   offered loads in packets/s; 0 = as fast as the sender can
#   SIZE="64 1458"       UDP payload bytes, one or more (frames are SIZE+42 bytes: 106 and 1500)
#   PORT=9000            base destination port; packet i goes to PORT + i%100
#   TOOLS="bpfdump bpfdump-B2048 tcpdump"   (bpfdump-B2048: bpfdump with -B 2048, libpcap's
#                        default 2 MiB ring)
#   FILTERS="all 1pct"   which filters to run
#   PIN=split            split: capture on CPU 0, sender on CPU 1; same: both on CPU 1; none
#   MODE=packet          sender method (blast --mode): packet, ring or udp
#   SETTLE=1.5           seconds between the end of sending and SIGINT (more than libpcap's 1 s
#                        TPACKET_V3 block timeout, so the last partly filled block is delivered)
#   OUT=                 directory for the captures (default: a fresh one under /dev/shm,
#                        removed at the end unless KEEP=1)
#   LAB=../shared/lab    the netns-lab directory, relative to the repository
#   PREFIX=cb<pid>       the netns-lab name (namespaces PREFIX-a, PREFIX-b, device PREFIX-va);
#                        a lab that already exists under that name is used and left up at
#                        the end: only a lab this run made is taken down
# Traffic stays inside the two namespaces of the lab; nothing leaves the machine. Every wait
# is bounded.
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
COUNT=${COUNT:-1000000}
LOADS=${LOADS:-"100000 250000 500000 0"}
SIZE=${SIZE:-"64 1458"}
PORT=${PORT:-9000}
TOOLS=${TOOLS:-"bpfdump bpfdump-B2048 tcpdump"}
FILTERS=${FILTERS:-"all 1pct"}
PIN=${PIN:-split}
MODE=${MODE:-packet}
SETTLE=${SETTLE:-1.5}
RUNS=${RUNS:-1}
LAB=${LAB:-../shared/lab}
PREFIX=${PREFIX:-cb$$}
case $LAB in /*) lab=$LAB ;; *) lab=$repo/$LAB ;; esac
netns_lab=$lab/netns-lab

die() { echo "capture.sh: $*" >&2; exit 1; }
[ "$(id -u)" = 0 ] || die "needs root (network namespaces, AF_PACKET)"
[ -x "$netns_lab" ] || die "no $netns_lab (set LAB=)"

need=()
command -v tcpdump >/dev/null || need+=(tcpdump)
command -v python3 >/dev/null || need+=(python3)
command -v taskset >/dev/null || need+=(util-linux)
command -v ip >/dev/null || need+=(iproute2)
if [ ${#need[@]} -gt 0 ]; then
  echo "installing ${need[*]}" >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${need[@]}" >/dev/null ||
    { apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${need[@]}" >/dev/null; }
fi
py=$(command -v python3)
tcpdump_bin=$(command -v tcpdump)

echo "building bpfdump and the sender (cargo build --release)" >&2
(cd "$repo" && cargo build --release -q --bin bpfdump --example blast)
bpfdump=${BPFDUMP:-$repo/target/release/bpfdump}
blast=$repo/target/release/examples/blast

if [ -n "${OUT:-}" ]; then
  out=$OUT; mkdir -p "$out"
else
  out=$(mktemp -d /dev/shm/bpfdump-capture.XXXXXX)
fi
cap_pid=  # the capture running now, if any, so that an early exit stops it too
cleanup() {
  if [ -n "$cap_pid" ] && kill -0 "$cap_pid" 2>/dev/null; then
    kill -INT "$cap_pid" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$cap_pid" 2>/dev/null || break; sleep 0.1; done
    pkill -KILL -P "$cap_pid" 2>/dev/null || true
  fi
  if [ "$made_lab" = 1 ]; then "$netns_lab" down "$PREFIX" || true; fi
  if [ -z "${OUT:-}" ] && [ "${KEEP:-0}" != 1 ]; then rm -rf "$out"; fi
}
made_lab=0
trap cleanup EXIT
if ! "$netns_lab" status "$PREFIX" >/dev/null 2>&1; then
  made_lab=1
fi
"$netns_lab" up "$PREFIX" >/dev/null

case $PIN in
  split) cap_pin=(taskset -c 0); snd_pin=(taskset -c 1) ;;
  same) cap_pin=(taskset -c 1); snd_pin=(taskset -c 1) ;;
  none) cap_pin=(); snd_pin=() ;;
  *) die "PIN must be split, same or none" ;;
esac
[ "$(nproc)" -ge 2 ] || { cap_pin=(); snd_pin=(); PIN=none; }

# Runs a command, forwards SIGINT/SIGTERM to it, writes "utime stime maxrss_kb status" of it
# (from wait4, microsecond resolution) to the file given as first argument, exits as it did.
rusage_py='
import os, signal, sys
out, cmd = sys.argv[1], sys.argv[3:]
pid = os.fork()
if pid == 0:
    os.execvp(cmd[0], cmd)
fwd = lambda s, f: os.kill(pid, s)
signal.signal(signal.SIGINT, fwd); signal.signal(signal.SIGTERM, fwd)
# Peak memory from the VmHWM of the child, sampled while it runs: ru_maxrss from wait4 would
# include the memory of this Python process, which the forked child had before exec.
import time
peak = 0
while True:
    try:
        p, st, ru = os.wait4(pid, os.WNOHANG)
    except InterruptedError:
        continue
    if p == pid:
        break
    try:
        with open(f"/proc/{pid}/status") as f:
            st = dict(l.split(":", 1) for l in f if ":" in l)
        # Not before exec: until then the child is a copy of this Python.
        if not st["Name"].strip().startswith("python"):
            peak = max(peak, int(st["VmHWM"].split()[0]))
    except (OSError, KeyError, ValueError):
        pass
    time.sleep(0.2)
code = os.waitstatus_to_exitcode(st)
with open(out, "w") as f:
    f.write(f"{ru.ru_utime:.6f} {ru.ru_stime:.6f} {peak} {code}\n")
sys.exit(code if code >= 0 else 128 - code)
'

# Counts the records of a pcap or pcapng file.
count_py='
import mmap, struct, sys
with open(sys.argv[1], "rb") as f:
    if f.seek(0, 2) == 0:
        print(0); sys.exit()
    m = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
n, size = 0, len(m)
magic = m[:4]
if magic == b"\x0a\x0d\x0d\x0a":
    bo = "<" if m[8:12] == b"\x4d\x3c\x2b\x1a" else ">"
    off = 0
    while off + 8 <= size:
        t, l = struct.unpack_from(bo + "II", m, off)
        if l < 12: break
        if t in (2, 3, 6): n += 1
        off += l
else:
    bo = {b"\xd4\xc3\xb2\xa1": "<", b"\x4d\x3c\xb2\xa1": "<", b"\xa1\xb2\xc3\xd4": ">", b"\xa1\xb2\x3c\x4d": ">"}.get(magic)
    if bo is None: sys.exit("not a pcap file")
    off, fmt = 24, bo + "I"
    while off + 16 <= size:
        off += 16 + struct.unpack_from(fmt, m, off + 8)[0]; n += 1
print(n)
'

softnet_drops() {
  local s=0 a b rest
  while read -r a b rest; do s=$((s + 16#$b)); done </proc/net/softnet_stat
  echo "$s"
}

# Does this bpfdump capture live yet? (It says "not supported yet" or rejects -i when not.)
probe=0
timeout 2 ip netns exec "$PREFIX-a" "$bpfdump" -i "$PREFIX-va" -c 1 -w /dev/null >"$out/probe.log" 2>&1 || probe=$?
if [ $probe -ne 0 ] && [ $probe -ne 124 ]; then
  echo "bpfdump cannot capture live yet ($(head -1 "$out/probe.log")); running tcpdump only" >&2
  TOOLS=$(for t in $TOOLS; do case $t in bpfdump*) ;; *) printf '%s ' "$t" ;; esac; done)
fi

results=$out/results.tsv
printf 'size\tfilter\tload\ttool\tsent\tsend_s\tsend_pps\tsnd_cpu\tcaptured\tdropped\texpected\tcap_cpu\tmaxrss_kb\tbacklog\n' >"$results"

# run_one SIZE TOOL FILTER_NAME RATE: one capture run; appends a line to $results.
run_one() {
  local size=$1 tool=$2 fname=$3 rate=$4 filt
  case $fname in all) filt="udp" ;; 1pct) filt="udp dst port $PORT" ;; esac
  local tag=$tool-$size-$fname-$rate
  local pcap=$out/$tag.pcap log=$out/$tag.log ru=$out/$tag.ru sru=$out/$tag.sru
  local cmd=()
  case $tool in
    none) ;;
    bpfdump) cmd=("$bpfdump" -i "$PREFIX-va" -n -w "$pcap" $filt) ;;
    bpfdump-B*) cmd=("$bpfdump" -i "$PREFIX-va" -n -B "${tool#bpfdump-B}" -w "$pcap" $filt) ;;
    tcpdump) cmd=("$tcpdump_bin" -i "$PREFIX-va" -n -Z root -w "$pcap" $filt) ;;
    *) die "unknown tool $tool" ;;
  esac
  rm -f "$pcap" "$log" "$ru" "$sru"
  local pid=
  if [ ${#cmd[@]} -gt 0 ]; then
    ip netns exec "$PREFIX-a" "${cap_pin[@]}" "$py" -c "$rusage_py" "$ru" -- "${cmd[@]}" 2>"$log" &
    pid=$!
    cap_pid=$pid
    local i
    for i in $(seq 100); do
      grep -q "listening on" "$log" 2>/dev/null && break
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.05
    done
    kill -0 "$pid" 2>/dev/null || { echo "capture.sh: $tool exited early: $(tail -1 "$log")" >&2; wait "$pid" || true; cap_pid=; return 0; }
    grep -q "listening on" "$log" || echo "capture.sh: $tool printed no 'listening on' in 5 s; going on" >&2
    sleep 0.3
  fi
  local b0 b1 line
  b0=$(softnet_drops)
  if [ "$rate" = idle ]; then
    line="sent=0 seconds=0 pps=0"
    echo "0 0 0 0" >"$sru"
  else
    line=$(ip netns exec "$PREFIX-b" "${snd_pin[@]}" "$py" -c "$rusage_py" "$sru" -- \
      "$blast" --mode "$MODE" --dst-mac 02:00:00:00:00:01 --rate "$rate" --size "$size" \
      --ports 100 10.200.0.1 "$PORT" "$COUNT") || die "sender failed"
  fi
  b1=$(softnet_drops)
  local captured=0 dropped=0 cap_cpu=-1 maxrss=0
  if [ -n "$pid" ]; then
    sleep "$SETTLE"
    kill -INT "$pid" 2>/dev/null || true
    for i in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    if kill -0 "$pid" 2>/dev/null; then
      echo "capture.sh: $tool ignored SIGINT for 10 s; killing it" >&2
      pkill -KILL -P "$pid" || true
    fi
    wait "$pid" || true
    cap_pid=
    captured=$("$py" -c "$count_py" "$pcap" 2>/dev/null || echo -1)
    dropped=$(grep -oE '[0-9]+ packets? dropped by kernel' "$log" | awk '{ s += $1 } END { print s + 0 }')
    if [ -s "$ru" ]; then
      local u s st
      read -r u s maxrss st <"$ru"
      cap_cpu=$(awk -v u="$u" -v s="$s" 'BEGIN { printf "%.6f", u + s }')
      # 0, or -2 (ended by the SIGINT itself) are fine.
      case $st in 0 | -2) ;; *) echo "capture.sh: $tool exited with status $st: $(tail -1 "$log")" >&2 ;; esac
    fi
  fi
  local sent secs pps su ss
  sent=$(sed -nE 's/.*sent=([0-9]+).*/\1/p' <<<"$line")
  secs=$(sed -nE 's/.*seconds=([0-9.]+).*/\1/p' <<<"$line")
  pps=$(sed -nE 's/.*pps=([0-9]+).*/\1/p' <<<"$line")
  read -r su ss _ <"$sru"
  local snd_cpu expected
  snd_cpu=$(awk -v u="$su" -v s="$ss" 'BEGIN { printf "%.6f", u + s }')
  case $fname in all) expected=$sent ;; 1pct) expected=$(((sent + 99) / 100)) ;; esac
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$size" "$fname" "$rate" "$tool" "$sent" \
    "$secs" "$pps" "$snd_cpu" "$captured" "$dropped" "$expected" "$cap_cpu" "$maxrss" \
    "$((b1 - b0))" >>"$results"
  printf '%-5s %-5s %-7s %-14s sent=%s pps=%s captured=%s dropped=%s cpu=%ss\n' "$size" "$fname" "$rate" \
    "$tool" "$sent" "$pps" "$captured" "$dropped" "$cap_cpu" >&2
  rm -f "$pcap"
}

echo "COUNT=$COUNT RUNS=$RUNS SIZE=$SIZE LOADS='$LOADS' PIN=$PIN MODE=$MODE TOOLS='$TOOLS' ($(nproc) CPUs)" >&2
for run in $(seq "$RUNS"); do
  for size in $SIZE; do
    for rate in $LOADS; do run_one "$size" none all "$rate"; done
    for fname in $FILTERS; do
      for rate in idle $LOADS; do
        # The tools take turns going first (run 1 in order, run 2 reversed, ...), so whatever
        # the previous run leaves behind (freed pages, a warm cache) does not favour one.
        order=$TOOLS
        if [ $((run % 2)) -eq 0 ]; then order=$(tr ' ' '\n' <<<"$TOOLS" | tac | tr '\n' ' '); fi
        for tool in $order; do run_one "$size" "$tool" "$fname" "$rate"; done
      done
    done
  done
done

"$py" - "$results" "$COUNT" "$PIN" "$MODE" "$RUNS" <<'EOF'
import csv, math, sys
from collections import defaultdict
rows = list(csv.DictReader(open(sys.argv[1]), delimiter="\t"))
count, pin, mode, runs = sys.argv[2:6]
fnames = {"all": "udp", "1pct": "1%"}
def load_name(l): return {"0": "max", "idle": "idle"}.get(l) or f"{int(l) // 1000}k"
# Runs of the same (size, filter, load, tool) are added up.
agg = {}
for r in rows:
    k = (r["size"], r["filter"], r["load"], r["tool"])
    a = agg.setdefault(k, defaultdict(float, drops=[], pps=[], rss=0))
    for f in ("sent", "captured", "dropped", "expected", "cap_cpu", "snd_cpu", "backlog"):
        a[f] += float(r[f])
    a["drops"].append(int(r["dropped"]))
    a["pps"].append(int(r["send_pps"]))
    a["rss"] = max(a["rss"], int(r["maxrss_kb"]))
def per_m(cpu, n): return cpu / n * 1e6 if n > 0 and not math.isnan(cpu) else math.nan
def proc(k, net=False):
    a, cpu = agg[k], agg[k]["cap_cpu"]
    if net:
        i = agg.get((k[0], k[1], "idle", k[3]))
        cpu -= i["cap_cpu"] * len(a["drops"]) / len(i["drops"]) if i else math.nan
    return per_m(cpu, a["sent"])
def sender(k): return per_m(agg[k]["snd_cpu"], agg[k]["sent"])
def extra(k):
    b = (k[0], "all", k[2], "none")
    return sender(k) - sender(b) if b in agg else math.nan
def f3(x): return "" if math.isnan(x) else f"{x:.3f}"
print(f"COUNT={count} packets per run, {runs} run(s) of each line added up, PIN={pin}, sender "
      f"--mode {mode}. Frame = UDP payload + 42 bytes. CPU columns: seconds per million packets "
      "OFFERED.\n")
print("| frame | filter | load | tool | sent | sender pps | captured | dropped | missing | "
      "capture CPU s | capture CPU / M | same, minus idle | sender CPU / M | sender − alone | "
      "peak RSS MiB |")
print("| ---: | --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
for k, a in agg.items():
    size, f, l, tool = k
    none, idle = tool == "none", l == "idle"
    c = (lambda x: "") if none else (lambda x: x)
    d = (lambda x: "") if idle else (lambda x: x)
    fil = "(sender alone)" if none else fnames[f]
    missing = int(a["expected"] - a["captured"] - a["dropped"])
    pps = f'{min(a["pps"])}' + (f'–{max(a["pps"])}' if len(a["pps"]) > 1 else "")
    print(f'| {int(size) + 42} | {fil} | {load_name(l)} | {tool} | {int(a["sent"])} | {d(pps)} | '
          f'{c(int(a["captured"]))} | {c(", ".join(map(str, a["drops"])))} | {c(missing)} | '
          f'{c(f3(a["cap_cpu"]))} | {c(d(f3(proc(k))))} | {c(d(f3(proc(k, True))))} | '
          f'{d(f3(sender(k)))} | {c(d(f3(extra(k))))} | {c(format(a["rss"] / 1024, ".1f"))} |')
tools = [t for t in dict.fromkeys(k[3] for k in agg) if t.startswith("bpfdump")]
print("\nCapture process CPU per packet offered, bpfdump / tcpdump (below 1: bpfdump uses less):\n")
print("| frame | filter | load | " + " | ".join(f"{t} / tcpdump" for t in tools) + " |")
print("| ---: | --- | --- |" + " ---: |" * len(tools))
goals = defaultdict(list)
for (size, f, l, tool) in agg:
    if tool != "tcpdump" or l == "idle":
        continue
    t = (size, f, l, "tcpdump")
    cells = []
    for b in tools:
        k = (size, f, l, b)
        if k not in agg:
            cells.append("")
            continue
        g = proc(k) / proc(t)
        cells.append(f"{g:.2f}")
        where = f"{int(size) + 42} B {fnames[f]} {load_name(l)}"
        if agg[t]["dropped"] == 0 and agg[k]["dropped"] > 0:
            goals[b, "drops where tcpdump had none"].append(where)
        if g >= 1:
            goals[b, "CPU per packet not below tcpdump's"].append(f"{where} ({g:.2f})")
    print(f"| {int(size) + 42} | {fnames[f]} | {load_name(l)} | " + " | ".join(cells) + " |")
print("\nGoal (issue): zero drops at every load where tcpdump has zero drops, and less CPU per packet.")
for b in tools:
    missed = [f"{what}: {', '.join(v)}" for (t, what), v in goals.items() if t == b]
    print(f"- {b}: " + ("met" if not missed else "; ".join(missed)))
backlog = sum(a["backlog"] for a in agg.values())
if backlog:
    print(f"\nnote: {int(backlog)} packets were dropped by the kernel's input backlog "
          "(softnet_stat), before any capture saw them")
EOF

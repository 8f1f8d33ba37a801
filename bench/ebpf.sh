#!/bin/bash
# ebpf.sh: what counting every packet in the kernel (bpfdump --count, --ebpf) costs, against
# tcpdump and against bpfdump's classic filter, in CPU per OFFERED packet of the whole machine.
#
# In a private netns-lab (two namespaces joined by a veth pair), for each frame size, each
# filter and each configuration, the sender (examples/blast.rs, pinned to one CPU) offers the
# same load (COUNT frames at RATE packets/s) while the configuration captures on the receiving
# end (pinned to the other CPU):
#   none     nothing capturing (the baseline)
#   tcpdump  tcpdump -i IF -n -w /dev/null FILTER
#   count    bpfdump -i IF -n --count FILTER           (eBPF, counts, copies nothing)
#   classic  bpfdump -i IF -n -w /dev/null FILTER      (classic BPF filter)
#   ebpf     bpfdump -i IF -n --ebpf -w /dev/null FILTER  (eBPF: the same decision + counters)
#   count0, ebpf0  count and ebpf with --flows 0 (no flow table), to see the table's cost in
#            the same run (not in CONFIGS by default)
# Filters: 1pct = `udp dst port $PORT` (the sender cycles through 100 destination ports, so it
# keeps exactly 1%), all = `udp` (every frame).
#
# Two measures over the same window (from the sender's start to SETTLE seconds after its end,
# so the readers' last ring blocks, handed over by a 1 s timeout, fall inside it):
#   whole machine  all CPUs: busy = total - idle - iowait, as /proc/stat counts it (steal
#                  included, as in its total). The idle and iowait times are the kernel's
#                  tick-sched counters /proc/stat prints in 10 ms units, read at ns resolution
#                  from /proc/timer_list, each CPU's on that CPU (so a sleeping CPU's current
#                  sleep is not missed); the /proc/stat figure is kept in results.tsv
#                  (busy_stat_ns). With no timer_list idle counters, /proc/stat is used.
#   tasks          CPU time of the tasks doing the work, precise to the ns: the sender
#                  (wait4: user+sys, which on a veth includes the receiving side, taps and
#                  filters, run in softirq in its context), ksoftirqd/N (softirq work deferred
#                  there), and every thread of the capture (/proc/PID/task/*/schedstat)
# Each is divided by the packets offered, minus the baseline: the median of the same figure
# over the `none` trials of that frame size, one of which runs in every (run, size, filter)
# block among the others. The matrix is repeated RUNS times, the configurations rotating
# order from run to run; the tables give the median and [min-max] over the runs.
#
# Usage (as root; never in CI):   bash bench/ebpf.sh
# Knobs (environment):
#   SIZES="64 1500"     frame bytes as captured (UDP payload = SIZE - 42; 64..1514)
#   RATE=200000         offered packets/s (one the sender sustains with any capture attached)
#   COUNT=500000        frames per trial (COUNT/RATE seconds of traffic)
#   BATCH=256           frames the sender sends per wake-up (blast --batch): every wake-up of a
#                       paced sender costs CPU (~30 us on the VM this was written on), which
#                       varies and is in every figure; 256 rather than blast's 64 cuts the
#                       sender's own cost per frame by a quarter
#   RUNS=5              repetitions of the whole matrix
#   FILTERS="1pct all"  CONFIGS="none tcpdump count classic ebpf"  (none is always run)
#   SETTLE=1.2          seconds after the sender's end still inside the window
#   PORT=9000           first destination port
#   GOALS="64:3 1500:8" frame size:minimum tcpdump/--count ratio (the issue's goals)
#   KERNEL_GOAL=10      most (ebpf - classic)/classic may be, in %
#   QUIET=10            the report uses, per cell, only trials whose window had other work and
#                       steal (vCPU time taken by the host) each at most QUIET % of one CPU, if
#                       there are 2 or more; "off": every trial
#   STATS=0             1: also time bpfdump's eBPF program in the kernel (BPF_ENABLE_STATS held
#                       during each window; run_time_ns/run_cnt from the capture's fdinfo): its
#                       own ns per run. The timing itself costs every BPF program run on the
#                       machine (classic filters too) some ns, so the other figures grow a little
#   EBPF_ARGS=          more bpfdump options for count and ebpf, e.g. "--flows 0" (no flow
#                       table) or "--rule dns='udp port 53'"
#   CAP_CPU=0 SND_CPU=1 the CPUs the capture and the sender are pinned to
#   PREFIX=eb1          the netns-lab name (namespaces PREFIX-a, PREFIX-b)
#   LAB=../shared/lab   the netns-lab directory, relative to the repository
#   OUT=                keep the raw results (results.tsv, params, logs) in this directory;
#                       ANALYZE=DIR bash bench/ebpf.sh prints the report of such a run again
#   BPFDUMP=            a bpfdump binary to use instead of building target/release/bpfdump
# Default run: 5 runs x 2 sizes x 2 filters x 5 configurations x ~4.5 s = about 8 minutes.
# Traffic stays inside the two namespaces; every wait is bounded; the lab and any capture
# still running are removed on exit (also on Ctrl-C).
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
SIZES=${SIZES:-"64 1500"}
RATE=${RATE:-200000}
COUNT=${COUNT:-500000}
BATCH=${BATCH:-256}
RUNS=${RUNS:-5}
FILTERS=${FILTERS:-"1pct all"}
CONFIGS=${CONFIGS:-"none tcpdump count classic ebpf"}
SETTLE=${SETTLE:-1.2}
PORT=${PORT:-9000}
GOALS=${GOALS:-"64:3 1500:8"}
KERNEL_GOAL=${KERNEL_GOAL:-10}
QUIET=${QUIET:-10}
STATS=${STATS:-0}
EBPF_ARGS=${EBPF_ARGS:-}
eval "ebpf_args=($EBPF_ARGS)"  # shell words, so that a quoted rule stays one argument
CAP_CPU=${CAP_CPU:-0}
SND_CPU=${SND_CPU:-1}
PREFIX=${PREFIX:-eb1}
LAB=${LAB:-../shared/lab}
case $LAB in /*) lab=$LAB ;; *) lab=$repo/$LAB ;; esac
netns_lab=$lab/netns-lab

die() { echo "ebpf.sh: $*" >&2; exit 1; }

# The tables and verdicts, from a results.tsv (RUNS, RATE, COUNT... as the run had them).
report() {
  "$py" - "$1" "$RATE" "$COUNT" "$RUNS" "$GOALS" "$KERNEL_GOAL" "$SETTLE" "$BATCH" "$QUIET" <<'EOF'
import csv, statistics, sys
from collections import defaultdict
rows = list(csv.DictReader(open(sys.argv[1]), delimiter="\t"))
rate, count, runs = int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
goals = {int(g.split(":")[0]): float(g.split(":")[1]) for g in sys.argv[5].split()}
kgoal = float(sys.argv[6])
settle, batch = sys.argv[7], sys.argv[8]
fnames = {"1pct": "1%", "all": "udp"}
cmds = {"none": "(nothing capturing)", "tcpdump": "tcpdump -w /dev/null", "count": "bpfdump --count",
        "count0": "bpfdump --count --flows 0", "classic": "bpfdump -w /dev/null",
        "ebpf": "bpfdump --ebpf -w /dev/null", "ebpf0": "bpfdump --ebpf --flows 0 -w /dev/null"}
def num(x):
    try:
        return int(x)
    except ValueError:
        return None
quiet_max = float(sys.argv[9]) if sys.argv[9] not in ("", "off") else None
# Per trial: ns per offered packet, whole machine and tasks.
for r in rows:
    sent = int(r["sent"]) or 1
    r["whole"] = int(r["busy_ns"]) / sent
    r["kern"] = (int(r["snd_ns"]) + int(r["ksoft_ns"])) / sent
    r["reader"] = int(r["cap_ns"]) / sent
    r["bg"] = (int(r["busy_ns"]) - int(r["snd_ns"]) - int(r["ksoft_ns"]) - int(r["cap_ns"])) / int(r["wall_ns"])
    r["idle"] = int(r["idle_ns"]) / int(r["wall_ns"])  # in CPUs
    r["stealc"] = int(r["steal_ns"]) / int(r["wall_ns"])  # in CPUs
    r["quiet"] = quiet_max is None or (r["bg"] * 100 <= quiet_max and r["stealc"] * 100 <= quiet_max)
# Which trials count: in each cell (size, filter, configuration) the quiet ones (other work
# and steal each at most QUIET % of one CPU during the window), if there are at least 2 (or
# all are quiet); otherwise all of the cell's trials, and the cell is marked.
def choose(rs):
    q = [r for r in rs if r["quiet"]]
    return (q, False) if len(q) >= 2 or (q and len(q) == len(rs)) else (rs, quiet_max is not None)
cells = defaultdict(list)
for r in rows:
    cells[(r["size"], r["filter"], r["config"])].append(r)
fallback = set()
by = {}
for k, rs in cells.items():
    use, fb = choose(rs)
    if fb:
        fallback.add(k)
    for r in use:
        by[(r["run"],) + k] = r
# The baseline of a frame size: the median of its chosen `none` trials (every run, both
# filters: nothing captures, so the filter does not matter). A median rather than the trial
# of the same block: other work on the machine comes in bursts, and one noisy baseline window
# would otherwise shift every configuration of its block.
base = {}
for size in {r["size"] for r in rows}:
    nones, fb = choose([r for r in rows if r["size"] == size and r["config"] == "none"])
    if nones:
        base[size] = {k: statistics.median(r[k] for r in nones) for k in ("whole", "kern")}
    if fb:
        fallback.update(k for k in cells if k[0] == size)
# Above the baseline: {(size, filter, config): {measure: {run: ns}}}.
above = defaultdict(lambda: defaultdict(dict))
for (run, size, f, c), r in by.items():
    b = base.get(size)
    if b is None or c == "none":
        continue
    a = above[(size, f, c)]
    a["whole"][run] = r["whole"] - b["whole"]
    a["kern"][run] = r["kern"] - b["kern"]
    a["reader"][run] = r["reader"]
    a["tasks"][run] = r["kern"] - b["kern"] + r["reader"]
def med(v):
    v = list(v.values()) if isinstance(v, dict) else v
    return statistics.median(v) if v else float("nan")
def cell(v):
    v = list(v.values()) if isinstance(v, dict) else v
    if not v:
        return "-"
    return f"{med(v):7.1f} [{min(v):.0f}..{max(v):.0f}]"
sizes = sorted({int(r["size"]) for r in rows})
filters = list(dict.fromkeys(r["filter"] for r in rows))
configs = list(dict.fromkeys(r["config"] for r in rows))
order = [c for c in ["none", "tcpdump", "count", "count0", "classic", "ebpf", "ebpf0"] if c in configs]
print(f"\nCPU per OFFERED packet, ns, above the baseline (nothing capturing: the median of its trials, "
      f"interleaved with the others), median [min..max] over {runs} run(s).")
print(f"Load: {count} frames at {rate} pps per trial, in bursts of {batch}; window = sending + {settle} s.")
print("whole = busy time of all CPUs, total - idle - iowait as /proc/stat counts it (the kernel's "
      "idle counters, read at ns resolution from /proc/timer_list);")
print("softirq = sender + ksoftirqd (on a veth the receive path, taps and filters included, runs "
      "there); reader = the capture's threads; tasks = softirq + reader.")
nq = sum(r["quiet"] for r in rows)
if quiet_max is None:
    print("trials = used / all of the cell's trials (QUIET=off: all).\n")
else:
    print(f"trials = used / all of the cell's trials: the quiet ones ({nq} of {len(rows)}: other work and steal each at most "
          f"{quiet_max:g}% of one CPU); * = fewer than 2 quiet, all used.\n")
hdr = f"{'frame':>5} {'filter':<6} {'configuration':<37} {'sender pps (min)':>16} {'dropped':>8} {'check':<9} " \
      f"{'trials':>7} {'whole machine':>22} {'tasks':>22} {'softirq':>22} {'reader':>20}"
print(hdr)
print("-" * len(hdr))
problems = []
for size in sizes:
    for f in filters:
        for c in order:
            rs = [r for r in rows if int(r["size"]) == size and r["filter"] == f and r["config"] == c]
            if not rs:
                continue
            pps = min(int(r["pps"]) for r in rs)
            if pps < 0.99 * rate:
                problems.append(f"{size} B {fnames[f]} {c}: the sender reached only {pps} pps of {rate}")
            drops = [num(r["dropped"]) for r in rs if num(r["dropped"]) is not None]
            dropped = str(sum(drops)) if drops else "-"
            # The tools' own counts against what was sent.
            check = "-"
            if c != "none":
                bad = 0
                for r in rs:
                    exp, sent = int(r["expected"]), int(r["sent"])
                    if r["error"] != "-":
                        bad += 1
                    elif c in ("count", "count0", "ebpf", "ebpf0") and (num(r["seen"]) != sent or num(r["matched"]) != exp):
                        bad += 1
                    elif c not in ("count", "count0") and num(r["received"]) != exp:
                        bad += 1
                check = "ok" if bad == 0 else f"{bad} off"
                if bad:
                    problems.append(f"{size} B {fnames[f]} {c}: {bad} trial(s) whose counts differ from what "
                                    "was sent (see results.tsv: received/seen/matched/expected/error)")
            used = [by[(r["run"], str(size), f, c)] for r in rs if (r["run"], str(size), f, c) in by]
            n = f"{len(used)}/{len(rs)}" + ("*" if (str(size), f, c) in fallback else "")
            if c == "none":
                w = [r["whole"] for r in used]
                k = [r["kern"] for r in used]
                print(f"{size:>5} {fnames[f]:<6} {'none: absolute':<37} {pps:>16} {dropped:>8} {check:<9} "
                      f"{n:>7} {cell(w):>22} {cell(k):>22} {cell(k):>22} {'':>20}")
                continue
            a = above[(str(size), f, c)]
            print(f"{size:>5} {fnames[f]:<6} {cmds[c]:<37} {pps:>16} {dropped:>8} {check:<9} "
                  f"{n:>7} {cell(a['whole']):>22} {cell(a['tasks']):>22} {cell(a['kern']):>22} {cell(a['reader']):>20}")
bgs = [r["bg"] * 100 for r in rows]
idles = [r["idle"] * 100 for r in rows]
print(f"\nOther work during the windows (busy CPU time outside the sender, ksoftirqd and the capture): "
      f"median {med(bgs):.0f}% of one CPU [{min(bgs):.0f}..{max(bgs):.0f}]; idle: median "
      f"{med(idles):.0f}% of one CPU [{min(idles):.0f}..{max(idles):.0f}].")
used = list(by.values())
noisy = bool(fallback) or med([r["bg"] * 100 for r in used]) > 10 or min(r["idle"] * 100 for r in used) < 30
if fallback:
    problems.append(f"{len(fallback)} cell(s) had fewer than 2 quiet trials (marked *): their figures carry other "
                    "work's noise; more RUNS, or a quieter machine")
if min(idles) < 30:
    problems.append(f"the machine was nearly saturated in some windows (idle down to {min(idles):.0f}% of one "
                    "CPU): work we add then displaces other work instead of adding busy time, so 'whole' "
                    "under-reads there; use 'tasks', or run on a quiet machine")
elif med(bgs) > 10:
    problems.append(f"other work used {med(bgs):.0f}% of a CPU: 'whole' carries its variation; compare with 'tasks'")
steal = sum(int(r["steal_ns"]) for r in rows) / 1e9
if steal > 0.05:
    print(f"Steal time (vCPU waiting for the host) over all windows: {steal:.2f} s; it is part of 'whole', "
          "as of /proc/stat's total.")
backlog = sum(int(r["backlog"]) for r in rows)
if backlog:
    problems.append(f"{backlog} frames dropped by the kernel's input backlog (softnet_stat) before any tap saw them")

def ratio(n, d):
    return n / d if d > 0 else float("nan")  # the denominator is not above the baseline
def per_run(n, d):
    """Per-run ratios n/d of two {run: ns}."""
    return [ratio(n[k], d[k]) for k in n if k in d]
def rng(v):
    v = [x for x in v if x == x]
    if not v:
        return ""
    return f" (per run {min(v):.1f}..{max(v):.1f})"
print("\nGoals" + (" (NOT CONCLUSIVE: other work on the machine, see Checks)" if noisy else ""))
for size in sizes:
    g = goals.get(size)
    for f, cc in ((f, cc) for f in filters for cc in ("count", "count0")):
        if ("tcpdump" not in configs) or (cc not in configs):
            continue
        at, ac = above[(str(size), f, "tcpdump")], above[(str(size), f, cc)]
        parts = []
        verdicts = []
        for key, name in (("whole", "whole machine"), ("tasks", "tasks")):
            rt = ratio(med(at[key]), med(ac[key]))
            runs_r = per_run(at[key], ac[key])
            parts.append((f"{name} {rt:.1f}x" if rt == rt else f"{name} n/a (--count not above the baseline)")
                         + rng(runs_r))
            if g is not None:
                verdicts.append(rt == rt and rt >= g)
        goal = f"goal >= {g:g}x" if g is not None else "no goal for this size"
        v = "" if g is None else (" -> MET" if all(verdicts) else (" -> NOT MET" if not any(verdicts) else " -> MET on one measure only"))
        what = "--count" if cc == "count" else "--count --flows 0"
        print(f"- tcpdump / {what}, {size} B, {fnames[f]}: {', '.join(parts)}; {goal}{v}")
for size in sizes:
    for f, ce in ((f, ce) for f in filters for ce in ("ebpf", "ebpf0")):
        if (ce not in configs) or ("classic" not in configs):
            continue
        ae, ac = above[(str(size), f, ce)], above[(str(size), f, "classic")]
        parts, verdicts = [], []
        for key, name in (("kern", "softirq (kernel side)"), ("whole", "whole machine")):
            e, c = med(ae[key]), med(ac[key])
            rel = (e - c) / c * 100 if c > 0 else float("nan")
            parts.append(f"{name} {e - c:+.1f} ns = {rel:+.1f}% of {c:.1f} ns" if rel == rel else
                         f"{name} {e - c:+.1f} ns (classic {c:.1f} ns: not above the baseline, n/a)")
            verdicts.append(rel == rel and rel <= kgoal)
        v = " -> MET" if all(verdicts) else (" -> NOT MET" if not any(verdicts) else " -> MET on one measure only")
        what = "--ebpf" if ce == "ebpf" else "--ebpf --flows 0"
        print(f"- ({what} - classic) / classic, {size} B, {fnames[f]}: {'; '.join(parts)}; goal <= +{kgoal:g}%{v}")
stat_rows = [r for r in rows if int(r["prog_runs"]) > 0]
if stat_rows:
    print("\nbpfdump's eBPF program in the kernel (STATS=1: bpf_stats, the kernel's own timing of each run; "
          "includes the timing's cost, about what an empty program shows): ns per run, median [min..max]")
    for size in sizes:
        for f in filters:
            for c in order:
                v = [int(r["prog_ns"]) / int(r["prog_runs"]) for r in stat_rows
                     if int(r["size"]) == size and r["filter"] == f and r["config"] == c]
                if v:
                    print(f"  {size:>5} B {fnames[f]:<4} {cmds[c]:<37} {cell(v)}")
if problems:
    print("\nChecks")
    for p in problems:
        print(f"- {p}")
else:
    print("\nChecks: the sender reached the offered rate in every trial; every tool's counts match what was sent.")
EOF
}

# ANALYZE=DIR: only print the report of a run kept with OUT=DIR (no root needed).
if [ -n "${ANALYZE:-}" ]; then
  [ -s "$ANALYZE/results.tsv" ] && [ -s "$ANALYZE/params" ] || die "ANALYZE: no $ANALYZE/results.tsv and params"
  # shellcheck disable=SC1091
  . "$ANALYZE/params"
  py=$(command -v python3)
  report "$ANALYZE/results.tsv"
  exit 0
fi
[ "$(id -u)" = 0 ] || die "needs root (network namespaces, AF_PACKET, bpf)"
[ -x "$netns_lab" ] || die "no $netns_lab (set LAB=)"
[ "$(nproc)" -ge 2 ] || die "needs 2 CPUs (sender and capture pinned apart)"
for s in $SIZES; do [ "$s" -ge 64 ] && [ "$s" -le 1514 ] || die "SIZES: $s is not in 64..1514"; done
case " $CONFIGS " in *" none "*) ;; *) CONFIGS="none $CONFIGS" ;; esac

need=()
command -v tcpdump >/dev/null || need+=(tcpdump)
command -v python3 >/dev/null || need+=(python3)
command -v taskset >/dev/null || need+=(util-linux)
command -v ip >/dev/null || need+=(iproute2)
if [ ${#need[@]} -gt 0 ]; then
  echo "ebpf.sh: installing ${need[*]}" >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${need[@]}" >/dev/null ||
    { apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${need[@]}" >/dev/null; }
fi
py=$(command -v python3)
tcpdump_bin=$(command -v tcpdump)

if [ -z "${BPFDUMP:-}" ]; then
  echo "ebpf.sh: building bpfdump and the sender (cargo build --release)" >&2
  (cd "$repo" && cargo build --release -q --bin bpfdump --example blast 2>/dev/null) ||
    (cd "$repo" && cargo build --release --bin bpfdump --example blast)
else
  (cd "$repo" && cargo build --release -q --example blast) || die "cannot build the sender"
fi
bpfdump=${BPFDUMP:-$repo/target/release/bpfdump}
blast=$repo/target/release/examples/blast

if [ -n "${OUT:-}" ]; then
  out=$OUT; mkdir -p "$out"
else
  out=$(mktemp -d /tmp/bpfdump-ebpf.XXXXXX)
fi
NS_A=$PREFIX-a NS_B=$PREFIX-b IF_A=$PREFIX-va
cap_pid=  # the capture running now, if any
stop_capture() {
  [ -n "$cap_pid" ] || return 0
  if kill -0 "$cap_pid" 2>/dev/null; then
    kill -INT "$cap_pid" 2>/dev/null || true
    local i
    for i in $(seq 100); do kill -0 "$cap_pid" 2>/dev/null || break; sleep 0.1; done
    if kill -0 "$cap_pid" 2>/dev/null; then
      echo "ebpf.sh: capture $cap_pid ignored SIGINT for 10 s; killing it" >&2
      kill -KILL "$cap_pid" 2>/dev/null || true
    fi
  fi
  wait "$cap_pid" 2>/dev/null || true
  cap_pid=
}
cleanup() {
  stop_capture
  "$netns_lab" down "$PREFIX" >/dev/null 2>&1 || true
  if [ -z "${OUT:-}" ]; then rm -rf "$out"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM
"$netns_lab" up "$PREFIX" >/dev/null

# Runs the sender (the arguments after --) and measures the window around it; writes one
# line of key=value to the file given first. Arguments: FILE CAPTURE_PID(0: none) SETTLE
# STATS(0|1) -- CMD...
measure_py='
import glob, os, re, sys, time
out, cap, settle, stats = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), sys.argv[4] == "1"
cmd = sys.argv[6:]
if stats:
    # BPF_ENABLE_STATS(BPF_STATS_RUN_TIME): the kernel times every BPF program run while
    # this descriptor is open (it closes when this helper exits).
    import ctypes, struct
    libc = ctypes.CDLL(None, use_errno=True)
    attr = ctypes.create_string_buffer(struct.pack("I", 0), 8)
    nr = {"x86_64": 321, "aarch64": 280}.get(os.uname().machine, 321)
    if libc.syscall(nr, 32, attr, 4) < 0:
        sys.exit(f"BPF_ENABLE_STATS: errno {ctypes.get_errno()}")
HZ = os.sysconf("SC_CLK_TCK")
home = os.sched_getaffinity(0)
cpus = sorted(os.sched_getaffinity(0) | set(range(os.cpu_count() or 1)))
def stat():
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:9]]
    return v + [0] * (8 - len(v))  # user nice system idle iowait irq softirq steal
def idle():
    """{cpu: (now, idle, iowait)} in ns, from /proc/timer_list (the tick-sched idle times that
    /proc/stat prints in 10 ms units), each read on that CPU itself: a CPU sleeping now has not
    yet added its current sleep, one running us has. None if this kernel does not show them."""
    d = {}
    try:
        for c in cpus:
            os.sched_setaffinity(0, {c})
            with open("/proc/timer_list") as f:
                txt = f.read()
            now = int(re.search(r"now at (\d+) nsecs", txt).group(1))
            sec = re.split(r"\ncpu: (\d+)\n", txt)
            body = dict(zip(sec[1::2], sec[2::2]))[str(c)]
            i = int(re.search(r"\.idle_sleeptime\s*:\s*(\d+)", body).group(1))
            w = re.search(r"\.iowait_sleeptime\s*:\s*(\d+)", body)
            d[c] = (now, i, int(w.group(1)) if w else 0)
    except (OSError, AttributeError, KeyError, ValueError):
        d = None
    finally:
        os.sched_setaffinity(0, home)
    return d
def runtime(path):
    try:
        with open(path) as f:
            return int(f.read().split()[0])
    except (OSError, ValueError, IndexError):
        return None
ksoft = []
for p in glob.glob("/proc/[0-9]*/comm"):
    try:
        if open(p).read().startswith("ksoftirqd/"):
            ksoft.append(p[:-4] + "schedstat")
    except OSError:
        pass
def ks():
    return sum(runtime(p) or 0 for p in ksoft)
def tasks():
    d = {}
    if cap:
        for p in glob.glob(f"/proc/{cap}/task/*/schedstat"):
            r = runtime(p)
            if r is not None:
                d[p] = r
    return d
def softnet():
    s = 0
    with open("/proc/net/softnet_stat") as f:
        for line in f:
            s += int(line.split()[1], 16)
    return s
def progs():
    """(run_time_ns, run_cnt) summed over the BPF programs the capture holds (fdinfo)."""
    seen, t, n = set(), 0, 0
    for p in glob.glob(f"/proc/{cap}/fdinfo/*") if cap and stats else []:
        try:
            f = dict(l.split(":", 1) for l in open(p) if ":" in l)
        except OSError:
            continue
        if "prog_id" in f and "run_cnt" in f and f["prog_id"] not in seen:
            seen.add(f["prog_id"])
            t += int(f["run_time_ns"])
            n += int(f["run_cnt"])
    return t, n
def snap():
    return stat(), idle(), ks(), tasks(), softnet(), progs(), time.monotonic_ns()
log = out + ".sender"
s0, i0, k0, c0, n0, p0, t0 = snap()
pid = os.fork()
if pid == 0:
    fd = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    os.dup2(fd, 1)
    os.execvp(cmd[0], cmd)
while True:
    try:
        _, st, ru = os.wait4(pid, 0)
        break
    except InterruptedError:
        continue
t1 = time.monotonic_ns()
time.sleep(settle)
s1, i1, k1, c1, n1, p1, t2 = snap()
d = [b - a for a, b in zip(s0, s1)]
tick = 1e9 / HZ
# busy = total - idle - iowait, as /proc/stat counts it (steal included: it is in total).
busy_stat = int((sum(d) - d[3] - d[4]) * tick)
if i0 and i1:
    busy = sum((i1[c][0] - i0[c][0]) - (i1[c][1] - i0[c][1]) - (i1[c][2] - i0[c][2]) for c in i0)
    idle_ns = sum((i1[c][1] - i0[c][1]) + (i1[c][2] - i0[c][2]) for c in i0)
else:
    busy = busy_stat
    idle_ns = int((d[3] + d[4]) * tick)
f = {}
for kv in open(log).read().split():
    if "=" in kv:
        k, v = kv.split("=", 1)
        f[k] = v
res = {
    "status": os.waitstatus_to_exitcode(st),
    "sent": f.get("sent", "0"), "pps": f.get("pps", "0"),
    "send_ns": t1 - t0, "wall_ns": t2 - t0,
    "busy_ns": busy, "busy_stat_ns": busy_stat, "idle_ns": idle_ns, "steal_ns": int(d[7] * tick),
    "snd_ns": int((ru.ru_utime + ru.ru_stime) * 1e9), "ksoft_ns": k1 - k0,
    "cap_ns": sum(v - c0.get(p, 0) for p, v in c1.items()) if cap else 0,
    "cap_tasks": len(c1), "backlog": n1 - n0, "prog_ns": p1[0] - p0[0], "prog_runs": p1[1] - p0[1],
}
with open(out, "w") as o:
    o.write(" ".join(f"{k}={v}" for k, v in res.items()) + "\n")
'

results=$out/results.tsv
cols="run size filter config sent pps send_ns wall_ns busy_ns busy_stat_ns idle_ns steal_ns snd_ns ksoft_ns cap_ns cap_tasks backlog prog_ns prog_runs received dropped seen matched expected error"
tr ' ' '\t' <<<"$cols" >"$results"
for k in SIZES RATE COUNT BATCH RUNS FILTERS CONFIGS SETTLE GOALS KERNEL_GOAL STATS EBPF_ARGS; do
  printf '%s=%q\n' "$k" "${!k}"
done >"$out/params"

# trial RUN SIZE FILTER CONFIG: one measured window; appends a line to $results.
trial() {
  local run=$1 size=$2 fname=$3 config=$4 filt
  case $fname in
    1pct) filt="udp dst port $PORT" ;;
    all) filt="udp" ;;
    *) die "unknown filter $fname (1pct, all)" ;;
  esac
  local cmd=()
  case $config in
    none) ;;
    tcpdump) cmd=("$tcpdump_bin" -i "$IF_A" -n -w /dev/null $filt) ;;
    count) cmd=("$bpfdump" -i "$IF_A" -n --count "${ebpf_args[@]}" $filt) ;;
    count0) cmd=("$bpfdump" -i "$IF_A" -n --count --flows 0 "${ebpf_args[@]}" $filt) ;;
    classic) cmd=("$bpfdump" -i "$IF_A" -n -w /dev/null $filt) ;;
    ebpf) cmd=("$bpfdump" -i "$IF_A" -n --ebpf "${ebpf_args[@]}" -w /dev/null $filt) ;;
    ebpf0) cmd=("$bpfdump" -i "$IF_A" -n --ebpf --flows 0 "${ebpf_args[@]}" -w /dev/null $filt) ;;
    *) die "unknown configuration $config" ;;
  esac
  local tag=$out/$run-$size-$fname-$config
  local log=$tag.err sout=$tag.out m=$tag.m error=
  rm -f "$log" "$sout" "$m"
  if [ ${#cmd[@]} -gt 0 ]; then
    # ip netns exec and taskset exec the tool: $! is the tool itself.
    ip netns exec "$NS_A" taskset -c "$CAP_CPU" "${cmd[@]}" >"$sout" 2>"$log" &
    cap_pid=$!
    local i
    for i in $(seq 100); do
      grep -qE 'listening on|counting in the kernel' "$log" 2>/dev/null && break
      kill -0 "$cap_pid" 2>/dev/null || break
      sleep 0.05
    done
    if ! kill -0 "$cap_pid" 2>/dev/null; then
      echo "ebpf.sh: $config exited early: $(tail -1 "$log")" >&2
      wait "$cap_pid" 2>/dev/null || true
      cap_pid=
      error=exited-early
    else
      grep -qE 'listening on|counting in the kernel' "$log" || echo "ebpf.sh: $config: not ready after 5 s; going on" >&2
      sleep 0.3
    fi
  fi
  taskset -c "$CAP_CPU" "$py" -c "$measure_py" "$m" "${cap_pid:-0}" "$SETTLE" "$STATS" -- \
    ip netns exec "$NS_B" taskset -c "$SND_CPU" "$blast" --dst-mac 02:00:00:00:00:01 \
    --rate "$RATE" --batch "$BATCH" --size $((size - 42)) --ports 100 10.200.0.1 "$PORT" "$COUNT" ||
    die "the measurement failed: $(cat "$m.sender" 2>/dev/null)"
  stop_capture
  local -A v=()
  local kv
  for kv in $(cat "$m"); do v[${kv%%=*}]=${kv#*=}; done
  [ "${v[status]}" = 0 ] || die "the sender failed: $(cat "$m.sender")"
  local num='[0-9]+'
  grab() { grep -ohE "$1" "$log" "$sout" 2>/dev/null | head -1 | grep -oE "$num" | head -1 || true; }
  local received dropped seen matched expected
  received=$(grab '[0-9]+ packets? received by filter')
  dropped=$(grab '[0-9]+ packets? dropped by kernel')
  seen=$(grep -ohE 'seen: +[0-9]+ packets' "$log" "$sout" 2>/dev/null | head -1 | grep -oE "$num" | head -1 || true)
  matched=$(grep -ohE 'matched: +[0-9]+ packets' "$log" "$sout" 2>/dev/null | head -1 | grep -oE "$num" | head -1 || true)
  case $fname in all) expected=${v[sent]} ;; 1pct) expected=$(((v[sent] + 99) / 100)) ;; esac
  if [ "$config" != none ] && [ -z "$error" ] && [ -z "$received$seen" ]; then
    error=no-report
    echo "ebpf.sh: $config printed no counts: $(tail -1 "$log")" >&2
  fi
  printf '%s\t' "$run" "$size" "$fname" "$config" "${v[sent]}" "${v[pps]}" "${v[send_ns]}" \
    "${v[wall_ns]}" "${v[busy_ns]}" "${v[busy_stat_ns]}" "${v[idle_ns]}" "${v[steal_ns]}" "${v[snd_ns]}" "${v[ksoft_ns]}" "${v[cap_ns]}" \
    "${v[cap_tasks]}" "${v[backlog]}" "${v[prog_ns]}" "${v[prog_runs]}" "${received:--}" "${dropped:--}" "${seen:--}" "${matched:--}" \
    "$expected" >>"$results"
  printf '%s\n' "${error:--}" >>"$results"
  printf 'run %s %5s B %-4s %-8s pps=%-7s busy=%6.3fs sender=%6.3fs ksoftirqd=%5.3fs capture=%5.3fs dropped=%s\n' \
    "$run" "$size" "$fname" "$config" "${v[pps]}" \
    "$(awk -v x="${v[busy_ns]}" 'BEGIN { print x / 1e9 }')" \
    "$(awk -v x="${v[snd_ns]}" 'BEGIN { print x / 1e9 }')" \
    "$(awk -v x="${v[ksoft_ns]}" 'BEGIN { print x / 1e9 }')" \
    "$(awk -v x="${v[cap_ns]}" 'BEGIN { print x / 1e9 }')" "${dropped:--}" >&2
}

# How busy the machine is with nothing of ours running: 1 s of /proc/stat.
read -r -a s0 < <(head -1 /proc/stat)
sleep 1
read -r -a s1 < <(head -1 /proc/stat)
bg=$(awk -v a="${s0[*]}" -v b="${s1[*]}" -v n="$(nproc)" 'BEGIN { split(a, x); split(b, y); t = 0
  for (i = 2; i <= 9; i++) t += y[i] - x[i]; i = (y[5] - x[5]) + (y[6] - x[6]) + (y[9] - x[9])
  printf "%.0f", (t > 0 ? 100 * (t - i) / t * n : 0) }')
ncfg=$(wc -w <<<"$CONFIGS")
echo "ebpf.sh: SIZES='$SIZES' RATE=$RATE COUNT=$COUNT BATCH=$BATCH RUNS=$RUNS STATS=$STATS EBPF_ARGS='$EBPF_ARGS' FILTERS='$FILTERS' CONFIGS='$CONFIGS'" \
  "SETTLE=$SETTLE; capture on CPU $CAP_CPU, sender on CPU $SND_CPU; $((RUNS * $(wc -w <<<"$SIZES") * $(wc -w <<<"$FILTERS") * ncfg)) trials;" \
  "machine busy before starting: ${bg}% of one CPU" >&2

read -r -a cfgs <<<"$CONFIGS"
for run in $(seq "$RUNS"); do
  for size in $SIZES; do
    for fname in $FILTERS; do
      # The configurations rotate: run r starts at the r-th, so each takes each place in turn
      # and whatever a trial leaves behind (a warm cache, freed memory) favours none.
      for i in $(seq 0 $((ncfg - 1))); do
        trial "$run" "$size" "$fname" "${cfgs[$(((i + run - 1) % ncfg))]}"
      done
    done
  done
done

report "$results"
if [ -n "${OUT:-}" ]; then echo "ebpf.sh: raw results in $out/results.tsv" >&2; fi

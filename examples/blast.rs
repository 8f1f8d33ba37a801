//! blast: a bounded, rate-paced UDP sender for the capture benchmark (`bench/capture.sh`).
//!
//! ```text
//! cargo build --release --example blast
//! blast [--rate PPS] [--size BYTES] [--ports N] [--batch N] [--mode packet|ring|udp]
//!       [--dst-mac MAC] [--max-seconds S] DST_IP PORT COUNT
//! ```
//!
//! Sends COUNT UDP datagrams with SIZE (default 64) bytes of payload to DST_IP. Packet i goes
//! to destination port `PORT + i % N` (N = `--ports`, default 100), so `udp dst port PORT`
//! matches exactly one packet in N (1% by default). `--rate 0` (the default) sends as fast as it
//! can; otherwise it sends a batch (`--batch`, default 64), compares the packets sent with
//! `rate * elapsed`, and sleeps to an absolute CLOCK_MONOTONIC deadline until the next batch is
//! due: the average rate is exact and bursts are at most one batch long.
//!
//! Methods (`--mode`):
//! - `packet` (default): `sendmmsg` of whole Ethernet/IPv4/UDP frames, built here, on an
//!   `AF_PACKET` socket bound to the outgoing interface, with `PACKET_QDISC_BYPASS`. The
//!   destination MAC is `--dst-mac`, or the neighbour's from the ARP table (a UDP datagram is
//!   sent first to fill it). IPv4 only.
//! - `ring`: the same frames through a `PACKET_TX_RING` (TPACKET_V2), one `send` per batch.
//! - `udp`: `sendmmsg` on an ordinary UDP socket (IPv4 or IPv6).
//!
//! On a veth pair the kernel runs the receiving side (and any capture on it) on the sender's
//! CPU; `packet` was the fastest of the three there (bench/README.md has the numbers).
//!
//! Only sends to a directly connected neighbour (or loopback): a destination reached through a
//! gateway is refused. Prints one line, `sent=N bytes=B seconds=S pps=P mode=M` (bytes counts
//! UDP payload). Exits with status 1 and a one-line `blast: ...` message on any error (2 for a
//! bad command line). `--max-seconds` (default 120) bounds the run whatever the rate.

use std::ffi::CString;
use std::io::{self, Error};
use std::mem::{size_of, zeroed};
use std::net::{IpAddr, Ipv4Addr, SocketAddr, UdpSocket};
use std::time::Duration;

// Constants from <linux/if_packet.h>, kept here so the example does not depend on which of
// them a given libc release exports.
const PACKET_VERSION: libc::c_int = 10;
const PACKET_TX_RING: libc::c_int = 13;
const PACKET_QDISC_BYPASS: libc::c_int = 20;
const TPACKET_V2: libc::c_int = 1;
const TP_STATUS_AVAILABLE: u32 = 0;
const TP_STATUS_SEND_REQUEST: u32 = 1;
const TP_STATUS_SENDING: u32 = 2;
const TP_STATUS_WRONG_FORMAT: u32 = 4;

/// `struct tpacket2_hdr`.
#[repr(C)]
struct Tpacket2Hdr {
    tp_status: u32,
    tp_len: u32,
    tp_snaplen: u32,
    tp_mac: u16,
    tp_net: u16,
    tp_sec: u32,
    tp_nsec: u32,
    tp_vlan_tci: u16,
    tp_vlan_tpid: u16,
    tp_padding: [u8; 4],
}

/// `struct tpacket_req`.
#[repr(C)]
struct TpacketReq {
    tp_block_size: u32,
    tp_block_nr: u32,
    tp_frame_size: u32,
    tp_frame_nr: u32,
}

/// Where the frame starts in a TX ring slot: TPACKET_ALIGN(sizeof(struct tpacket2_hdr)).
const TX_DATA_OFFSET: usize = (size_of::<Tpacket2Hdr>() + 15) & !15;

#[derive(Clone, Copy, PartialEq)]
enum Mode {
    Udp,
    Packet,
    Ring,
}

impl Mode {
    fn name(self) -> &'static str {
        match self {
            Mode::Udp => "udp",
            Mode::Packet => "packet",
            Mode::Ring => "ring",
        }
    }
}

struct Args {
    dst: IpAddr,
    port: u16,
    count: u64,
    rate: u64,
    size: usize,
    ports: u16,
    batch: usize,
    mode: Mode,
    max_seconds: f64,
    dst_mac: Option<[u8; 6]>,
}

const USAGE: &str = "usage: blast [--rate PPS] [--size BYTES] [--ports N] [--batch N] \
                     [--mode packet|ring|udp] [--dst-mac MAC] [--max-seconds S] DST_IP PORT COUNT";

fn main() {
    let args = match parse_args() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("blast: {e}\n{USAGE}");
            std::process::exit(2);
        }
    };
    match run(&args) {
        Ok((sent, secs)) => {
            println!(
                "sent={sent} bytes={} seconds={secs:.3} pps={:.0} mode={}",
                sent * args.size as u64,
                sent as f64 / secs,
                args.mode.name()
            );
        }
        Err(e) => {
            eprintln!("blast: {e}");
            std::process::exit(1);
        }
    }
}

fn parse_args() -> Result<Args, String> {
    let mut pos = Vec::new();
    let mut a = Args {
        dst: IpAddr::V4(Ipv4Addr::UNSPECIFIED),
        port: 0,
        count: 0,
        rate: 0,
        size: 64,
        ports: 100,
        batch: 64,
        mode: Mode::Packet,
        max_seconds: 120.0,
        dst_mac: None,
    };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        let mut value = |name: &str| it.next().ok_or_else(|| format!("{name} needs a value"));
        match arg.as_str() {
            "--rate" => a.rate = num(&value("--rate")?, "--rate")?,
            "--size" => a.size = num(&value("--size")?, "--size")?,
            "--ports" => a.ports = num(&value("--ports")?, "--ports")?,
            "--batch" => a.batch = num(&value("--batch")?, "--batch")?,
            "--max-seconds" => a.max_seconds = num(&value("--max-seconds")?, "--max-seconds")?,
            "--dst-mac" => {
                let v = value("--dst-mac")?;
                a.dst_mac = Some(parse_mac(&v).ok_or_else(|| format!("bad MAC address {v:?}"))?);
            }
            "--mode" => {
                a.mode = match value("--mode")?.as_str() {
                    "udp" => Mode::Udp,
                    "packet" => Mode::Packet,
                    "ring" => Mode::Ring,
                    m => return Err(format!("unknown mode {m:?}")),
                }
            }
            "-h" | "--help" => {
                println!("{USAGE}");
                std::process::exit(0);
            }
            s if s.starts_with("--") => return Err(format!("unknown option {s}")),
            _ => pos.push(arg),
        }
    }
    if pos.len() != 3 {
        return Err("DST_IP, PORT and COUNT are required".into());
    }
    a.dst = pos[0]
        .parse()
        .map_err(|_| format!("bad address {:?}", pos[0]))?;
    a.port = num(&pos[1], "PORT")?;
    a.count = num(&pos[2], "COUNT")?;
    if a.ports == 0 || u32::from(a.port) + u32::from(a.ports) - 1 > 65535 {
        return Err("PORT + --ports - 1 must be a port number".into());
    }
    if a.batch == 0 || a.batch > 1024 {
        return Err("--batch must be 1..1024".into());
    }
    if a.size > 1472 {
        return Err("--size must be at most 1472 (one 1500-byte IPv4 packet)".into());
    }
    if a.mode != Mode::Udp && !a.dst.is_ipv4() {
        return Err("--mode packet and ring are IPv4 only; use --mode udp for IPv6".into());
    }
    if a.max_seconds.is_nan() || a.max_seconds <= 0.0 {
        return Err("--max-seconds must be positive".into());
    }
    Ok(a)
}

fn num<T: std::str::FromStr>(s: &str, what: &str) -> Result<T, String> {
    s.parse()
        .map_err(|_| format!("bad number for {what}: {s:?}"))
}

fn now_ns() -> u64 {
    let mut ts: libc::timespec = unsafe { zeroed() };
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) };
    ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64
}

fn sleep_until_ns(t: u64) {
    let ts = libc::timespec {
        tv_sec: (t / 1_000_000_000) as libc::time_t,
        tv_nsec: (t % 1_000_000_000) as libc::c_long,
    };
    // EINTR just means we wake up early; the pacing loop checks the clock again.
    unsafe {
        libc::clock_nanosleep(
            libc::CLOCK_MONOTONIC,
            libc::TIMER_ABSTIME,
            &ts,
            std::ptr::null_mut(),
        )
    };
}

fn os_err(what: &str) -> String {
    format!("{what}: {}", Error::last_os_error())
}

/// Something that sends `n` consecutive packets, starting at sequence number `first`, and says
/// how many it handed to the kernel (fewer than `n` only when the kernel pushed back).
trait Sender {
    fn send(&mut self, first: u64, n: usize) -> Result<usize, String>;
    /// Waits until everything handed over has left (the TX ring sends asynchronously).
    fn flush(&mut self) -> Result<(), String> {
        Ok(())
    }
}

/// The pacing loop. Returns packets sent and elapsed seconds.
fn run(a: &Args) -> Result<(u64, f64), String> {
    // A timer slack of 1 ns makes the absolute sleeps end when asked, not up to 50 µs later.
    unsafe { libc::prctl(libc::PR_SET_TIMERSLACK, 1 as libc::c_ulong) };
    check_on_link(a.dst)?;
    let mut sender: Box<dyn Sender> = match a.mode {
        Mode::Udp => Box::new(UdpSender::new(a)?),
        Mode::Packet | Mode::Ring => {
            let link = Link::find(a)?;
            let frames = Frames::new(a, &link);
            if a.mode == Mode::Packet {
                Box::new(PacketSender::new(a, &link, frames)?)
            } else {
                Box::new(RingSender::new(a, &link, frames)?)
            }
        }
    };
    let start = now_ns();
    let deadline = start + (a.max_seconds * 1e9) as u64;
    let mut sent = 0u64;
    let mut stalls = 0u32;
    while sent < a.count {
        let now = now_ns();
        if now >= deadline {
            break;
        }
        let mut n = (a.count - sent).min(a.batch as u64);
        if a.rate > 0 {
            // Packets allowed by now; if fewer than a batch, sleep until the batch is due.
            let allowed = ((now - start) as u128 * a.rate as u128 / 1_000_000_000) as u64;
            if allowed < sent + n {
                let due = start + ((sent + n) as u128 * 1_000_000_000 / a.rate as u128) as u64;
                sleep_until_ns(due.min(deadline));
                continue;
            }
        }
        n = sender.send(sent, n as usize)? as u64;
        if n == 0 {
            // The kernel's queue is full (only with a non-blocking path): yield briefly.
            stalls += 1;
            if stalls > 1_000_000 {
                return Err("the kernel accepted no packets a million times in a row".into());
            }
            std::thread::sleep(Duration::from_micros(20));
        } else {
            stalls = 0;
        }
        sent += n;
    }
    sender.flush()?;
    let secs = (now_ns() - start) as f64 / 1e9;
    Ok((sent, secs))
}

const RTF_GATEWAY: u32 = 0x2;
const RTF_REJECT: u32 = 0x200;

/// Of the matching routes `(prefix length, via a gateway)`, do the longest ones use a gateway?
/// (Ties count as "via a gateway" if any of them is.) None: no route at all.
fn longest_via_gateway(routes: &[(u32, bool)]) -> Option<bool> {
    let len = routes.iter().map(|r| r.0).max()?;
    Some(routes.iter().any(|&(l, gw)| l == len && gw))
}

/// Refuses destinations that are reached through a gateway: blast is for a veth pair (or
/// loopback), and must not flood anything beyond the directly connected network. Looks up the
/// longest matching route in /proc/net/route or /proc/net/ipv6_route, ignoring reject routes.
fn check_on_link(dst: IpAddr) -> Result<(), String> {
    if dst.is_loopback() {
        return Ok(());
    }
    let via_gateway = match dst {
        IpAddr::V4(d) => {
            let text = std::fs::read_to_string("/proc/net/route")
                .map_err(|e| format!("/proc/net/route: {e}"))?;
            let d = u32::from_be_bytes(d.octets());
            let routes = text
                .lines()
                .skip(1)
                .filter_map(|line| {
                    let f: Vec<&str> = line.split_whitespace().collect();
                    let hex = |i: usize| u32::from_str_radix(f.get(i)?, 16).ok();
                    // The kernel prints the network-order words as native integers.
                    let be = |v: u32| u32::from_be_bytes(v.to_ne_bytes());
                    let (dest, flags, mask) = (be(hex(1)?), hex(3)?, be(hex(7)?));
                    (d & mask == dest && flags & RTF_REJECT == 0)
                        .then_some((mask.count_ones(), flags & RTF_GATEWAY != 0))
                })
                .collect::<Vec<_>>();
            longest_via_gateway(&routes)
        }
        IpAddr::V6(d) => {
            let text = std::fs::read_to_string("/proc/net/ipv6_route")
                .map_err(|e| format!("/proc/net/ipv6_route: {e}"))?;
            let d = u128::from_be_bytes(d.octets());
            let routes = text
                .lines()
                .filter_map(|line| {
                    let f: Vec<&str> = line.split_whitespace().collect();
                    let dest = u128::from_str_radix(f.first()?, 16).ok()?;
                    let len = u32::from_str_radix(f.get(1)?, 16).ok()?;
                    let flags = u32::from_str_radix(f.get(8)?, 16).ok()?;
                    let mask = if len == 0 {
                        0
                    } else {
                        u128::MAX << (128 - len.min(128))
                    };
                    (d & mask == dest & mask && flags & RTF_REJECT == 0)
                        .then_some((len, flags & RTF_GATEWAY != 0))
                })
                .collect::<Vec<_>>();
            longest_via_gateway(&routes)
        }
    };
    match via_gateway {
        Some(false) => Ok(()),
        Some(true) => Err(format!(
            "{dst} is reached through a gateway; blast only sends to a directly connected \
             neighbour (run it inside a netns-lab namespace)"
        )),
        None => Err(format!("no route to {dst}")),
    }
}

// ---------------------------------------------------------------------------------------------
// udp: sendmmsg on a UDP socket.

struct UdpSender {
    fd: libc::c_int,
    ports: u64,
    payload: Vec<u8>,
    addrs: Vec<libc::sockaddr_storage>,
    addrlen: libc::socklen_t,
    iovs: Vec<libc::iovec>,
    msgs: Vec<libc::mmsghdr>,
}

impl UdpSender {
    fn new(a: &Args) -> Result<UdpSender, String> {
        let fam = if a.dst.is_ipv4() {
            libc::AF_INET
        } else {
            libc::AF_INET6
        };
        let fd = unsafe { libc::socket(fam, libc::SOCK_DGRAM | libc::SOCK_CLOEXEC, 0) };
        if fd < 0 {
            return Err(os_err("socket"));
        }
        let sndbuf: libc::c_int = 4 << 20;
        unsafe {
            libc::setsockopt(
                fd,
                libc::SOL_SOCKET,
                libc::SO_SNDBUF,
                &sndbuf as *const _ as *const libc::c_void,
                size_of::<libc::c_int>() as libc::socklen_t,
            )
        };
        let mut addrs = Vec::with_capacity(a.ports as usize);
        let mut addrlen = 0;
        for k in 0..a.ports {
            let (ss, len) = sockaddr(SocketAddr::new(a.dst, a.port + k));
            addrs.push(ss);
            addrlen = len;
        }
        Ok(UdpSender {
            fd,
            ports: u64::from(a.ports),
            payload: vec![0u8; a.size],
            addrs,
            addrlen,
            iovs: Vec::with_capacity(a.batch),
            msgs: Vec::with_capacity(a.batch),
        })
    }
}

fn sockaddr(sa: SocketAddr) -> (libc::sockaddr_storage, libc::socklen_t) {
    let mut ss: libc::sockaddr_storage = unsafe { zeroed() };
    let len = match sa {
        SocketAddr::V4(v4) => {
            let sin = libc::sockaddr_in {
                sin_family: libc::AF_INET as libc::sa_family_t,
                sin_port: v4.port().to_be(),
                sin_addr: libc::in_addr {
                    s_addr: u32::from_ne_bytes(v4.ip().octets()),
                },
                sin_zero: [0; 8],
            };
            unsafe { std::ptr::write(&mut ss as *mut _ as *mut libc::sockaddr_in, sin) };
            size_of::<libc::sockaddr_in>()
        }
        SocketAddr::V6(v6) => {
            let mut sin6: libc::sockaddr_in6 = unsafe { zeroed() };
            sin6.sin6_family = libc::AF_INET6 as libc::sa_family_t;
            sin6.sin6_port = v6.port().to_be();
            sin6.sin6_addr.s6_addr = v6.ip().octets();
            unsafe { std::ptr::write(&mut ss as *mut _ as *mut libc::sockaddr_in6, sin6) };
            size_of::<libc::sockaddr_in6>()
        }
    };
    (ss, len as libc::socklen_t)
}

/// Sends `msgs` with sendmmsg, retrying after partial sends; ECONNREFUSED (an ICMP error from
/// an earlier datagram) and ENOBUFS (a full queue) count as "sent none this time".
fn sendmmsg_all(fd: libc::c_int, msgs: &mut [libc::mmsghdr]) -> Result<usize, String> {
    let mut done = 0;
    let mut retries = 0;
    while done < msgs.len() {
        let r = unsafe {
            libc::sendmmsg(
                fd,
                msgs[done..].as_mut_ptr(),
                (msgs.len() - done) as libc::c_uint,
                0,
            )
        };
        if r < 0 {
            let e = Error::last_os_error();
            match e.raw_os_error() {
                Some(libc::ECONNREFUSED) | Some(libc::EINTR) if retries < 1000 => {
                    retries += 1;
                    continue;
                }
                Some(libc::ENOBUFS) | Some(libc::EAGAIN) => return Ok(done),
                _ => return Err(format!("sendmmsg: {e}")),
            }
        }
        done += r as usize;
    }
    Ok(done)
}

impl Sender for UdpSender {
    fn send(&mut self, first: u64, n: usize) -> Result<usize, String> {
        self.iovs.clear();
        self.msgs.clear();
        for _ in 0..n {
            self.iovs.push(libc::iovec {
                iov_base: self.payload.as_ptr() as *mut libc::c_void,
                iov_len: self.payload.len(),
            });
        }
        for j in 0..n {
            let mut m: libc::mmsghdr = unsafe { zeroed() };
            let k = ((first + j as u64) % self.ports) as usize;
            m.msg_hdr.msg_name = &mut self.addrs[k] as *mut _ as *mut libc::c_void;
            m.msg_hdr.msg_namelen = self.addrlen;
            m.msg_hdr.msg_iov = &mut self.iovs[j];
            m.msg_hdr.msg_iovlen = 1;
            self.msgs.push(m);
        }
        sendmmsg_all(self.fd, &mut self.msgs)
    }
}

// ---------------------------------------------------------------------------------------------
// packet and ring: whole Ethernet frames on an AF_PACKET socket.

/// The outgoing interface and the addresses the frames carry.
struct Link {
    ifindex: libc::c_int,
    src_mac: [u8; 6],
    dst_mac: [u8; 6],
    src_ip: Ipv4Addr,
    dst_ip: Ipv4Addr,
}

impl Link {
    /// Asks the routing table for the source address (connect a UDP socket), finds the
    /// interface that has it, and reads the destination's MAC address from the ARP table after
    /// one datagram has made the kernel resolve it.
    fn find(a: &Args) -> Result<Link, String> {
        let IpAddr::V4(dst_ip) = a.dst else {
            unreachable!("checked in parse_args")
        };
        let sock = UdpSocket::bind("0.0.0.0:0").map_err(|e| format!("udp socket: {e}"))?;
        sock.connect((dst_ip, a.port))
            .map_err(|e| format!("no route to {dst_ip}: {e}"))?;
        let src_ip = match sock.local_addr().map_err(|e| format!("getsockname: {e}"))? {
            SocketAddr::V4(v4) => *v4.ip(),
            SocketAddr::V6(_) => return Err("no IPv4 source address".into()),
        };
        let ifname = ifname_with_addr(src_ip)?;
        let cname = CString::new(ifname.clone()).unwrap();
        let ifindex = unsafe { libc::if_nametoindex(cname.as_ptr()) } as libc::c_int;
        if ifindex == 0 {
            return Err(os_err(&format!("if_nametoindex({ifname})")));
        }
        let src_mac = hwaddr(&ifname)?;
        let mut dst_mac = a.dst_mac;
        for _ in 0..100 {
            if dst_mac.is_some() {
                break;
            }
            if let Some(m) = arp_lookup(dst_ip, &ifname) {
                dst_mac = Some(m);
                break;
            }
            let _ = sock.send(&[0u8; 1]);
            std::thread::sleep(Duration::from_millis(10));
        }
        let dst_mac = dst_mac.ok_or_else(|| {
            format!("no ARP entry for {dst_ip} on {ifname} after 1 s (is it a neighbour?)")
        })?;
        Ok(Link {
            ifindex,
            src_mac,
            dst_mac,
            src_ip,
            dst_ip,
        })
    }

    fn sockaddr_ll(&self) -> libc::sockaddr_ll {
        let mut sll: libc::sockaddr_ll = unsafe { zeroed() };
        sll.sll_family = libc::AF_PACKET as u16;
        sll.sll_protocol = (libc::ETH_P_IP as u16).to_be();
        sll.sll_ifindex = self.ifindex;
        sll.sll_halen = 6;
        sll.sll_addr[..6].copy_from_slice(&self.dst_mac);
        sll
    }
}

fn ifname_with_addr(ip: Ipv4Addr) -> Result<String, String> {
    let mut ifap: *mut libc::ifaddrs = std::ptr::null_mut();
    if unsafe { libc::getifaddrs(&mut ifap) } != 0 {
        return Err(os_err("getifaddrs"));
    }
    let mut found = None;
    let mut p = ifap;
    while !p.is_null() {
        let ifa = unsafe { &*p };
        if !ifa.ifa_addr.is_null()
            && unsafe { (*ifa.ifa_addr).sa_family } as libc::c_int == libc::AF_INET
        {
            let sin = unsafe { &*(ifa.ifa_addr as *const libc::sockaddr_in) };
            if sin.sin_addr.s_addr.to_ne_bytes() == ip.octets() {
                let name = unsafe { std::ffi::CStr::from_ptr(ifa.ifa_name) };
                found = Some(name.to_string_lossy().into_owned());
                break;
            }
        }
        p = ifa.ifa_next;
    }
    unsafe { libc::freeifaddrs(ifap) };
    found.ok_or_else(|| format!("no interface has the source address {ip}"))
}

fn hwaddr(ifname: &str) -> Result<[u8; 6], String> {
    let path = format!("/sys/class/net/{ifname}/address");
    let text = std::fs::read_to_string(&path).map_err(|e| format!("{path}: {e}"))?;
    parse_mac(text.trim()).ok_or_else(|| format!("{path}: not a MAC address: {}", text.trim()))
}

fn parse_mac(s: &str) -> Option<[u8; 6]> {
    let mut mac = [0u8; 6];
    let mut parts = s.split(':');
    for b in &mut mac {
        *b = u8::from_str_radix(parts.next()?, 16).ok()?;
    }
    parts.next().is_none().then_some(mac)
}

/// `/proc/net/arp`: `IP address  HW type  Flags  HW address  Mask  Device`; flag 0x2 = complete.
fn arp_lookup(ip: Ipv4Addr, ifname: &str) -> Option<[u8; 6]> {
    let text = std::fs::read_to_string("/proc/net/arp").ok()?;
    let want = ip.to_string();
    text.lines().skip(1).find_map(|line| {
        let f: Vec<&str> = line.split_whitespace().collect();
        let complete = f
            .get(2)
            .and_then(|s| u32::from_str_radix(s.trim_start_matches("0x"), 16).ok())
            .is_some_and(|fl| fl & 2 != 0);
        (f.len() >= 6 && f[0] == want && f[5] == ifname && complete)
            .then(|| parse_mac(f[3]))
            .flatten()
    })
}

/// One complete Ethernet/IPv4/UDP frame per destination port.
struct Frames {
    frames: Vec<Vec<u8>>,
}

impl Frames {
    fn new(a: &Args, link: &Link) -> Frames {
        let frames = (0..a.ports)
            .map(|k| build_frame(link, 40000, a.port + k, a.size))
            .collect();
        Frames { frames }
    }

    fn get(&self, seq: u64) -> &[u8] {
        &self.frames[(seq % self.frames.len() as u64) as usize]
    }
}

fn build_frame(link: &Link, sport: u16, dport: u16, size: usize) -> Vec<u8> {
    let ip_len = 20 + 8 + size;
    let mut f = Vec::with_capacity(14 + ip_len);
    f.extend_from_slice(&link.dst_mac);
    f.extend_from_slice(&link.src_mac);
    f.extend_from_slice(&0x0800u16.to_be_bytes());
    let ip_start = f.len();
    f.extend_from_slice(&[0x45, 0]);
    f.extend_from_slice(&(ip_len as u16).to_be_bytes());
    f.extend_from_slice(&[0, 0, 0x40, 0, 64, 17, 0, 0]); // id 0, DF, TTL 64, UDP, checksum 0
    f.extend_from_slice(&link.src_ip.octets());
    f.extend_from_slice(&link.dst_ip.octets());
    let sum = checksum(&f[ip_start..ip_start + 20]);
    f[ip_start + 10..ip_start + 12].copy_from_slice(&sum.to_be_bytes());
    f.extend_from_slice(&sport.to_be_bytes());
    f.extend_from_slice(&dport.to_be_bytes());
    f.extend_from_slice(&((8 + size) as u16).to_be_bytes());
    f.extend_from_slice(&[0, 0]); // no UDP checksum (allowed over IPv4)
    f.resize(14 + ip_len, 0);
    f
}

fn checksum(data: &[u8]) -> u16 {
    let mut sum: u32 = data
        .chunks(2)
        .map(|c| u32::from(c[0]) << 8 | u32::from(*c.get(1).unwrap_or(&0)))
        .sum();
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

/// An `AF_PACKET` raw socket with the qdisc bypassed, bound to the link's interface with
/// protocol 0, so that it receives nothing and its sends need no address.
fn packet_socket(link: &Link) -> Result<libc::c_int, String> {
    let fd = unsafe { libc::socket(libc::AF_PACKET, libc::SOCK_RAW | libc::SOCK_CLOEXEC, 0) };
    if fd < 0 {
        return Err(os_err("AF_PACKET socket (needs CAP_NET_RAW)"));
    }
    let one: libc::c_int = 1;
    let r = unsafe {
        libc::setsockopt(
            fd,
            libc::SOL_PACKET,
            PACKET_QDISC_BYPASS,
            &one as *const _ as *const libc::c_void,
            size_of::<libc::c_int>() as libc::socklen_t,
        )
    };
    if r != 0 {
        return Err(os_err("PACKET_QDISC_BYPASS"));
    }
    let mut sll = link.sockaddr_ll();
    sll.sll_protocol = 0;
    let r = unsafe {
        libc::bind(
            fd,
            &sll as *const _ as *const libc::sockaddr,
            size_of::<libc::sockaddr_ll>() as libc::socklen_t,
        )
    };
    if r != 0 {
        return Err(os_err("bind AF_PACKET"));
    }
    Ok(fd)
}

struct PacketSender {
    fd: libc::c_int,
    frames: Frames,
    iovs: Vec<libc::iovec>,
    msgs: Vec<libc::mmsghdr>,
}

impl PacketSender {
    fn new(a: &Args, link: &Link, frames: Frames) -> Result<PacketSender, String> {
        Ok(PacketSender {
            fd: packet_socket(link)?,
            frames,
            iovs: Vec::with_capacity(a.batch),
            msgs: Vec::with_capacity(a.batch),
        })
    }
}

impl Sender for PacketSender {
    fn send(&mut self, first: u64, n: usize) -> Result<usize, String> {
        self.iovs.clear();
        self.msgs.clear();
        for j in 0..n {
            let f = self.frames.get(first + j as u64);
            self.iovs.push(libc::iovec {
                iov_base: f.as_ptr() as *mut libc::c_void,
                iov_len: f.len(),
            });
        }
        for j in 0..n {
            let mut m: libc::mmsghdr = unsafe { zeroed() };
            m.msg_hdr.msg_iov = &mut self.iovs[j];
            m.msg_hdr.msg_iovlen = 1;
            self.msgs.push(m);
        }
        sendmmsg_all(self.fd, &mut self.msgs)
    }
}

/// A TPACKET_V2 TX ring: frames are written into slots, marked TP_STATUS_SEND_REQUEST, and one
/// `send(fd, NULL, 0, 0)` per batch makes the kernel transmit every requested slot.
struct RingSender {
    fd: libc::c_int,
    frames: Frames,
    ring: *mut u8,
    ring_len: usize,
    slot_size: usize,
    slots: usize,
    next: usize,
}

impl RingSender {
    fn new(a: &Args, link: &Link, frames: Frames) -> Result<RingSender, String> {
        let fd = packet_socket(link)?;
        let v: libc::c_int = TPACKET_V2;
        let r = unsafe {
            libc::setsockopt(
                fd,
                libc::SOL_PACKET,
                PACKET_VERSION,
                &v as *const _ as *const libc::c_void,
                size_of::<libc::c_int>() as libc::socklen_t,
            )
        };
        if r != 0 {
            return Err(os_err("PACKET_VERSION TPACKET_V2"));
        }
        let slot_size = (TX_DATA_OFFSET + 14 + 20 + 8 + a.size)
            .next_power_of_two()
            .max(128);
        let block_size = 1usize << 16;
        let slots_wanted = (a.batch * 8).max(1024);
        let block_nr = (slots_wanted * slot_size).div_ceil(block_size);
        let req = TpacketReq {
            tp_block_size: block_size as u32,
            tp_block_nr: block_nr as u32,
            tp_frame_size: slot_size as u32,
            tp_frame_nr: (block_nr * block_size / slot_size) as u32,
        };
        let r = unsafe {
            libc::setsockopt(
                fd,
                libc::SOL_PACKET,
                PACKET_TX_RING,
                &req as *const _ as *const libc::c_void,
                size_of::<TpacketReq>() as libc::socklen_t,
            )
        };
        if r != 0 {
            return Err(os_err("PACKET_TX_RING"));
        }
        let ring_len = block_nr * block_size;
        let ring = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                ring_len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_SHARED | libc::MAP_POPULATE,
                fd,
                0,
            )
        };
        if ring == libc::MAP_FAILED {
            return Err(os_err("mmap TX ring"));
        }
        Ok(RingSender {
            fd,
            frames,
            ring: ring as *mut u8,
            ring_len,
            slot_size,
            slots: req.tp_frame_nr as usize,
            next: 0,
        })
    }

    fn hdr(&self, slot: usize) -> *mut Tpacket2Hdr {
        debug_assert!((slot + 1) * self.slot_size <= self.ring_len);
        unsafe { self.ring.add(slot * self.slot_size) as *mut Tpacket2Hdr }
    }

    fn status(&self, slot: usize) -> u32 {
        unsafe { std::ptr::read_volatile(&(*self.hdr(slot)).tp_status) }
    }

    /// Kicks the kernel (blocking until it has walked the ring).
    fn kick(&self) -> Result<(), String> {
        loop {
            let r = unsafe { libc::send(self.fd, std::ptr::null(), 0, 0) };
            if r >= 0 {
                return Ok(());
            }
            let e = io::Error::last_os_error();
            match e.raw_os_error() {
                Some(libc::EINTR) => continue,
                Some(libc::ENOBUFS) | Some(libc::EAGAIN) => return Ok(()),
                _ => return Err(format!("send (TX ring): {e}")),
            }
        }
    }
}

impl Sender for RingSender {
    fn send(&mut self, first: u64, n: usize) -> Result<usize, String> {
        let mut queued = 0;
        for j in 0..n {
            let slot = self.next;
            let st = self.status(slot);
            if st & TP_STATUS_WRONG_FORMAT != 0 {
                return Err("the kernel rejected a TX ring frame (TP_STATUS_WRONG_FORMAT)".into());
            }
            if st != TP_STATUS_AVAILABLE {
                break; // the ring is full: send what we have
            }
            let f = self.frames.get(first + j as u64);
            unsafe {
                let h = self.hdr(slot);
                let data = (h as *mut u8).add(TX_DATA_OFFSET);
                std::ptr::copy_nonoverlapping(f.as_ptr(), data, f.len());
                (*h).tp_len = f.len() as u32;
                std::sync::atomic::fence(std::sync::atomic::Ordering::Release);
                std::ptr::write_volatile(&mut (*h).tp_status, TP_STATUS_SEND_REQUEST);
            }
            self.next = (slot + 1) % self.slots;
            queued += 1;
        }
        self.kick()?;
        Ok(queued)
    }

    fn flush(&mut self) -> Result<(), String> {
        for _ in 0..10_000 {
            let busy = (0..self.slots)
                .any(|s| self.status(s) & (TP_STATUS_SEND_REQUEST | TP_STATUS_SENDING) != 0);
            if !busy {
                return Ok(());
            }
            self.kick()?;
            std::thread::sleep(Duration::from_micros(100));
        }
        Err("TX ring did not drain within 1 s".into())
    }
}

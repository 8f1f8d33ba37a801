//! The live-capture lab for tests/live.rs: two private network namespaces joined by a veth pair
//! (the shared `netns-lab` script), traffic sent from inside them, a capture program (bpfdump,
//! or tcpdump as a self-check of the harness) run in one of them, and readers for what it
//! wrote (pcap and pcapng, Ethernet and Linux cooked v2).
//!
//! Everything is bounded: every wait has a deadline, the namespaces are removed by a Drop
//! guard, a capture process still running when its handle is dropped (a failed test) is
//! killed. Namespace names carry the test process id, so tests (and test runs) can run in
//! parallel; namespaces left by a run that was killed are removed by the next run.

use std::fs::File;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdout, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, Once};
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// The project's convention for a test that cannot run here: one loud line on stderr.
pub fn skip(test: &str, why: &str) {
    eprintln!("SKIPPED: {test}: {why}");
}

/// How long a capture program may take to say it is listening, or to exit once asked to.
pub const START: Duration = Duration::from_secs(10);
pub const EXIT: Duration = Duration::from_secs(10);
/// How long to wait for packets already sent to show up in a capture file.
pub const ARRIVE: Duration = Duration::from_secs(10);

// ------------------------------------------------------------------------------------ lab

/// One end of the veth pair: namespace PREFIX-a (10.200.0.1, dev PREFIX-va) or PREFIX-b.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Side {
    A,
    B,
}

impl Side {
    pub fn other(self) -> Side {
        match self {
            Side::A => Side::B,
            Side::B => Side::A,
        }
    }
    fn letter(self) -> char {
        match self {
            Side::A => 'a',
            Side::B => 'b',
        }
    }
}

/// An interface's index and MAC address, inside its namespace.
#[derive(Clone, Copy, Debug)]
pub struct Link {
    pub index: u32,
    pub mac: [u8; 6],
}

/// Two namespaces joined by a veth pair, torn down when dropped.
pub struct Lab {
    pub prefix: String,
    script: PathBuf,
}

/// netns-lab: `CARGO_MANIFEST_DIR/../shared/lab` (CI's layout), else /work/shared/lab.
fn lab_script() -> Result<PathBuf, String> {
    let candidates = [
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/lab/netns-lab"),
        PathBuf::from("/work/shared/lab/netns-lab"),
    ];
    candidates
        .iter()
        .find(|p| p.is_file())
        .cloned()
        .ok_or_else(|| {
            let tried: Vec<String> = candidates.iter().map(|p| p.display().to_string()).collect();
            format!("netns-lab not found (tried {})", tried.join(", "))
        })
}

/// Our namespaces are named `lv<pid in hex>x<n>-a|b`.
fn our_pid(ns: &str) -> Option<u32> {
    let rest = ns.strip_prefix("lv")?;
    let (pid, rest) = rest.split_once('x')?;
    let (n, side) = rest.split_once('-')?;
    if !n.bytes().all(|c| c.is_ascii_digit()) || !(side == "a" || side == "b") {
        return None;
    }
    u32::from_str_radix(pid, 16).ok()
}

/// Removes namespaces a killed earlier run left behind (its process is gone).
fn remove_stale() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let Ok(out) = Command::new("ip").args(["netns", "list"]).output() else {
            return;
        };
        for line in String::from_utf8_lossy(&out.stdout).lines() {
            let name = line.split_whitespace().next().unwrap_or("");
            let Some(pid) = our_pid(name) else { continue };
            if pid != std::process::id() && !Path::new(&format!("/proc/{pid}")).exists() {
                let _ = Command::new("ip")
                    .args(["netns", "del", name])
                    .stderr(Stdio::null())
                    .status();
            }
        }
    });
}

impl Lab {
    /// Creates a fresh pair of namespaces, or says why not (SKIPPED) and returns None: not
    /// root, no netns-lab, or `ip netns` refused.
    pub fn up(test: &str) -> Option<Lab> {
        if unsafe { libc::geteuid() } != 0 {
            skip(
                test,
                "needs root (CAP_NET_ADMIN, CAP_NET_RAW) for network namespaces and packet sockets",
            );
            return None;
        }
        let script = match lab_script() {
            Ok(s) => s,
            Err(e) => {
                skip(test, &e);
                return None;
            }
        };
        remove_stale();
        static N: AtomicUsize = AtomicUsize::new(0);
        let prefix = format!(
            "lv{:x}x{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        );
        assert!(
            prefix.len() + 3 <= 15,
            "interface name too long: {prefix}-va"
        );
        // Built before `up` runs so that a half-made lab is torn down too.
        let lab = Lab { prefix, script };
        match Command::new(&lab.script)
            .args(["up", &lab.prefix])
            .stdin(Stdio::null())
            .output()
        {
            Ok(o) if o.status.success() => Some(lab),
            Ok(o) => {
                skip(
                    test,
                    &format!(
                        "`netns-lab up {}` failed ({}): {}",
                        lab.prefix,
                        o.status,
                        String::from_utf8_lossy(&o.stderr).trim()
                    ),
                );
                None
            }
            Err(e) => {
                skip(test, &format!("cannot run {}: {e}", lab.script.display()));
                None
            }
        }
    }

    pub fn ns(&self, side: Side) -> String {
        format!("{}-{}", self.prefix, side.letter())
    }

    /// The veth end in `side`'s namespace.
    pub fn dev(&self, side: Side) -> String {
        format!("{}-v{}", self.prefix, side.letter())
    }

    pub fn ip4(&self, side: Side) -> Ipv4Addr {
        match side {
            Side::A => Ipv4Addr::new(10, 200, 0, 1),
            Side::B => Ipv4Addr::new(10, 200, 0, 2),
        }
    }

    pub fn ip6(&self, side: Side) -> Ipv6Addr {
        match side {
            Side::A => "fd00:200::1".parse().unwrap(),
            Side::B => "fd00:200::2".parse().unwrap(),
        }
    }

    /// `ip -n NS ...`, checked.
    pub fn ip_cmd(&self, side: Side, args: &[&str]) -> String {
        let out = Command::new("ip")
            .arg("-n")
            .arg(self.ns(side))
            .args(args)
            .stdin(Stdio::null())
            .output()
            .expect("run ip");
        assert!(
            out.status.success(),
            "ip -n {} {}: {}",
            self.ns(side),
            args.join(" "),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// The index and MAC address of `side`'s veth end (or of `dev` in that namespace).
    pub fn link_of(&self, side: Side, dev: &str) -> Link {
        let text = self.ip_cmd(side, &["-o", "link", "show", "dev", dev]);
        let index = text
            .split(':')
            .next()
            .and_then(|n| n.trim().parse().ok())
            .unwrap_or_else(|| panic!("no index in: {text}"));
        let mut mac = [0u8; 6];
        if let Some(rest) = text.split("link/ether ").nth(1) {
            let hex = rest.split_whitespace().next().unwrap_or("");
            for (i, b) in hex.split(':').enumerate().take(6) {
                mac[i] = u8::from_str_radix(b, 16).unwrap();
            }
        }
        Link { index, mac }
    }

    pub fn link(&self, side: Side) -> Link {
        self.link_of(side, &self.dev(side))
    }

    pub fn set_link_up(&self, side: Side, up: bool) {
        self.ip_cmd(
            side,
            &[
                "link",
                "set",
                &self.dev(side),
                if up { "up" } else { "down" },
            ],
        );
    }

    /// `ip netns exec NS program` with a fixed time zone and locale.
    pub fn command(&self, side: Side, program: &Path) -> Command {
        let mut c = Command::new("ip");
        c.args(["netns", "exec"])
            .arg(self.ns(side))
            .arg(program)
            .env("TZ", "UTC")
            .env("LC_ALL", "C");
        c
    }

    /// Runs `f` on a thread that has entered `side`'s network namespace. Sockets it creates
    /// belong to that namespace for good, so they can be returned and used from anywhere.
    pub fn in_ns<R: Send>(&self, side: Side, f: impl FnOnce() -> R + Send) -> R {
        let ns = self.ns(side);
        std::thread::scope(|s| {
            let h = s.spawn(move || {
                let path = ["/run/netns", "/var/run/netns"]
                    .iter()
                    .map(|d| Path::new(d).join(&ns))
                    .find(|p| p.exists())
                    .unwrap_or_else(|| panic!("no /run/netns/{ns}"));
                let file =
                    File::open(&path).unwrap_or_else(|e| panic!("open {}: {e}", path.display()));
                let r = unsafe { libc::setns(file.as_raw_fd(), libc::CLONE_NEWNET) };
                assert_eq!(r, 0, "setns {ns}: {}", std::io::Error::last_os_error());
                f()
            });
            match h.join() {
                Ok(r) => r,
                Err(p) => std::panic::resume_unwind(p),
            }
        })
    }

    // ------------------------------------------------------------------------- traffic

    /// A UDP socket on `side`'s own IPv4 address (port 0: any), for sending.
    pub fn udp4(&self, side: Side, port: u16) -> UdpSocket {
        let ip = self.ip4(side);
        self.in_ns(side, || UdpSocket::bind((ip, port)).expect("bind udp4"))
    }

    /// A UDP socket on `side`'s own IPv6 address, for sending.
    pub fn udp6(&self, side: Side, port: u16) -> UdpSocket {
        let ip = self.ip6(side);
        self.in_ns(side, || UdpSocket::bind((ip, port)).expect("bind udp6"))
    }

    /// Dual-stack UDP sockets bound to `ports` on `side`, so that datagrams sent there are
    /// taken (no ICMP port unreachable, whose rate limit would make counts vary). Keep them
    /// alive while sending.
    pub fn sinks(&self, side: Side, ports: &[u16]) -> Vec<UdpSocket> {
        self.in_ns(side, || {
            ports
                .iter()
                .map(|p| {
                    UdpSocket::bind((Ipv6Addr::UNSPECIFIED, *p))
                        .unwrap_or_else(|e| panic!("bind sink port {p}: {e}"))
                })
                .collect()
        })
    }

    /// Sends `count` ICMP echo requests from `from` to the other side's IPv4 address, each
    /// after the previous one's reply (or 1 s): request, reply, request, reply...
    /// Returns the number of replies.
    pub fn ping(&self, from: Side, id: u16, count: u16) -> usize {
        let dst = self.ip4(from.other());
        let fd = self.in_ns(from, || {
            let fd = unsafe { libc::socket(libc::AF_INET, libc::SOCK_RAW, libc::IPPROTO_ICMP) };
            assert!(
                fd >= 0,
                "raw icmp socket: {}",
                std::io::Error::last_os_error()
            );
            unsafe { OwnedFd::from_raw_fd(fd) }
        });
        set_rcvtimeo(&fd, Duration::from_millis(100));
        let sa = libc::sockaddr_in {
            sin_family: libc::AF_INET as libc::sa_family_t,
            sin_port: 0,
            sin_addr: libc::in_addr {
                s_addr: u32::from_ne_bytes(dst.octets()),
            },
            sin_zero: [0; 8],
        };
        let mut replies = 0;
        for seq in 1..=count {
            let mut msg = vec![8, 0, 0, 0];
            msg.extend(id.to_be_bytes());
            msg.extend(seq.to_be_bytes());
            msg.extend(b"bpfdump-live-png");
            let ck = inet_checksum(&msg);
            msg[2..4].copy_from_slice(&ck.to_be_bytes());
            let n = unsafe {
                libc::sendto(
                    fd.as_raw_fd(),
                    msg.as_ptr().cast(),
                    msg.len(),
                    0,
                    (&sa as *const libc::sockaddr_in).cast(),
                    std::mem::size_of::<libc::sockaddr_in>() as libc::socklen_t,
                )
            };
            assert_eq!(n, msg.len() as isize, "send echo request");
            let deadline = Instant::now() + Duration::from_secs(1);
            let mut buf = [0u8; 2048];
            while Instant::now() < deadline {
                let n =
                    unsafe { libc::recv(fd.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len(), 0) };
                if n <= 0 {
                    continue;
                }
                let p = &buf[..n as usize];
                let ihl = usize::from(p[0] & 15) * 4;
                if p.len() >= ihl + 8
                    && p[ihl] == 0
                    && p[ihl + 4..ihl + 6] == id.to_be_bytes()
                    && p[ihl + 6..ihl + 8] == seq.to_be_bytes()
                {
                    replies += 1;
                    break;
                }
            }
        }
        replies
    }

    /// Sends whole Ethernet frames, unchanged, out of `side`'s veth end (AF_PACKET SOCK_RAW).
    pub fn send_frames(&self, side: Side, frames: &[Vec<u8>]) {
        let index = self.link(side).index;
        let fd = self.in_ns(side, || {
            let fd = unsafe { libc::socket(libc::AF_PACKET, libc::SOCK_RAW, 0) };
            assert!(
                fd >= 0,
                "packet socket: {}",
                std::io::Error::last_os_error()
            );
            unsafe { OwnedFd::from_raw_fd(fd) }
        });
        let mut sll: libc::sockaddr_ll = unsafe { std::mem::zeroed() };
        sll.sll_family = libc::AF_PACKET as u16;
        sll.sll_ifindex = index as i32;
        let r = unsafe {
            libc::bind(
                fd.as_raw_fd(),
                (&sll as *const libc::sockaddr_ll).cast(),
                std::mem::size_of::<libc::sockaddr_ll>() as libc::socklen_t,
            )
        };
        assert_eq!(
            r,
            0,
            "bind packet socket: {}",
            std::io::Error::last_os_error()
        );
        for f in frames {
            let n = unsafe { libc::send(fd.as_raw_fd(), f.as_ptr().cast(), f.len(), 0) };
            assert_eq!(
                n,
                f.len() as isize,
                "send frame: {}",
                std::io::Error::last_os_error()
            );
        }
    }

    /// A TCP connection attempt from `from` to a port of the other side where nothing
    /// listens: SYN, then RST-ACK.
    pub fn tcp_refused(&self, from: Side, port: u16) {
        let addr = SocketAddr::from((self.ip4(from.other()), port));
        let r = self.in_ns(from, || {
            TcpStream::connect_timeout(&addr, Duration::from_secs(2))
        });
        match r {
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionRefused => {}
            other => panic!("connect to closed port {addr}: {other:?}"),
        }
    }

    /// A whole TCP connection from B to a listener on A at `port`: handshake, `data` from
    /// B to A, then both sides close (client first).
    pub fn tcp_exchange(&self, port: u16, data: &[u8]) {
        let addr = SocketAddr::from((self.ip4(Side::A), port));
        let listener = self.in_ns(Side::A, || TcpListener::bind(addr).expect("listen"));
        let mut client = self.in_ns(Side::B, || {
            TcpStream::connect_timeout(&addr, Duration::from_secs(2)).expect("connect")
        });
        listener.set_nonblocking(true).unwrap();
        let deadline = Instant::now() + Duration::from_secs(2);
        let mut server = loop {
            match listener.accept() {
                Ok((s, _)) => break s,
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                    assert!(Instant::now() < deadline, "accept timed out");
                    std::thread::sleep(Duration::from_millis(5));
                }
                Err(e) => panic!("accept: {e}"),
            }
        };
        server.set_nonblocking(false).unwrap();
        for s in [&server, &client] {
            s.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
        }
        client.write_all(data).unwrap();
        let mut got = vec![0u8; data.len()];
        server.read_exact(&mut got).unwrap();
        assert_eq!(got, data);
        client.shutdown(std::net::Shutdown::Write).unwrap();
        let mut rest = Vec::new();
        server.read_to_end(&mut rest).unwrap();
        server.shutdown(std::net::Shutdown::Write).unwrap();
        client.read_to_end(&mut rest).unwrap();
        assert!(rest.is_empty());
    }

    // ------------------------------------------------------------------------ captures

    /// Starts `tool ARGS` inside `side`'s namespace, stdout collected.
    pub fn capture(&self, side: Side, tool: &Tool, args: &[String]) -> Running {
        Running::spawn(self.command(side, &tool.path), tool, args, false).0
    }

    /// As [`Lab::capture`], the command adjusted first (e.g. a signal disposition set in
    /// `pre_exec`, which `ip netns exec` and then the tool inherit).
    pub fn capture_adjusted(
        &self,
        side: Side,
        tool: &Tool,
        args: &[String],
        adjust: impl FnOnce(&mut Command),
    ) -> Running {
        let mut c = self.command(side, &tool.path);
        adjust(&mut c);
        Running::spawn(c, tool, args, false).0
    }

    /// Starts `tool ARGS` inside `side`'s namespace; its stdout is handed back (for `-w -`).
    pub fn capture_piped(
        &self,
        side: Side,
        tool: &Tool,
        args: &[String],
    ) -> (Running, ChildStdout) {
        let (r, out) = Running::spawn(self.command(side, &tool.path), tool, args, true);
        (r, out.unwrap())
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        let _ = Command::new(&self.script)
            .args(["down", &self.prefix])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
        for side in [Side::A, Side::B] {
            let _ = Command::new("ip")
                .args(["netns", "del", &self.ns(side)])
                .stderr(Stdio::null())
                .status();
        }
    }
}

fn set_rcvtimeo(fd: &OwnedFd, d: Duration) {
    let tv = libc::timeval {
        tv_sec: d.as_secs() as libc::time_t,
        tv_usec: d.subsec_micros() as libc::suseconds_t,
    };
    let r = unsafe {
        libc::setsockopt(
            fd.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_RCVTIMEO,
            (&tv as *const libc::timeval).cast(),
            std::mem::size_of::<libc::timeval>() as libc::socklen_t,
        )
    };
    assert_eq!(r, 0);
}

// -------------------------------------------------------------------------------- frames

pub fn inet_checksum(b: &[u8]) -> u16 {
    let mut sum: u32 = 0;
    for c in b.chunks(2) {
        let w = if c.len() == 2 {
            u16::from_be_bytes([c[0], c[1]])
        } else {
            u16::from(c[0]) << 8
        };
        sum += u32::from(w);
    }
    while sum >> 16 != 0 {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

/// An IPv4 header and UDP datagram (checksums filled in, IP id `id`, TTL 64, DF).
pub fn ipv4_udp(
    src: Ipv4Addr,
    dst: Ipv4Addr,
    sport: u16,
    dport: u16,
    id: u16,
    payload: &[u8],
) -> Vec<u8> {
    let ulen = (8 + payload.len()) as u16;
    let mut udp = Vec::new();
    udp.extend(sport.to_be_bytes());
    udp.extend(dport.to_be_bytes());
    udp.extend(ulen.to_be_bytes());
    udp.extend([0, 0]);
    udp.extend_from_slice(payload);
    let mut pseudo = Vec::new();
    pseudo.extend(src.octets());
    pseudo.extend(dst.octets());
    pseudo.extend([0, 17]);
    pseudo.extend(ulen.to_be_bytes());
    pseudo.extend(&udp);
    let ck = match inet_checksum(&pseudo) {
        0 => 0xffff,
        c => c,
    };
    udp[6..8].copy_from_slice(&ck.to_be_bytes());
    let total = 20 + ulen;
    let mut ip = vec![0x45, 0];
    ip.extend(total.to_be_bytes());
    ip.extend(id.to_be_bytes());
    ip.extend([0x40, 0, 64, 17, 0, 0]);
    ip.extend(src.octets());
    ip.extend(dst.octets());
    let ck = inet_checksum(&ip);
    ip[10..12].copy_from_slice(&ck.to_be_bytes());
    ip.extend(udp);
    ip
}

/// An Ethernet frame: addresses, then each (TPID, TCI) tag, then `ethertype` and `l3`.
pub fn ether(
    dst: [u8; 6],
    src: [u8; 6],
    tags: &[(u16, u16)],
    ethertype: u16,
    l3: &[u8],
) -> Vec<u8> {
    let mut f = Vec::new();
    f.extend(dst);
    f.extend(src);
    for (tpid, tci) in tags {
        f.extend(tpid.to_be_bytes());
        f.extend(tci.to_be_bytes());
    }
    f.extend(ethertype.to_be_bytes());
    f.extend_from_slice(l3);
    f
}

/// A recognisable payload of `len` bytes (at least the label): `TAG#000123#....`.
pub fn payload(tag: &str, seq: usize, len: usize) -> Vec<u8> {
    let mut p = format!("{tag}#{seq:06}#").into_bytes();
    while p.len() < len {
        p.push(b'.');
    }
    p
}

/// The tag and sequence number of a `payload` (or a prefix of one, 8 bytes after the tag).
pub fn label(p: &[u8]) -> Option<(String, usize)> {
    let text = std::str::from_utf8(&p[..p.len().min(40)]).ok()?;
    let mut it = text.split('#');
    let tag = it.next()?;
    let seq = it.next()?;
    if seq.len() != 6 {
        return None;
    }
    Some((tag.to_string(), seq.parse().ok()?))
}

/// Sends `payloads` from `sock` to `dst` in batches of 25, after each batch waiting until
/// `sink` (the socket bound to `dst` on the other side) has received it: a burst can then
/// not overflow the kernel's receive backlog, where packets would be lost before any capture
/// sees them. Fails the test if a datagram never reaches the sink (the lab, not the capture,
/// lost it). Returns the datagrams sent.
pub fn send_paced(
    sock: &UdpSocket,
    sink: &UdpSocket,
    dst: impl Into<SocketAddr>,
    payloads: impl IntoIterator<Item = Vec<u8>>,
) -> Vec<Dgram> {
    let dst = dst.into();
    sink.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
    let mut sent = Vec::new();
    let mut buf = vec![0u8; 65536];
    let mut pending = 0;
    let mut drain = |pending: &mut usize, sent: usize| {
        while *pending > 0 {
            if let Err(e) = sink.recv(&mut buf) {
                panic!("a datagram sent to {dst} never reached its socket ({e}; {sent} sent)");
            }
            *pending -= 1;
        }
    };
    for p in payloads {
        sent.push(send(sock, dst, p));
        pending += 1;
        if pending == 25 {
            drain(&mut pending, sent.len());
        }
    }
    drain(&mut pending, sent.len());
    sent
}

/// A datagram as sent and as found in a capture.
#[derive(Clone, PartialEq, Eq)]
pub struct Dgram {
    pub src: SocketAddr,
    pub dst: SocketAddr,
    pub payload: Vec<u8>,
}

impl std::fmt::Debug for Dgram {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "udp {} > {} {:?}",
            self.src,
            self.dst,
            String::from_utf8_lossy(&self.payload)
        )
    }
}

/// Sends `payload` from `sock` to `dst` and returns the datagram to expect.
pub fn send(sock: &UdpSocket, dst: impl Into<SocketAddr>, payload: Vec<u8>) -> Dgram {
    let dst = dst.into();
    let n = sock
        .send_to(&payload, dst)
        .unwrap_or_else(|e| panic!("send to {dst}: {e}"));
    assert_eq!(n, payload.len());
    Dgram {
        src: sock.local_addr().unwrap(),
        dst,
        payload,
    }
}

// ------------------------------------------------------------------------------- decoding

/// What a captured packet is, as far as the tests care.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum L4 {
    Udp {
        sport: u16,
        dport: u16,
        /// As captured (cut by the snapshot length, if it was).
        payload: Vec<u8>,
    },
    Tcp {
        sport: u16,
        dport: u16,
        flags: u8,
        payload: Vec<u8>,
    },
    Icmp {
        ty: u8,
        code: u8,
        id: u16,
        seq: u16,
    },
    Icmp6 {
        ty: u8,
    },
    Arp {
        op: u16,
        sender: Ipv4Addr,
        target: Ipv4Addr,
    },
    Other(String),
}

pub const TCP_FIN: u8 = 0x01;
pub const TCP_SYN: u8 = 0x02;
pub const TCP_RST: u8 = 0x04;
pub const TCP_ACK: u8 = 0x10;

/// The Linux cooked v2 header (LINKTYPE_LINUX_SLL2).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Sll2 {
    pub protocol: u16,
    pub ifindex: u32,
    pub hatype: u16,
    pub pkttype: u8,
    pub addr: Vec<u8>,
}

#[derive(Clone, Debug)]
pub struct Decoded {
    /// VLAN tags in the frame, outermost first: (TPID, TCI).
    pub tags: Vec<(u16, u16)>,
    pub sll2: Option<Sll2>,
    pub src: Option<IpAddr>,
    pub dst: Option<IpAddr>,
    pub l4: L4,
}

impl Decoded {
    pub fn dgram(&self) -> Option<Dgram> {
        match (&self.l4, self.src, self.dst) {
            (
                L4::Udp {
                    sport,
                    dport,
                    payload,
                },
                Some(s),
                Some(d),
            ) => Some(Dgram {
                src: SocketAddr::new(s, *sport),
                dst: SocketAddr::new(d, *dport),
                payload: payload.clone(),
            }),
            _ => None,
        }
    }

    /// The tag and sequence number in a UDP payload.
    pub fn label(&self) -> Option<(String, usize)> {
        match &self.l4 {
            L4::Udp { payload, .. } => label(payload),
            _ => None,
        }
    }

    /// Traffic the kernel sends on its own on a fresh link: IPv6 neighbour discovery,
    /// router solicitations, MLD reports, and ARP.
    pub fn is_background(&self) -> bool {
        self.tags.is_empty() && matches!(self.l4, L4::Icmp6 { .. } | L4::Arp { .. })
    }
}

fn be16(d: &[u8], o: usize) -> Option<u16> {
    Some(u16::from_be_bytes(d.get(o..o + 2)?.try_into().ok()?))
}

fn be32(d: &[u8], o: usize) -> Option<u32> {
    Some(u32::from_be_bytes(d.get(o..o + 4)?.try_into().ok()?))
}

fn is_tpid(t: u16) -> bool {
    matches!(t, 0x8100 | 0x88a8 | 0x9100)
}

pub const LINKTYPE_ETHERNET: u32 = 1;
pub const LINKTYPE_LINUX_SLL2: u32 = 276;

/// Decodes a packet of link type EN10MB or LINUX_SLL2.
pub fn decode(linktype: u32, d: &[u8]) -> Decoded {
    let mut out = Decoded {
        tags: Vec::new(),
        sll2: None,
        src: None,
        dst: None,
        l4: L4::Other("short".into()),
    };
    let (mut ethertype, mut off) = match linktype {
        LINKTYPE_ETHERNET => match be16(d, 12) {
            Some(t) => (t, 14),
            None => return out,
        },
        LINKTYPE_LINUX_SLL2 => {
            if d.len() < 20 {
                return out;
            }
            let halen = usize::from(d[11]).min(8);
            out.sll2 = Some(Sll2 {
                protocol: be16(d, 0).unwrap(),
                ifindex: be32(d, 4).unwrap(),
                hatype: be16(d, 8).unwrap(),
                pkttype: d[10],
                addr: d[12..12 + halen].to_vec(),
            });
            (be16(d, 0).unwrap(), 20)
        }
        lt => {
            out.l4 = L4::Other(format!("link type {lt}"));
            return out;
        }
    };
    while is_tpid(ethertype) {
        let (Some(tci), Some(next)) = (be16(d, off), be16(d, off + 2)) else {
            return out;
        };
        out.tags.push((ethertype, tci));
        ethertype = next;
        off += 4;
    }
    let l3 = &d[off..];
    let (proto, l4) = match ethertype {
        0x0806 => {
            if l3.len() >= 28 {
                out.l4 = L4::Arp {
                    op: be16(l3, 6).unwrap(),
                    sender: Ipv4Addr::new(l3[14], l3[15], l3[16], l3[17]),
                    target: Ipv4Addr::new(l3[24], l3[25], l3[26], l3[27]),
                };
            }
            return out;
        }
        0x0800 => {
            if l3.len() < 20 {
                return out;
            }
            let ihl = usize::from(l3[0] & 15) * 4;
            let total = usize::from(be16(l3, 2).unwrap());
            out.src = Some(IpAddr::V4(Ipv4Addr::new(l3[12], l3[13], l3[14], l3[15])));
            out.dst = Some(IpAddr::V4(Ipv4Addr::new(l3[16], l3[17], l3[18], l3[19])));
            let end = total.clamp(ihl, ihl.max(l3.len())).min(l3.len());
            (l3[9], &l3[ihl.min(end)..end])
        }
        0x86dd => {
            if l3.len() < 40 {
                return out;
            }
            let plen = usize::from(be16(l3, 4).unwrap());
            out.src = Some(IpAddr::V6(<[u8; 16]>::try_from(&l3[8..24]).unwrap().into()));
            out.dst = Some(IpAddr::V6(
                <[u8; 16]>::try_from(&l3[24..40]).unwrap().into(),
            ));
            let mut next = l3[6];
            let mut rest = &l3[40..(40 + plen).min(l3.len())];
            // Hop-by-hop, routing, destination options.
            while matches!(next, 0 | 43 | 60) && rest.len() >= 8 {
                let len = (usize::from(rest[1]) + 1) * 8;
                next = rest[0];
                rest = &rest[len.min(rest.len())..];
            }
            (next, rest)
        }
        t => {
            out.l4 = L4::Other(format!("ethertype {t:#06x}"));
            return out;
        }
    };
    out.l4 = match proto {
        17 if l4.len() >= 8 => L4::Udp {
            sport: be16(l4, 0).unwrap(),
            dport: be16(l4, 2).unwrap(),
            payload: l4[8..].to_vec(),
        },
        6 if l4.len() >= 20 => {
            let doff = (usize::from(l4[12] >> 4) * 4).min(l4.len());
            L4::Tcp {
                sport: be16(l4, 0).unwrap(),
                dport: be16(l4, 2).unwrap(),
                flags: l4[13],
                payload: l4[doff..].to_vec(),
            }
        }
        1 if l4.len() >= 8 => L4::Icmp {
            ty: l4[0],
            code: l4[1],
            id: be16(l4, 4).unwrap(),
            seq: be16(l4, 6).unwrap(),
        },
        58 if !l4.is_empty() => L4::Icmp6 { ty: l4[0] },
        p => L4::Other(format!("ip proto {p}")),
    };
    out
}

/// One line about a packet, for failure messages.
pub fn summary(linktype: u32, data: &[u8]) -> String {
    let d = decode(linktype, data);
    let mut s = String::new();
    if let Some(h) = &d.sll2 {
        s += &format!(
            "[sll2 if {} type {} hatype {} proto {:#06x}] ",
            h.ifindex, h.pkttype, h.hatype, h.protocol
        );
    }
    for (tpid, tci) in &d.tags {
        s += &format!("vlan {} ({tpid:#06x}) ", tci & 0xfff);
    }
    let ends = |p: Option<u16>| match (d.src, d.dst, p) {
        (Some(a), Some(b), Some(_)) => format!("{a} > {b}"),
        (Some(a), Some(b), None) => format!("{a} > {b}"),
        _ => String::new(),
    };
    s += &match &d.l4 {
        L4::Udp {
            sport,
            dport,
            payload,
        } => format!(
            "udp {}.{sport} > {}.{dport} len {} {:?}",
            d.src.unwrap(),
            d.dst.unwrap(),
            payload.len(),
            String::from_utf8_lossy(&payload[..payload.len().min(16)])
        ),
        L4::Tcp {
            sport,
            dport,
            flags,
            payload,
        } => format!(
            "tcp {}.{sport} > {}.{dport} flags {flags:#04x} len {}",
            d.src.unwrap(),
            d.dst.unwrap(),
            payload.len()
        ),
        L4::Icmp { ty, code, id, seq } => {
            format!("icmp {} type {ty}/{code} id {id} seq {seq}", ends(Some(0)))
        }
        L4::Icmp6 { ty } => format!("icmp6 {} type {ty}", ends(Some(0))),
        L4::Arp { op, sender, target } => format!("arp op {op} {sender} -> {target}"),
        L4::Other(w) => format!("{w} {}", ends(None)),
    };
    s
}

// ------------------------------------------------------------------------- capture files

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Pcap { nano: bool },
    Pcapng,
}

#[derive(Clone, Debug)]
pub struct Pkt {
    /// Nanoseconds since the epoch.
    pub ts_ns: u64,
    pub data: Vec<u8>,
    pub wirelen: u32,
    /// pcapng: the interface id.
    pub iface: u32,
    /// pcapng: the epb_flags option, when given (bits 0-1: direction, 1 inbound, 2 outbound).
    pub flags: Option<u32>,
}

/// A pcapng interface description.
#[derive(Clone, Debug)]
pub struct IfDesc {
    pub linktype: u16,
    pub snaplen: u32,
    pub name: Option<String>,
    /// The if_tsresol byte, when given.
    pub tsresol: Option<u8>,
}

#[derive(Clone, Debug)]
pub struct Cap {
    pub format: Format,
    /// pcap: the file's; pcapng: the first interface's.
    pub linktype: u32,
    pub snaplen: u32,
    pub ifaces: Vec<IfDesc>,
    pub packets: Vec<Pkt>,
    /// Bytes at the end that do not make a whole record (a file still being written, or a
    /// truncated one).
    pub partial: usize,
}

impl Cap {
    pub fn decoded(&self) -> Vec<Decoded> {
        self.packets
            .iter()
            .map(|p| decode(self.linktype, &p.data))
            .collect()
    }

    pub fn dgrams(&self) -> Vec<Dgram> {
        self.decoded().iter().filter_map(Decoded::dgram).collect()
    }

    /// The sequence numbers of the UDP payloads labelled `tag`, in file order.
    pub fn seqs(&self, tag: &str) -> Vec<usize> {
        self.decoded()
            .iter()
            .filter_map(|d| d.label())
            .filter(|(t, _)| t == tag)
            .map(|(_, s)| s)
            .collect()
    }

    pub fn has_label(&self, tag: &str, seq: usize) -> bool {
        self.decoded()
            .iter()
            .any(|d| d.label() == Some((tag.to_string(), seq)))
    }

    /// Numbered one-line summaries of every packet, for failure messages.
    pub fn listing(&self) -> String {
        let mut s = format!(
            "{} packets (link type {}, {:?}):\n",
            self.packets.len(),
            self.linktype,
            self.format
        );
        for (i, p) in self.packets.iter().enumerate() {
            s += &format!("  {i:3}: {}\n", summary(self.linktype, &p.data));
        }
        s
    }
}

/// Reads a pcap (µs or ns, either byte order) or pcapng file. A record cut off at the end
/// is counted in `partial`, not an error; a bad header is an error.
pub fn parse_capture(d: &[u8]) -> Result<Cap, String> {
    if d.len() >= 4 && d[..4] == [0x0a, 0x0d, 0x0d, 0x0a] {
        return parse_pcapng(d);
    }
    if d.len() < 24 {
        return Err(format!("{} bytes: no whole pcap header", d.len()));
    }
    let (big, nano) = match d[..4] {
        [0xd4, 0xc3, 0xb2, 0xa1] => (false, false),
        [0x4d, 0x3c, 0xb2, 0xa1] => (false, true),
        [0xa1, 0xb2, 0xc3, 0xd4] => (true, false),
        [0xa1, 0xb2, 0x3c, 0x4d] => (true, true),
        _ => return Err(format!("bad magic {:02x?}", &d[..4])),
    };
    let u32_at = |o: usize| {
        let b: [u8; 4] = d[o..o + 4].try_into().unwrap();
        if big {
            u32::from_be_bytes(b)
        } else {
            u32::from_le_bytes(b)
        }
    };
    let mut cap = Cap {
        format: Format::Pcap { nano },
        linktype: u32_at(20) & 0x0fff_ffff,
        snaplen: u32_at(16),
        ifaces: Vec::new(),
        packets: Vec::new(),
        partial: 0,
    };
    let mut off = 24;
    while off < d.len() {
        if off + 16 > d.len() || off + 16 + u32_at(off + 8) as usize > d.len() {
            cap.partial = d.len() - off;
            break;
        }
        let caplen = u32_at(off + 8) as usize;
        let frac = u64::from(u32_at(off + 4));
        cap.packets.push(Pkt {
            ts_ns: u64::from(u32_at(off)) * 1_000_000_000 + if nano { frac } else { frac * 1000 },
            data: d[off + 16..off + 16 + caplen].to_vec(),
            wirelen: u32_at(off + 12),
            iface: 0,
            flags: None,
        });
        off += 16 + caplen;
    }
    Ok(cap)
}

fn parse_pcapng(d: &[u8]) -> Result<Cap, String> {
    let mut cap = Cap {
        format: Format::Pcapng,
        linktype: 0,
        snaplen: 0,
        ifaces: Vec::new(),
        packets: Vec::new(),
        partial: 0,
    };
    let mut big = false;
    let mut off = 0;
    while off < d.len() {
        if off + 12 > d.len() {
            cap.partial = d.len() - off;
            break;
        }
        if d[off..off + 4] == [0x0a, 0x0d, 0x0d, 0x0a] {
            big = match d[off + 8..off + 12] {
                [0x1a, 0x2b, 0x3c, 0x4d] => true,
                [0x4d, 0x3c, 0x2b, 0x1a] => false,
                _ => {
                    return Err(format!(
                        "bad byte-order magic {:02x?} at {off}",
                        &d[off + 8..off + 12]
                    ))
                }
            };
        }
        let r16 = |o: usize| {
            let b: [u8; 2] = d[o..o + 2].try_into().unwrap();
            if big {
                u16::from_be_bytes(b)
            } else {
                u16::from_le_bytes(b)
            }
        };
        let r32 = |o: usize| {
            let b: [u8; 4] = d[o..o + 4].try_into().unwrap();
            if big {
                u32::from_be_bytes(b)
            } else {
                u32::from_le_bytes(b)
            }
        };
        let ty = r32(off);
        let len = r32(off + 4) as usize;
        if len < 12 || len % 4 != 0 {
            return Err(format!("bad block length {len} at {off}"));
        }
        if off + len > d.len() {
            cap.partial = d.len() - off;
            break;
        }
        if r32(off + len - 4) as usize != len {
            return Err(format!("block at {off}: trailing length differs"));
        }
        let body = off + 8..off + len - 4;
        match ty {
            1 => {
                let b = body.start;
                let mut desc = IfDesc {
                    linktype: r16(b),
                    snaplen: r32(b + 4),
                    name: None,
                    tsresol: None,
                };
                let mut o = b + 8;
                while o + 4 <= body.end {
                    let (code, olen) = (r16(o), usize::from(r16(o + 2)));
                    if code == 0 || o + 4 + olen > body.end {
                        break;
                    }
                    let v = &d[o + 4..o + 4 + olen];
                    match code {
                        2 => {
                            let v = v.split(|c| *c == 0).next().unwrap_or(v);
                            desc.name = Some(String::from_utf8_lossy(v).into_owned());
                        }
                        9 if olen == 1 => desc.tsresol = Some(v[0]),
                        _ => {}
                    }
                    o += 4 + olen.div_ceil(4) * 4;
                }
                if cap.ifaces.is_empty() {
                    cap.linktype = u32::from(desc.linktype);
                    cap.snaplen = desc.snaplen;
                }
                cap.ifaces.push(desc);
            }
            6 => {
                let b = body.start;
                let iface = r32(b);
                let ts = (u64::from(r32(b + 4)) << 32) | u64::from(r32(b + 8));
                let caplen = r32(b + 12) as usize;
                if b + 20 + caplen > body.end {
                    return Err(format!("EPB at {off}: caplen {caplen} beyond the block"));
                }
                let desc = cap
                    .ifaces
                    .get(iface as usize)
                    .ok_or_else(|| format!("EPB at {off}: no interface {iface}"))?;
                let ts_ns = match desc.tsresol.unwrap_or(6) {
                    r if r & 0x80 == 0 => {
                        let units = 10u128.pow(u32::from(r));
                        (u128::from(ts) * 1_000_000_000 / units) as u64
                    }
                    r => ((u128::from(ts) * 1_000_000_000) >> (r & 0x7f)) as u64,
                };
                let mut flags = None;
                let mut o = b + 20 + caplen.div_ceil(4) * 4;
                while o + 4 <= body.end {
                    let (code, olen) = (r16(o), usize::from(r16(o + 2)));
                    if code == 0 || o + 4 + olen > body.end {
                        break;
                    }
                    if code == 2 && olen == 4 {
                        flags = Some(r32(o + 4));
                    }
                    o += 4 + olen.div_ceil(4) * 4;
                }
                cap.packets.push(Pkt {
                    ts_ns,
                    data: d[b + 20..b + 20 + caplen].to_vec(),
                    wirelen: r32(b + 16),
                    iface,
                    flags,
                });
            }
            _ => {}
        }
        off += len;
    }
    if cap.ifaces.is_empty() && cap.partial == 0 && !cap.packets.is_empty() {
        return Err("packets without an interface description".into());
    }
    Ok(cap)
}

pub fn read_capture(path: &Path) -> Result<Cap, String> {
    let d = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
    parse_capture(&d).map_err(|e| format!("{}: {e}", path.display()))
}

/// A finished capture file: readable, nothing cut off at the end.
pub fn load(path: &Path) -> Cap {
    let cap = read_capture(path).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        cap.partial,
        0,
        "{}: {} bytes of an incomplete record at the end",
        path.display(),
        cap.partial
    );
    cap
}

// ------------------------------------------------------------------------------- programs

/// The capture program under test: bpfdump, or tcpdump (the harness's self-check).
#[derive(Clone, Debug)]
pub struct Tool {
    pub name: &'static str,
    pub path: PathBuf,
}

impl Tool {
    pub fn bpfdump() -> Tool {
        Tool {
            name: "bpfdump",
            path: PathBuf::from(env!("CARGO_BIN_EXE_bpfdump")),
        }
    }

    /// tcpdump, or None after saying SKIPPED.
    pub fn tcpdump(test: &str) -> Option<Tool> {
        match super::tcpdump() {
            Some(path) => Some(Tool {
                name: "tcpdump",
                path,
            }),
            None => {
                skip(test, "tcpdump is not installed");
                None
            }
        }
    }

    pub fn is_tcpdump(&self) -> bool {
        self.name == "tcpdump"
    }
}

/// `tcpdump -nn [extra] -r FILE`'s lines (None, after saying so, when tcpdump is missing).
/// Fails the test if tcpdump fails or complains about the file (e.g. "truncated").
pub fn tcpdump_read(test: &str, path: &Path, extra: &[&str]) -> Option<Vec<String>> {
    let Some(tcpdump) = super::tcpdump() else {
        skip(
            test,
            "tcpdump is not installed: capture files not read back with it",
        );
        return None;
    };
    let out = Command::new(tcpdump)
        .arg("-nn")
        .args(extra)
        .arg("-r")
        .arg(path)
        .env("TZ", "UTC")
        .stdin(Stdio::null())
        .output()
        .expect("run tcpdump");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "tcpdump -r {} failed ({}): {err}",
        path.display(),
        out.status
    );
    let complaints: Vec<&str> = err
        .lines()
        .filter(|l| !l.starts_with("reading from file "))
        // Said of every LINUX_SLL2 file: names come from this machine's interface indexes.
        .filter(|l| *l != "Warning: interface names might be incorrect")
        .collect();
    assert!(
        complaints.is_empty(),
        "tcpdump -r {} complained: {complaints:?}",
        path.display()
    );
    Some(
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .map(str::to_string)
            .collect(),
    )
}

/// Waits until `probe` gives a value (Err: why not yet, for the message), up to `timeout`.
pub fn wait_until<T>(
    what: &str,
    timeout: Duration,
    mut probe: impl FnMut() -> Result<T, String>,
) -> T {
    let deadline = Instant::now() + timeout;
    loop {
        match probe() {
            Ok(v) => return v,
            Err(why) if Instant::now() > deadline => {
                panic!("timed out after {timeout:?} waiting for {what}: {why}")
            }
            Err(_) => std::thread::sleep(Duration::from_millis(20)),
        }
    }
}

/// tcpdump's closing statistics.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Stats {
    pub captured: u64,
    pub received: u64,
    pub dropped: u64,
}

/// The `N packets captured` / `received by filter` / `dropped by kernel` lines (tcpdump
/// writes "packet" for 1).
pub fn parse_stats(stderr: &str) -> Option<Stats> {
    let find = |what: &str| {
        stderr.lines().find_map(|l| {
            let (n, rest) = l.trim().split_once(' ')?;
            let rest = rest
                .strip_prefix("packets ")
                .or_else(|| rest.strip_prefix("packet "))?;
            (rest == what).then(|| n.parse::<u64>().ok()).flatten()
        })
    };
    Some(Stats {
        captured: find("captured")?,
        received: find("received by filter")?,
        dropped: find("dropped by kernel")?,
    })
}

#[derive(Default)]
struct Lines {
    lines: Vec<String>,
    eof: bool,
}

/// A capture program running in a namespace. Dropping it kills the program if it is still
/// running.
pub struct Running {
    pub tool: Tool,
    pub args: Vec<String>,
    child: Option<Child>,
    stderr: Arc<(Mutex<Lines>, Condvar)>,
    stderr_thread: Option<JoinHandle<()>>,
    stdout_thread: Option<JoinHandle<Vec<u8>>>,
}

/// How a capture program ended.
#[derive(Debug)]
pub struct Done {
    pub status: ExitStatus,
    pub stderr: String,
    pub stdout: Vec<u8>,
    pub cmdline: String,
}

impl Done {
    pub fn code(&self) -> Option<i32> {
        self.status.code()
    }

    /// The closing statistics; fails the test if they are missing.
    pub fn stats(&self) -> Stats {
        parse_stats(&self.stderr).unwrap_or_else(|| {
            panic!(
                "{}: no statistics lines on stderr:\n{}",
                self.cmdline, self.stderr
            )
        })
    }

    /// Asserts exit status 0 (and prints what was said otherwise).
    pub fn assert_success(&self) {
        assert_eq!(
            self.status.code(),
            Some(0),
            "{}: exit status {}; stderr:\n{}",
            self.cmdline,
            self.status,
            self.stderr
        );
    }
}

impl Running {
    fn spawn(
        mut cmd: Command,
        tool: &Tool,
        args: &[String],
        pipe: bool,
    ) -> (Running, Option<ChildStdout>) {
        cmd.args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = cmd
            .spawn()
            .unwrap_or_else(|e| panic!("spawn {}: {e}", tool.path.display()));
        let err = child.stderr.take().unwrap();
        let shared: Arc<(Mutex<Lines>, Condvar)> = Arc::default();
        let sh = shared.clone();
        let stderr_thread = std::thread::spawn(move || {
            for line in BufReader::new(err).lines() {
                let Ok(line) = line else { break };
                let (m, cv) = &*sh;
                m.lock().unwrap().lines.push(line);
                cv.notify_all();
            }
            let (m, cv) = &*sh;
            m.lock().unwrap().eof = true;
            cv.notify_all();
        });
        let out = child.stdout.take().unwrap();
        let (stdout_thread, out) = if pipe {
            (None, Some(out))
        } else {
            let t = std::thread::spawn(move || {
                let mut v = Vec::new();
                let _ = BufReader::new(out).read_to_end(&mut v);
                v
            });
            (Some(t), None)
        };
        (
            Running {
                tool: tool.clone(),
                args: args.to_vec(),
                child: Some(child),
                stderr: shared,
                stderr_thread: Some(stderr_thread),
                stdout_thread,
            },
            out,
        )
    }

    pub fn pid(&self) -> u32 {
        self.child.as_ref().unwrap().id()
    }

    pub fn cmdline(&self) -> String {
        format!("{} {}", self.tool.name, self.args.join(" "))
    }

    pub fn stderr_so_far(&self) -> String {
        self.stderr.0.lock().unwrap().lines.join("\n")
    }

    /// The exit status, if the program has exited.
    pub fn exited(&mut self) -> Option<ExitStatus> {
        self.child.as_mut().unwrap().try_wait().unwrap()
    }

    /// Waits for the `listening on` line and returns it. Fails the test (with everything the
    /// program said) if it exits or says nothing within START.
    pub fn wait_listening(&mut self) -> String {
        let deadline = Instant::now() + START;
        let shared = self.stderr.clone();
        let (m, cv) = &*shared;
        let mut g = m.lock().unwrap();
        loop {
            if let Some(l) = g.lines.iter().find(|l| l.contains("listening on ")) {
                return l.clone();
            }
            let now = Instant::now();
            if g.eof || now > deadline {
                let said = g.lines.join("\n");
                drop(g);
                let status = self.exited();
                panic!(
                    "{}: no 'listening on' line ({}); stderr:\n{said}",
                    self.cmdline(),
                    match status {
                        Some(s) => format!("exited: {s}"),
                        None => format!("still running after {START:?}"),
                    }
                );
            }
            g = cv.wait_timeout(g, deadline - now).unwrap().0;
        }
    }

    /// Waits until the capture file at `path` satisfies `ok` and returns it. Fails the test if
    /// the program exits first or ARRIVE passes.
    pub fn wait_file(&mut self, path: &Path, what: &str, ok: impl Fn(&Cap) -> bool) -> Cap {
        let deadline = Instant::now() + ARRIVE;
        loop {
            let cap = read_capture(path);
            match &cap {
                Ok(c) if ok(c) => return cap.unwrap(),
                _ => {}
            }
            let status = self.exited();
            if status.is_some() || Instant::now() > deadline {
                let state = match cap {
                    Ok(c) => c.listing(),
                    Err(e) => e,
                };
                panic!(
                    "{}: {} while waiting for {what} in {}; file has {state}\nstderr:\n{}",
                    self.cmdline(),
                    match status {
                        Some(s) => format!("exited ({s})"),
                        None => format!("timed out after {ARRIVE:?}"),
                    },
                    path.display(),
                    self.stderr_so_far()
                );
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    pub fn signal(&self, sig: i32) {
        let r = unsafe { libc::kill(self.pid() as i32, sig) };
        assert_eq!(r, 0, "kill: {}", std::io::Error::last_os_error());
    }

    /// SIGINT, then `finish`.
    pub fn stop(self) -> Done {
        if let Some(c) = &self.child {
            unsafe { libc::kill(c.id() as i32, libc::SIGINT) };
        }
        self.finish()
    }

    /// Waits (up to EXIT) for the program to exit on its own. Fails the test if it does not,
    /// or if it panicked or was killed by a signal.
    pub fn finish(mut self) -> Done {
        let mut child = self.child.take().unwrap();
        let Some(status) = wait_or_kill(&mut child, EXIT) else {
            panic!(
                "{}: still running {EXIT:?} after being asked to stop; stderr:\n{}",
                self.cmdline(),
                self.stderr_so_far()
            );
        };
        if let Some(t) = self.stderr_thread.take() {
            let _ = t.join();
        }
        let stdout = self
            .stdout_thread
            .take()
            .map(|t| t.join().unwrap_or_default())
            .unwrap_or_default();
        let stderr = self.stderr_so_far();
        let done = Done {
            status,
            stderr,
            stdout,
            cmdline: self.cmdline(),
        };
        assert!(
            !done.stderr.contains("panicked"),
            "{} panicked:\n{}",
            done.cmdline,
            done.stderr
        );
        assert!(
            done.status.code().is_some(),
            "{}: killed by a signal ({}); stderr:\n{}",
            done.cmdline,
            done.status,
            done.stderr
        );
        done
    }
}

impl Running {
    /// SIGKILL, then the exit status (which then names the signal).
    pub fn kill_9(mut self) -> ExitStatus {
        let mut child = self.child.take().unwrap();
        let _ = child.kill();
        child.wait().unwrap()
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// Runs `cmd` to completion (bounded by EXIT), returning status, stdout and stderr.
pub fn run_bounded(mut cmd: Command) -> Done {
    let cmdline = format!("{cmd:?}");
    cmd.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().unwrap_or_else(|e| panic!("{cmdline}: {e}"));
    let mut out = child.stdout.take().unwrap();
    let mut err = child.stderr.take().unwrap();
    let t_out = std::thread::spawn(move || {
        let mut v = Vec::new();
        let _ = out.read_to_end(&mut v);
        v
    });
    let t_err = std::thread::spawn(move || {
        let mut v = Vec::new();
        let _ = err.read_to_end(&mut v);
        v
    });
    let Some(status) = wait_or_kill(&mut child, EXIT) else {
        panic!("{cmdline}: did not exit within {EXIT:?}");
    };
    Done {
        status,
        stdout: t_out.join().unwrap(),
        stderr: String::from_utf8_lossy(&t_err.join().unwrap()).into_owned(),
        cmdline,
    }
}

// ----------------------------------------------------------------------------------- misc

/// A directory removed when dropped.
pub struct Scratch(PathBuf);

impl Scratch {
    pub fn new(tag: &str) -> Scratch {
        static N: AtomicUsize = AtomicUsize::new(0);
        let n = N.fetch_add(1, Ordering::Relaxed);
        let p = std::env::temp_dir().join(format!(
            "bpfdump-live-{}-{n}-{}",
            std::process::id(),
            tag.replace("::", "-")
        ));
        let _ = std::fs::remove_dir_all(&p);
        std::fs::create_dir_all(&p).unwrap();
        Scratch(p)
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }

    pub fn dir(&self) -> &Path {
        &self.0
    }

    /// The names of the files in the directory, sorted.
    pub fn names(&self) -> Vec<String> {
        let mut v: Vec<String> = std::fs::read_dir(&self.0)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A small file system mounted on a directory of its own: a disk that fills up on demand, a
/// tmpfs or an ext4 image on a loop device. Unmounted when dropped (so also when the test
/// panics); drop it before the directory it is in.
pub struct SmallDisk(PathBuf);

impl SmallDisk {
    /// Mounts a tmpfs of `size` bytes on `dir` (created if missing), or says why not
    /// (SKIPPED) and returns None.
    pub fn tmpfs(test: &str, dir: &Path, size: u64) -> Option<SmallDisk> {
        use std::os::unix::ffi::OsStrExt;
        std::fs::create_dir_all(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
        let target = std::ffi::CString::new(dir.as_os_str().as_bytes()).unwrap();
        let opts = std::ffi::CString::new(format!("size={size},mode=0755")).unwrap();
        // SAFETY: NUL-terminated strings that outlive the call.
        let r = unsafe {
            libc::mount(
                c"tmpfs".as_ptr(),
                target.as_ptr(),
                c"tmpfs".as_ptr(),
                libc::MS_NOSUID | libc::MS_NODEV | libc::MS_NOEXEC,
                opts.as_ptr().cast(),
            )
        };
        if r != 0 {
            skip(
                test,
                &format!(
                    "cannot mount a tmpfs on {}: {}",
                    dir.display(),
                    std::io::Error::last_os_error()
                ),
            );
            return None;
        }
        Some(SmallDisk(dir.to_path_buf()))
    }

    /// Makes an ext4 file system (no journal, no reserved blocks) of `size` bytes in an
    /// image beside `dir` and mounts it there through a loop device, or says why not
    /// (SKIPPED) and returns None. Its free space, a little less than `size`, is
    /// [`SmallDisk::free`].
    pub fn ext4(test: &str, dir: &Path, size: u64) -> Option<SmallDisk> {
        std::fs::create_dir_all(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
        let image = dir.with_extension("img");
        std::fs::File::create(&image)
            .and_then(|f| f.set_len(size))
            .unwrap_or_else(|e| panic!("{}: {e}", image.display()));
        let run = |cmd: &mut Command| -> Result<(), String> {
            let program = cmd.get_program().to_string_lossy().into_owned();
            match cmd.output() {
                Ok(o) if o.status.success() => Ok(()),
                Ok(o) => Err(format!(
                    "{program}: {}",
                    String::from_utf8_lossy(&o.stderr).trim()
                )),
                Err(e) => Err(format!("{program}: {e}")),
            }
        };
        let made = run(Command::new("mkfs.ext4")
            .args(["-q", "-F", "-O", "^has_journal", "-m", "0", "-b", "4096"])
            .arg(&image))
        .and_then(|()| {
            run(Command::new("mount")
                .args(["-o", "loop"])
                .arg(&image)
                .arg(dir))
        });
        let _ = std::fs::remove_file(&image);
        if let Err(e) = made {
            skip(test, &format!("cannot mount an ext4 image: {e}"));
            return None;
        }
        Some(SmallDisk(dir.to_path_buf()))
    }

    /// Bytes free on the file system now.
    pub fn free(&self) -> u64 {
        use std::os::unix::ffi::OsStrExt;
        let path = std::ffi::CString::new(self.0.as_os_str().as_bytes()).unwrap();
        // SAFETY: statvfs fills the zeroed struct; the path is NUL-terminated.
        unsafe {
            let mut st: libc::statvfs = std::mem::zeroed();
            assert_eq!(libc::statvfs(path.as_ptr(), &mut st), 0);
            st.f_bavail * st.f_frsize
        }
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        use std::os::unix::ffi::OsStrExt;
        let Ok(target) = std::ffi::CString::new(self.0.as_os_str().as_bytes()) else {
            return;
        };
        // SAFETY: a NUL-terminated path. A mount still busy (a process of the failed test
        // not yet reaped) is detached instead, and goes away with its last user.
        unsafe {
            if libc::umount2(target.as_ptr(), 0) != 0 {
                libc::umount2(target.as_ptr(), libc::MNT_DETACH);
            }
        }
    }
}

pub fn now_ns() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64
}

/// `["-i", dev, ...]` as owned strings.
pub fn args(words: &[&str]) -> Vec<String> {
    words.iter().map(|w| w.to_string()).collect()
}

/// Waits up to `limit` for `child` to exit; kills it and returns None if it does not.
fn wait_or_kill(
    child: &mut std::process::Child,
    limit: Duration,
) -> Option<std::process::ExitStatus> {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(s) = child.try_wait().unwrap() {
            return Some(s);
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            return None;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

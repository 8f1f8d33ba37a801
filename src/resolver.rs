//! Names for the filter compiler, from the system: host names through the C library's
//! `getaddrinfo` (so /etc/hosts, DNS, ... as nsswitch.conf says), and services, protocols,
//! Ethernet hosts and networks from /etc/services, /etc/protocols, /etc/ethers and
//! /etc/networks. Each file is read and parsed once, the first time it is needed; a missing
//! or unreadable file just means every name in it is unknown.
//!
//! Matching follows glibc's files backend: service and protocol names are case-sensitive,
//! network and ethers names are not; the first entry for a name wins.

use std::collections::HashMap;
use std::ffi::CString;
use std::path::PathBuf;
use std::sync::OnceLock;

use filter_compiler::resolve::{Resolver, ServiceProto};

/// Where the tables live (the real /etc files, or test fixtures).
#[derive(Clone, Debug)]
pub struct Paths {
    pub services: PathBuf,
    pub protocols: PathBuf,
    pub ethers: PathBuf,
    pub networks: PathBuf,
}

impl Default for Paths {
    fn default() -> Paths {
        Paths {
            services: "/etc/services".into(),
            protocols: "/etc/protocols".into(),
            ethers: "/etc/ethers".into(),
            networks: "/etc/networks".into(),
        }
    }
}

#[derive(Default, Debug)]
struct Services {
    tcp: HashMap<String, u16>,
    udp: HashMap<String, u16>,
}

pub struct SystemResolver {
    paths: Paths,
    services: OnceLock<Services>,
    protocols: OnceLock<HashMap<String, u8>>,
    ethers: OnceLock<HashMap<String, [u8; 6]>>,
    networks: OnceLock<HashMap<String, u32>>,
}

impl Default for SystemResolver {
    fn default() -> SystemResolver {
        SystemResolver::with_paths(Paths::default())
    }
}

impl SystemResolver {
    pub fn with_paths(paths: Paths) -> SystemResolver {
        SystemResolver {
            paths,
            services: OnceLock::new(),
            protocols: OnceLock::new(),
            ethers: OnceLock::new(),
            networks: OnceLock::new(),
        }
    }

    fn services(&self) -> &Services {
        self.services
            .get_or_init(|| parse_services(&read(&self.paths.services)))
    }
    fn protocols(&self) -> &HashMap<String, u8> {
        self.protocols
            .get_or_init(|| parse_protocols(&read(&self.paths.protocols)))
    }
    fn ethers(&self) -> &HashMap<String, [u8; 6]> {
        self.ethers
            .get_or_init(|| parse_ethers(&read(&self.paths.ethers)))
    }
    fn networks(&self) -> &HashMap<String, u32> {
        self.networks
            .get_or_init(|| parse_networks(&read(&self.paths.networks)))
    }
}

impl Resolver for SystemResolver {
    fn host_v4(&self, name: &str) -> Vec<[u8; 4]> {
        lookup_host(name, libc::AF_INET)
            .into_iter()
            .filter_map(|a| <[u8; 4]>::try_from(a.as_slice()).ok())
            .collect()
    }

    fn host_v6(&self, name: &str) -> Vec<[u8; 16]> {
        lookup_host(name, libc::AF_INET6)
            .into_iter()
            .filter_map(|a| <[u8; 16]>::try_from(a.as_slice()).ok())
            .collect()
    }

    /// TCP and UDP: the /etc/services entry for that protocol. SCTP: libpcap never reads
    /// sctp entries; its `pcap_nametoport` looks the name up for tcp and udp, and `sctp port
    /// NAME` compiles only when both exist with the same number (otherwise "port 'NAME' is
    /// tcp"/"is udp"). This answers the same way: the shared tcp/udp port, or unknown.
    fn service(&self, name: &str, proto: ServiceProto) -> Option<u16> {
        let s = self.services();
        match proto {
            ServiceProto::Tcp => s.tcp.get(name).copied(),
            ServiceProto::Udp => s.udp.get(name).copied(),
            ServiceProto::Sctp => match (s.tcp.get(name), s.udp.get(name)) {
                (Some(t), Some(u)) if t == u => Some(*t),
                _ => None,
            },
        }
    }

    fn protocol(&self, name: &str) -> Option<u8> {
        self.protocols().get(name).copied()
    }

    fn ether_host(&self, name: &str) -> Option<[u8; 6]> {
        self.ethers().get(&name.to_ascii_lowercase()).copied()
    }

    fn network(&self, name: &str) -> Option<u32> {
        self.networks().get(&name.to_ascii_lowercase()).copied()
    }
}

fn read(path: &PathBuf) -> String {
    match std::fs::read(path) {
        Ok(bytes) => String::from_utf8_lossy(&bytes).into_owned(),
        Err(_) => String::new(),
    }
}

/// The fields of each line, comments (`#` to end of line) removed, blank lines skipped.
fn records(text: &str) -> impl Iterator<Item = Vec<&str>> {
    text.lines().filter_map(|line| {
        let line = line.split('#').next().unwrap_or("");
        let fields: Vec<&str> = line.split_whitespace().collect();
        (!fields.is_empty()).then_some(fields)
    })
}

/// `name port/proto [aliases...]`.
fn parse_services(text: &str) -> Services {
    let mut s = Services::default();
    for f in records(text) {
        let Some((port, proto)) = f.get(1).and_then(|pp| pp.split_once('/')) else {
            continue;
        };
        let Ok(port) = port.parse::<u16>() else {
            continue;
        };
        let table = match proto {
            "tcp" => &mut s.tcp,
            "udp" => &mut s.udp,
            _ => continue, // sctp, ddp, ...: libpcap never looks those up
        };
        for name in std::iter::once(f[0]).chain(f[2..].iter().copied()) {
            table.entry(name.to_string()).or_insert(port);
        }
    }
    s
}

/// The name the packet printer shows for a TCP (`proto` 6) or UDP (17) port: the first
/// /etc/services entry for it, as tcpdump's table keeps.
pub fn service_name(port: u16, proto: u8) -> Option<&'static str> {
    type ByPort = HashMap<u16, String>;
    static NAMES: std::sync::OnceLock<(ByPort, ByPort)> = std::sync::OnceLock::new();
    let (tcp, udp) = NAMES.get_or_init(|| {
        let (mut tcp, mut udp) = (ByPort::new(), ByPort::new());
        for f in records(&read(&PathBuf::from("/etc/services"))) {
            let Some((port, proto)) = f.get(1).and_then(|pp| pp.split_once('/')) else {
                continue;
            };
            let Ok(port) = port.parse::<u16>() else {
                continue;
            };
            let table = match proto {
                "tcp" => &mut tcp,
                "udp" => &mut udp,
                _ => continue,
            };
            table.entry(port).or_insert_with(|| f[0].to_string());
        }
        (tcp, udp)
    });
    match proto {
        6 => tcp.get(&port).map(String::as_str),
        17 => udp.get(&port).map(String::as_str),
        _ => None,
    }
}

/// /etc/ethers the other way round, for the packet printer: address to name (the first
/// entry for an address).
pub fn ether_names() -> HashMap<[u8; 6], String> {
    let mut m = HashMap::new();
    for f in records(&read(&PathBuf::from("/etc/ethers"))) {
        if let (Some(addr), Some(name)) = (parse_mac(f[0]), f.get(1)) {
            m.entry(addr).or_insert_with(|| name.to_string());
        }
    }
    m
}

/// `name number [aliases...]`.
fn parse_protocols(text: &str) -> HashMap<String, u8> {
    let mut m = HashMap::new();
    for f in records(text) {
        let Some(Ok(num)) = f.get(1).map(|n| n.parse::<u8>()) else {
            continue;
        };
        for name in std::iter::once(f[0]).chain(f[2..].iter().copied()) {
            m.entry(name.to_string()).or_insert(num);
        }
    }
    m
}

/// `xx:xx:xx:xx:xx:xx hostname` (one- or two-digit hex bytes, `:` or `-` between them).
fn parse_ethers(text: &str) -> HashMap<String, [u8; 6]> {
    let mut m = HashMap::new();
    for f in records(text) {
        let (Some(addr), Some(name)) = (parse_mac(f[0]), f.get(1)) else {
            continue;
        };
        m.entry(name.to_ascii_lowercase()).or_insert(addr);
    }
    m
}

fn parse_mac(s: &str) -> Option<[u8; 6]> {
    let mut out = [0u8; 6];
    let mut parts = s.split([':', '-']);
    for byte in out.iter_mut() {
        let p = parts.next()?;
        if p.is_empty() || p.len() > 2 {
            return None;
        }
        *byte = u8::from_str_radix(p, 16).ok()?;
    }
    parts.next().is_none().then_some(out)
}

/// `name number [aliases...]`, the number as `inet_network(3)` reads it.
fn parse_networks(text: &str) -> HashMap<String, u32> {
    let mut m = HashMap::new();
    for f in records(text) {
        let Some(net) = f.get(1).and_then(|n| inet_network(n)) else {
            continue;
        };
        for name in std::iter::once(f[0]).chain(f[2..].iter().copied()) {
            m.entry(name.to_ascii_lowercase()).or_insert(net);
        }
    }
    m
}

/// `inet_network(3)`: one to four dot-separated parts (decimal, `0x` hex or `0` octal, each
/// at most 255), packed right-aligned: "127.0.0.0" is 0x7f000000, "10.1" is 0x0a01.
pub fn inet_network(s: &str) -> Option<u32> {
    let s = s.strip_suffix('.').unwrap_or(s);
    let mut val: u32 = 0;
    let mut n = 0;
    for part in s.split('.') {
        n += 1;
        if n > 4 {
            return None;
        }
        let (radix, digits) =
            if let Some(h) = part.strip_prefix("0x").or_else(|| part.strip_prefix("0X")) {
                (16, h)
            } else if part.len() > 1 && part.starts_with('0') {
                (8, &part[1..])
            } else {
                (10, part)
            };
        if digits.is_empty() {
            return None;
        }
        let v = u32::from_str_radix(digits, radix).ok()?;
        if v > 255 {
            return None;
        }
        val = (val << 8) | v;
    }
    Some(val)
}

/// Addresses of `name` in one family, in the resolver's order, without duplicates.
fn lookup_host(name: &str, family: libc::c_int) -> Vec<Vec<u8>> {
    let Ok(cname) = CString::new(name) else {
        return Vec::new();
    };
    // SAFETY: an all-zero addrinfo is a valid "no hints" value.
    let mut hints: libc::addrinfo = unsafe { std::mem::zeroed() };
    hints.ai_family = family;
    hints.ai_socktype = libc::SOCK_STREAM; // one entry per address, not one per socket type
    let mut res: *mut libc::addrinfo = std::ptr::null_mut();
    // SAFETY: valid NUL-terminated name, valid hints, and `res` is freed below.
    let rc = unsafe { libc::getaddrinfo(cname.as_ptr(), std::ptr::null(), &hints, &mut res) };
    if rc != 0 {
        return Vec::new();
    }
    let mut out: Vec<Vec<u8>> = Vec::new();
    let mut cur = res;
    while !cur.is_null() {
        // SAFETY: `cur` is a node of the list getaddrinfo returned.
        let ai = unsafe { &*cur };
        if !ai.ai_addr.is_null() && ai.ai_family == family {
            let addr = match family {
                libc::AF_INET => {
                    // SAFETY: ai_family says this sockaddr is a sockaddr_in.
                    let sin = unsafe { &*(ai.ai_addr as *const libc::sockaddr_in) };
                    sin.sin_addr.s_addr.to_ne_bytes().to_vec()
                }
                _ => {
                    // SAFETY: ai_family says this sockaddr is a sockaddr_in6.
                    let sin6 = unsafe { &*(ai.ai_addr as *const libc::sockaddr_in6) };
                    sin6.sin6_addr.s6_addr.to_vec()
                }
            };
            if !out.contains(&addr) {
                out.push(addr);
            }
        }
        cur = ai.ai_next;
    }
    // SAFETY: `res` came from a successful getaddrinfo and is freed once.
    unsafe { libc::freeaddrinfo(res) };
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture(dir: &std::path::Path) -> SystemResolver {
        std::fs::write(
            dir.join("services"),
            "# comment\nhttp 80/tcp www # web\nhttp 80/udp\nssh 22/tcp\ndomain 53/tcp\n\
             domain 53/udp\nsyslog 514/udp\nweird 7/tcp\nweird 8/udp\namqp 5672/sctp\n\
             http 8080/tcp\n",
        )
        .unwrap();
        std::fs::write(
            dir.join("protocols"),
            "ip 0 IP\ntcp 6 TCP # tcp\nudp 17 UDP\n",
        )
        .unwrap();
        std::fs::write(
            dir.join("ethers"),
            "08:00:20:00:61:CA pal\n8:0:20:1:2:3 Sun # short bytes\nnot-a-mac foo\n",
        )
        .unwrap();
        std::fs::write(
            dir.join("networks"),
            "loopback 127.0.0.0\nten 10 alias-ten\nsub 10.1\n",
        )
        .unwrap();
        SystemResolver::with_paths(Paths {
            services: dir.join("services"),
            protocols: dir.join("protocols"),
            ethers: dir.join("ethers"),
            networks: dir.join("networks"),
        })
    }

    fn tempdir(tag: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("bpfdump-resolver-{tag}-{}", std::process::id()));
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    #[test]
    fn services() {
        let d = tempdir("svc");
        let r = fixture(&d);
        assert_eq!(r.service("http", ServiceProto::Tcp), Some(80));
        assert_eq!(r.service("www", ServiceProto::Tcp), Some(80));
        assert_eq!(r.service("http", ServiceProto::Udp), Some(80));
        assert_eq!(r.service("ssh", ServiceProto::Udp), None);
        assert_eq!(r.service("syslog", ServiceProto::Udp), Some(514));
        assert_eq!(r.service("HTTP", ServiceProto::Tcp), None);
        // sctp as libpcap: only names with the same tcp and udp port.
        assert_eq!(r.service("domain", ServiceProto::Sctp), Some(53));
        assert_eq!(r.service("ssh", ServiceProto::Sctp), None);
        assert_eq!(r.service("weird", ServiceProto::Sctp), None);
        assert_eq!(r.service("amqp", ServiceProto::Sctp), None);
        std::fs::remove_dir_all(d).unwrap();
    }

    #[test]
    fn protocols_ethers_networks() {
        let d = tempdir("misc");
        let r = fixture(&d);
        assert_eq!(r.protocol("tcp"), Some(6));
        assert_eq!(r.protocol("UDP"), Some(17));
        assert_eq!(r.protocol("sctp"), None);
        assert_eq!(r.ether_host("pal"), Some([8, 0, 0x20, 0, 0x61, 0xca]));
        assert_eq!(r.ether_host("SUN"), Some([8, 0, 0x20, 1, 2, 3]));
        assert_eq!(r.ether_host("foo"), None);
        assert_eq!(r.network("loopback"), Some(0x7f00_0000));
        assert_eq!(r.network("Ten"), Some(10));
        assert_eq!(r.network("alias-ten"), Some(10));
        assert_eq!(r.network("sub"), Some(0x0a01));
        std::fs::remove_dir_all(d).unwrap();
    }

    #[test]
    fn missing_files_mean_unknown() {
        let r = SystemResolver::with_paths(Paths {
            services: "/nonexistent/services".into(),
            protocols: "/nonexistent/protocols".into(),
            ethers: "/nonexistent/ethers".into(),
            networks: "/nonexistent/networks".into(),
        });
        assert_eq!(r.service("http", ServiceProto::Tcp), None);
        assert_eq!(r.protocol("tcp"), None);
        assert_eq!(r.ether_host("x"), None);
        assert_eq!(r.network("loopback"), None);
    }

    #[test]
    fn inet_network_forms() {
        assert_eq!(inet_network("127.0.0.0"), Some(0x7f00_0000));
        assert_eq!(inet_network("10"), Some(10));
        assert_eq!(inet_network("0x0a.010"), Some(0x0a08));
        assert_eq!(inet_network("256"), None);
        assert_eq!(inet_network("1.2.3.4.5"), None);
        assert_eq!(inet_network(""), None);
    }

    #[test]
    fn hosts_through_getaddrinfo() {
        let r = SystemResolver::default();
        assert_eq!(r.host_v4("127.0.0.1"), vec![[127, 0, 0, 1]]);
        assert_eq!(
            r.host_v6("::1"),
            vec![{
                let mut a = [0u8; 16];
                a[15] = 1;
                a
            }]
        );
        assert!(r.host_v4("localhost").contains(&[127, 0, 0, 1]));
        assert!(r.host_v4("no-such-host.invalid").is_empty());
        assert!(r.host_v4("bad\0name").is_empty());
    }
}

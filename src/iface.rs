//! Network interfaces: finding the one to capture on (index, flags, hardware type, MTU, by
//! ioctl, so it works in any network namespace whatever /sys shows), the link type its
//! packets get, and tcpdump's `-D` list.

use std::collections::BTreeMap;
use std::ffi::CString;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

use filter_compiler::LinkType;

use crate::error::{io_message, Error};
use crate::ring::Framing;

const ARPHRD_ETHER: u16 = 1;
const ARPHRD_LOOPBACK: u16 = 772;
const ARPHRD_NONE: u16 = 0xfffe;

/// What a capture needs to know about its interface.
#[derive(Clone, Debug)]
pub struct Iface {
    pub name: String,
    /// 0 for `any`.
    pub index: u32,
    pub linktype: LinkType,
    pub framing: Framing,
    /// The largest packet to expect (MTU plus link header, at least 64 KiB for offloads).
    pub max_frame: u32,
    /// IPv4 netmask (host order), for `ip broadcast`; 0 if it has none.
    pub netmask: u32,
    pub is_loopback: bool,
}

impl Iface {
    pub fn is_any(&self) -> bool {
        self.index == 0
    }
}

fn ctl_socket() -> io::Result<OwnedFd> {
    // SAFETY: plain system call; the descriptor is owned below.
    let fd = unsafe { libc::socket(libc::AF_INET, libc::SOCK_DGRAM | libc::SOCK_CLOEXEC, 0) };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: `fd` is new and ours.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

fn ifreq(name: &str) -> libc::ifreq {
    // SAFETY: an all-zero ifreq is valid.
    let mut r: libc::ifreq = unsafe { std::mem::zeroed() };
    for (d, s) in r.ifr_name.iter_mut().zip(name.bytes()) {
        *d = s as libc::c_char;
    }
    r
}

fn ioctl(fd: &OwnedFd, req: libc::Ioctl, r: &mut libc::ifreq) -> io::Result<()> {
    // SAFETY: `r` is a valid ifreq for these requests.
    if unsafe { libc::ioctl(fd.as_raw_fd(), req, r as *mut libc::ifreq) } < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// The interface named `name` (`any` for all of them), checked to exist and be up.
pub fn lookup(name: &str) -> Result<Iface, Error> {
    if name == "any" {
        return Ok(Iface {
            name: name.into(),
            index: 0,
            linktype: LinkType::LinuxSll2,
            framing: Framing::Cooked,
            max_frame: 65535 + 20,
            netmask: 0,
            is_loopback: false,
        });
    }
    if name.is_empty() || name.len() >= libc::IFNAMSIZ || name.contains('/') {
        return Err(Error::msg(format!("{name}: No such device exists")));
    }
    let sock = ctl_socket().map_err(|e| Error::io("socket", &e))?;
    let mut r = ifreq(name);
    match ioctl(&sock, libc::SIOCGIFINDEX, &mut r) {
        Ok(()) => {}
        Err(e) if e.raw_os_error() == Some(libc::ENODEV) => {
            return Err(Error::msg(format!(
                "{name}: No such device exists (see bpfdump -D for the interfaces here)"
            )))
        }
        Err(e) => return Err(Error::msg(format!("{name}: {}", io_message(&e)))),
    }
    // SAFETY: SIOCGIFINDEX filled the index member.
    let index = unsafe { r.ifr_ifru.ifru_ifindex } as u32;
    let mut r = ifreq(name);
    ioctl(&sock, libc::SIOCGIFFLAGS, &mut r).map_err(|e| Error::io(name, &e))?;
    // SAFETY: SIOCGIFFLAGS filled the flags member.
    let flags = unsafe { r.ifr_ifru.ifru_flags } as libc::c_int;
    if flags & libc::IFF_UP == 0 {
        return Err(Error::msg(format!(
            "{name}: That device is not up (ip link set {name} up)"
        )));
    }
    let mut r = ifreq(name);
    ioctl(&sock, libc::SIOCGIFHWADDR, &mut r).map_err(|e| Error::io(name, &e))?;
    // SAFETY: SIOCGIFHWADDR filled the hardware address member.
    let hatype = unsafe { r.ifr_ifru.ifru_hwaddr.sa_family };
    let mut r = ifreq(name);
    ioctl(&sock, libc::SIOCGIFMTU, &mut r).map_err(|e| Error::io(name, &e))?;
    // SAFETY: SIOCGIFMTU filled the mtu member.
    let mtu = unsafe { r.ifr_ifru.ifru_mtu }.max(0) as u32;
    let mut r = ifreq(name);
    let netmask = match ioctl(&sock, libc::SIOCGIFNETMASK, &mut r) {
        // SAFETY: SIOCGIFNETMASK filled the netmask member with a sockaddr_in.
        Ok(()) => unsafe {
            let sin =
                &*(&r.ifr_ifru.ifru_netmask as *const libc::sockaddr).cast::<libc::sockaddr_in>();
            u32::from_be(sin.sin_addr.s_addr)
        },
        Err(_) => 0,
    };
    let (linktype, framing, header) = match hatype {
        ARPHRD_ETHER | ARPHRD_LOOPBACK => (LinkType::En10mb, Framing::Raw, 14 + 4),
        ARPHRD_NONE => (LinkType::Raw, Framing::Raw, 0),
        // Anything else is captured cooked, as libpcap does for link types it cannot name.
        _ => (LinkType::LinuxSll2, Framing::Cooked, 20),
    };
    Ok(Iface {
        name: name.into(),
        index,
        linktype,
        framing,
        // With GRO/TSO a "packet" can be up to 64 KiB whatever the MTU.
        max_frame: mtu.max(65535) + header,
        netmask,
        is_loopback: flags & libc::IFF_LOOPBACK != 0,
    })
}

/// The loopback interface's index (0 if there is none).
pub fn loopback_index() -> u32 {
    // SAFETY: a NUL-terminated name.
    unsafe { libc::if_nametoindex(c"lo".as_ptr()) }
}

/// The interface tcpdump would pick without `-i`: the first of the `-D` list that is up and
/// running and not loopback.
pub fn default_name() -> Result<String, Error> {
    listed()?
        .into_iter()
        .find(|l| l.rank == 0)
        .map(|l| l.name)
        .ok_or_else(|| Error::msg("no suitable device found (give one with -i; see bpfdump -D)"))
}

/// tcpdump's `-i N`: the Nth interface of the `-D` list, for a number that is not the name
/// of an interface.
pub fn by_number(n: &str) -> Option<String> {
    let i: usize = n.parse().ok().filter(|&i| i > 0)?;
    listed().ok()?.into_iter().nth(i - 1).map(|l| l.name)
}

/// The name of interface `index`, or `ifN` if it is gone.
pub fn name_of(index: u32) -> String {
    let mut buf = [0 as libc::c_char; libc::IF_NAMESIZE];
    // SAFETY: `buf` has IF_NAMESIZE bytes, as if_indextoname needs.
    let p = unsafe { libc::if_indextoname(index, buf.as_mut_ptr()) };
    if p.is_null() {
        return format!("if{index}");
    }
    // SAFETY: if_indextoname wrote a NUL-terminated name into `buf`.
    unsafe { std::ffi::CStr::from_ptr(buf.as_ptr()) }
        .to_string_lossy()
        .into_owned()
}

/// Whether interface `index` is up (IFF_UP); None if there is no such interface any more.
pub fn is_up(index: u32) -> Option<bool> {
    let mut buf = [0 as libc::c_char; libc::IF_NAMESIZE];
    // SAFETY: `buf` has IF_NAMESIZE bytes, as if_indextoname needs.
    if unsafe { libc::if_indextoname(index, buf.as_mut_ptr()) }.is_null() {
        return None;
    }
    // SAFETY: if_indextoname wrote a NUL-terminated name into `buf`.
    let name = unsafe { std::ffi::CStr::from_ptr(buf.as_ptr()) }.to_string_lossy();
    let sock = ctl_socket().ok()?;
    let mut r = ifreq(&name);
    ioctl(&sock, libc::SIOCGIFFLAGS, &mut r).ok()?;
    // SAFETY: SIOCGIFFLAGS filled the flags member.
    let flags = unsafe { r.ifr_ifru.ifru_flags } as libc::c_int;
    Some(flags & libc::IFF_UP != 0)
}

/// One entry of the `-D` list.
pub struct Listed {
    pub name: String,
    /// `(Pseudo-device ...)` for `any`.
    pub note: &'static str,
    /// `[Up, Running, Connected]`.
    pub state: String,
    /// 0 up and running, 1 `any`, 2 loopback, 3 the rest.
    pub rank: u8,
}

/// The interfaces in tcpdump's `-D` order: up and running ones, the `any` pseudo-device,
/// loopback, then the rest; by interface index within each group.
pub fn listed() -> Result<Vec<Listed>, Error> {
    let addrs =
        nix::ifaddrs::getifaddrs().map_err(|e| Error::io("getifaddrs", &io::Error::from(e)))?;
    let mut flags: BTreeMap<String, libc::c_int> = BTreeMap::new();
    for a in addrs {
        *flags.entry(a.interface_name.clone()).or_default() |= a.flags.bits();
    }
    let mut entries: Vec<(u8, u32, Listed)> = flags
        .into_iter()
        .map(|(name, f)| {
            let index = CString::new(name.clone())
                // SAFETY: a NUL-terminated name.
                .map(|c| unsafe { libc::if_nametoindex(c.as_ptr()) })
                .unwrap_or(0);
            let up = f & libc::IFF_UP != 0;
            let running = f & libc::IFF_RUNNING != 0;
            let loopback = f & libc::IFF_LOOPBACK != 0;
            let mut words = Vec::new();
            if up {
                words.push("Up");
            }
            if running {
                words.push("Running");
            }
            if loopback {
                words.push("Loopback");
            } else if up {
                words.push(if f & libc::IFF_LOWER_UP != 0 {
                    "Connected"
                } else {
                    "Disconnected"
                });
            }
            let rank = match (up && running, loopback) {
                (true, false) => 0,
                (true, true) => 2,
                _ => 3,
            };
            let state = if words.is_empty() {
                "[none]".to_string()
            } else {
                format!("[{}]", words.join(", "))
            };
            let l = Listed {
                name,
                note: "",
                state,
                rank,
            };
            (rank, index, l)
        })
        .collect();
    entries.push((
        1,
        0,
        Listed {
            name: "any".into(),
            note: " (Pseudo-device that captures on all interfaces)",
            state: "[Up, Running]".into(),
            rank: 1,
        },
    ));
    entries.sort_by_key(|(rank, index, _)| (*rank, *index));
    Ok(entries.into_iter().map(|(_, _, l)| l).collect())
}

/// tcpdump's `-D`: `N.name [Up, Running, Connected]`.
pub fn list() -> Result<String, Error> {
    let mut out = String::new();
    for (i, l) in listed()?.iter().enumerate() {
        out.push_str(&format!("{}.{}{} {}\n", i + 1, l.name, l.note, l.state));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_is_ethernet_framed() {
        let lo = lookup("lo").expect("lo exists");
        assert_eq!(lo.linktype, LinkType::En10mb);
        assert!(lo.index > 0);
        assert_eq!(name_of(lo.index), "lo");
    }

    #[test]
    fn missing_interface_is_one_clear_line() {
        let e = lookup("nosuch0").unwrap_err().to_string();
        assert!(e.starts_with("nosuch0: No such device exists"), "{e}");
        assert!(lookup("").is_err());
        assert!(lookup("a/b").is_err());
    }

    #[test]
    fn list_has_any_and_lo() {
        let l = list().unwrap();
        assert!(l.contains(".any (Pseudo-device"), "{l}");
        assert!(l.contains(".lo [Up, Running, Loopback]"), "{l}");
        assert!(l.starts_with("1."), "{l}");
        let n = l.lines().position(|x| x.contains(".lo [")).unwrap() + 1;
        assert_eq!(by_number(&n.to_string()).as_deref(), Some("lo"));
        assert_eq!(by_number("0"), None);
        assert_eq!(by_number("9999"), None);
    }
}

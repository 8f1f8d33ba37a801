//! Names instead of numbers, as tcpdump shows them without -n: host names from the system
//! resolver (getnameinfo: /etc/hosts, DNS, ... as nsswitch.conf says), link addresses from
//! /etc/ethers or with their OUI's name. Each address is looked up once and remembered.

use std::collections::HashMap;
use std::ffi::CStr;

#[derive(Default)]
pub struct Names {
    hosts: HashMap<[u8; 16], Option<String>>,
    ethers: Option<HashMap<[u8; 6], String>>,
    /// -N: keep a host name up to its first dot (tcpdump's ipaddr_string).
    no_domain: bool,
}

impl Names {
    pub fn new(no_domain: bool) -> Names {
        Names {
            no_domain,
            ..Names::default()
        }
    }

    /// The host name of an IPv4 (4 bytes) or IPv6 (16 bytes) address, if it has one.
    pub fn host(&mut self, a: &[u8]) -> Option<&str> {
        let mut key = [0u8; 16];
        key[..a.len()].copy_from_slice(a);
        if a.len() == 4 {
            // Distinguish 1.2.3.4 from the IPv6 address 0102:0304::.
            key[15] = 4;
            key[14] = 0xff;
        }
        let no_domain = self.no_domain;
        self.hosts
            .entry(key)
            .or_insert_with(|| reverse(a).map(|n| without_domain(n, no_domain)))
            .as_deref()
    }

    /// A link address's name from /etc/ethers ("Broadcast" for all ones).
    pub fn ether(&mut self, a: &[u8]) -> Option<&str> {
        if a == [0xff; 6] {
            return Some("Broadcast");
        }
        let table = self.ethers.get_or_insert_with(crate::resolver::ether_names);
        let key: [u8; 6] = a.try_into().ok()?;
        table.get(&key).map(String::as_str)
    }
}

/// `name` up to its first dot with -N (tcpdump's ipaddr_string), else whole.
fn without_domain(mut name: String, no_domain: bool) -> String {
    if let (true, Some(dot)) = (no_domain, name.find('.')) {
        name.truncate(dot);
    }
    name
}

fn reverse(a: &[u8]) -> Option<String> {
    // SAFETY: each sockaddr is zeroed and filled for its family; getnameinfo writes at most
    // host.len() bytes into host.
    unsafe {
        let mut host = [0 as libc::c_char; 1025];
        let r = if a.len() == 4 {
            let mut sin: libc::sockaddr_in = std::mem::zeroed();
            sin.sin_family = libc::AF_INET as libc::sa_family_t;
            sin.sin_addr.s_addr = u32::from_ne_bytes([a[0], a[1], a[2], a[3]]);
            libc::getnameinfo(
                (&sin as *const libc::sockaddr_in).cast(),
                std::mem::size_of::<libc::sockaddr_in>() as libc::socklen_t,
                host.as_mut_ptr(),
                host.len() as libc::socklen_t,
                std::ptr::null_mut(),
                0,
                libc::NI_NAMEREQD,
            )
        } else {
            let mut sin6: libc::sockaddr_in6 = std::mem::zeroed();
            sin6.sin6_family = libc::AF_INET6 as libc::sa_family_t;
            sin6.sin6_addr.s6_addr.copy_from_slice(&a[..16]);
            libc::getnameinfo(
                (&sin6 as *const libc::sockaddr_in6).cast(),
                std::mem::size_of::<libc::sockaddr_in6>() as libc::socklen_t,
                host.as_mut_ptr(),
                host.len() as libc::socklen_t,
                std::ptr::null_mut(),
                0,
                libc::NI_NAMEREQD,
            )
        };
        if r != 0 {
            return None;
        }
        Some(CStr::from_ptr(host.as_ptr()).to_string_lossy().into_owned())
    }
}

/// tcpdump's OUI names (oui.c), for `aa:bb:cc:dd:ee:ff (oui NAME)`.
pub fn oui(a: &[u8]) -> &'static str {
    let oui = (u32::from(a[0]) << 16) | (u32::from(a[1]) << 8) | u32::from(a[2]);
    match oui {
        0x000000 => "Ethernet",
        0x00000c => "Cisco",
        0x00005e => "IANA",
        0x000081 => "Nortel Networks SONMP",
        0x0000f8 => "Cisco bridged",
        0x0019a7 => "ITU-T",
        0x0080c2 => "Ethernet bridged",
        0x00a03e => "ATM Forum",
        0x00e02f => "DOCSIS Spanning Tree",
        0x080007 => "Appletalk",
        0x009069 => "Juniper",
        0x080009 => "Hewlett-Packard",
        0x00120f => "IEEE 802.3 Private",
        0x0012bb => "ANSI/TIA",
        0x001b21 => "DCBX",
        0x002320 => "Nicira Networks",
        0x5c16c7 => "Big Switch Networks",
        0xb0d2f5 => "Vello Systems",
        0x002481 => "HP",
        0x0004ea => "HP-Labs",
        0x748771 => "Infoblox Inc",
        0xa42305 => "Open Networking Lab",
        0x00049f => "Freescale",
        0x0015ad => "Netronome",
        0x001018 => "Broadcom",
        0x00e004 => "PMC-Sierra",
        0xd0f0db => "Ericsson",
        _ => "Unknown",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dash_n_cuts_the_domain() {
        assert_eq!(without_domain("nic.ddn.mil".into(), true), "nic");
        assert_eq!(without_domain("nic.ddn.mil".into(), false), "nic.ddn.mil");
        assert_eq!(without_domain("localhost".into(), true), "localhost");
    }
}

//! Name lookups the compiler needs. The library does no I/O: the binary supplies a resolver
//! backed by the system (resolver, /etc/services, /etc/protocols, /etc/ethers); tests can use
//! [`NoResolver`] or a table.

/// Transport protocol a service name is looked up for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ServiceProto {
    Tcp,
    Udp,
    Sctp,
}

pub trait Resolver: Sync {
    /// IPv4 addresses of a host name (empty: unknown).
    fn host_v4(&self, name: &str) -> Vec<[u8; 4]>;
    /// IPv6 addresses of a host name (empty: unknown).
    fn host_v6(&self, name: &str) -> Vec<[u8; 16]>;
    /// Port number of a service name for one transport protocol.
    fn service(&self, name: &str, proto: ServiceProto) -> Option<u16>;
    /// IP protocol number of a protocol name (as in /etc/protocols).
    fn protocol(&self, name: &str) -> Option<u8>;
    /// MAC address of an Ethernet host name (as in /etc/ethers).
    fn ether_host(&self, name: &str) -> Option<[u8; 6]>;
    /// Network number of a network name (as in /etc/networks), host byte order.
    fn network(&self, name: &str) -> Option<u32>;
}

/// Knows no names at all.
pub struct NoResolver;

impl Resolver for NoResolver {
    fn host_v4(&self, _: &str) -> Vec<[u8; 4]> {
        Vec::new()
    }
    fn host_v6(&self, _: &str) -> Vec<[u8; 16]> {
        Vec::new()
    }
    fn service(&self, _: &str, _: ServiceProto) -> Option<u16> {
        None
    }
    fn protocol(&self, _: &str) -> Option<u8> {
        None
    }
    fn ether_host(&self, _: &str) -> Option<[u8; 6]> {
        None
    }
    fn network(&self, _: &str) -> Option<u32> {
        None
    }
}

//! The line being printed: a byte buffer with fast appenders for the things packet lines are
//! made of (numbers, addresses, hex). Reused for every packet, so printing allocates nothing
//! once it has grown to the longest output seen.

use std::net::Ipv6Addr;

use super::names::{oui, Names};

pub struct Text {
    pub buf: Vec<u8>,
    /// Without -n: host and link address names (tcpdump resolves every address it prints).
    names: Option<Names>,
}

const HEX: &[u8; 16] = b"0123456789abcdef";

impl Text {
    /// A buffer of `n` bytes to start with; `resolve`: print names for addresses;
    /// `no_domain` (-N): host names without their domain.
    pub fn with_capacity(n: usize, resolve: bool, no_domain: bool) -> Text {
        Text {
            buf: Vec::with_capacity(n),
            names: resolve.then(|| Names::new(no_domain)),
        }
    }

    #[inline]
    pub fn s(&mut self, s: &str) -> &mut Text {
        self.buf.extend_from_slice(s.as_bytes());
        self
    }

    #[inline]
    pub fn ch(&mut self, c: u8) -> &mut Text {
        self.buf.push(c);
        self
    }

    /// An unsigned number in decimal.
    #[inline]
    pub fn u(&mut self, n: impl Into<u64>) -> &mut Text {
        let mut b = itoa::Buffer::new();
        self.buf.extend_from_slice(b.format(n.into()).as_bytes());
        self
    }

    /// `n` in decimal, zero-padded to `width` digits.
    pub fn u_pad(&mut self, n: u64, width: usize) -> &mut Text {
        let mut b = itoa::Buffer::new();
        let d = b.format(n);
        for _ in d.len()..width {
            self.buf.push(b'0');
        }
        self.buf.extend_from_slice(d.as_bytes());
        self
    }

    /// `n` in lowercase hex, no prefix, at least `width` digits.
    pub fn hex(&mut self, n: u64, width: usize) -> &mut Text {
        let digits = ((64 - n.leading_zeros() as usize).div_ceil(4))
            .max(width)
            .max(1);
        for k in (0..digits).rev() {
            self.buf.push(HEX[((n >> (k * 4)) & 0xf) as usize]);
        }
        self
    }

    /// One byte as two lowercase hex digits.
    #[inline]
    pub fn byte(&mut self, b: u8) -> &mut Text {
        self.buf.push(HEX[(b >> 4) as usize]);
        self.buf.push(HEX[(b & 0xf) as usize]);
        self
    }

    pub fn ipv4(&mut self, a: &[u8]) -> &mut Text {
        if let Some(names) = &mut self.names {
            if let Some(name) = names.host(&a[..4]) {
                self.buf.extend_from_slice(name.as_bytes());
                return self;
            }
        }
        for (k, b) in a.iter().take(4).enumerate() {
            if k > 0 {
                self.buf.push(b'.');
            }
            self.u(*b);
        }
        self
    }

    /// RFC 5952 text (tcpdump's addrtostr6 agrees: longest zero run of two or more groups).
    pub fn ipv6(&mut self, a: &[u8]) -> &mut Text {
        if let Some(names) = &mut self.names {
            if let Some(name) = names.host(&a[..16]) {
                self.buf.extend_from_slice(name.as_bytes());
                return self;
            }
        }
        let mut o = [0u8; 16];
        o.copy_from_slice(&a[..16]);
        // IPv4-compatible (::a.b.c.d, not :: or ::1): tcpdump shows the IPv4 part dotted.
        if o[..12] == [0; 12] && (o[12] != 0 || o[13] != 0) {
            self.s("::");
            let v4 = [o[12], o[13], o[14], o[15]];
            for (k, b) in v4.iter().enumerate() {
                if k > 0 {
                    self.buf.push(b'.');
                }
                self.u(*b);
            }
            return self;
        }
        use std::io::Write;
        let _ = write!(self.buf, "{}", Ipv6Addr::from(o));
        self
    }

    /// `aa:bb:cc:dd:ee:ff` (any length, as tcpdump prints link addresses); without -n, a
    /// 6-byte address's /etc/ethers name or the address and its OUI's name.
    pub fn mac(&mut self, a: &[u8]) -> &mut Text {
        if a.len() == 6 {
            if let Some(names) = &mut self.names {
                if let Some(name) = names.ether(a) {
                    self.buf.extend_from_slice(name.as_bytes());
                    return self;
                }
                self.mac_numeric(a);
                return self.s(" (oui ").s(oui(a)).ch(b')');
            }
        }
        self.mac_numeric(a)
    }

    /// `aa:bb:cc:dd:ee:ff`, never a name.
    pub fn mac_numeric(&mut self, a: &[u8]) -> &mut Text {
        for (k, b) in a.iter().enumerate() {
            if k > 0 {
                self.buf.push(b':');
            }
            self.byte(*b);
        }
        self
    }

    /// tcpdump's bittok2str: the names of the bit groups of `table` set in `v` (in table
    /// order, `sep` between them), or `none` when there are none.
    pub fn bits(&mut self, v: u32, table: &[(u32, &str)], sep: &str, none: &str) -> &mut Text {
        let mut first = true;
        for &(b, name) in table {
            if b != 0 && v & b == b {
                if !first {
                    self.s(sep);
                }
                self.s(name);
                first = false;
            }
        }
        if first {
            self.s(none);
        }
        self
    }

    pub fn len(&self) -> usize {
        self.buf.len()
    }

    pub fn truncate(&mut self, n: usize) {
        self.buf.truncate(n);
    }
}

//! UDP (tcpdump's print-udp.c): ports, then the payload by port, or `UDP, length N`.

use super::l4::{shouldbe, Net};
use super::{app, be16, tcp, Ctx};

/// The addresses (when UDP follows the IP header directly) and ports; a negative port means
/// the ports were not captured.
fn addrs(cx: &mut Ctx, net: &Net, ports: Option<(u16, u16)>) {
    match ports {
        Some((s, d)) => tcp::ports(cx, net, 17, s, d),
        None => {
            if net.first_proto() == 17 {
                net.addr(cx, net.src());
                cx.t.s(" > ");
                net.addr(cx, net.dst());
                cx.t.s(": ");
            }
        }
    }
}

pub fn print(cx: &mut Ctx, net: &Net, p: &[u8], len: u32) {
    let (Some(sport), Some(dport)) = (be16(p, 0), be16(p, 2)) else {
        addrs(cx, net, None);
        cx.trunc("udp");
        return;
    };
    if len < 8 {
        addrs(cx, net, Some((sport, dport)));
        cx.t.s("truncated-udp ").u(len);
        return;
    }
    let Some(ulen) = be16(p, 4) else {
        addrs(cx, net, Some((sport, dport)));
        cx.trunc("udp");
        return;
    };
    let mut ulen = u32::from(ulen);
    if ulen == 0 && len > 65535 {
        ulen = len;
    }
    if ulen < 8 {
        addrs(cx, net, Some((sport, dport)));
        cx.t.s("truncated-udplength ").u(ulen);
        return;
    }
    let ulen = ulen - 8;
    let length = (len - 8).min(ulen);
    if p.len() < 8 {
        addrs(cx, net, Some((sport, dport)));
        cx.trunc("udp");
        return;
    }
    addrs(cx, net, Some((sport, dport)));
    // Up to the end of the IP datagram, not of the UDP length: tcpdump's payload printers
    // read to its snapend (a short UDP length does not stop the DNS printer, for one).
    let payload = &p[8..];
    if cx.o.verbose > 0 && !cx.o.no_checksums && !net.fragmented() {
        let whole = p.len() >= 8 + length as usize;
        let udp_sum = be16(p, 6).unwrap_or(0);
        if !net.is_v6() && cx.o.verbose > 1 {
            if udp_sum == 0 {
                cx.t.s("[no cksum] ");
            } else if whole {
                checksum_note(cx, net, &p[..8 + length as usize], udp_sum);
            }
        } else if net.is_v6() && whole {
            checksum_note(cx, net, &p[..8 + length as usize], udp_sum);
        }
    }
    if cx.o.quiet || !app::udp(cx, net, sport, dport, payload, length) {
        if ulen > length && !net.fragmented() {
            cx.t.s("UDP, bad length ").u(ulen).s(" > ").u(length);
        } else {
            cx.t.s("UDP, length ").u(ulen);
        }
    }
}

fn checksum_note(cx: &mut Ctx, net: &Net, seg: &[u8], udp_sum: u16) {
    let sum = net.transport_sum(17, seg);
    if sum != 0 {
        cx.t.s("[bad udp cksum 0x")
            .hex(u64::from(udp_sum), 4)
            .s(" -> 0x")
            .hex(u64::from(shouldbe(udp_sum, sum)), 4)
            .s("!] ");
    } else {
        cx.t.s("[udp sum ok] ");
    }
}

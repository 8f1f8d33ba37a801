//! IPsec (tcpdump's print-esp.c and print-ah.c): ESP's SPI and sequence number (the payload
//! is encrypted), AH's fields and ICV, after which the next header follows.

use super::{be16, be32, u8_at, Ctx};

pub fn esp(cx: &mut Ctx, p: &[u8], len: u32) {
    // tcpdump wants more than the 8-byte header captured.
    if p.len() <= 8 {
        cx.trunc("esp");
        return;
    }
    cx.t.s("ESP(spi=0x")
        .hex(u64::from(be32(p, 0).unwrap_or(0)), 8)
        .s(",seq=0x")
        .hex(u64::from(be32(p, 4).unwrap_or(0)), 1)
        .s("), length ")
        .u(len);
}

/// The AH header: Some((next header, header length)) when the payload follows, None when the
/// capture ended inside it (marker printed).
pub fn ah(cx: &mut Ctx, p: &[u8]) -> Option<(u8, usize)> {
    let Some(nh) = u8_at(p, 0) else {
        cx.trunc("ah");
        return None;
    };
    cx.t.s("AH");
    let r = fields(cx, p);
    if r.is_none() {
        cx.trunc_jump("ah");
    }
    r.map(|n| (nh, n))
}

fn fields(cx: &mut Ctx, p: &[u8]) -> Option<usize> {
    let ah_len = u8_at(p, 1)?;
    let hdr_len = (usize::from(ah_len) + 2) * 4;
    cx.t.ch(b'(');
    if cx.o.verbose > 0 {
        cx.t.s("length=")
            .u(ah_len)
            .ch(b'(')
            .u(hdr_len as u64)
            .s("-bytes),");
    }
    let reserved = be16(p, 2)?;
    if reserved != 0 {
        cx.t.s("reserved=0x")
            .hex(u64::from(reserved), 1)
            .s("[MustBeZero],");
    }
    let spi = be32(p, 4)?;
    cx.t.s("spi=0x").hex(u64::from(spi), 8).s(",");
    let seq = be32(p, 8)?;
    cx.t.s("seq=0x").hex(u64::from(seq), 1).s(",");
    cx.t.s("icv=0x");
    for at in 12..hdr_len {
        cx.t.byte(u8_at(p, at)?);
    }
    cx.t.s("): ");
    Some(hdr_len)
}

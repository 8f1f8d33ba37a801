//! Packet bytes after the line: -x (hex), -X (hex and ASCII), -A (ASCII), in tcpdump's
//! layout; also what tcpdump shows for payloads it has no printer for.

use super::text::Text;
use super::Options;

/// -x/-X/-A over `data` (the caller leaves out the link header unless doubled).
pub fn dump(t: &mut Text, o: &Options, data: &[u8]) {
    if data.is_empty() {
        return;
    }
    if o.hex_ascii {
        hex_ascii(t, "\n\t", data);
    } else if o.hex > 0 {
        hex(t, "\n\t", data);
    } else if o.ascii > 0 {
        ascii(t, data);
    }
}

/// tcpdump's hex_print: `0x0000:  4500 0034 ...`, eight groups a line.
pub fn hex(t: &mut Text, ident: &str, data: &[u8]) {
    let mut offset = 0u64;
    for (i, pair) in data.chunks(2).enumerate() {
        if i % 8 == 0 {
            t.s(ident).s("0x").hex(offset, 4).s(": ");
            offset += 16;
        }
        t.ch(b' ');
        for &b in pair {
            t.byte(b);
        }
    }
}

/// tcpdump's hex_and_ascii_print: hex padded to 40 columns, two spaces, the printable bytes.
pub fn hex_ascii(t: &mut Text, ident: &str, data: &[u8]) {
    let mut offset = 0u64;
    for line in data.chunks(16) {
        t.s(ident).s("0x").hex(offset, 4).s(": ");
        let start = t.len();
        for pair in line.chunks(2) {
            t.ch(b' ');
            for &b in pair {
                t.byte(b);
            }
        }
        for _ in t.len() - start..40 {
            t.ch(b' ');
        }
        t.s("  ");
        for &b in line {
            t.ch(if b.is_ascii_graphic() { b } else { b'.' });
        }
        offset += 16;
    }
}

/// tcpdump's ascii_print (-A): the bytes as text, '.' for what is not printable, CRs before
/// line ends dropped.
pub fn ascii(t: &mut Text, data: &[u8]) {
    t.ch(b'\n');
    for (i, &c) in data.iter().enumerate() {
        let left = data.len() - i - 1;
        if c == b'\r' {
            if left > 1 && data[i + 1] != b'\n' {
                t.ch(b'.');
            }
        } else if c.is_ascii_graphic() || c == b'\t' || c == b' ' || c == b'\n' {
            t.ch(c);
        } else {
            t.ch(b'.');
        }
    }
}

/// tcpdump's fn_print_char: `M-` for the high bit, `^` for control characters.
pub fn print_char(t: &mut Text, mut c: u8) {
    if !c.is_ascii() {
        c &= 0x7f;
        t.s("M-");
    }
    if !(0x20..0x7f).contains(&c) {
        c ^= 0x40;
        t.ch(b'^');
    }
    t.ch(c);
}

//! Helpers for the command-line tests: temporary directories, hand-built pcap and pcapng
//! files, small parsers to check what bpfdump wrote, and a runner for the binary that fails
//! the test if anything panicked.

#![allow(dead_code)]

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};

pub const BIN: &str = env!("CARGO_BIN_EXE_bpfdump");

/// A directory removed when dropped.
pub struct TempDir(PathBuf);

impl TempDir {
    pub fn new(tag: &str) -> TempDir {
        static N: AtomicUsize = AtomicUsize::new(0);
        let n = N.fetch_add(1, Ordering::Relaxed);
        let p =
            std::env::temp_dir().join(format!("bpfdump-cli-{}-{}-{}", std::process::id(), n, tag));
        let _ = std::fs::remove_dir_all(&p);
        std::fs::create_dir_all(&p).unwrap();
        TempDir(p)
    }
    pub fn path(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }
    /// Writes `bytes` to `name` in the directory and returns its path as a string.
    pub fn file(&self, name: &str, bytes: &[u8]) -> String {
        let p = self.path(name);
        std::fs::write(&p, bytes).unwrap();
        p.to_str().unwrap().to_string()
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// What a run of the binary produced.
pub struct Run {
    pub status: std::process::ExitStatus,
    pub stdout: Vec<u8>,
    pub stderr: String,
}

impl Run {
    pub fn code(&self) -> Option<i32> {
        self.status.code()
    }
    pub fn stdout_str(&self) -> String {
        String::from_utf8_lossy(&self.stdout).into_owned()
    }
    /// stderr lines other than tcpdump's informational "reading from file ..." line.
    pub fn error_lines(&self) -> Vec<&str> {
        self.stderr
            .lines()
            .filter(|l| !l.starts_with("reading from file "))
            .collect()
    }
}

pub fn command(args: &[&str]) -> Command {
    let mut c = Command::new(BIN);
    c.args(args).env("TZ", "UTC").env("LC_ALL", "C");
    c
}

/// Runs the binary with `args` (and `stdin`), TZ=UTC. Fails the test if the run panicked or
/// was killed by a signal.
pub fn run_with(mut c: Command, stdin: Option<&[u8]>) -> Run {
    c.stdin(if stdin.is_some() {
        Stdio::piped()
    } else {
        Stdio::null()
    })
    .stdout(Stdio::piped())
    .stderr(Stdio::piped());
    let mut child = c.spawn().expect("spawn bpfdump");
    if let Some(input) = stdin {
        let mut si = child.stdin.take().unwrap();
        let input = input.to_vec();
        // Write from a thread so a full stdout pipe cannot deadlock us.
        std::thread::spawn(move || {
            let _ = si.write_all(&input);
        });
    }
    let Output {
        status,
        stdout,
        stderr,
    } = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&stderr).into_owned();
    let out_text = String::from_utf8_lossy(&stdout);
    assert!(
        !stderr.contains("panicked") && !out_text.contains("panicked"),
        "bpfdump panicked:\n{stderr}"
    );
    assert!(
        status.code().is_some(),
        "bpfdump killed by a signal: {status:?}\n{stderr}"
    );
    Run {
        status,
        stdout,
        stderr,
    }
}

pub fn run(args: &[&str]) -> Run {
    run_with(command(args), None)
}

/// Asserts a failed run: exit status 1, exactly one error line, starting `bpfdump: `.
pub fn assert_one_line_error(r: &Run) -> String {
    assert_eq!(r.code(), Some(1), "exit status; stderr:\n{}", r.stderr);
    let lines = r.error_lines();
    assert_eq!(lines.len(), 1, "want one error line, got:\n{}", r.stderr);
    assert!(lines[0].starts_with("bpfdump: "), "{}", lines[0]);
    lines[0].to_string()
}

pub fn have_tcpdump() -> bool {
    Command::new("tcpdump")
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .map(|s| s.success())
        .unwrap_or(false)
}

/// `tcpdump -n -r FILE`'s output lines, or None (after saying so) if tcpdump is missing.
pub fn tcpdump_lines(file: &Path, test: &str) -> Option<Vec<String>> {
    if !have_tcpdump() {
        eprintln!("SKIPPED: {test}: tcpdump is not installed");
        return None;
    }
    let out = Command::new("tcpdump")
        .args(["-n", "-r"])
        .arg(file)
        .env("TZ", "UTC")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "tcpdump -r {} failed: {stderr}",
        file.display()
    );
    assert!(!stderr.contains("truncated"), "tcpdump: {stderr}");
    Some(
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .map(str::to_string)
            .collect(),
    )
}

// ---------------------------------------------------------------------------------------
// Packets

/// An Ethernet + IPv4 + TCP frame (54 bytes plus `payload` bytes).
pub fn tcp_frame(src: [u8; 4], dst: [u8; 4], sport: u16, dport: u16, payload: usize) -> Vec<u8> {
    let mut f = vec![
        0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02, 0, 0, 0, 0, 1, 0x08, 0x00,
    ];
    let total = (20 + 20 + payload) as u16;
    f.extend([
        0x45,
        0,
        (total >> 8) as u8,
        total as u8,
        0,
        1,
        0,
        0,
        64,
        6,
        0,
        0,
    ]);
    f.extend(src);
    f.extend(dst);
    f.extend(sport.to_be_bytes());
    f.extend(dport.to_be_bytes());
    f.extend([0, 0, 0, 0, 0, 0, 0, 0, 0x50, 0x02, 0x20, 0x00, 0, 0, 0, 0]);
    f.extend(std::iter::repeat_n(0xabu8, payload));
    f
}

/// A few different frames, of odd and even lengths.
pub fn some_frames(n: usize) -> Vec<Vec<u8>> {
    (0..n)
        .map(|i| tcp_frame([10, 0, 0, 1], [10, 0, 0, 2], 80, 1024 + i as u16, i * 7))
        .collect()
}

// ---------------------------------------------------------------------------------------
// pcap

#[derive(Clone, Copy)]
pub struct PcapOpts {
    pub nano: bool,
    pub big: bool,
    pub linktype: u32,
    pub snaplen: u32,
}

impl Default for PcapOpts {
    fn default() -> PcapOpts {
        PcapOpts {
            nano: false,
            big: false,
            linktype: 1,
            snaplen: 262144,
        }
    }
}

pub struct PcapRec {
    pub sec: u32,
    pub frac: u32,
    pub data: Vec<u8>,
    pub orig: u32,
}

/// Records at 1700000000 + i seconds, fraction 123456 (µs) or 123456789 (ns), origlen
/// caplen + 4 for every third packet (as if cut by a snaplen).
pub fn records(frames: &[Vec<u8>], nano: bool) -> Vec<PcapRec> {
    frames
        .iter()
        .enumerate()
        .map(|(i, d)| PcapRec {
            sec: 1_700_000_000 + i as u32,
            frac: if nano { 123_456_789 } else { 123_456 },
            data: d.clone(),
            orig: d.len() as u32 + if i % 3 == 2 { 4 } else { 0 },
        })
        .collect()
}

pub fn pcap_header(o: PcapOpts) -> Vec<u8> {
    let magic: u32 = if o.nano { 0xa1b2_3c4d } else { 0xa1b2_c3d4 };
    let mut b = Vec::new();
    put32(&mut b, o.big, magic);
    put16(&mut b, o.big, 2);
    put16(&mut b, o.big, 4);
    put32(&mut b, o.big, 0);
    put32(&mut b, o.big, 0);
    put32(&mut b, o.big, o.snaplen);
    put32(&mut b, o.big, o.linktype);
    b
}

pub fn pcap_record(o: PcapOpts, r: &PcapRec) -> Vec<u8> {
    let mut b = Vec::new();
    put32(&mut b, o.big, r.sec);
    put32(&mut b, o.big, r.frac);
    put32(&mut b, o.big, r.data.len() as u32);
    put32(&mut b, o.big, r.orig);
    b.extend_from_slice(&r.data);
    b
}

pub fn pcap_file(o: PcapOpts, recs: &[PcapRec]) -> Vec<u8> {
    let mut b = pcap_header(o);
    for r in recs {
        b.extend(pcap_record(o, r));
    }
    b
}

/// Checks that `bytes` is a whole pcap file and returns its header and records (caplen bytes
/// each, with their 16-byte headers).
pub fn parse_pcap(bytes: &[u8]) -> (Vec<u8>, Vec<Vec<u8>>) {
    assert!(
        bytes.len() >= 24,
        "pcap shorter than its header: {} bytes",
        bytes.len()
    );
    let big = match &bytes[..4] {
        [0xa1, 0xb2, 0xc3, 0xd4] | [0xa1, 0xb2, 0x3c, 0x4d] => true,
        [0xd4, 0xc3, 0xb2, 0xa1] | [0x4d, 0x3c, 0xb2, 0xa1] => false,
        m => panic!("not a pcap magic: {m:x?}"),
    };
    let mut recs = Vec::new();
    let mut off = 24;
    while off < bytes.len() {
        assert!(off + 16 <= bytes.len(), "partial record header at {off}");
        let caplen = get32(&bytes[off + 8..], big) as usize;
        assert!(off + 16 + caplen <= bytes.len(), "partial record at {off}");
        recs.push(bytes[off..off + 16 + caplen].to_vec());
        off += 16 + caplen;
    }
    (bytes[..24].to_vec(), recs)
}

// ---------------------------------------------------------------------------------------
// pcapng (built by hand, independent of the pcap-file crate the binary uses)

pub struct Ng {
    pub big: bool,
    pub bytes: Vec<u8>,
    /// Start offset of every block written.
    pub starts: Vec<usize>,
}

impl Ng {
    /// A section header block (section length -1, no options).
    pub fn new(big: bool) -> Ng {
        let mut ng = Ng {
            big,
            bytes: Vec::new(),
            starts: Vec::new(),
        };
        let mut body = Vec::new();
        put32(&mut body, big, 0x1a2b_3c4d);
        put16(&mut body, big, 1);
        put16(&mut body, big, 0);
        body.extend([0xff; 8]);
        ng.block(0x0a0d_0d0a, &body);
        ng
    }

    pub fn block(&mut self, ty: u32, body: &[u8]) -> &mut Ng {
        let big = self.big;
        let mut body = body.to_vec();
        while body.len() % 4 != 0 {
            body.push(0);
        }
        let len = 12 + body.len() as u32;
        self.starts.push(self.bytes.len());
        put32(&mut self.bytes, big, ty);
        put32(&mut self.bytes, big, len);
        self.bytes.extend(body);
        put32(&mut self.bytes, big, len);
        self
    }

    /// An interface description block; `tsresol` adds an if_tsresol option.
    pub fn idb(&mut self, linktype: u16, snaplen: u32, tsresol: Option<u8>) -> &mut Ng {
        let big = self.big;
        let mut body = Vec::new();
        put16(&mut body, big, linktype);
        put16(&mut body, big, 0);
        put32(&mut body, big, snaplen);
        if let Some(r) = tsresol {
            put16(&mut body, big, 9);
            put16(&mut body, big, 1);
            body.extend([r, 0, 0, 0]);
            body.extend([0, 0, 0, 0]); // opt_endofopt
        }
        self.block(1, &body)
    }

    /// An enhanced packet block; `ts` in the interface's units.
    pub fn epb(&mut self, iface: u32, ts: u64, data: &[u8], orig: u32) -> &mut Ng {
        let big = self.big;
        let mut body = Vec::new();
        put32(&mut body, big, iface);
        put32(&mut body, big, (ts >> 32) as u32);
        put32(&mut body, big, ts as u32);
        put32(&mut body, big, data.len() as u32);
        put32(&mut body, big, orig);
        body.extend_from_slice(data);
        self.block(6, &body)
    }
}

/// The blocks of a pcapng file: (type, body). Checks the framing.
pub fn parse_pcapng(bytes: &[u8]) -> Vec<(u32, Vec<u8>)> {
    let mut out = Vec::new();
    let mut off = 0;
    let mut big = false;
    while off < bytes.len() {
        assert!(off + 12 <= bytes.len(), "partial block header at {off}");
        let ty = get32(&bytes[off..], false);
        if ty == 0x0a0d_0d0a {
            big = bytes[off + 8..off + 12] == [0x1a, 0x2b, 0x3c, 0x4d];
        }
        let len = get32(&bytes[off + 4..], big) as usize;
        assert!(
            len >= 12 && len % 4 == 0 && off + len <= bytes.len(),
            "bad block at {off}"
        );
        assert_eq!(
            get32(&bytes[off + len - 4..], big) as usize,
            len,
            "trailer at {off}"
        );
        out.push((
            get32(&bytes[off..], big),
            bytes[off + 8..off + len - 4].to_vec(),
        ));
        off += len;
    }
    out
}

/// The if_tsresol option value of an IDB body, if it has one.
pub fn idb_tsresol(body: &[u8], big: bool) -> Option<u8> {
    let mut off = 8;
    while off + 4 <= body.len() {
        let code = get16(&body[off..], big);
        let len = get16(&body[off + 2..], big) as usize;
        if code == 0 {
            return None;
        }
        if code == 9 && len == 1 {
            return Some(body[off + 4]);
        }
        off += 4 + len.div_ceil(4) * 4;
    }
    None
}

// ---------------------------------------------------------------------------------------

pub fn put16(b: &mut Vec<u8>, big: bool, v: u16) {
    b.extend(if big {
        v.to_be_bytes()
    } else {
        v.to_le_bytes()
    });
}
pub fn put32(b: &mut Vec<u8>, big: bool, v: u32) {
    b.extend(if big {
        v.to_be_bytes()
    } else {
        v.to_le_bytes()
    });
}
pub fn get16(b: &[u8], big: bool) -> u16 {
    let a = [b[0], b[1]];
    if big {
        u16::from_be_bytes(a)
    } else {
        u16::from_le_bytes(a)
    }
}
pub fn get32(b: &[u8], big: bool) -> u32 {
    let a = [b[0], b[1], b[2], b[3]];
    if big {
        u32::from_be_bytes(a)
    } else {
        u32::from_le_bytes(a)
    }
}

/// The repository's sample captures directory.
pub fn captures_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("captures")
}

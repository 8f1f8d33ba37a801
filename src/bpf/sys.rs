//! The bpf(2) system call, raw: libc has SYS_bpf but no `union bpf_attr`, so the few attribute
//! layouts used here are written out (include/uapi/linux/bpf.h). The kernel reads only the
//! size we pass and treats the rest of its union as zero.
//!
//! Self-contained (std and libc only), so tests can include it with `#[path]`.
#![allow(dead_code)]

use std::io;
use std::os::fd::{FromRawFd, OwnedFd, RawFd};

// Commands (`enum bpf_cmd`).
const MAP_CREATE: libc::c_long = 0;
const MAP_LOOKUP_ELEM: libc::c_long = 1;
const MAP_GET_NEXT_KEY: libc::c_long = 4;
const PROG_LOAD: libc::c_long = 5;
const PROG_TEST_RUN: libc::c_long = 10;

/// BPF_PROG_TYPE_SOCKET_FILTER.
pub const PROG_TYPE_SOCKET_FILTER: u32 = 1;
/// setsockopt(SOL_SOCKET, SO_ATTACH_BPF, &prog_fd).
pub const SO_ATTACH_BPF: libc::c_int = 50;

#[repr(C)]
#[derive(Default)]
struct MapCreateAttr {
    map_type: u32,
    key_size: u32,
    value_size: u32,
    max_entries: u32,
    map_flags: u32,
    inner_map_fd: u32,
    numa_node: u32,
    map_name: [u8; 16],
}

#[repr(C)]
#[derive(Default)]
struct ElemAttr {
    map_fd: u32,
    _pad: u32,
    key: u64,
    /// `value`, or `next_key` for MAP_GET_NEXT_KEY.
    value: u64,
    flags: u64,
}

#[repr(C)]
#[derive(Default)]
struct ProgLoadAttr {
    prog_type: u32,
    insn_cnt: u32,
    insns: u64,
    license: u64,
    log_level: u32,
    log_size: u32,
    log_buf: u64,
    kern_version: u32,
    prog_flags: u32,
    prog_name: [u8; 16],
}

#[repr(C)]
#[derive(Default)]
struct TestRunAttr {
    prog_fd: u32,
    retval: u32,
    data_size_in: u32,
    data_size_out: u32,
    data_in: u64,
    data_out: u64,
    repeat: u32,
    duration: u32,
    ctx_size_in: u32,
    ctx_size_out: u32,
    ctx_in: u64,
    ctx_out: u64,
}

fn bpf<T>(cmd: libc::c_long, attr: &mut T) -> io::Result<libc::c_long> {
    // SAFETY: `attr` is a live, initialized attribute struct of the size passed; the kernel
    // reads (and for some commands writes) only that many bytes.
    let r = unsafe {
        libc::syscall(
            libc::SYS_bpf,
            cmd,
            attr as *mut T,
            std::mem::size_of::<T>() as libc::c_uint,
        )
    };
    if r < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(r)
    }
}

fn name16(name: &str) -> [u8; 16] {
    let mut b = [0u8; 16];
    // The kernel takes letters, digits, '_' and '.'; 15 bytes and a NUL.
    for (d, s) in b.iter_mut().zip(name.bytes().take(15)) {
        *d = if s.is_ascii_alphanumeric() || s == b'_' || s == b'.' {
            s
        } else {
            b'_'
        };
    }
    b
}

fn owned(fd: libc::c_long) -> OwnedFd {
    // SAFETY: the kernel just returned this new descriptor; nobody else owns it.
    unsafe { OwnedFd::from_raw_fd(fd as RawFd) }
}

/// BPF_MAP_CREATE.
pub fn map_create(
    map_type: u32,
    key_size: u32,
    value_size: u32,
    max_entries: u32,
    name: &str,
) -> io::Result<OwnedFd> {
    let mut a = MapCreateAttr {
        map_type,
        key_size,
        value_size,
        max_entries,
        map_name: name16(name),
        ..Default::default()
    };
    bpf(MAP_CREATE, &mut a).map(owned)
}

/// BPF_PROG_LOAD of a socket filter. With `log`, the verifier writes its log there (a log
/// that does not fit turns the real error into ENOSPC, so load without one first).
pub fn prog_load(
    insns: &[u8],
    license: &str,
    name: &str,
    log: Option<&mut Vec<u8>>,
) -> io::Result<OwnedFd> {
    let license = std::ffi::CString::new(license).expect("license has no NUL");
    let mut a = ProgLoadAttr {
        prog_type: PROG_TYPE_SOCKET_FILTER,
        insn_cnt: (insns.len() / 8) as u32,
        insns: insns.as_ptr() as u64,
        license: license.as_ptr() as u64,
        prog_name: name16(name),
        ..Default::default()
    };
    if let Some(buf) = log {
        a.log_level = 1;
        a.log_size = buf.len() as u32;
        a.log_buf = buf.as_mut_ptr() as u64;
        let r = bpf(PROG_LOAD, &mut a).map(owned);
        // The log is NUL-terminated inside the buffer.
        let end = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
        buf.truncate(end);
        return r;
    }
    bpf(PROG_LOAD, &mut a).map(owned)
}

/// BPF_MAP_LOOKUP_ELEM: false if there is no such key.
pub fn lookup(map: RawFd, key: &[u8], value: &mut [u8]) -> io::Result<bool> {
    let mut a = ElemAttr {
        map_fd: map as u32,
        key: key.as_ptr() as u64,
        value: value.as_mut_ptr() as u64,
        ..Default::default()
    };
    match bpf(MAP_LOOKUP_ELEM, &mut a) {
        Ok(_) => Ok(true),
        Err(e) if e.raw_os_error() == Some(libc::ENOENT) => Ok(false),
        Err(e) => Err(e),
    }
}

/// BPF_MAP_GET_NEXT_KEY: the key after `key` (the first with None); false at the end.
pub fn next_key(map: RawFd, key: Option<&[u8]>, next: &mut [u8]) -> io::Result<bool> {
    let mut a = ElemAttr {
        map_fd: map as u32,
        key: key.map_or(0, |k| k.as_ptr() as u64),
        value: next.as_mut_ptr() as u64,
        ..Default::default()
    };
    match bpf(MAP_GET_NEXT_KEY, &mut a) {
        Ok(_) => Ok(true),
        Err(e) if e.raw_os_error() == Some(libc::ENOENT) => Ok(false),
        Err(e) => Err(e),
    }
}

/// What BPF_PROG_TEST_RUN reports.
#[derive(Clone, Copy, Debug)]
pub struct TestRun {
    pub retval: u32,
    /// Mean time per run, ns.
    pub duration: u32,
}

/// BPF_PROG_TEST_RUN: runs the program `repeat` times over `data` (for a socket filter the
/// kernel builds an skb from it as if received on loopback, and pulls the first 14 bytes as
/// the Ethernet header: the program sees the data from byte 14 on). `ctx` is an optional
/// `struct __sk_buff` with the fields the kernel lets a test set (ifindex, gso_segs...).
pub fn test_run(prog: RawFd, data: &[u8], ctx: Option<&[u8]>, repeat: u32) -> io::Result<TestRun> {
    let mut out = vec![0u8; data.len() + 256];
    let mut a = TestRunAttr {
        prog_fd: prog as u32,
        data_size_in: data.len() as u32,
        data_size_out: out.len() as u32,
        data_in: data.as_ptr() as u64,
        data_out: out.as_mut_ptr() as u64,
        repeat,
        ..Default::default()
    };
    if let Some(c) = ctx {
        a.ctx_size_in = c.len() as u32;
        a.ctx_in = c.as_ptr() as u64;
    }
    bpf(PROG_TEST_RUN, &mut a)?;
    Ok(TestRun {
        retval: a.retval,
        duration: a.duration,
    })
}

/// How many CPUs a per-CPU map has a row for: the kernel's possible CPUs.
pub fn possible_cpus() -> io::Result<usize> {
    let s = std::fs::read_to_string("/sys/devices/system/cpu/possible")?;
    parse_cpu_list(&s).ok_or_else(|| {
        io::Error::new(
            io::ErrorKind::InvalidData,
            format!(
                "/sys/devices/system/cpu/possible: unexpected {:?}",
                s.trim()
            ),
        )
    })
}

/// `0-3,6` -> 7 (rows go up to the highest CPU number).
pub fn parse_cpu_list(s: &str) -> Option<usize> {
    let mut max = None;
    for part in s.trim().split(',') {
        let last = match part.split_once('-') {
            Some((_, b)) => b.trim().parse::<usize>().ok()?,
            None => part.trim().parse::<usize>().ok()?,
        };
        max = Some(max.map_or(last, |m: usize| m.max(last)));
    }
    max.map(|m| m + 1)
}

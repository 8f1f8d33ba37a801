//! An AF_PACKET socket with a memory-mapped TPACKET_V3 receive ring.
//!
//! Order matters: the socket is opened with protocol 0 (it receives nothing yet), the filter
//! is attached and the ring mapped, and only then is it bound with ETH_P_ALL, so no packet
//! reaches the ring unfiltered. The kernel fills blocks of the ring with packets and hands a
//! block to us when it is full or its timeout expires; we read packets in place and give the
//! block back. Nothing is copied until the packet is written out.

use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::ptr::NonNull;
use std::sync::atomic::{AtomicU32, Ordering};

use filter_compiler::Insn;

/// Bytes the kernel leaves free in front of each packet (PACKET_RESERVE): room to re-insert
/// an 802.1Q tag (4) or to put a LINUX_SLL2 header (20) in place, without copying the packet.
pub const RESERVE: u32 = 20;

/// How big the ring is and how soon the kernel hands over a block that is not full.
#[derive(Clone, Copy, Debug)]
pub struct RingSize {
    pub block_size: u32,
    pub block_count: u32,
    /// Block retire timeout (ms).
    pub timeout_ms: u32,
}

impl RingSize {
    /// A ring of about `total` bytes in blocks of at least `min_block` bytes (a power of
    /// two) that each hold at least one frame of `max_frame` bytes of packet.
    pub fn new(total: u64, max_frame: u32, min_block: u64, timeout_ms: u32) -> RingSize {
        // One block must hold the largest packet plus its headers.
        let need = u64::from(max_frame) + 256 + u64::from(RESERVE);
        // A small ring (-B) keeps at least 16 blocks, down to 128 KiB blocks.
        let mut min_block = min_block;
        while min_block > 128 * 1024 && total / min_block < 16 {
            min_block /= 2;
        }
        let block_size = need.next_power_of_two().max(min_block);
        let block_count = total.div_ceil(block_size).max(2);
        RingSize {
            block_size: block_size as u32,
            block_count: block_count.min(u64::from(u32::MAX)) as u32,
            timeout_ms,
        }
    }
    pub fn bytes(&self) -> usize {
        self.block_size as usize * self.block_count as usize
    }
}

/// What kind of socket: link-level frames as the interface has them, or cooked (network
/// layer only, link information in the address; the `any` device).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Framing {
    Raw,
    Cooked,
}

/// The program that decides what the socket keeps.
#[derive(Clone, Copy)]
pub enum Filter<'a> {
    /// Classic BPF, SO_ATTACH_FILTER.
    Classic(&'a [Insn]),
    /// A loaded eBPF socket filter, SO_ATTACH_BPF.
    Ebpf(&'a OwnedFd),
}

pub struct Options<'a> {
    /// Interface index to bind to, or 0 for all interfaces (`any`).
    pub ifindex: u32,
    pub framing: Framing,
    pub filter: Filter<'a>,
    pub promiscuous: bool,
    /// Ask the kernel not to deliver outgoing packets at all (`-Q in`).
    pub ignore_outgoing: bool,
}

/// Why opening failed, with the step that failed (to pick the message).
#[derive(Debug)]
pub struct OpenError {
    pub step: &'static str,
    pub err: io::Error,
}

fn step<T>(step: &'static str, r: io::Result<T>) -> Result<T, OpenError> {
    r.map_err(|err| OpenError { step, err })
}

pub struct PacketSocket {
    fd: OwnedFd,
    map: NonNull<u8>,
    ring: RingSize,
    /// The block we read next.
    next: std::cell::Cell<u32>,
    /// The sequence number the kernel gave the last block we read (0: none yet); the
    /// kernel numbers blocks from 1 as it opens them.
    last_seq: std::cell::Cell<u64>,
}

// The mapping belongs to the socket; nothing in it is shared with another thread.
unsafe impl Send for PacketSocket {}

fn cvt(r: libc::c_int) -> io::Result<libc::c_int> {
    if r < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(r)
    }
}

fn setsockopt<T>(fd: RawFd, level: libc::c_int, name: libc::c_int, val: &T) -> io::Result<()> {
    // SAFETY: `val` is a live T and its size is passed with it.
    cvt(unsafe {
        libc::setsockopt(
            fd,
            level,
            name,
            (val as *const T).cast(),
            std::mem::size_of::<T>() as libc::socklen_t,
        )
    })
    .map(drop)
}

/// Opens the socket, without packets yet (protocol 0), and attaches the filter. `ring`: the
/// socket will get a TPACKET_V3 ring (set its version and the room in front of packets).
fn unbound(o: &Options, ring: bool) -> Result<OwnedFd, OpenError> {
    let ty = match o.framing {
        Framing::Raw => libc::SOCK_RAW,
        Framing::Cooked => libc::SOCK_DGRAM,
    };
    // Protocol 0: no packets until bind.
    // SAFETY: plain system call.
    let raw = step(
        "socket",
        cvt(unsafe { libc::socket(libc::AF_PACKET, ty | libc::SOCK_CLOEXEC, 0) }),
    )?;
    // SAFETY: `raw` is a new descriptor we own.
    let fd = unsafe { OwnedFd::from_raw_fd(raw) };
    let s = fd.as_raw_fd();
    if ring {
        let version = libc::tpacket_versions::TPACKET_V3 as libc::c_int;
        step(
            "PACKET_VERSION",
            setsockopt(s, libc::SOL_PACKET, libc::PACKET_VERSION, &version),
        )?;
        step(
            "PACKET_RESERVE",
            setsockopt(s, libc::SOL_PACKET, libc::PACKET_RESERVE, &RESERVE),
        )?;
    }
    match o.filter {
        Filter::Classic(insns) => {
            let prog = libc::sock_fprog {
                len: insns.len() as u16,
                filter: insns.as_ptr() as *mut libc::sock_filter,
            };
            const _: () =
                assert!(std::mem::size_of::<Insn>() == std::mem::size_of::<libc::sock_filter>());
            step(
                "SO_ATTACH_FILTER",
                setsockopt(s, libc::SOL_SOCKET, libc::SO_ATTACH_FILTER, &prog),
            )?;
        }
        Filter::Ebpf(prog) => {
            let pfd: libc::c_int = prog.as_raw_fd();
            step(
                "SO_ATTACH_BPF",
                setsockopt(s, libc::SOL_SOCKET, crate::bpf::sys::SO_ATTACH_BPF, &pfd),
            )?;
        }
    }
    if o.ignore_outgoing {
        let one: libc::c_int = 1;
        step(
            "PACKET_IGNORE_OUTGOING",
            setsockopt(s, libc::SOL_PACKET, libc::PACKET_IGNORE_OUTGOING, &one),
        )?;
    }
    Ok(fd)
}

/// Promiscuous mode unless -p, then bind to the interface: packets start arriving.
fn bind(s: RawFd, o: &Options) -> Result<(), OpenError> {
    if o.promiscuous && o.ifindex != 0 {
        let mreq = libc::packet_mreq {
            mr_ifindex: o.ifindex as libc::c_int,
            mr_type: libc::PACKET_MR_PROMISC as u16,
            mr_alen: 0,
            mr_address: [0; 8],
        };
        step(
            "PACKET_ADD_MEMBERSHIP",
            setsockopt(s, libc::SOL_PACKET, libc::PACKET_ADD_MEMBERSHIP, &mreq),
        )?;
    }
    // SAFETY: zeroed sockaddr_ll is a valid value.
    let mut sll: libc::sockaddr_ll = unsafe { std::mem::zeroed() };
    sll.sll_family = libc::AF_PACKET as u16;
    sll.sll_protocol = (libc::ETH_P_ALL as u16).to_be();
    sll.sll_ifindex = o.ifindex as libc::c_int;
    // SAFETY: `sll` is a sockaddr_ll of the size passed.
    step(
        "bind",
        cvt(unsafe {
            libc::bind(
                s,
                (&sll as *const libc::sockaddr_ll).cast(),
                std::mem::size_of::<libc::sockaddr_ll>() as libc::socklen_t,
            )
        }),
    )?;
    // Binding to an interface that is down succeeds but leaves ENETDOWN pending.
    if let Some(e) = take_error(s) {
        return Err(OpenError {
            step: "bind",
            err: e,
        });
    }
    Ok(())
}

/// The socket's pending error (SO_ERROR).
fn take_error(fd: RawFd) -> Option<io::Error> {
    let mut err: libc::c_int = 0;
    let mut len = std::mem::size_of::<libc::c_int>() as libc::socklen_t;
    // SAFETY: `err` and `len` are valid for the call.
    let r = unsafe {
        libc::getsockopt(
            fd,
            libc::SOL_SOCKET,
            libc::SO_ERROR,
            (&mut err as *mut libc::c_int).cast(),
            &mut len,
        )
    };
    match (r, err) {
        (0, 0) => None,
        (0, e) => Some(io::Error::from_raw_os_error(e)),
        _ => Some(io::Error::last_os_error()),
    }
}

/// PACKET_STATISTICS since the last read: (accepted by the filter, dropped for lack of room).
fn stats(fd: RawFd) -> io::Result<(u32, u32)> {
    // SAFETY: zeroed tpacket_stats_v3 is valid.
    let mut st: libc::tpacket_stats_v3 = unsafe { std::mem::zeroed() };
    let mut len = std::mem::size_of::<libc::tpacket_stats_v3>() as libc::socklen_t;
    // SAFETY: `st` and `len` are valid for the call.
    cvt(unsafe {
        libc::getsockopt(
            fd,
            libc::SOL_PACKET,
            libc::PACKET_STATISTICS,
            (&mut st as *mut libc::tpacket_stats_v3).cast(),
            &mut len,
        )
    })?;
    Ok((st.tp_packets, st.tp_drops))
}

/// A packet socket without a ring, for a filter that keeps nothing (`--count`): the filter
/// runs on every packet and nothing is queued.
pub struct CountSocket {
    fd: OwnedFd,
}

impl CountSocket {
    pub fn open(o: &Options) -> Result<CountSocket, OpenError> {
        let fd = unbound(o, false)?;
        bind(fd.as_raw_fd(), o)?;
        Ok(CountSocket { fd })
    }
    pub fn fd(&self) -> RawFd {
        self.fd.as_raw_fd()
    }
    pub fn take_error(&self) -> Option<io::Error> {
        take_error(self.fd())
    }
}

impl PacketSocket {
    pub fn open(o: &Options, ring: RingSize) -> Result<PacketSocket, OpenError> {
        let fd = unbound(o, true)?;
        let s = fd.as_raw_fd();

        // Frames are not fixed-size in V3; tp_frame_size only has to divide the block.
        let frame_size: u32 = 2048;
        let req = libc::tpacket_req3 {
            tp_block_size: ring.block_size,
            tp_block_nr: ring.block_count,
            tp_frame_size: frame_size,
            tp_frame_nr: (ring.block_size / frame_size) * ring.block_count,
            tp_retire_blk_tov: ring.timeout_ms,
            tp_sizeof_priv: 0,
            tp_feature_req_word: 0,
        };
        step(
            "PACKET_RX_RING",
            setsockopt(s, libc::SOL_PACKET, libc::PACKET_RX_RING, &req),
        )?;
        // SAFETY: maps the ring the kernel just made for this socket. (Its pages are the
        // kernel's, pinned and mapped in whole at once, so locking or populating adds nothing.)
        let map = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                ring.bytes(),
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_SHARED,
                s,
                0,
            )
        };
        if map == libc::MAP_FAILED {
            return Err(OpenError {
                step: "mmap",
                err: io::Error::last_os_error(),
            });
        }
        let sock = PacketSocket {
            fd,
            map: NonNull::new(map.cast()).expect("mmap returned a non-null mapping"),
            ring,
            next: std::cell::Cell::new(0),
            last_seq: std::cell::Cell::new(0),
        };

        bind(s, o)?;
        Ok(sock)
    }

    pub fn fd(&self) -> RawFd {
        self.fd.as_raw_fd()
    }

    /// The socket's pending error (SO_ERROR), e.g. ENETDOWN when the interface went down.
    pub fn take_error(&self) -> Option<io::Error> {
        take_error(self.fd())
    }

    /// Kernel counters since the last call (the kernel resets them on each read): packets
    /// that passed the filter (including those dropped), and packets dropped for lack of room.
    pub fn stats(&self) -> io::Result<(u32, u32)> {
        stats(self.fd())
    }

    fn block_ptr(&self, i: u32) -> *mut u8 {
        // SAFETY: i < block_count, so the offset is inside the mapping.
        unsafe {
            self.map
                .as_ptr()
                .add(i as usize * self.ring.block_size as usize)
        }
    }

    fn block_status(&self, i: u32) -> &AtomicU32 {
        let desc = self.block_ptr(i).cast::<libc::tpacket_block_desc>();
        // SAFETY: the block descriptor is at the start of each block; block_status is a u32
        // the kernel and we hand back and forth, so it is accessed atomically.
        unsafe {
            let status = std::ptr::addr_of_mut!((*desc).hdr.bh1.block_status);
            AtomicU32::from_ptr(status)
        }
    }

    /// Whether every packet the kernel has taken is ours already: the next block is not
    /// handed over and the kernel has put no packet in it yet. (The kernel counts packets in
    /// the block header as it adds them; reading the count while it writes is a benign race.)
    pub fn drained(&self) -> bool {
        let i = self.next.get();
        if self.block_status(i).load(Ordering::Acquire) & libc::TP_STATUS_USER != 0 {
            return false;
        }
        let desc = self.block_ptr(i).cast::<libc::tpacket_block_desc>();
        // SAFETY: the header is inside the mapping; the kernel updates it concurrently, so
        // read it as an atomic.
        unsafe {
            let n = std::ptr::addr_of_mut!((*desc).hdr.bh1.num_pkts);
            AtomicU32::from_ptr(n).load(Ordering::Relaxed) == 0
        }
    }

    /// The next block, if the kernel has handed it to us. Give it back by dropping the
    /// [`Block`].
    pub fn next_block(&self) -> Option<Block<'_>> {
        let i = self.next.get();
        if self.block_status(i).load(Ordering::Acquire) & libc::TP_STATUS_USER == 0 {
            return None;
        }
        // (The kernel handed the block to us: status USER, acquire above.)
        Some(self.take(i))
    }

    /// Block `i`'s header: packets, offset of the first, sequence number.
    fn header(&self, i: u32) -> (u32, u32, u64) {
        // SAFETY: the header is inside the mapping; callers read it only when no packet is
        // being written into the block (handed over to us, or the socket detached).
        unsafe {
            let desc = &*self.block_ptr(i).cast::<libc::tpacket_block_desc>();
            (
                desc.hdr.bh1.num_pkts,
                desc.hdr.bh1.offset_to_first_pkt,
                desc.hdr.bh1.seq_num,
            )
        }
    }

    /// Block `i` as ours to read, and the one after it next.
    fn take(&self, i: u32) -> Block<'_> {
        let (num, first, seq) = self.header(i);
        self.next.set((i + 1) % self.ring.block_count);
        self.last_seq.set(seq);
        Block {
            sock: self,
            index: i,
            base: self.block_ptr(i),
            left: num,
            offset: first as usize,
        }
    }
}

impl PacketSocket {
    /// Stops the kernel from handing this socket more packets, once every packet it is
    /// writing into the ring is written: rebinding to another protocol unhooks the socket,
    /// and the kernel (packet_do_bind) waits for the packets in flight (synchronize_net)
    /// before it hooks it again for that protocol. 0xffff, a reserved EtherType no frame
    /// carries, is the new protocol (0 would keep ETH_P_ALL). The block the kernel was
    /// filling then holds its last packets, still: [`PacketSocket::filling_block`].
    pub fn detach(&self, ifindex: u32) -> io::Result<()> {
        // SAFETY: zeroed sockaddr_ll is a valid value.
        let mut sll: libc::sockaddr_ll = unsafe { std::mem::zeroed() };
        sll.sll_family = libc::AF_PACKET as u16;
        sll.sll_protocol = 0xffffu16.to_be();
        sll.sll_ifindex = ifindex as libc::c_int;
        // SAFETY: `sll` is a sockaddr_ll of the size passed.
        cvt(unsafe {
            libc::bind(
                self.fd(),
                (&sll as *const libc::sockaddr_ll).cast(),
                std::mem::size_of::<libc::sockaddr_ll>() as libc::socklen_t,
            )
        })
        .map(|_| ())
    }

    /// After [`PacketSocket::detach`] and every handed-over block read: the block the
    /// kernel was filling, if it holds packets. Nothing writes into it any more, so it can
    /// be read though the kernel has not handed it over. It is that block only if the
    /// kernel opened it after the last block we read (its sequence number is the next): a
    /// block the kernel has not reopened still holds a past round's header.
    pub fn filling_block(&self) -> Option<Block<'_>> {
        let i = self.next.get();
        let (num, _, seq) = self.header(i);
        (num != 0 && seq == self.last_seq.get() + 1).then(|| self.take(i))
    }
}

impl Drop for PacketSocket {
    fn drop(&mut self) {
        // SAFETY: unmaps the mapping made in `open`; no Block borrows it any more.
        unsafe {
            libc::munmap(self.map.as_ptr().cast(), self.ring.bytes());
        }
    }
}

/// A block of packets the kernel has handed to us. Dropping it gives it back.
pub struct Block<'a> {
    sock: &'a PacketSocket,
    index: u32,
    base: *mut u8,
    left: u32,
    offset: usize,
}

/// One packet in the ring, with the room in front of it that PACKET_RESERVE guarantees.
pub struct Frame<'a> {
    pub sec: u32,
    pub nsec: u32,
    /// Bytes captured (after the filter's snapshot length).
    pub caplen: u32,
    /// Length on the wire.
    pub len: u32,
    pub status: u32,
    pub vlan_tci: u16,
    pub vlan_tpid: u16,
    pub ifindex: u32,
    pub protocol: u16,
    pub pkttype: u8,
    pub hatype: u16,
    pub halen: u8,
    pub addr: [u8; 8],
    /// The frame from its header: `buf[data_at..data_at + caplen]` is the packet; the bytes
    /// between the kernel's headers and `data_at` are free for our use.
    pub buf: &'a mut [u8],
    pub data_at: usize,
    /// First byte of `buf` not used by the kernel's headers.
    pub free_from: usize,
}

impl<'a> Block<'a> {
    /// The next packet of the block.
    #[allow(clippy::should_implement_trait)]
    pub fn next(&mut self) -> Option<Frame<'_>> {
        if self.left == 0 {
            return None;
        }
        self.left -= 1;
        let block_size = self.sock.ring.block_size as usize;
        // SAFETY: the kernel wrote a tpacket3_hdr at `offset` (the first packet's offset, then
        // each tp_next_offset), followed by a sockaddr_ll and the packet, all inside the block.
        unsafe {
            let p = self.base.add(self.offset);
            let h = &*p.cast::<libc::tpacket3_hdr>();
            let sll_at = tpacket_align(std::mem::size_of::<libc::tpacket3_hdr>());
            let sll = &*p.add(sll_at).cast::<libc::sockaddr_ll>();
            let data_at = h.tp_mac as usize;
            let caplen = h.tp_snaplen;
            let end = (data_at + caplen as usize).min(block_size - self.offset);
            let frame = Frame {
                sec: h.tp_sec,
                nsec: h.tp_nsec,
                caplen: (end - data_at) as u32,
                len: h.tp_len,
                status: h.tp_status,
                vlan_tci: h.hv1.tp_vlan_tci as u16,
                vlan_tpid: h.hv1.tp_vlan_tpid,
                ifindex: sll.sll_ifindex as u32,
                protocol: u16::from_be(sll.sll_protocol),
                pkttype: sll.sll_pkttype,
                hatype: sll.sll_hatype,
                halen: sll.sll_halen,
                addr: sll.sll_addr,
                buf: std::slice::from_raw_parts_mut(p, end),
                data_at,
                free_from: sll_at + std::mem::size_of::<libc::sockaddr_ll>(),
            };
            self.offset += h.tp_next_offset as usize;
            Some(frame)
        }
    }
}

impl Drop for Block<'_> {
    fn drop(&mut self) {
        // Give the block back; our reads of it happen before (release).
        self.sock
            .block_status(self.index)
            .store(libc::TP_STATUS_KERNEL, Ordering::Release);
    }
}

fn tpacket_align(x: usize) -> usize {
    (x + libc::TPACKET_ALIGNMENT - 1) & !(libc::TPACKET_ALIGNMENT - 1)
}

/// Waits until the socket or `wake` is readable, or `timeout_ms` passes (-1: no limit).
/// Returns the socket's revents.
pub fn wait(sock: RawFd, wake: RawFd, timeout_ms: i32) -> io::Result<(libc::c_short, bool)> {
    let mut fds = [
        libc::pollfd {
            fd: sock,
            events: libc::POLLIN,
            revents: 0,
        },
        libc::pollfd {
            fd: wake,
            events: libc::POLLIN,
            revents: 0,
        },
    ];
    // SAFETY: `fds` is a valid array of two pollfds.
    let r = unsafe { libc::poll(fds.as_mut_ptr(), 2, timeout_ms) };
    if r < 0 {
        let e = io::Error::last_os_error();
        if e.kind() == io::ErrorKind::Interrupted {
            return Ok((0, false));
        }
        return Err(e);
    }
    Ok((fds[0].revents, fds[1].revents != 0))
}

#[cfg(test)]
mod tests {
    use super::RingSize;

    const KIB: u64 = 1024;

    fn shape(total: u64, max_frame: u32, min_block: u64) -> (u32, u32) {
        let r = RingSize::new(total, max_frame, min_block, 1000);
        (r.block_size / 1024, r.block_count)
    }

    #[test]
    fn ring_shapes() {
        // Default file ring: 16 blocks of 512 KiB; printing: 64 of 128 KiB.
        assert_eq!(shape(8192 * KIB, 1514, 512 * KIB), (512, 16));
        assert_eq!(shape(8192 * KIB, 1514, 128 * KIB), (128, 64));
        assert_eq!(shape(16384 * KIB, 1514, 512 * KIB), (512, 32));
        // A small -B keeps 16 blocks, but blocks never go below 128 KiB.
        assert_eq!(shape(2048 * KIB, 1514, 512 * KIB), (128, 16));
        assert_eq!(shape(4096 * KIB, 1514, 512 * KIB), (256, 16));
        assert_eq!(shape(1024 * KIB, 1514, 512 * KIB), (128, 8));
        // A 64 KiB loopback MTU: the block must hold one whole frame.
        assert_eq!(shape(2048 * KIB, 65536 + 64, 128 * KIB), (128, 16));
        assert_eq!(shape(256 * KIB, 262144, 128 * KIB), (512, 2));
    }
}

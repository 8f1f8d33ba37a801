//! A classic BPF interpreter with the Linux kernel's semantics. (Being written.)
use crate::cbpf::Insn;

/// Socket metadata that ancillary loads (SKF_AD_*) read.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Meta {
    /// skb->protocol: the EtherType, host byte order.
    pub protocol: u16,
    /// PACKET_HOST, PACKET_OUTGOING, ...
    pub pkttype: u32,
    pub ifindex: u32,
    /// The VLAN TCI the kernel stripped from the packet, if any.
    pub vlan_tci: Option<u16>,
    /// The TPID of the stripped tag (0x8100 or 0x88a8).
    pub vlan_tpid: u16,
    pub mark: u32,
    pub hatype: u16,
    /// Offset of the network header in `pkt`, for SKF_NET_OFF loads.
    pub net_off: usize,
    /// Offset of the link-layer header in `pkt`, for SKF_LL_OFF loads (None: no link header).
    pub ll_off: Option<usize>,
}

/// Runs `prog` over `pkt` (the captured bytes) whose length on the wire was `wirelen`.
/// Returns the program's return value: 0 rejects, anything else keeps that many bytes.
pub fn run(prog: &[Insn], pkt: &[u8], wirelen: u32, meta: &Meta) -> u32 {
    let _ = (prog, pkt, wirelen, meta);
    todo!("interp being written")
}

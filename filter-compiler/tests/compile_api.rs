//! Compiler behaviour the tcpdump differential tests cannot show: name resolution through the
//! caller's resolver, `gateway` (which libpcap built with IPv6 refuses), error spans, the
//! bounded protochain walk, and the kernel's view of tagged frames.

use filter_compiler::error::{KernelView, Named};
use filter_compiler::interp::{run, Meta};
use filter_compiler::resolve::{Resolver, ServiceProto};
use filter_compiler::{
    check::check, compile, Error, ErrorKind, LinkType, Options, Program, Target,
};

struct Table;

impl Resolver for Table {
    fn host_v4(&self, name: &str) -> Vec<[u8; 4]> {
        match name {
            "gw" => vec![[10, 0, 0, 9]],
            // As getaddrinfo lists an address once per socket type.
            "twice" => vec![[10, 0, 0, 9], [10, 0, 0, 9], [10, 0, 0, 9]],
            "dual" => vec![[10, 0, 0, 1]],
            _ => vec![],
        }
    }
    fn host_v6(&self, name: &str) -> Vec<[u8; 16]> {
        match name {
            "dual" => vec!["2001:db8::1"
                .parse::<std::net::Ipv6Addr>()
                .unwrap()
                .octets()],
            _ => vec![],
        }
    }
    fn service(&self, name: &str, proto: ServiceProto) -> Option<u16> {
        match (name, proto) {
            ("http", _) => Some(80),
            ("ssh", ServiceProto::Tcp) => Some(22),
            _ => None,
        }
    }
    fn protocol(&self, name: &str) -> Option<u8> {
        (name == "tcp").then_some(6)
    }
    fn ether_host(&self, name: &str) -> Option<[u8; 6]> {
        (name == "gw").then_some([0x02, 0, 0, 0, 0, 0x09])
    }
    fn network(&self, _: &str) -> Option<u32> {
        None
    }
}

fn opts() -> Options<'static> {
    Options {
        optimize: true,
        snaplen: 262144,
        netmask: 0,
        resolver: &Table,
    }
}

fn prog(expr: &str, target: Target) -> Program {
    let p = compile(expr, &target, &opts()).unwrap_or_else(|e| panic!("{expr}: {e}"));
    check(&p.insns).unwrap_or_else(|e| panic!("{expr}: {e}"));
    p
}

fn error(expr: &str) -> Error {
    compile(expr, &Target::offline(LinkType::En10mb), &opts()).expect_err(expr)
}

fn keeps(p: &Program, pkt: &[u8]) -> bool {
    run(&p.insns, pkt, pkt.len() as u32, &Meta::default()) != 0
}

/// Ethernet + IPv4 + TCP SYN, ports 40000 -> dport.
fn tcp4(dst_mac: [u8; 6], src: [u8; 4], dst: [u8; 4], dport: u16) -> Vec<u8> {
    let mut f = Vec::new();
    f.extend(dst_mac);
    f.extend([0x00, 0x11, 0x22, 0x33, 0x44, 0x55]);
    f.extend([0x08, 0x00]);
    f.extend([0x45, 0, 0, 40, 0, 1, 0, 0, 64, 6, 0, 0]);
    f.extend(src);
    f.extend(dst);
    f.extend(40000u16.to_be_bytes());
    f.extend(dport.to_be_bytes());
    f.extend([0; 8]);
    f.extend([0x50, 0x02, 0xff, 0xff, 0, 0, 0, 0]);
    f
}

/// Ethernet + IPv6 with `ext` extension headers (hop-by-hop / destination options, 8 bytes
/// each) before TCP.
fn tcp6_behind(ext: usize) -> Vec<u8> {
    let mut f = vec![
        0x66, 0x77, 0x88, 0x99, 0xaa, 0xbb, 0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x86, 0xdd,
    ];
    let first = if ext == 0 { 6 } else { 0 };
    f.extend([0x60, 0, 0, 0, 0, (ext * 8 + 20) as u8, first, 64]);
    f.extend([0x20, 0x01, 0x0d, 0xb8].iter().chain(&[0; 11]).chain(&[1]));
    f.extend([0x20, 0x01, 0x0d, 0xb8].iter().chain(&[0; 11]).chain(&[2]));
    for i in 0..ext {
        let next = if i + 1 == ext { 6 } else { 60 };
        f.extend([next, 0, 0, 0, 0, 0, 0, 0]);
    }
    f.extend([0x9c, 0x40, 0, 80]);
    f.extend([0; 16]);
    f
}

/// Ethernet + ARP request (sender `spa`, target `tpa`); EtherType `ty` (0x0806, or 0x8035
/// for RARP).
fn arp(dst_mac: [u8; 6], ty: u16, spa: [u8; 4], tpa: [u8; 4]) -> Vec<u8> {
    let mut f = Vec::new();
    f.extend(dst_mac);
    f.extend([0x00, 0x11, 0x22, 0x33, 0x44, 0x55]);
    f.extend(ty.to_be_bytes());
    f.extend([0, 1, 8, 0, 6, 4, 0, 1]);
    f.extend([0x00, 0x11, 0x22, 0x33, 0x44, 0x55]);
    f.extend(spa);
    f.extend([0; 6]);
    f.extend(tpa);
    f
}

#[test]
fn gateway_is_ethernet_host_but_not_ip_host() {
    let en = Target::offline(LinkType::En10mb);
    let p = prog("gateway gw", en);
    let gw_mac = [0x02, 0, 0, 0, 0, 0x09];
    // Routed through gw: to its MAC, to another IP address.
    assert!(keeps(&p, &tcp4(gw_mac, [10, 0, 0, 1], [8, 8, 8, 8], 80)));
    // To gw itself: not routed through it.
    assert!(!keeps(&p, &tcp4(gw_mac, [10, 0, 0, 1], [10, 0, 0, 9], 80)));
    // Not via gw's MAC at all.
    assert!(!keeps(
        &p,
        &tcp4([0x66; 6], [10, 0, 0, 1], [8, 8, 8, 8], 80)
    ));
    assert_eq!(
        error("gateway nosuch").kind,
        ErrorKind::Unknown {
            what: Named::EtherHost,
            name: "nosuch".into()
        }
    );
}

/// Current libpcap's meaning (its issue 1571): the frame must be of the protocol named, all
/// three of ARP/IPv4/RARP when none is; `gateway` inside MPLS or Geneve is refused.
#[test]
fn gateway_needs_the_protocol_it_names() {
    let en = Target::offline(LinkType::En10mb);
    let gw_mac = [0x02, 0, 0, 0, 0, 0x09];
    let mut v6 = tcp6_behind(0);
    v6[..6].copy_from_slice(&gw_mac);
    let arp_other = arp(gw_mac, 0x0806, [10, 0, 0, 1], [10, 0, 0, 2]);
    let arp_gw = arp(gw_mac, 0x0806, [10, 0, 0, 1], [10, 0, 0, 9]);
    let rarp_other = arp(gw_mac, 0x8035, [10, 0, 0, 1], [10, 0, 0, 2]);
    let ip_other = tcp4(gw_mac, [10, 0, 0, 1], [8, 8, 8, 8], 80);
    // (expression, IPv6, ARP not about gw, ARP about gw, RARP not about gw, IPv4 not about gw)
    for (expr, want) in [
        ("gateway gw", [false, true, false, true, true]),
        ("ip gateway gw", [false, false, false, false, true]),
        ("arp gateway gw", [false, true, false, false, false]),
        ("rarp gateway gw", [false, false, false, true, false]),
    ] {
        let p = prog(expr, en);
        let got = [&v6, &arp_other, &arp_gw, &rarp_other, &ip_other].map(|f| keeps(&p, f));
        assert_eq!(got, want, "{expr}");
    }
    for (expr, msg) in [
        (
            "mpls and gateway gw",
            "'gateway' cannot be used within MPLS",
        ),
        (
            "geneve and gateway gw",
            "'gateway' cannot be used within Geneve",
        ),
        ("ip6 gateway gw", "illegal qualifier of 'gateway': 'ip6'"),
    ] {
        assert_eq!(error(expr).to_string(), msg, "{expr}");
    }
}

/// Even unoptimized (the optimizer would merge the copies, at a cost in compile time).
#[test]
fn repeated_addresses_of_a_name_are_tested_once() {
    let en = Target::offline(LinkType::En10mb);
    let unopt = |e: &str| {
        let o = Options {
            optimize: false,
            ..opts()
        };
        compile(e, &en, &o).unwrap().insns
    };
    assert_eq!(unopt("host twice"), unopt("host 10.0.0.9"));
}

#[test]
fn host_names_cover_every_address_of_the_name() {
    let both = prog("host dual", Target::offline(LinkType::En10mb));
    let v6only = prog("ip6 host dual", Target::offline(LinkType::En10mb));
    let v4 = tcp4([0x66; 6], [10, 0, 0, 1], [8, 8, 8, 8], 80);
    let v6 = tcp6_behind(0);
    assert!(keeps(&both, &v4) && keeps(&both, &v6));
    assert!(!keeps(&v6only, &v4) && keeps(&v6only, &v6));
    let e = error("host nosuch and tcp");
    assert_eq!(e.to_string(), "unknown host 'nosuch'");
    assert_eq!(e.span, Some(5..11));
}

#[test]
fn service_names_follow_libpcap() {
    // Known for TCP only: `port ssh` is TCP port 22 only; `udp port ssh` is an error.
    let p = prog("port ssh", Target::offline(LinkType::En10mb));
    assert!(keeps(
        &p,
        &tcp4([0x66; 6], [10, 0, 0, 1], [10, 0, 0, 2], 22)
    ));
    assert_eq!(error("udp port ssh").to_string(), "port 'ssh' is tcp");
    assert!(prog("tcp port http", Target::offline(LinkType::En10mb)).len() > 2);
    assert_eq!(error("port nosuch").to_string(), "unknown port 'nosuch'");
}

#[test]
fn errors_name_the_token() {
    let cases: &[(&str, &str, std::ops::Range<usize>)] = &[
        ("tcp port 99999", "illegal port number 99999 > 65535", 9..14),
        (
            "tcp port",
            "expected a port number or name after 'port', found end of expression",
            8..9,
        ),
        (
            "ip6 net 10.0.0.0/8",
            "'ip6' modifier applied to ip net",
            8..18,
        ),
        (
            "net 10.0.0.1/8",
            "non-network bits set in \"10.0.0.1/8\"",
            4..14,
        ),
        ("ip[0] / 0 = 1", "division by zero", 6..7),
        ("vlan 5000", "VLAN tag 5000 greater than maximum 4095", 0..9),
        ("tcp and and udp", "syntax error at 'and'", 8..11),
    ];
    for (expr, msg, span) in cases {
        let e = error(expr);
        assert_eq!(
            (&e.to_string()[..], e.span.clone()),
            (*msg, Some(span.clone())),
            "{expr}"
        );
        let text = e.render(expr);
        assert!(
            text.lines().nth(2).unwrap().trim_start().starts_with('^'),
            "{text}"
        );
    }
}

#[test]
fn protochain_walks_a_bounded_chain_forward_only() {
    let p = prog("ip6 protochain 6", Target::offline(LinkType::En10mb));
    for ext in 0..=filter_compiler::lower::PROTOCHAIN_STEPS as usize {
        assert!(
            keeps(&p, &tcp6_behind(ext)),
            "TCP behind {ext} extension headers"
        );
    }
    // Past the bound the walk gives up (libpcap would loop on, in user space).
    let beyond = filter_compiler::lower::PROTOCHAIN_STEPS as usize + 1;
    assert!(!keeps(&p, &tcp6_behind(beyond)));
    let udp = prog("ip6 protochain 17", Target::offline(LinkType::En10mb));
    assert!(!keeps(&udp, &tcp6_behind(3)));
}

#[test]
fn kernel_program_sees_stripped_tags_as_the_file_does() {
    // A VLAN 10 tagged IPv4 TCP frame as stored, and as the kernel shows it.
    let plain = tcp4([0x66; 6], [10, 0, 0, 1], [10, 0, 0, 2], 80);
    let mut stored = plain[..12].to_vec();
    stored.extend([0x81, 0x00, 0x20, 0x0a]); // PCP 1, VID 10
    stored.extend(&plain[12..]);
    let meta = Meta {
        vlan_tci: Some(0x200a),
        vlan_tpid: 0x8100,
        protocol: 0x0800,
        ..Meta::default()
    };
    for expr in [
        "ip",
        "vlan",
        "vlan 10 and tcp port 80",
        "vlan 11",
        "len > 57",
        "len > 58",
        "ether[14:2] & 0xfff = 10",
    ] {
        let offline = prog(expr, Target::offline(LinkType::En10mb));
        let kernel = prog(expr, Target::kernel(LinkType::En10mb));
        let want = keeps(&offline, &stored);
        let got = run(&kernel.insns, &plain, plain.len() as u32, &meta) != 0;
        assert_eq!(got, want, "{expr}");
    }
}

#[test]
fn cooked_kernel_socket_reads_header_fields_from_metadata() {
    let p = prog("link[10] = 4", Target::kernel(LinkType::LinuxSll2));
    let ip = &tcp4([0; 6], [10, 0, 0, 1], [10, 0, 0, 2], 80)[14..];
    let out = Meta {
        pkttype: 4,
        protocol: 0x0800,
        ..Meta::default()
    };
    let inb = Meta {
        pkttype: 0,
        protocol: 0x0800,
        ..Meta::default()
    };
    assert!(run(&p.insns, ip, ip.len() as u32, &out) != 0);
    assert!(run(&p.insns, ip, ip.len() as u32, &inb) == 0);
    let e = compile(
        "link[12:4] = 1",
        &Target::kernel(LinkType::LinuxSll2),
        &opts(),
    )
    .unwrap_err();
    assert_eq!(e.kind, KernelView::CookedField.into(), "{e}");
}

/// An 802.2 frame carrying an OSI PDU: NLPID `nlpid`, then (for IS-IS) PDU type `pdu` 4
/// bytes into its header; behind an Ethernet 802.3 header or a Linux cooked (v1) one.
fn iso_frame(cooked: bool, nlpid: u8, pdu: u8) -> Vec<u8> {
    let osi = [0xfe, 0xfe, 0x03, nlpid, 27, 1, 0, pdu, 0, 0, 0, 0];
    let mut f = Vec::new();
    if cooked {
        // Packet type, ARPHRD_ETHER, address length, address, protocol ETH_P_802_2.
        f.extend([0, 0, 0, 1, 0, 6, 2, 0, 0, 0, 0, 1, 0, 0, 0x00, 0x04]);
    } else {
        f.extend([0xff; 6]);
        f.extend([0x02, 0, 0, 0, 0, 1]);
        f.extend((osi.len() as u16).to_be_bytes());
    }
    f.extend(osi);
    f
}

/// The OSI primitives read the NLPID where libpcap does: behind the 802.2 header on
/// Ethernet, and on Linux cooked captures at the payload's first byte (init_linktype's
/// off_nl_nosnap 0), where the 802.2 DSAP is, so libpcap's programs for `clnp`, `isis`,
/// `iso proto N`, `l1`... never match there; ours now agree (they read 3 bytes on before).
#[test]
fn osi_protocols_read_the_nlpid_where_libpcap_does() {
    for (expr, nlpid, pdu) in [
        ("clnp", 0x81, 0),
        ("iso proto 0x81", 0x81, 0),
        ("isis", 0x83, 0),
        ("isis proto 0x12", 0x83, 0x12),
        ("l1", 0x83, 0x0f),
    ] {
        let eth = prog(expr, Target::offline(LinkType::En10mb));
        assert!(
            keeps(&eth, &iso_frame(false, nlpid, pdu)),
            "{expr} on Ethernet"
        );
        assert!(
            !keeps(&eth, &iso_frame(false, 0x82, pdu)),
            "{expr} on Ethernet, ES-IS"
        );
        let sll = prog(expr, Target::offline(LinkType::LinuxSll));
        assert!(
            !keeps(&sll, &iso_frame(true, nlpid, pdu)),
            "{expr} on LINUX_SLL keeps what libpcap's program drops"
        );
    }
    // `isis proto N` compares the PDU type, as `l1` and the like do.
    let p = prog("isis proto 0x12 or 0x14", Target::offline(LinkType::En10mb));
    assert!(keeps(&p, &iso_frame(false, 0x83, 0x14)));
    assert!(!keeps(&p, &iso_frame(false, 0x83, 0x13)));
}

/// Blocks that differ only in a reload the optimizer drops are merged afterwards, as
/// libpcap's are: `tcp or udp or sctp` is 14 instructions (18 before), a `portrange` no
/// longer than libpcap's (tcpdump 4.99.3: 23 for `tcp portrange 1000-2000`, 27 without
/// `tcp`, 21 for `src portrange 1-1023`).
#[test]
fn tails_left_identical_by_dropped_reloads_are_merged() {
    for (expr, libpcap) in [
        ("tcp or udp or sctp", 14),
        ("tcp portrange 1000-2000", 23),
        ("portrange 1000-2000", 27),
        ("src portrange 1-1023", 21),
    ] {
        let p = prog(expr, Target::offline(LinkType::En10mb));
        assert!(
            p.insns.len() <= libpcap,
            "{expr}: {} instructions, libpcap {libpcap}",
            p.insns.len()
        );
    }
}

/// LINUX_SLL `ipx`: the 802.2 SAP (byte 16) is tested before the SNAP header's EtherType
/// (bytes 20-21) is loaded, as in libpcap, so a short 802.2 IPX frame is kept.
#[test]
fn sll_ipx_tests_the_sap_before_loading_past_it() {
    let p = prog("ipx", Target::offline(LinkType::LinuxSll));
    for len in 17..=23 {
        let mut f = vec![0, 0, 0, 1, 0, 6, 2, 0, 0, 0, 0, 9, 0, 0, 0x00, 0x04, 0xe0];
        f.resize(len, 0xff);
        assert!(keeps(&p, &f), "{len}-byte frame");
    }
}

/// Ethernet + IPv4 (with `opt_words` words of options) + UDP to `dport` + VXLAN (`flags`,
/// `vni`) + the inner Ethernet/IPv4/TCP frame `tcp4(inner_mac, ..)`.
fn vxlan4(opt_words: u8, dport: u16, flags: u8, vni: u32, inner: &[u8]) -> Vec<u8> {
    let mut f = vec![0x66; 6];
    f.extend([0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x08, 0x00]);
    f.extend([0x40 | (5 + opt_words), 0, 0, 0, 0, 1, 0, 0, 64, 17, 0, 0]);
    f.extend([192, 0, 2, 1, 192, 0, 2, 2]);
    f.extend(std::iter::repeat_n(1u8, 4 * opt_words as usize));
    f.extend([0xc0, 0x00]);
    f.extend(dport.to_be_bytes());
    f.extend([0, 0, 0, 0]);
    f.extend([flags, 0, 0, 0]);
    f.extend((vni << 8).to_be_bytes());
    f.extend(inner);
    f
}

/// `vxlan [VNI]` as libpcap's gen_vxlan: UDP destination port 4789, flags byte exactly 0x08,
/// the VNI; what follows reads the inner Ethernet frame, wherever the outer IP header ends.
#[test]
fn vxlan_looks_inside_the_tunnel() {
    let en = Target::offline(LinkType::En10mb);
    let inner = tcp4([0x02, 0, 0, 0, 0, 0x07], [10, 1, 1, 1], [10, 1, 1, 2], 80);
    let inner_ssh = tcp4([0x02, 0, 0, 0, 0, 0x07], [10, 1, 1, 1], [10, 1, 1, 2], 22);
    for opt in [0, 2] {
        let good = vxlan4(opt, 4789, 0x08, 100, &inner);
        let cases: [(&str, &[u8], bool); 9] = [
            ("vxlan", &good, true),
            ("vxlan 100", &good, true),
            ("vxlan 101", &good, false),
            ("vxlan and tcp port 80", &good, true),
            ("vxlan and tcp port 22", &good, false),
            ("vxlan and ether dst 02:00:00:00:00:07", &good, true),
            (
                "vxlan and tcp port 80",
                &vxlan4(opt, 4789, 0x08, 100, &inner_ssh),
                false,
            ),
            ("vxlan", &vxlan4(opt, 4789, 0x0c, 100, &inner), false),
            ("vxlan", &vxlan4(opt, 4790, 0x08, 100, &inner), false),
        ];
        for (expr, pkt, want) in cases {
            let p = prog(expr, en);
            assert_eq!(keeps(&p, pkt), want, "{expr}, {opt} option words");
            // The kernel accepts the live program too.
            let k = prog(expr, Target::kernel(LinkType::En10mb));
            check(&k.insns).unwrap_or_else(|e| panic!("{expr}: {e}"));
        }
    }
    assert_eq!(
        error("vxlan 16777216").to_string(),
        "VXLAN VNI 16777216 greater than maximum 16777215"
    );
    assert!(error("vxlan and protochain 6")
        .to_string()
        .contains("after 'vxlan'"));
}

/// Current libpcap's EtherType names `lldp` (0x88cc) and `slow` (0x8809).
#[test]
fn lldp_and_slow_are_ethertype_names() {
    for lt in [LinkType::En10mb, LinkType::LinuxSll] {
        let t = Target::offline(lt);
        assert_eq!(
            prog("ether proto lldp", t).insns,
            prog("ether proto 0x88cc", t).insns
        );
        assert_eq!(
            prog("ether proto slow", t).insns,
            prog("ether proto 0x8809", t).insns
        );
    }
}

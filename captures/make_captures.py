#!/usr/bin/env python3
"""Generate the sample capture files in this directory.

Run from anywhere:  python3 captures/make_captures.py

Output is deterministic (fixed seed, explicit field values, no wall-clock
time); re-running produces byte-identical files.  The pcap / pcapng files are
written by hand with `struct` so that caplen < wirelen (truncated frames) and
nanosecond timestamps are fully under our control; scapy is only used to build
packet bytes.

Timestamps: packet i (0-based) in every file has time
    1700000000 s + i * 1 ms                (microsecond files)
    1700000000 s + i * 1 ms + 123 ns       (nanosecond files)
so tests can identify a packet by its timestamp.

Also writes README.md (packet group index) next to the captures.
"""

import os
import random
import struct
import sys

from scapy.config import conf

conf.verb = 0
import logging

logging.getLogger("scapy.runtime").setLevel(logging.ERROR)

from scapy.compat import raw
from scapy.layers.l2 import Ether, Dot3, LLC, SNAP, STP, ARP, Dot1Q, Dot1AD
from scapy.layers.inet import IP, TCP, UDP, ICMP, IPOption_RR, IPOption_Router_Alert
from scapy.layers.inet import fragment as ip_fragment
from scapy.layers.inet6 import (
    IPv6,
    IPv6ExtHdrHopByHop,
    IPv6ExtHdrDestOpt,
    IPv6ExtHdrRouting,
    IPv6ExtHdrFragment,
    RouterAlert,
    PadN,
    ICMPv6EchoRequest,
    ICMPv6EchoReply,
    ICMPv6ND_NS,
    ICMPv6ND_NA,
    ICMPv6ND_RS,
    ICMPv6ND_RA,
    ICMPv6NDOptSrcLLAddr,
    ICMPv6NDOptDstLLAddr,
    ICMPv6NDOptPrefixInfo,
    ICMPv6MLQuery,
    ICMPv6MLReport,
    ICMPv6DestUnreach,
    ICMPv6PacketTooBig,
    ICMPv6TimeExceeded,
)
from scapy.layers.dhcp import BOOTP, DHCP
from scapy.layers.dns import DNS, DNSQR, DNSRR
from scapy.layers.l2 import GRE
from scapy.layers.sctp import (
    SCTP,
    SCTPChunkInit,
    SCTPChunkInitAck,
    SCTPChunkData,
    SCTPChunkSACK,
)
from scapy.layers.vrrp import VRRP
from scapy.layers.ipsec import AH, ESP
from scapy.contrib.mpls import MPLS
from scapy.utils import checksum

HERE = os.path.dirname(os.path.abspath(__file__))
SEED = 20231114
random.seed(SEED)

# --------------------------------------------------------------------------
# Address plan
# --------------------------------------------------------------------------
MAC_A = "00:11:22:33:44:55"
MAC_B = "66:77:88:99:aa:bb"
MAC_C = "02:00:00:00:00:01"
BCAST = "ff:ff:ff:ff:ff:ff"
MC4 = "01:00:5e:00:00:01"  # 224.0.0.1
MC4_239 = "01:00:5e:01:02:03"  # 239.1.2.3
MC6 = "33:33:00:00:00:01"  # ff02::1
MC6_SN = "33:33:ff:00:00:01"  # ff02::1:ff00:1
STP_MAC = "01:80:c2:00:00:00"  # protocol-defined (STP)
LLDP_MAC = "01:80:c2:00:00:0e"  # protocol-defined (LLDP)

H1 = "10.0.0.1"
H2 = "10.0.0.2"
H3 = "10.1.2.3"
H4 = "192.168.1.10"
H5 = "192.168.1.20"
H6 = "172.16.5.4"
H7 = "8.8.8.8"
MCAST1 = "224.0.0.1"
MCAST2 = "239.1.2.3"
BCAST4 = "255.255.255.255"
SUBBC = "192.168.1.255"

V6_1 = "2001:db8::1"
V6_2 = "2001:db8::2"
V6_3 = "2001:db8:1::10"
LL1 = "fe80::1"
LL2 = "fe80::2"
ALLNODES = "ff02::1"
SOLNODE = "ff02::1:ff00:1"

# host pairs (client, server) cycled through by several groups
PAIRS4 = [(H1, H4), (H2, H7), (H3, H6), (H5, H1), (H6, H4), (H4, H2), (H1, H3), (H5, H7)]
MACPAIRS = [(MAC_A, MAC_B), (MAC_C, MAC_B), (MAC_A, MAC_C)]

TS_BASE = 1700000000

# --------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------


class Pkt:
    """One capture record: bytes actually captured + original wire length."""

    __slots__ = ("data", "wirelen")

    def __init__(self, data, wirelen=None):
        self.data = bytes(data)
        self.wirelen = len(self.data) if wirelen is None else wirelen
        assert self.wirelen >= len(self.data) >= 1


def full(p):
    return Pkt(raw(p))


def trunc(p, caplen, wirelen=None):
    b = raw(p)
    wl = len(b) if wirelen is None else wirelen
    return Pkt(b[:caplen], wl)


def payload(n, tag=b""):
    """Deterministic pseudo-random payload of n bytes (optional prefix)."""
    body = bytes(random.getrandbits(8) for _ in range(max(0, n - len(tag))))
    return (tag + body)[:n]


def text(n, s=b"bpfdump sample payload "):
    return (s * (n // len(s) + 1))[:n]


def eth(src, dst, **kw):
    return Ether(src=src, dst=dst, **kw)


def ip4(src, dst, **kw):
    kw.setdefault("ttl", 64)
    kw.setdefault("id", random.randrange(1, 65535))
    return IP(src=src, dst=dst, **kw)


def ip6(src, dst, **kw):
    kw.setdefault("hlim", 64)
    return IPv6(src=src, dst=dst, **kw)


def tcp(sport, dport, flags="S", **kw):
    kw.setdefault("seq", random.getrandbits(32))
    if "A" in str(flags) and "ack" not in kw:
        kw["ack"] = random.getrandbits(32)
    kw.setdefault("window", 64240)
    return TCP(sport=sport, dport=dport, flags=flags, **kw)


SYN_OPTS = [("MSS", 1460), ("SAckOK", b""), ("Timestamp", (123456, 0)), ("NOP", None), ("WScale", 7)]


def mpls(label, s, ttl=64, cos=0):
    return MPLS(label=label, s=s, ttl=ttl, cos=cos)


def pppoe_hdr(code, session, length):
    return struct.pack("!BBHH", 0x11, code, session, length)


def pppoe_tag(ttype, value=b""):
    return struct.pack("!HH", ttype, len(value)) + value


def with_csum(b, off):
    """Insert Internet checksum at byte offset off (field must be zero)."""
    c = checksum(b)
    return b[:off] + struct.pack("!H", c) + b[off + 2 :]


def igmp(typ, mrt, group):
    b = struct.pack("!BBH4s", typ, mrt, 0, bytes(int(x) for x in group.split(".")))
    return with_csum(b, 2)


# --------------------------------------------------------------------------
# Groups for sample.pcap
# --------------------------------------------------------------------------
GROUPS = []  # list of (key, description, [Pkt])


def group(key, desc, pkts, quota):
    GROUPS.append((key, desc, pkts, quota))


def g_tcp_flags():
    mixes = [
        ("S", "SYN"),
        ("SA", "SYN-ACK"),
        ("A", "ACK"),
        ("PA", "PSH-ACK"),
        ("FA", "FIN-ACK"),
        ("R", "RST"),
        ("F", "FIN"),
        ("RA", "RST-ACK"),
        ("UA", "URG-ACK"),
        ("U", "URG"),
        ("E", "ECE"),
        ("C", "CWR"),
        ("SEC", "SYN+ECE+CWR"),
        ("FSRPAUEC", "all flags"),
        (0, "no flags"),
        ("FPU", "FIN+PSH+URG (xmas)"),
    ]
    ports = [(40000, 80), (40001, 443), (50000, 22), (1024, 8080), (1025, 1030), (0, 65535),
             (60000, 80), (1026, 443)]
    out = []
    for i, (fl, _name) in enumerate(mixes):
        cli, srv = PAIRS4[i % len(PAIRS4)]
        ma, mb = MACPAIRS[i % len(MACPAIRS)]
        sp, dp = ports[i % len(ports)]
        kw = {}
        if fl == "S" or fl == "SEC":
            kw["options"] = SYN_OPTS
        if isinstance(fl, str) and "U" in fl:
            kw["urgptr"] = 5
        data = text(12) if isinstance(fl, str) and "P" in fl else b""
        df = "DF" if i % 3 != 2 else 0
        fwd = eth(ma, mb) / ip4(cli, srv, flags=df) / tcp(sp, dp, fl, **kw) / data
        rev = eth(mb, ma) / ip4(srv, cli, flags=df, ttl=57) / tcp(dp, sp, fl, **kw) / data
        out += [full(fwd), full(rev)]
    return out


def g_tcp_sessions():
    out = []
    # HTTP 10.0.0.1:40100 -> 192.168.1.10:80 with a full-size response
    c, s, cp, sp = H1, H4, 40100, 80
    cseq, sseq = 1000, 5000

    def c2s(fl, data=b"", **kw):
        return full(eth(MAC_A, MAC_B) / ip4(c, s, flags="DF") / TCP(sport=cp, dport=sp, flags=fl, seq=cseq, ack=sseq if "A" in fl else 0, window=502, **kw) / data)

    def s2c(fl, data=b"", **kw):
        return full(eth(MAC_B, MAC_A) / ip4(s, c, flags="DF", ttl=63) / TCP(sport=sp, dport=cp, flags=fl, seq=sseq, ack=cseq, window=509, **kw) / data)

    out.append(c2s("S", options=SYN_OPTS))
    cseq += 1
    out.append(s2c("SA", options=SYN_OPTS))
    sseq += 1
    out.append(c2s("A"))
    req = b"GET /index.html HTTP/1.1\r\nHost: 192.168.1.10\r\nUser-Agent: bpfdump-test\r\n\r\n"
    out.append(c2s("PA", req))
    cseq += len(req)
    for n in (1460, 1460, 733):
        out.append(s2c("A" if n == 1460 else "PA", text(n, b"<html>hello</html>")))
        sseq += n
    out.append(c2s("A"))
    out.append(c2s("FA"))
    cseq += 1
    out.append(s2c("FA"))
    sseq += 1
    out.append(c2s("A"))

    # SSH 10.1.2.3:50022 -> 172.16.5.4:22 small packets
    for i in range(4):
        fwd = i % 2 == 0
        sport, dport = (50022, 22) if fwd else (22, 50022)
        src, dst = (H3, H6) if fwd else (H6, H3)
        ms, md = (MAC_C, MAC_B) if fwd else (MAC_B, MAC_C)
        out.append(full(eth(ms, md) / ip4(src, dst, flags="DF") / tcp(sport, dport, "PA") / payload(36 + 16 * i, b"SSH-2.0-")))
    # TLS 192.168.1.20:55555 -> 8.8.8.8:443 and a refused 8080 connection
    out.append(full(eth(MAC_A, MAC_B) / ip4(H5, H7, flags="DF") / tcp(55555, 443, "PA") / payload(517, b"\x16\x03\x01\x02\x00\x01")))
    out.append(full(eth(MAC_B, MAC_A) / ip4(H7, H5, flags="DF", ttl=120) / tcp(443, 55555, "PA") / payload(1200, b"\x16\x03\x03")))
    out.append(full(eth(MAC_A, MAC_B) / ip4(H2, H4, flags="DF") / tcp(45678, 8080, "S", options=SYN_OPTS)))
    out.append(full(eth(MAC_B, MAC_A) / ip4(H4, H2, flags="DF") / tcp(8080, 45678, "RA", seq=0)))
    return out


def g_port_matrix():
    ports = [22, 53, 80, 443, 8080, 1024, 1025, 1026, 1027, 1028, 1029, 1030, 67, 68, 123, 5060, 0, 65535,
             40000, 50000, 60000]
    out = []
    for i, p in enumerate(ports):
        cli, srv = PAIRS4[i % len(PAIRS4)]
        ma, mb = MACPAIRS[i % len(MACPAIRS)]
        eph = 41000 + i * 731
        # TCP SYN client:eph -> server:p, and server:p -> client:eph SYN-ACK
        out.append(full(eth(ma, mb) / ip4(cli, srv, flags="DF") / tcp(eph, p, "S")))
        out.append(full(eth(mb, ma) / ip4(srv, cli, flags="DF") / tcp(p, eph, "SA")))
        # UDP p -> p+? (src p), reversed host direction
        out.append(full(eth(mb, ma) / ip4(srv, cli) / UDP(sport=p, dport=eph) / payload(8 + (i * 37) % 200)))
    return out


def g_udp():
    out = []
    dnsq = DNS(id=0x1a2b, rd=1, qd=DNSQR(qname="example.com", qtype="A"))
    dnsr = DNS(id=0x1a2b, qr=1, rd=1, ra=1, qd=DNSQR(qname="example.com", qtype="A"),
               an=DNSRR(rrname="example.com", type="A", ttl=300, rdata="172.16.5.4"))
    out.append(full(eth(MAC_A, MAC_B) / ip4(H1, H7) / UDP(sport=53000, dport=53) / dnsq))
    out.append(full(eth(MAC_B, MAC_A) / ip4(H7, H1, ttl=118) / UDP(sport=53, dport=53000) / dnsr))
    # DHCP discover / offer
    chaddr = bytes.fromhex("001122334455") + b"\x00" * 10
    out.append(full(eth(MAC_A, BCAST) / ip4("0.0.0.0", BCAST4, ttl=128) / UDP(sport=68, dport=67) /
                    BOOTP(op=1, xid=0x11223344, chaddr=chaddr, flags=0x8000) /
                    DHCP(options=[("message-type", "discover"), ("hostname", b"bpfdump"), "end"])))
    out.append(full(eth(MAC_B, BCAST) / ip4(H5, BCAST4, ttl=128) / UDP(sport=67, dport=68) /
                    BOOTP(op=2, xid=0x11223344, chaddr=chaddr, yiaddr=H4, siaddr=H5, flags=0x8000) /
                    DHCP(options=[("message-type", "offer"), ("server_id", H5), ("lease_time", 3600),
                                  ("subnet_mask", "255.255.255.0"), ("router", H5), "end"])))
    # NTP client/server (mode 3 / mode 4)
    ntpc = bytes([0x23, 0, 6, 0xEC]) + b"\x00" * 36 + struct.pack("!II", 3908988800, 0x80000000)
    ntps = bytes([0x24, 2, 6, 0xE9]) + b"\x00" * 4 + b"\x00\x00\x00\x20" + b"GOOG" + b"\x00" * 32
    out.append(full(eth(MAC_A, MAC_B) / ip4(H2, H7) / UDP(sport=123, dport=123) / ntpc))
    out.append(full(eth(MAC_B, MAC_A) / ip4(H7, H2, ttl=118) / UDP(sport=123, dport=123) / ntps))
    # SIP
    sip = b"OPTIONS sip:172.16.5.4 SIP/2.0\r\nVia: SIP/2.0/UDP 10.1.2.3:5060\r\nMax-Forwards: 70\r\n\r\n"
    out.append(full(eth(MAC_C, MAC_B) / ip4(H3, H6) / UDP(sport=5060, dport=5060) / sip))
    out.append(full(eth(MAC_B, MAC_C) / ip4(H6, H3) / UDP(sport=5060, dport=5060) / b"SIP/2.0 200 OK\r\n\r\n"))
    # low ports 1024-1030
    out.append(full(eth(MAC_A, MAC_B) / ip4(H3, H5) / UDP(sport=1027, dport=1028) / payload(20)))
    out.append(full(eth(MAC_B, MAC_A) / ip4(H5, H3) / UDP(sport=1028, dport=1027) / payload(30)))
    # broadcast / multicast destinations
    out.append(full(eth(MAC_A, BCAST) / ip4(H4, SUBBC, ttl=1) / UDP(sport=40010, dport=1029) / text(50)))
    out.append(full(eth(MAC_C, BCAST) / ip4(H5, BCAST4, ttl=1) / UDP(sport=40011, dport=1030) / text(40)))
    out.append(full(eth(MAC_A, MC4) / ip4(H4, MCAST1, ttl=1) / UDP(sport=40012, dport=1030) / text(24)))
    out.append(full(eth(MAC_B, MC4_239) / ip4(H5, MCAST2, ttl=8) / UDP(sport=5060, dport=5060) / text(64)))
    out.append(full(eth(MAC_A, MC4_239) / ip4(H1, MCAST2, ttl=8) / UDP(sport=50000, dport=1024) / text(300)))
    # zero-checksum UDP, port 0 and 65535
    out.append(full(eth(MAC_A, MAC_B) / ip4(H1, H2) / UDP(sport=0, dport=65535, chksum=0) / payload(16)))
    out.append(full(eth(MAC_B, MAC_A) / ip4(H2, H1) / UDP(sport=65535, dport=0) / payload(16)))
    return out


def g_sizes():
    """Packets of assorted sizes (frame lengths noted) for less/greater/len."""
    out = []
    # total frame size = 14 + 20 + 8 + n
    for k, frame in enumerate([42, 60, 64, 100, 128, 256, 512, 576, 1000, 1024, 1200, 1400, 1500, 1514]):
        cli, srv = PAIRS4[k % len(PAIRS4)]
        n = frame - 42
        ma, mb = MACPAIRS[k % len(MACPAIRS)]
        if k % 2:
            cli, srv, ma, mb = srv, cli, mb, ma
        out.append(full(eth(ma, mb) / ip4(cli, srv) / UDP(sport=40200 + k, dport=[53, 80, 123, 443, 5060][k % 5]) / payload(n)))
    return out


def g_icmp():
    out = []
    ab = (MAC_A, MAC_B)
    ba = (MAC_B, MAC_A)
    ping = text(56, b"abcdefghijklmnopqrstuvwabcdefghi")
    out.append(full(eth(*ab) / ip4(H1, H7) / ICMP(type=8, id=0x4242, seq=1) / ping))
    out.append(full(eth(*ba) / ip4(H7, H1, ttl=118) / ICMP(type=0, id=0x4242, seq=1) / ping))
    out.append(full(eth(*ab) / ip4(H4, SUBBC) / ICMP(type=8, id=0x4243, seq=1) / ping))
    out.append(full(eth(MAC_C, MAC_A) / ip4(H5, H4) / ICMP(type=0, id=0x4243, seq=1) / ping))
    # dest unreachable: port unreachable quoting UDP, host unreachable, frag needed
    q_udp = raw(IP(src=H1, dst=H5, id=77, ttl=64) / UDP(sport=40000, dport=53) / (b"\x00" * 8))
    out.append(full(eth(*ba) / ip4(H5, H1) / ICMP(type=3, code=3) / q_udp[:28]))
    q_tcp = raw(IP(src=H1, dst=H6, id=78, ttl=64, flags="DF") / TCP(sport=40002, dport=443, flags="S", seq=1))
    out.append(full(eth(*ba) / ip4(H4, H1) / ICMP(type=3, code=1) / q_tcp[:28]))
    out.append(full(eth(*ba) / ip4(H5, H1) / ICMP(type=3, code=4, nexthopmtu=1400) / q_tcp[:28]))
    # time exceeded (traceroute)
    q_tr = raw(IP(src=H1, dst=H7, id=79, ttl=1) / UDP(sport=33434, dport=33435) / (b"\x00" * 8))
    out.append(full(eth(*ba) / ip4(H6, H1) / ICMP(type=11, code=0) / q_tr[:28]))
    # redirect
    q_rd = raw(IP(src=H4, dst=H7, id=80, ttl=64) / UDP(sport=40003, dport=53) / (b"\x00" * 8))
    out.append(full(eth(*ba) / ip4(H5, H4) / ICMP(type=5, code=1, gw=H5) / q_rd[:28]))
    # timestamp request / reply (fixed times)
    out.append(full(eth(*ab) / ip4(H1, H4) / ICMP(type=13, id=9, seq=1, ts_ori=3600000, ts_rx=0, ts_tx=0)))
    out.append(full(eth(*ba) / ip4(H4, H1) / ICMP(type=14, id=9, seq=1, ts_ori=3600000, ts_rx=3600005, ts_tx=3600006)))
    # router advertisement / solicitation (RFC 1256)
    radv = struct.pack("!BBH", 1, 2, 1800) + struct.pack("!4sI", bytes([192, 168, 1, 20]), 0)
    b = struct.pack("!BBH", 9, 0, 0) + radv
    out.append(full(eth(MAC_B, MC4) / ip4(H5, MCAST1, ttl=1, proto=1) / with_csum(b, 2)))
    b = struct.pack("!BBHI", 10, 0, 0, 0)
    out.append(full(eth(MAC_A, BCAST) / ip4(H4, BCAST4, ttl=1, proto=1) / with_csum(b, 2)))
    # parameter problem, source quench, address-mask request
    out.append(full(eth(*ba) / ip4(H6, H3) / ICMP(type=12, code=0, ptr=20) / q_tcp[:28]))
    out.append(full(eth(*ba) / ip4(H6, H3) / ICMP(type=4, code=0) / q_tcp[:28]))
    out.append(full(eth(MAC_A, BCAST) / ip4(H3, BCAST4) / ICMP(type=17, code=0, id=1, seq=1, addr_mask="0.0.0.0")))
    # big ping
    out.append(full(eth(*ab) / ip4(H2, H6, flags="DF") / ICMP(type=8, id=0x99, seq=7) / text(1400)))
    return out


def g_igmp():
    ra = [IPOption_Router_Alert()]
    return [
        full(eth(MAC_A, MC4_239) / ip4(H4, MCAST2, ttl=1, options=ra, proto=2) / igmp(0x16, 0, MCAST2)),
        full(eth(MAC_B, MC4) / ip4(H5, MCAST1, ttl=1, options=ra, proto=2) / igmp(0x11, 100, "0.0.0.0")),
        full(eth(MAC_B, MC4_239) / ip4(H5, MCAST2, ttl=1, options=ra, proto=2) / igmp(0x11, 10, MCAST2)),
        full(eth(MAC_A, MC4) / ip4(H4, MCAST1, ttl=1, options=ra, proto=2) / igmp(0x17, 0, MCAST2)),
        full(eth(MAC_C, MC4_239) / ip4(H1, MCAST2, ttl=1, proto=2) / igmp(0x12, 0, MCAST2)),
    ]


def g_tunnels_misc():
    out = []
    # GRE carrying IPv4 (plain and keyed), both directions
    inner1 = ip4(H4, H3) / UDP(sport=1025, dport=53) / payload(20)
    inner2 = ip4(H3, H4) / tcp(80, 40500, "SA")
    out.append(full(eth(MAC_A, MAC_B) / ip4(H1, H6, proto=47) / GRE(proto=0x0800) / inner1))
    out.append(full(eth(MAC_B, MAC_A) / ip4(H6, H1, proto=47) / GRE(proto=0x0800) / inner2))
    out.append(full(eth(MAC_A, MAC_B) / ip4(H1, H6, proto=47) / GRE(proto=0x0800, key_present=1, key=100) /
                    ip4(H5, H7) / tcp(40501, 443, "S")))
    # SCTP INIT / INIT-ACK / DATA / SACK on port 5060
    out.append(full(eth(MAC_A, MAC_B) / ip4(H2, H5) / SCTP(sport=5060, dport=5060, tag=0) /
                    SCTPChunkInit(init_tag=0x01020304, a_rwnd=65535, n_out_streams=10, n_in_streams=10, init_tsn=1)))
    out.append(full(eth(MAC_B, MAC_A) / ip4(H5, H2) / SCTP(sport=5060, dport=5060, tag=0x01020304) /
                    SCTPChunkInitAck(init_tag=0x0a0b0c0d, a_rwnd=65535, n_out_streams=10, n_in_streams=10, init_tsn=100)))
    out.append(full(eth(MAC_A, MAC_B) / ip4(H2, H5) / SCTP(sport=40600, dport=80, tag=0x0a0b0c0d) /
                    SCTPChunkData(tsn=1, stream_id=0, stream_seq=0, proto_id=0, data=text(40))))
    out.append(full(eth(MAC_B, MAC_A) / ip4(H5, H2) / SCTP(sport=80, dport=40600, tag=0x01020304) /
                    SCTPChunkSACK(cumul_tsn_ack=1, a_rwnd=65535)))
    # IPsec ESP / AH
    out.append(full(eth(MAC_A, MAC_B) / ip4(H1, H7) / ESP(spi=0x1000, seq=1) / payload(64)))
    out.append(full(eth(MAC_B, MAC_A) / ip4(H7, H1) / ESP(spi=0x2000, seq=1) / payload(80)))
    # (scapy does not checksum L4 behind AH: take the L4 bytes from a plain IP build)
    l4 = raw(IP(src=H1, dst=H6) / tcp(40700, 22, "S"))[20:]
    out.append(full(eth(MAC_A, MAC_B) / ip4(H1, H6, proto=51) /
                    AH(nh=6, payloadlen=4, spi=0x3000, seq=1, icv=payload(12)) / l4))
    l4 = raw(IP(src=H6, dst=H1) / UDP(sport=53, dport=40701) / payload(12))[20:]
    out.append(full(eth(MAC_B, MAC_A) / ip4(H6, H1, proto=51) /
                    AH(nh=17, payloadlen=4, spi=0x4000, seq=1, icv=payload(12)) / l4))
    # PIM v2 hello (holdtime option)
    pim = struct.pack("!BBH", 0x20, 0, 0) + struct.pack("!HHH", 1, 2, 105) + struct.pack("!HHI", 20, 4, 0x12345678)
    out.append(full(eth(MAC_B, MC4) / ip4(H5, MCAST1, ttl=1, proto=103) / with_csum(pim, 2)))
    # VRRP v2 advertisement
    out.append(full(eth("00:00:5e:00:01:01", MC4) / ip4(H5, MCAST1, ttl=255, proto=112) /
                    VRRP(vrid=1, priority=100, ipcount=1, addrlist=[H4], adv=1)))
    # unknown IP protocol 253 (experimental), both directions
    out.append(full(eth(MAC_A, MAC_B) / ip4(H3, H6, proto=253) / text(32, b"experimental-253 ")))
    out.append(full(eth(MAC_B, MAC_A) / ip4(H6, H3, proto=253) / text(48, b"experimental-253 ")))
    return out


def g_ip_options():
    rr = lambda n: [IPOption_RR(routers=["0.0.0.0"] * n)]
    ra = [IPOption_Router_Alert()]
    return [
        full(eth(MAC_A, MAC_B) / ip4(H1, H4, options=rr(9)) / tcp(40800, 80, "S")),  # IHL 15
        full(eth(MAC_B, MAC_A) / ip4(H4, H1, options=rr(3)) / tcp(80, 40800, "SA")),  # IHL 9
        full(eth(MAC_A, MAC_B) / ip4(H2, H7, options=ra) / UDP(sport=40801, dport=53) / payload(20)),  # IHL 6
        full(eth(MAC_A, MAC_B) / ip4(H1, H7, options=rr(9)) / ICMP(type=8, id=5, seq=1) / text(32)),
        full(eth(MAC_B, MAC_A) / ip4(H7, H1, options=rr(9)) / ICMP(type=0, id=5, seq=1) / text(32)),
        full(eth(MAC_C, MAC_B) / ip4(H3, H6, options=ra, flags="DF") / tcp(443, 40802, "PA") / text(100)),
    ]


def g_fragments():
    out = []
    # UDP 10.0.0.1:40900 -> 192.168.1.10:80, 3008 bytes UDP payload, MTU 1500
    # Non-first fragments start (at the L4 position) with 00 50 00 50 i.e. "ports 80->80"
    pl = bytearray(text(3000, b"FRAGMENTED-UDP "))
    for off in (1480, 2960):
        pl[off - 8: off - 8 + 4] = b"\x00\x50\x00\x50"
    p = IP(src=H1, dst=H4, id=0xf001, ttl=64) / UDP(sport=40900, dport=80) / bytes(pl)
    frags = ip_fragment(p, fragsize=1480)
    assert len(frags) == 3
    out += [full(eth(MAC_A, MAC_B) / f) for f in frags]
    # TCP fragments 192.168.1.20:1024 -> 10.1.2.3:80 (PSH-ACK), fragsize 1000; the
    # second fragment's first 14 bytes look like a TCP header with ports 80/80 and SYN
    pl = bytearray(text(2400, b"FRAGMENTED-TCP "))
    fake = struct.pack("!HHIIBB", 80, 80, 1, 0, 0x50, 0x02)
    pl[1000 - 20: 1000 - 20 + len(fake)] = fake
    p = IP(src=H5, dst=H3, id=0xf002, ttl=64) / TCP(sport=1024, dport=80, flags="PA", seq=1, ack=1, window=1000) / bytes(pl)
    frags = ip_fragment(p, fragsize=1000)
    assert len(frags) == 3
    out += [full(eth(MAC_B, MAC_C) / f) for f in frags]
    # ICMP echo (ping -s 2000) fragments, reverse direction
    p = IP(src=H4, dst=H1, id=0xf003, ttl=64) / ICMP(type=8, id=0x77, seq=1) / text(2000)
    frags = ip_fragment(p, fragsize=1480)
    out += [full(eth(MAC_B, MAC_A) / f) for f in frags]
    # a lone middle fragment (MF set, offset>0) that looks like port 80 -> 80
    out.append(full(eth(MAC_A, MAC_B) / IP(src=H2, dst=H6, id=0xf004, flags="MF", frag=185, proto=17, ttl=64) /
                    (b"\x00\x50\x00\x50\x00\x10\x00\x00" + text(32))))
    # tiny first fragment (8 bytes: only the UDP header) and its tail
    out.append(full(eth(MAC_C, MAC_B) / IP(src=H3, dst=H7, id=0xf005, flags="MF", frag=0, proto=17, ttl=64) /
                    struct.pack("!HHHH", 40901, 53, 48, 0)))
    out.append(full(eth(MAC_C, MAC_B) / IP(src=H3, dst=H7, id=0xf005, flags=0, frag=1, proto=17, ttl=64) /
                    (b"\x00\x35\x00\x35" + text(36))))
    # DF set, plain UDP
    out.append(full(eth(MAC_A, MAC_B) / ip4(H1, H7, flags="DF") / UDP(sport=40902, dport=53) / payload(30)))
    return out


def g_ipv6():
    out = []
    e12 = lambda: eth(MAC_A, MAC_B)
    e21 = lambda: eth(MAC_B, MAC_A)
    out.append(full(e12() / ip6(V6_1, V6_2) / tcp(40000, 443, "S", options=SYN_OPTS)))
    out.append(full(e21() / ip6(V6_2, V6_1) / tcp(443, 40000, "SA", options=SYN_OPTS)))
    out.append(full(e12() / ip6(V6_1, V6_2) / tcp(40000, 443, "PA") / payload(200, b"\x16\x03\x01")))
    out.append(full(eth(MAC_C, MAC_B) / ip6(V6_3, V6_1) / tcp(50123, 22, "S")))
    out.append(full(eth(MAC_B, MAC_C) / ip6(V6_1, V6_3) / tcp(22, 50123, "RA")))
    out.append(full(e12() / ip6(V6_1, V6_2) / UDP(sport=53001, dport=53) / DNS(id=7, rd=1, qd=DNSQR(qname="example.com", qtype="AAAA"))))
    out.append(full(e21() / ip6(V6_2, V6_1) / UDP(sport=53, dport=53001) / DNS(id=7, qr=1, rd=1, qd=DNSQR(qname="example.com", qtype="AAAA"))))
    out.append(full(e12() / ip6(LL1, LL2) / tcp(40003, 8080, "S")))
    out.append(full(eth(MAC_A, MC6) / ip6(LL1, ALLNODES, hlim=1) / UDP(sport=5060, dport=5060) / text(60)))
    out.append(full(eth(MAC_B, MAC_C) / ip6(V6_2, V6_3) / UDP(sport=123, dport=123) / payload(48)))
    out.append(full(e12() / ip6(V6_1, V6_2) / UDP(sport=1024, dport=1030) / payload(1200)))
    # ICMPv6
    out.append(full(e12() / ip6(V6_1, V6_3) / ICMPv6EchoRequest(id=0x600, seq=1, data=text(56))))
    out.append(full(e21() / ip6(V6_3, V6_1) / ICMPv6EchoReply(id=0x600, seq=1, data=text(56))))
    out.append(full(eth(MAC_A, MC6) / ip6(LL1, ALLNODES) / ICMPv6EchoRequest(id=0x601, seq=1)))
    out.append(full(eth(MAC_B, MC6_SN) / ip6(LL2, SOLNODE, hlim=255) / ICMPv6ND_NS(tgt=LL1) / ICMPv6NDOptSrcLLAddr(lladdr=MAC_B)))
    out.append(full(eth(MAC_A, MAC_B) / ip6(LL1, LL2, hlim=255) / ICMPv6ND_NA(tgt=LL1, R=1, S=1, O=1) / ICMPv6NDOptDstLLAddr(lladdr=MAC_A)))
    out.append(full(eth(MAC_C, MC6_SN) / ip6("::", SOLNODE, hlim=255) / ICMPv6ND_NS(tgt=V6_1)))  # DAD
    out.append(full(eth(MAC_A, MC6) / ip6(LL1, ALLNODES, hlim=255) / ICMPv6ND_NA(tgt=V6_1, R=0, S=0, O=1) / ICMPv6NDOptDstLLAddr(lladdr=MAC_A)))
    out.append(full(eth(MAC_C, MC6) / ip6(LL2, ALLNODES, hlim=255) / ICMPv6ND_RS() / ICMPv6NDOptSrcLLAddr(lladdr=MAC_C)))
    out.append(full(eth(MAC_A, MC6) / ip6(LL1, ALLNODES, hlim=255) / ICMPv6ND_RA(routerlifetime=1800) /
                    ICMPv6NDOptSrcLLAddr(lladdr=MAC_A) / ICMPv6NDOptPrefixInfo(prefix="2001:db8::", prefixlen=64)))
    hbh_ra = IPv6ExtHdrHopByHop(options=[RouterAlert(value=0)])
    out.append(full(eth(MAC_A, MC6) / ip6(LL1, ALLNODES, hlim=1) / hbh_ra / ICMPv6MLQuery(mrd=10000)))
    out.append(full(eth(MAC_B, MC6_SN) / ip6(LL2, SOLNODE, hlim=1) / hbh_ra / ICMPv6MLReport(mladdr=SOLNODE)))
    quoted = raw(IPv6(src=V6_1, dst=V6_3, hlim=1) / UDP(sport=40010, dport=33434))
    out.append(full(e21() / ip6(V6_2, V6_1) / ICMPv6DestUnreach(code=4) / quoted))
    out.append(full(e21() / ip6(V6_2, V6_1) / ICMPv6PacketTooBig(mtu=1280) / quoted))
    out.append(full(e21() / ip6(V6_2, V6_1) / ICMPv6TimeExceeded(code=0) / quoted))
    return out


def g_ipv6_ext():
    out = []
    e12 = lambda: eth(MAC_A, MAC_B)
    e21 = lambda: eth(MAC_B, MAC_A)
    hbh = lambda: IPv6ExtHdrHopByHop(options=[PadN(optdata=b"\x00\x00\x00\x00")])
    dst = lambda: IPv6ExtHdrDestOpt(options=[PadN(optdata=b"\x00\x00\x00\x00")])
    rt = lambda: IPv6ExtHdrRouting(type=0, segleft=1, addresses=[V6_3])
    out.append(full(e12() / ip6(V6_1, V6_2) / hbh() / tcp(40020, 80, "S")))
    out.append(full(e21() / ip6(V6_2, V6_1) / rt() / UDP(sport=53, dport=40021) / payload(40)))
    out.append(full(e12() / ip6(V6_1, V6_2) / dst() / tcp(40022, 443, "PA") / text(30)))
    # IPv6 fragment header: first (offset 0, M=1) carries UDP header, non-first carry "port 80"
    udp_hdr = struct.pack("!HHHH", 40023, 80, 8 + 2000, 0)
    out.append(full(e12() / ip6(V6_1, V6_3) / IPv6ExtHdrFragment(nh=17, offset=0, m=1, id=0xabcd0001) / (udp_hdr + text(1224))))
    out.append(full(e12() / ip6(V6_1, V6_3) / IPv6ExtHdrFragment(nh=17, offset=154, m=0, id=0xabcd0001) /
                    (b"\x00\x50\x00\x50" + text(772))))
    # chains of 2-3 extension headers
    out.append(full(e12() / ip6(V6_1, V6_2) / hbh() / dst() / rt() / tcp(40024, 80, "S")))
    out.append(full(e21() / ip6(V6_2, V6_1) / hbh() / IPv6ExtHdrFragment(nh=17, offset=0, m=1, id=0xabcd0002) /
                    (struct.pack("!HHHH", 53, 40025, 600, 0) + text(96))))
    out.append(full(e21() / ip6(V6_2, V6_1) / hbh() / IPv6ExtHdrFragment(nh=17, offset=13, m=0, id=0xabcd0002) /
                    (b"\x00\x50\x00\x50" + text(492))))
    out.append(full(eth(MAC_C, MAC_B) / ip6(V6_3, V6_2) / rt() / dst() / UDP(sport=5060, dport=5060) / text(60)))
    out.append(full(e12() / ip6(V6_1, V6_2) / hbh() / dst() / ICMPv6EchoRequest(id=0x602, seq=2)))
    out.append(full(e21() / ip6(V6_2, V6_1) / dst() / tcp(22, 40026, "SA")))
    out.append(full(e12() / ip6(V6_1, V6_2, nh=59) / b""))  # no next header
    return out


def g_vlan():
    out = []
    out.append(full(eth(MAC_A, MAC_B) / Dot1Q(vlan=10) / ip4(H1, H4, flags="DF") / tcp(41000, 80, "S", options=SYN_OPTS)))
    out.append(full(eth(MAC_B, MAC_A) / Dot1Q(vlan=10, prio=5) / ip4(H4, H1, flags="DF") / tcp(80, 41000, "SA", options=SYN_OPTS)))
    out.append(full(eth(MAC_A, MAC_B) / Dot1Q(vlan=20) / ip4(H2, H7) / UDP(sport=41001, dport=53) / payload(30)))
    out.append(full(eth(MAC_B, MAC_A) / Dot1Q(vlan=20, prio=7) / ip4(H7, H2) / UDP(sport=53, dport=41001) / payload(60)))
    out.append(full(eth(MAC_C, MAC_B) / Dot1Q(vlan=20, id=1, prio=3) / ip4(H3, H6) / tcp(41002, 22, "PA") / text(40)))
    out.append(full(eth(MAC_A, MAC_B) / Dot1Q(vlan=100) / ip6(V6_1, V6_2) / tcp(41003, 443, "S")))
    out.append(full(eth(MAC_B, MAC_A) / Dot1Q(vlan=100, prio=6) / ip6(V6_2, V6_1) / ICMPv6EchoReply(id=1, seq=1)))
    out.append(full(eth(MAC_A, BCAST) / Dot1Q(vlan=4094) / ARP(op=1, hwsrc=MAC_A, psrc=H1, hwdst="00:00:00:00:00:00", pdst=H2)))
    out.append(full(eth(MAC_B, MAC_A) / Dot1Q(vlan=4094, prio=1) / ARP(op=2, hwsrc=MAC_B, psrc=H2, hwdst=MAC_A, pdst=H1)))
    out.append(full(eth(MAC_A, MAC_B) / Dot1Q(vlan=4094) / ip4(H5, H4) / UDP(sport=67, dport=68) / payload(50)))
    # QinQ: 802.1ad outer + 802.1Q inner, and 802.1Q + 802.1Q
    out.append(full(eth(MAC_A, MAC_B, type=0x88A8) / Dot1AD(vlan=100, type=0x8100) / Dot1Q(vlan=10) /
                    ip4(H1, H6) / UDP(sport=41004, dport=5060) / text(40)))
    out.append(full(eth(MAC_B, MAC_A, type=0x88A8) / Dot1AD(vlan=100, prio=4, type=0x8100) / Dot1Q(vlan=20) /
                    ip4(H6, H1) / UDP(sport=5060, dport=41004) / text(20)))
    out.append(full(eth(MAC_A, MAC_B, type=0x8100) / Dot1Q(vlan=100, type=0x8100) / Dot1Q(vlan=20) /
                    ip4(H2, H7) / UDP(sport=41005, dport=53) / payload(25)))
    out.append(full(eth(MAC_B, MAC_A, type=0x8100) / Dot1Q(vlan=4094, type=0x8100) / Dot1Q(vlan=10) /
                    ip4(H7, H2) / UDP(sport=53, dport=41005) / payload(45)))
    # VLAN carrying MPLS
    out.append(full(eth(MAC_A, MAC_B) / Dot1Q(vlan=20, type=0x8847) / mpls(16, 1) / ip4(H1, H4) / tcp(41006, 80, "S")))
    return out


def g_arp():
    z = "00:00:00:00:00:00"
    return [
        full(eth(MAC_A, BCAST) / ARP(op=1, hwsrc=MAC_A, psrc=H1, hwdst=z, pdst=H2)),
        full(eth(MAC_B, MAC_A) / ARP(op=2, hwsrc=MAC_B, psrc=H2, hwdst=MAC_A, pdst=H1)),
        full(eth(MAC_C, BCAST) / ARP(op=1, hwsrc=MAC_C, psrc=H5, hwdst=z, pdst=H5)),  # gratuitous
        full(eth(MAC_A, BCAST) / ARP(op=1, hwsrc=MAC_A, psrc="0.0.0.0", hwdst=z, pdst=H4)),  # probe
        full(eth(MAC_B, MAC_A) / ARP(op=2, hwsrc=MAC_B, psrc=H4, hwdst=MAC_A, pdst=H1) / (b"\x00" * 18)),  # padded to 60
        # RARP (ethertype 0x8035)
        full(eth(MAC_C, BCAST, type=0x8035) / ARP(op=3, hwsrc=MAC_C, psrc="0.0.0.0", hwdst=MAC_C, pdst="0.0.0.0")),
        full(eth(MAC_B, MAC_C, type=0x8035) / ARP(op=4, hwsrc=MAC_B, psrc=H5, hwdst=MAC_C, pdst=H3)),
    ]


def g_mpls():
    e12 = lambda: eth(MAC_A, MAC_B, type=0x8847)
    e21 = lambda: eth(MAC_B, MAC_A, type=0x8847)
    return [
        full(e12() / mpls(16, 1) / ip4(H1, H4) / tcp(42000, 80, "S")),
        full(e21() / mpls(16, 1) / ip4(H4, H1) / tcp(80, 42000, "SA")),
        full(e12() / mpls(100, 0) / mpls(16, 1) / ip4(H2, H7) / UDP(sport=42001, dport=53) / payload(30)),
        full(e21() / mpls(100, 0, cos=5) / mpls(16, 1) / ip4(H7, H2) / UDP(sport=53, dport=42001) / payload(70)),
        full(e12() / mpls(1000, 0) / mpls(100, 0) / mpls(16, 1) / ip4(H3, H6) / tcp(42002, 443, "PA") / text(80)),
        full(e12() / mpls(100, 1, ttl=255) / ip6(V6_1, V6_2) / UDP(sport=42003, dport=123) / payload(48)),
        full(e21() / mpls(1000, 1) / ip4(H6, H3) / ICMP(type=0, id=3, seq=3) / text(20)),
    ]


def g_pppoe():
    out = []
    sid = 0x0011

    def disc(src, dst, code, tags, session=0):
        return full(eth(src, dst, type=0x8863) / (pppoe_hdr(code, session, len(tags)) + tags))

    def sess(src, dst, pppproto, l3):
        body = struct.pack("!H", pppproto) + raw(l3)
        return full(eth(src, dst, type=0x8864) / (pppoe_hdr(0, sid, len(body)) + body))

    svc = pppoe_tag(0x0101)
    hu = pppoe_tag(0x0103, b"\x00\x00\x12\x34")
    ac = pppoe_tag(0x0102, b"bpfdump-ac")
    cookie = pppoe_tag(0x0104, bytes(range(16)))
    out.append(disc(MAC_A, BCAST, 0x09, svc + hu))  # PADI
    out.append(disc(MAC_B, MAC_A, 0x07, svc + ac + cookie + hu))  # PADO
    out.append(disc(MAC_A, MAC_B, 0x19, svc + cookie + hu))  # PADR
    out.append(disc(MAC_B, MAC_A, 0x65, svc + hu, sid))  # PADS
    out.append(sess(MAC_A, MAC_B, 0x0021, ip4(H1, H7) / tcp(43000, 80, "S")))
    out.append(sess(MAC_B, MAC_A, 0x0021, ip4(H7, H1) / tcp(80, 43000, "SA")))
    out.append(sess(MAC_A, MAC_B, 0x0021, ip4(H1, H7) / UDP(sport=43001, dport=53) / payload(30)))
    out.append(sess(MAC_B, MAC_A, 0x0021, ip4(H7, H1) / UDP(sport=53, dport=43001) / payload(50)))
    out.append(sess(MAC_A, MAC_B, 0x0057, ip6(V6_1, V6_2) / UDP(sport=43002, dport=123) / payload(48)))
    out.append(sess(MAC_B, MAC_A, 0x0057, ip6(V6_2, V6_1) / ICMPv6EchoRequest(id=9, seq=9)))
    lcp = bytes([9, 1, 0, 8]) + b"\x01\x02\x03\x04"  # LCP echo-request
    body = struct.pack("!H", 0xC021) + lcp
    out.append(full(eth(MAC_B, MAC_A, type=0x8864) / (pppoe_hdr(0, sid, len(body)) + body)))
    out.append(disc(MAC_A, MAC_B, 0xA7, b"", sid))  # PADT
    return out


def g_llc():
    out = []
    bpdu = (struct.pack("!HBBB", 0, 0, 0, 0)  # proto id, version, type config, flags
            + struct.pack("!H6s", 0x8000, bytes.fromhex("001122334455"))  # root id
            + struct.pack("!I", 4)
            + struct.pack("!H6s", 0x8000, bytes.fromhex("66778899aabb"))
            + struct.pack("!HHHHH", 0x8001, 0, 20 * 256, 2 * 256, 15 * 256))
    out.append(full(Dot3(dst=STP_MAC, src=MAC_B) / LLC(dsap=0x42, ssap=0x42, ctrl=3) / bpdu))
    out.append(full(Dot3(dst=STP_MAC, src=MAC_A) / LLC(dsap=0x42, ssap=0x42, ctrl=3) / bpdu / (b"\x00" * 8)))
    # LLC/SNAP carrying IPv4 and ARP
    out.append(full(Dot3(dst=MAC_B, src=MAC_A) / LLC(dsap=0xAA, ssap=0xAA, ctrl=3) / SNAP(OUI=0, code=0x0800) /
                    ip4(H1, H4) / UDP(sport=44000, dport=53) / payload(20)))
    out.append(full(Dot3(dst=MAC_A, src=MAC_B) / LLC(dsap=0xAA, ssap=0xAA, ctrl=3) / SNAP(OUI=0, code=0x0800) /
                    ip4(H4, H1) / tcp(80, 44001, "SA")))
    out.append(full(Dot3(dst=BCAST, src=MAC_C) / LLC(dsap=0xAA, ssap=0xAA, ctrl=3) / SNAP(OUI=0, code=0x0806) /
                    ARP(op=1, hwsrc=MAC_C, psrc=H3, hwdst="00:00:00:00:00:00", pdst=H6)))
    # IPX over 802.2 (SAP 0xE0), NetBEUI (SAP 0xF0)
    ipxh = struct.pack("!HHBB", 0xFFFF, 30 + 4, 0, 0x11) + struct.pack("!I6sH", 0, b"\xff" * 6, 0x0452) + \
        struct.pack("!I6sH", 1, bytes.fromhex("001122334455"), 0x4000) + b"\x00\x01\x00\x04"
    out.append(full(Dot3(dst=BCAST, src=MAC_A) / LLC(dsap=0xE0, ssap=0xE0, ctrl=3) / ipxh))
    nb = struct.pack("<HHB", 44, 0xEFFF, 0x0A) + b"\x00" * 5 + text(16, b"BPFDUMP ") + text(16, b"WORKGROUP ")
    out.append(full(Dot3(dst="03:00:00:00:00:01", src=MAC_B) / LLC(dsap=0xF0, ssap=0xF0, ctrl=3) / nb))
    # raw 802.3 (Novell): IPX header immediately after length, starts 0xFFFF
    out.append(full(Dot3(dst=BCAST, src=MAC_C) / ipxh))
    return out


def g_ethertypes():
    out = []
    lldp = (struct.pack("!H", (1 << 9) | 7) + b"\x04" + bytes.fromhex("001122334455")
            + struct.pack("!H", (2 << 9) | 5) + b"\x05eth0"
            + struct.pack("!H", (3 << 9) | 2) + struct.pack("!H", 120)
            + struct.pack("!H", 0))
    out.append(full(eth(MAC_A, LLDP_MAC, type=0x88CC) / lldp))
    out.append(full(eth(MAC_B, LLDP_MAC, type=0x88CC) / lldp.replace(bytes.fromhex("001122334455"), bytes.fromhex("66778899aabb"))))
    # Ethernet configuration testing protocol (loopback, 0x9000): skipCount=0, reply
    out.append(full(eth(MAC_A, MAC_A, type=0x9000) / (struct.pack("<HHH", 0, 1, 7) + b"\x00" * 40)))
    # DECnet routing (0x6003): length-prefixed hello-ish payload
    dn = struct.pack("<H", 28) + bytes([0x0D, 0x02, 0x00, 0x00]) + b"\xaa\x00\x04\x00\x01\x04" + b"\x00" * 18
    out.append(full(eth("aa:00:04:00:01:04", "ab:00:00:03:00:00", type=0x6003) / dn))
    # AppleTalk DDP (0x809b) and AARP (0x80f3)
    ddp = struct.pack("!HHHHBBBBB", 13 + 8, 0, 0xFF00, 0xFF01, 0xFF, 0x01, 0x02, 0x04, 0x04) + text(8)
    out.append(full(eth(MAC_A, MAC_B, type=0x809B) / ddp))
    aarp = struct.pack("!HHBBH", 1, 0x809B, 6, 4, 1) + bytes.fromhex("001122334455") + b"\x00\xff\x00\x01" + \
        b"\x00" * 6 + b"\x00\xff\x01\x02"
    out.append(full(eth(MAC_A, "09:00:07:ff:ff:ff", type=0x80F3) / aarp))
    # IPX Ethernet II (0x8137)
    ipx = struct.pack("!HHBB", 0xFFFF, 30 + 16, 0, 0x04) + struct.pack("!I6sH", 0, b"\xff" * 6, 0x0452) + \
        struct.pack("!I6sH", 1, bytes.fromhex("66778899aabb"), 0x0452) + text(16)
    out.append(full(eth(MAC_B, BCAST, type=0x8137) / ipx))
    return out


def g_truncated():
    out = []
    syn = eth(MAC_A, MAC_B) / ip4(H1, H4, flags="DF") / tcp(45000, 80, "S", options=SYN_OPTS)  # 74 bytes
    for cut in (14, 20, 34, 40, 47, 54):
        out.append(trunc(syn, cut))
    u = eth(MAC_B, MAC_A) / ip4(H7, H1) / UDP(sport=53, dport=45001) / payload(100)
    out.append(trunc(u, 36))
    out.append(trunc(u, 38))
    v6 = eth(MAC_A, MAC_B) / ip6(V6_1, V6_2) / tcp(45002, 443, "S")
    for cut in (20, 40, 54, 58):
        out.append(trunc(v6, cut))
    out.append(trunc(eth(MAC_A, MAC_B) / Dot1Q(vlan=10) / ip4(H1, H4) / tcp(45003, 80, "S"), 16))
    out.append(trunc(eth(MAC_A, MAC_B) / Dot1Q(vlan=20) / ip4(H2, H7) / UDP(sport=45004, dport=53), 18))
    out.append(trunc(eth(MAC_A, MAC_B, type=0x8847) / mpls(16, 1) / ip4(H1, H4) / tcp(45005, 80, "S"), 16))
    out.append(trunc(eth(MAC_A, BCAST) / ARP(op=1, hwsrc=MAC_A, psrc=H1, hwdst="00:00:00:00:00:00", pdst=H2), 20))
    # snaplen-96 style captures of full-size packets
    big = eth(MAC_B, MAC_A) / ip4(H4, H1, flags="DF") / tcp(80, 40100, "A") / text(1460)
    out.append(trunc(big, 96))
    out.append(trunc(eth(MAC_A, MAC_B) / ip6(V6_1, V6_2) / UDP(sport=45006, dport=8080) / payload(1400), 96))
    # tiny frames
    out.append(Pkt(bytes.fromhex("ffffffffffff")))  # 6 bytes: dst MAC only
    out.append(Pkt(bytes.fromhex("66778899aabb001122334455" "08")))  # 13 bytes
    out.append(Pkt(b"\x00", 60))  # caplen 1
    out.append(Pkt(bytes.fromhex("00112233445566778899aabb0800"), 64))  # exactly the Ethernet header
    return out


def geneve_hdr(vni, proto, opts=b""):
    # version 0, option length in 4-byte words, flags 0, protocol, VNI, reserved
    assert len(opts) % 4 == 0
    return struct.pack("!BBH", len(opts) // 4, 0, proto) + struct.pack("!I", vni << 8) + opts


def g_geneve():
    out = []
    inner_eth = eth(MAC_C, MAC_A) / ip4(H3, H6) / tcp(40800, 80, "S")
    inner_eth6 = eth(MAC_C, MAC_A) / ip6(V6_1, V6_2) / UDP(sport=40801, dport=53) / payload(12)
    inner_ip = ip4(H4, H5) / UDP(sport=40802, dport=123) / payload(48)
    opt = struct.pack("!HBB", 0x0102, 0x01, 1) + b"\xaa\xbb\xcc\xdd"  # one 8-byte option
    # Geneve over IPv4: Ethernet payload, VNI 100, no options / with options
    out.append(full(eth(MAC_A, MAC_B) / ip4(H1, H2) / UDP(sport=50100, dport=6081) /
                    (geneve_hdr(100, 0x6558) + raw(inner_eth))))
    out.append(full(eth(MAC_B, MAC_A) / ip4(H2, H1) / UDP(sport=50101, dport=6081) /
                    (geneve_hdr(200, 0x6558, opt) + raw(inner_eth6))))
    # Geneve carrying IPv4 directly (protocol 0x0800), VNI 100
    out.append(full(eth(MAC_A, MAC_B) / ip4(H1, H2) / UDP(sport=50102, dport=6081) /
                    (geneve_hdr(100, 0x0800) + raw(inner_ip))))
    # Geneve over IPv6
    out.append(full(eth(MAC_A, MAC_B) / ip6(V6_1, V6_2) / UDP(sport=50103, dport=6081) /
                    (geneve_hdr(7, 0x6558) + raw(inner_eth))))
    # version 1 (not Geneve v0), and UDP 6081 from the port, not to it
    out.append(full(eth(MAC_A, MAC_B) / ip4(H1, H2) / UDP(sport=50104, dport=6081) /
                    (bytes([0x40]) + geneve_hdr(100, 0x6558)[1:] + raw(inner_eth))))
    out.append(full(eth(MAC_B, MAC_A) / ip4(H2, H1) / UDP(sport=6081, dport=50105) /
                    (geneve_hdr(100, 0x6558) + raw(inner_eth))))
    # inner frame VLAN-tagged
    out.append(full(eth(MAC_A, MAC_B) / ip4(H1, H2) / UDP(sport=50106, dport=6081) /
                    (geneve_hdr(300, 0x6558) + raw(Ether(src=MAC_C, dst=MAC_A) / Dot1Q(vlan=10) / ip4(H3, H6) / tcp(40803, 443, "S")))))
    return out


def build_sample():
    # Order matters only for which packets land in the first-100 "overview"
    # (also used for the pcapng / ns-pcap files).
    group("tcpflags", "IPv4 TCP flag mixes (SYN, SYN-ACK, ACK, PSH-ACK, FIN-ACK, RST, FIN, RST-ACK, URG-ACK, URG, ECE, CWR, SYN+ECE+CWR, all, none, FPU), each both directions, ports 80/443/22/8080/1030/0/65535", g_tcp_flags(), 8)
    group("session", "IPv4 TCP sessions: HTTP 10.0.0.1:40100 <-> 192.168.1.10:80 (handshake, GET, 1460-byte data, FIN); SSH 10.1.2.3 <-> 172.16.5.4:22; TLS 192.168.1.20 <-> 8.8.8.8:443; refused 8080 (RST-ACK)", g_tcp_sessions(), 4)
    group("udp", "IPv4 UDP: DNS 10.0.0.1 <-> 8.8.8.8:53, DHCP discover/offer (0.0.0.0 / 255.255.255.255, 67/68), NTP 123, SIP 5060, 1027<->1028, subnet bcast 192.168.1.255, 255.255.255.255, multicast 224.0.0.1 / 239.1.2.3, ports 0/65535", g_udp(), 8)
    group("icmp", "ICMP: echo req/reply (incl. to 192.168.1.255), dest-unreach (port/host/frag-needed), time-exceeded, redirect, timestamp req/reply, router adv (to 224.0.0.1)/solicit, param-problem, source-quench, mask request, 1400-byte ping", g_icmp(), 6)
    group("igmp", "IGMP: v2 report 239.1.2.3, general query to 224.0.0.1, group-specific query, v2 leave (sent to 224.0.0.1), v1 report; router-alert IP option (IHL 6)", g_igmp(), 2)
    group("misc-ip", "GRE (plain/keyed) carrying IPv4 UDP/TCP, SCTP (INIT, INIT-ACK on 5060; DATA/SACK on 80), ESP, AH (+TCP 22 / UDP 53), PIM v2 hello, VRRP v2 (to 224.0.0.1), IP proto 253 both directions", g_tunnels_misc(), 6)
    group("ipopts", "IPv4 with options: record-route (IHL 15 / 9) TCP 80, router-alert (IHL 6) UDP 53 and TCP 443, record-route ICMP echo req/reply", g_ip_options(), 3)
    group("frag", "IPv4 fragments: UDP 10.0.0.1:40900->192.168.1.10:80 (3 frags, id 0xf001), TCP 192.168.1.20:1024->10.1.2.3:80 (3 frags, id 0xf002; non-first payload looks like ports 80/80 + SYN), ICMP echo 2 frags, lone middle frag, tiny first frag + tail, DF UDP", g_fragments(), 8)
    group("ipv6", "IPv6: TCP 443/22/8080, UDP 53/123/5060/1030, ICMPv6 echo req/reply, NS (to ff02::1:ff00:1, and DAD from ::), NA, RS, RA, MLD query/report (hop-by-hop router alert), dest-unreach, packet-too-big, time-exceeded; link-local + ff02::1", g_ipv6(), 8)
    group("ipv6ext", "IPv6 extension headers: HBH+TCP, routing+UDP, dstopts+TCP, fragment first (UDP hdr, port 80) / non-first (offset>0), chains HBH+DST+RT+TCP, HBH+FRAG+UDP (first/non-first), RT+DST+UDP, HBH+DST+ICMPv6, DST+TCP, no-next-header", g_ipv6_ext(), 6)
    group("vlan", "802.1Q: VLAN 10 IPv4 TCP (PCP 5 on reply), VLAN 20 UDP (PCP 7, DEI), VLAN 100 IPv6 TCP/ICMPv6, VLAN 4094 ARP req/reply + UDP 67->68; QinQ 0x88a8(100)+0x8100(10/20) and 0x8100(100/4094)+0x8100(20/10) UDP; VLAN 20 carrying MPLS 16 + IPv4 TCP", g_vlan(), 8)
    group("arp", "ARP request/reply, gratuitous, probe (psrc 0.0.0.0), padded reply; RARP (0x8035) request/reply", g_arp(), 3)
    group("mpls", "MPLS 0x8847: 1 label (16) IPv4 TCP both dirs, 2 labels (100,16) UDP 53 both dirs, 3 labels (1000,100,16) TCP 443, label 100 carrying IPv6 UDP 123, label 1000 ICMP", g_mpls(), 5)
    group("pppoe", "PPPoE discovery 0x8863 (PADI, PADO, PADR, PADS, PADT) and session 0x8864 id 0x0011: PPP IPv4 TCP 80 / UDP 53 both dirs, PPP IPv6 UDP 123 / ICMPv6, LCP echo", g_pppoe(), 6)
    group("llc", "802.3/LLC: STP BPDUs (SAP 0x42, to 01:80:c2:00:00:00), SNAP IPv4 UDP 53 / TCP 80, SNAP ARP, IPX over LLC (SAP 0xE0), NetBEUI (SAP 0xF0, to 03:00:00:00:00:01), raw 802.3 IPX (0xFFFF)", g_llc(), 4)
    group("ethertypes", "Other ethertypes: LLDP 0x88cc (to 01:80:c2:00:00:0e) x2, loopback 0x9000, DECnet 0x6003, AppleTalk 0x809b, AARP 0x80f3, IPX 0x8137", g_ethertypes(), 3)
    group("sizes", "IPv4 UDP frames of exact sizes 42, 60, 64, 100, 128, 256, 512, 576, 1000, 1024, 1200, 1400, 1500, 1514 bytes", g_sizes(), 3)
    group("truncated", "Truncated (caplen < len): TCP SYN cut at 14/20/34/40/47/54, UDP cut at 36/38, IPv6 cut at 20/40/54/58, VLAN cut at 16/18, MPLS cut at 16, ARP cut at 20, snaplen-96 captures of 1514/1462-byte frames; tiny frames of 6 and 13 bytes, caplen 1 (len 60), 14-byte header only (len 64)", g_truncated(), 7)
    group("ports", "Port matrix: for each of 22,53,80,443,8080,1024-1030,67,68,123,5060,0,65535,40000,50000,60000: TCP SYN client->server:port, SYN-ACK back, UDP server:port->client", g_port_matrix(), 2)
    # Appended with no overview quota, so earlier packets keep their indices.
    group("geneve", "Geneve (UDP 6081): over IPv4 VNI 100 inner Ethernet/IPv4 TCP 80, VNI 200 with an 8-byte option inner Ethernet/IPv6 UDP 53, VNI 100 carrying IPv4 UDP 123 directly (protocol 0x0800), over IPv6 VNI 7, version 1 (not v0), from port 6081, VNI 300 inner VLAN 10 IPv4 TCP 443", g_geneve(), 0)

    quota_total = sum(q for _, _, _, q in GROUPS)
    assert quota_total == 100, quota_total
    order = []  # (group key, pkt)
    ranges = {}
    for part in (0, 1):
        for key, desc, pkts, q in GROUPS:
            sel = pkts[:q] if part == 0 else pkts[q:]
            if not sel:
                continue
            start = len(order)
            order += [(key, p) for p in sel]
            ranges.setdefault(key, []).append((start, len(order) - 1))
    return [p for _, p in order], ranges


# --------------------------------------------------------------------------
# L3 mix for sll / sll2 / raw
# --------------------------------------------------------------------------
# direction: "in" (to us), "out" (from us), "bcast", "mcast", "other"


def l3_mix():
    """List of (l3 packet bytes, ethertype, direction, peer MAC, wirelen-or-None)."""
    out = []

    def add(p, et, d, mac, cut=None):
        b = raw(p)
        if cut is None:
            out.append((b, et, d, mac, None))
        else:
            out.append((b[:cut], et, d, mac, len(b)))

    # IPv4 TCP flows
    for i, fl in enumerate(["S", "SA", "A", "PA", "FA", "R", "RA", "U", "FSRPAUEC", 0]):
        cli, srv = PAIRS4[i % len(PAIRS4)]
        sp, dp = [(46000, 80), (46001, 443), (46002, 22), (1024, 8080), (0, 65535)][i % 5]
        data = text(20) if fl == "PA" else b""
        add(ip4(cli, srv, flags="DF") / tcp(sp, dp, fl) / data, 0x0800, "out", MAC_A)
        add(ip4(srv, cli, flags="DF") / tcp(dp, sp, fl) / data, 0x0800, "in", MAC_B)
    # IPv4 UDP
    add(ip4(H1, H7) / UDP(sport=46010, dport=53) / DNS(id=1, rd=1, qd=DNSQR(qname="example.com")), 0x0800, "out", MAC_A)
    add(ip4(H7, H1) / UDP(sport=53, dport=46010) / payload(80), 0x0800, "in", MAC_B)
    add(ip4("0.0.0.0", BCAST4) / UDP(sport=68, dport=67) / payload(240), 0x0800, "bcast", MAC_C)
    add(ip4(H4, SUBBC) / UDP(sport=46011, dport=1029) / text(30), 0x0800, "bcast", MAC_C)
    add(ip4(H5, MCAST2) / UDP(sport=5060, dport=5060) / text(40), 0x0800, "mcast", MAC_B)
    add(ip4(H2, H6) / UDP(sport=123, dport=123) / payload(48), 0x0800, "other", MAC_C)
    add(ip4(H3, H5) / UDP(sport=1025, dport=1026) / payload(1200), 0x0800, "out", MAC_A)
    # ICMP
    add(ip4(H1, H7) / ICMP(type=8, id=1, seq=1) / text(56), 0x0800, "out", MAC_A)
    add(ip4(H7, H1) / ICMP(type=0, id=1, seq=1) / text(56), 0x0800, "in", MAC_B)
    add(ip4(H5, H1) / ICMP(type=3, code=3) / raw(IP(src=H1, dst=H5, id=5) / UDP(sport=46012, dport=53))[:28], 0x0800, "in", MAC_B)
    add(ip4(H6, H1) / ICMP(type=11, code=0) / raw(IP(src=H1, dst=H7, id=6, ttl=1) / UDP(sport=33434, dport=33435))[:28], 0x0800, "in", MAC_B)
    add(ip4(H4, MCAST1, ttl=1, proto=2, options=[IPOption_Router_Alert()]) / igmp(0x16, 0, MCAST2), 0x0800, "mcast", MAC_C)
    # IPv4 options and fragments
    add(ip4(H1, H4, options=[IPOption_RR(routers=["0.0.0.0"] * 9)]) / tcp(46013, 80, "S"), 0x0800, "out", MAC_A)
    pl = bytearray(text(2000, b"FRAG "))
    pl[1480 - 8: 1480 - 4] = b"\x00\x50\x00\x50"
    for f in ip_fragment(IP(src=H4, dst=H1, id=0xe001) / UDP(sport=46014, dport=80) / bytes(pl), fragsize=1480):
        add(f, 0x0800, "in", MAC_B)
    add(IP(src=H2, dst=H6, id=0xe002, flags="MF", frag=100, proto=6) / (b"\x00\x50\x00\x50" + text(40)), 0x0800, "out", MAC_A)
    # IPv6
    add(ip6(V6_1, V6_2) / tcp(46020, 443, "S"), 0x86DD, "out", MAC_A)
    add(ip6(V6_2, V6_1) / tcp(443, 46020, "SA"), 0x86DD, "in", MAC_B)
    add(ip6(V6_1, V6_3) / tcp(46021, 22, "PA") / text(64), 0x86DD, "out", MAC_A)
    add(ip6(V6_3, V6_1) / UDP(sport=53, dport=46022) / payload(100), 0x86DD, "in", MAC_B)
    add(ip6(V6_1, V6_2) / ICMPv6EchoRequest(id=2, seq=1), 0x86DD, "out", MAC_A)
    add(ip6(V6_2, V6_1) / ICMPv6EchoReply(id=2, seq=1), 0x86DD, "in", MAC_B)
    add(ip6(LL2, SOLNODE, hlim=255) / ICMPv6ND_NS(tgt=LL1) / ICMPv6NDOptSrcLLAddr(lladdr=MAC_B), 0x86DD, "mcast", MAC_B)
    add(ip6(LL1, LL2, hlim=255) / ICMPv6ND_NA(tgt=LL1, S=1, O=1), 0x86DD, "out", MAC_A)
    add(ip6(LL1, ALLNODES, hlim=255) / ICMPv6ND_RA() / ICMPv6NDOptPrefixInfo(prefix="2001:db8::", prefixlen=64), 0x86DD, "mcast", MAC_C)
    add(ip6(V6_1, V6_2) / IPv6ExtHdrHopByHop(options=[PadN(optdata=b"\x00" * 4)]) / tcp(46023, 80, "S"), 0x86DD, "out", MAC_A)
    add(ip6(V6_2, V6_1) / IPv6ExtHdrRouting(addresses=[V6_3], segleft=1) / IPv6ExtHdrDestOpt(options=[PadN(optdata=b"\x00" * 4)]) / UDP(sport=53, dport=46024) / payload(20), 0x86DD, "in", MAC_B)
    add(ip6(V6_1, V6_3) / IPv6ExtHdrFragment(nh=17, offset=0, m=1, id=0x11) / (struct.pack("!HHHH", 46025, 80, 1608, 0) + text(1000)), 0x86DD, "out", MAC_A)
    add(ip6(V6_1, V6_3) / IPv6ExtHdrFragment(nh=17, offset=126, m=0, id=0x11) / (b"\x00\x50\x00\x50" + text(596)), 0x86DD, "out", MAC_A)
    add(ip6(LL2, LL1) / UDP(sport=5060, dport=5060) / text(30), 0x86DD, "other", MAC_C)
    # truncated
    add(ip4(H1, H4, flags="DF") / tcp(46030, 80, "S", options=SYN_OPTS), 0x0800, "out", MAC_A, cut=10)
    add(ip4(H4, H1, flags="DF") / tcp(80, 46030, "SA", options=SYN_OPTS), 0x0800, "in", MAC_B, cut=26)
    add(ip4(H7, H1) / UDP(sport=53, dport=46031) / payload(200), 0x0800, "in", MAC_B, cut=22)
    add(ip6(V6_2, V6_1) / tcp(443, 46032, "PA") / text(1000), 0x86DD, "in", MAC_B, cut=44)
    add(ip6(V6_1, V6_2) / UDP(sport=46033, dport=53) / text(100), 0x86DD, "out", MAC_A, cut=20)
    return out


def l2_extra():
    """Non-IP payloads for the cooked captures: (bytes, protocol, direction, mac, wirelen)."""
    z = "00:00:00:00:00:00"
    out = []
    out.append((raw(ARP(op=1, hwsrc=MAC_A, psrc=H1, hwdst=z, pdst=H2)), 0x0806, "out", MAC_A, None))
    out.append((raw(ARP(op=1, hwsrc=MAC_B, psrc=H2, hwdst=z, pdst=H1)), 0x0806, "bcast", MAC_B, None))
    out.append((raw(ARP(op=2, hwsrc=MAC_B, psrc=H2, hwdst=MAC_A, pdst=H1)), 0x0806, "in", MAC_B, None))
    out.append((raw(ARP(op=2, hwsrc=MAC_A, psrc=H1, hwdst=MAC_B, pdst=H2)), 0x0806, "out", MAC_A, None))
    out.append((raw(ARP(op=1, hwsrc=MAC_C, psrc=H5, hwdst=z, pdst=H5)), 0x0806, "bcast", MAC_C, None))
    b = raw(ARP(op=1, hwsrc=MAC_C, psrc=H3, hwdst=z, pdst=H6))
    out.append((b[:12], 0x0806, "bcast", MAC_C, len(b)))
    return out


def cooked_extra():
    """Extra IP traffic for the cooked captures only: an HTTP exchange etc."""
    out = []
    c, s, cp, sp = H1, H4, 46100, 80
    seq = [("out", c, s, cp, sp, "S", b""), ("in", s, c, sp, cp, "SA", b""), ("out", c, s, cp, sp, "A", b""),
           ("out", c, s, cp, sp, "PA", b"GET / HTTP/1.1\r\nHost: 192.168.1.10\r\n\r\n"),
           ("in", s, c, sp, cp, "A", text(1448, b"<html>hi</html>")), ("in", s, c, sp, cp, "PA", text(300, b"<html>hi</html>")),
           ("out", c, s, cp, sp, "A", b""), ("out", c, s, cp, sp, "FA", b""), ("in", s, c, sp, cp, "FA", b""),
           ("out", c, s, cp, sp, "A", b"")]
    for d, a, b, x, y, fl, data in seq:
        out.append((raw(ip4(a, b, flags="DF") / tcp(x, y, fl) / data), 0x0800, d, MAC_A if d == "out" else MAC_B, None))
    out.append((raw(ip4(H4, MCAST1, ttl=1) / UDP(sport=46101, dport=1030) / text(20)), 0x0800, "mcast", MAC_B, None))
    out.append((raw(ip4(H3, H6, flags="DF") / tcp(46102, 5060, "S")), 0x0800, "other", MAC_C, None))
    out.append((raw(ip6(LL2, SOLNODE, hlim=1) / IPv6ExtHdrHopByHop(options=[RouterAlert(value=0)]) / ICMPv6MLReport(mladdr=SOLNODE)), 0x86DD, "mcast", MAC_B, None))
    out.append((raw(ip6(V6_3, V6_2) / UDP(sport=1024, dport=1030) / payload(60)), 0x86DD, "other", MAC_C, None))
    return out


PKTTYPE = {"in": 0, "bcast": 1, "mcast": 2, "other": 3, "out": 4}


def cooked_records(kind):
    """Records for sll (kind=1) or sll2 (kind=2)."""
    items = []
    l3 = l3_mix()
    l2 = l2_extra()
    # interleave ARP in the middle of the traffic
    items = l2[:3] + l3[:30] + l2[3:] + l3[30:] + cooked_extra()
    # LLC (protocol 0x0004): an STP BPDU, received as multicast
    bpdu = bytes([0x42, 0x42, 0x03]) + b"\x00" * 5 + struct.pack("!H6s", 0x8000, bytes.fromhex("66778899aabb")) + \
        b"\x00" * 4 + struct.pack("!H6s", 0x8000, bytes.fromhex("66778899aabb")) + struct.pack("!HHHHH", 0x8001, 0, 5120, 512, 3840)
    items.append((bpdu, 0x0004, "mcast", MAC_B, None))
    items.append((bytes([0xAA, 0xAA, 0x03, 0, 0, 0, 0x08, 0x00]) + raw(ip4(H4, H1) / UDP(sport=53, dport=46040) / payload(20)), 0x0004, "in", MAC_B, None))
    recs = []
    for n, (b, proto, d, mac, wl) in enumerate(items):
        macb = bytes.fromhex(mac.replace(":", ""))
        pkttype = PKTTYPE[d]
        hatype = 1
        if n in (5, 6):  # two packets on the loopback device
            hatype, macb, pkttype = 772, b"\x00" * 6, (4 if n == 5 else 0)
        if kind == 1:
            hdr = struct.pack("!HHH8sH", pkttype, hatype, 6, macb + b"\x00\x00", proto)
        else:
            ifindex = 1 if hatype == 772 else (2 if n % 3 else 3)
            hdr = struct.pack("!HHIHBB8s", proto, 0, ifindex, hatype, pkttype, 6, macb + b"\x00\x00")
        recs.append(Pkt(hdr + b, (len(hdr) + wl) if wl is not None else None))
    # a record truncated inside the cooked header itself
    recs.append(Pkt(recs[1].data[:8], recs[1].wirelen))
    return recs


def raw_records():
    recs = []
    for b, et, d, mac, wl in l3_mix():
        recs.append(Pkt(b, wl))
    # a few more: IPv6 ext chain, ICMPv6 MLD, IPv4 GRE
    recs.append(full(ip6(LL1, ALLNODES, hlim=1) / IPv6ExtHdrHopByHop(options=[RouterAlert(value=0)]) / ICMPv6MLQuery()))
    recs.append(full(ip4(H1, H6, proto=47) / GRE(proto=0x0800) / ip4(H4, H3) / UDP(sport=1025, dport=53) / payload(10)))
    recs.append(full(ip6(V6_1, V6_2) / IPv6ExtHdrHopByHop(options=[PadN(optdata=b"\x00" * 4)]) /
                     IPv6ExtHdrDestOpt(options=[PadN(optdata=b"\x00" * 4)]) / IPv6ExtHdrRouting(addresses=[V6_3], segleft=1) /
                     tcp(46050, 80, "S")))
    recs.append(full(ip4(H2, H7, flags="DF") / tcp(46051, 443, "PA") / text(1400)))
    return recs


# --------------------------------------------------------------------------
# File writers
# --------------------------------------------------------------------------
SNAPLEN = 262144


def write_pcap(path, linktype, pkts, nano=False):
    magic = 0xA1B23C4D if nano else 0xA1B2C3D4
    with open(path, "wb") as f:
        f.write(struct.pack("<IHHiIII", magic, 2, 4, 0, 0, SNAPLEN, linktype))
        for i, p in enumerate(pkts):
            if nano:
                sub = i * 1_000_000 + 123
            else:
                sub = i * 1000
            sec = TS_BASE + sub // (1_000_000_000 if nano else 1_000_000)
            frac = sub % (1_000_000_000 if nano else 1_000_000)
            f.write(struct.pack("<IIII", sec, frac, len(p.data), p.wirelen))
            f.write(p.data)


def _block(btype, body):
    total = 12 + len(body)
    return struct.pack("<II", btype, total) + body + struct.pack("<I", total)


def _opt(code, val):
    pad = (-len(val)) % 4
    return struct.pack("<HH", code, len(val)) + val + b"\x00" * pad


def write_pcapng(path, linktype, pkts, nano):
    shb_opts = _opt(4, b"bpfdump captures/make_captures.py") + _opt(0, b"")
    shb = _block(0x0A0D0D0A, struct.pack("<IHHq", 0x1A2B3C4D, 1, 0, -1) + shb_opts)
    idb_opts = _opt(2, b"eth0")
    if nano:
        idb_opts += _opt(9, bytes([9]))
    idb_opts += _opt(0, b"")
    idb = _block(0x00000001, struct.pack("<HHI", linktype, 0, SNAPLEN) + idb_opts)
    with open(path, "wb") as f:
        f.write(shb)
        f.write(idb)
        for i, p in enumerate(pkts):
            if nano:
                ts = TS_BASE * 1_000_000_000 + i * 1_000_000 + 123
            else:
                ts = TS_BASE * 1_000_000 + i * 1000
            data = p.data + b"\x00" * ((-len(p.data)) % 4)
            body = struct.pack("<IIIII", 0, ts >> 32, ts & 0xFFFFFFFF, len(p.data), p.wirelen) + data
            f.write(_block(0x00000006, body))


# --------------------------------------------------------------------------
# README
# --------------------------------------------------------------------------


def fmt_ranges(rs):
    return ", ".join(f"{a}-{b}" if a != b else f"{a}" for a, b in rs)


def write_readme(counts, ranges, n_overview):
    lines = []
    lines.append("# Sample captures")
    lines.append("")
    lines.append("Generated by `make_captures.py` (Python 3.11 + scapy; fixed seed, byte-for-byte")
    lines.append("deterministic). Do not edit the capture files by hand. Regenerate with:")
    lines.append("")
    lines.append("```sh")
    lines.append("python3 captures/make_captures.py")
    lines.append("```")
    lines.append("")
    lines.append("(from the repository root; the script writes next to itself, so the working")
    lines.append("directory does not matter). Check with `tcpdump -nn -r captures/FILE`.")
    lines.append("")
    lines.append("## Timestamps")
    lines.append("")
    lines.append("Packet *i* (0-based) of every file has a unique timestamp:")
    lines.append("")
    lines.append("* microsecond files: `1700000000 s + i * 1000 us` (i.e. `1700000000.000000 + i*0.001`)")
    lines.append("* nanosecond files: `1700000000 s + i * 1000000 ns + 123 ns`")
    lines.append("")
    lines.append("## Files")
    lines.append("")
    lines.append("| file | link type | packets | contents |")
    lines.append("|---|---|---|---|")
    lines.append(f"| `sample.pcap` | EN10MB (1), usec pcap | {counts['sample.pcap']} | everything below |")
    lines.append(f"| `sample-ns.pcap` | EN10MB (1), nsec pcap (magic a1b23c4d) | {counts['sample-ns.pcap']} | packets 0-{n_overview - 1} of sample.pcap |")
    lines.append(f"| `sample-ns.pcapng` | EN10MB (1), pcapng, if_tsresol=9 | {counts['sample-ns.pcapng']} | packets 0-{n_overview - 1} of sample.pcap |")
    lines.append(f"| `sample-us.pcapng` | EN10MB (1), pcapng, default usec | {counts['sample-us.pcapng']} | packets 0-{n_overview - 1} of sample.pcap |")
    lines.append(f"| `sll.pcap` | LINUX_SLL (113) | {counts['sll.pcap']} | cooked IPv4/IPv6/ARP/LLC mix, see below |")
    lines.append(f"| `sll2.pcap` | LINUX_SLL2 (276) | {counts['sll2.pcap']} | same payloads as sll.pcap |")
    lines.append(f"| `raw.pcap` | RAW (101) | {counts['raw.pcap']} | IPv4/IPv6 mix, see below |")
    lines.append("")
    lines.append("## sample.pcap packet groups")
    lines.append("")
    lines.append(f"Packets 0-{n_overview - 1} are an \"overview\" holding the first few packets of every")
    lines.append("group (these are also the pcapng / ns files); the rest of each group follows.")
    lines.append("Indices are packet numbers (timestamp = 1700000000 + index * 0.001).")
    lines.append("")
    for key, desc, pkts, q in GROUPS:
        lines.append(f"* **{key}** [{fmt_ranges(ranges[key])}]: {desc}")
    lines.append("")
    lines.append("## sll.pcap / sll2.pcap")
    lines.append("")
    lines.append("* ARP request/reply (in/out/broadcast), gratuitous ARP, one ARP truncated to 12 bytes of payload")
    lines.append("* IPv4 TCP flag mixes both directions (pkttype outgoing=4 for ours, incoming=0 for theirs), ports 80/443/22/8080/0/65535")
    lines.append("* IPv4 UDP DNS, DHCP broadcast (pkttype 1), subnet broadcast, multicast 239.1.2.3 (pkttype 2), otherhost (pkttype 3), 1200-byte UDP")
    lines.append("* ICMP echo/reply, port unreachable, time exceeded; IGMP report; IPv4 record-route option; IPv4 fragments (first + non-first); lone middle fragment")
    lines.append("* IPv6 TCP/UDP, ICMPv6 echo, NS/NA/RA, HBH+TCP, RT+DST+UDP, fragment header first/non-first, link-local UDP")
    lines.append("* truncated IPv4/IPv6 packets (cut inside IP header / TCP header), and one record cut inside the cooked header (8 bytes)")
    lines.append("* two packets with ARPHRD_LOOPBACK (772, all-zero address); everything else ARPHRD_ETHER (1), address length 6")
    lines.append("* protocol 0x0004 (802.2 LLC): an STP BPDU and an LLC/SNAP IPv4 UDP packet")
    lines.append("* sll2: interface index 1 (loopback packets), 2 and 3")
    lines.append("")
    lines.append("## raw.pcap")
    lines.append("")
    lines.append("The same IPv4/IPv6 payloads as sll.pcap (no ARP/LLC), plus MLD query with HBH router alert,")
    lines.append("GRE-in-IPv4, a HBH+DST+RT+TCP chain and a 1440-byte TCP segment. Includes truncated packets.")
    lines.append("")
    lines.append("## Address plan")
    lines.append("")
    lines.append("* MACs: 00:11:22:33:44:55 (A), 66:77:88:99:aa:bb (B), 02:00:00:00:00:01 (C);")
    lines.append("  broadcast ff:ff:ff:ff:ff:ff; multicast 01:00:5e:00:00:01 (224.0.0.1), 01:00:5e:01:02:03 (239.1.2.3),")
    lines.append("  33:33:00:00:00:01 (ff02::1), 33:33:ff:00:00:01 (ff02::1:ff00:1). Protocol-defined extras:")
    lines.append("  01:80:c2:00:00:00 (STP), 01:80:c2:00:00:0e (LLDP), 03:00:00:00:00:01 (NetBEUI),")
    lines.append("  00:00:5e:00:01:01 (VRRP source), 09:00:07:ff:ff:ff (AARP), aa:00:04:00:01:04 / ab:00:00:03:00:00 (DECnet).")
    lines.append("* IPv4: 10.0.0.1, 10.0.0.2, 10.1.2.3, 192.168.1.10, 192.168.1.20, 172.16.5.4, 8.8.8.8,")
    lines.append("  224.0.0.1, 239.1.2.3, 255.255.255.255, 192.168.1.255 (plus 0.0.0.0 as DHCP/ARP-probe source).")
    lines.append("* IPv6: 2001:db8::1, 2001:db8::2, 2001:db8:1::10, fe80::1, fe80::2, ff02::1, ff02::1:ff00:1 (plus :: for DAD).")
    lines.append("* TCP/UDP ports: 22, 53, 80, 443, 8080, 1024-1030, 67/68, 123, 5060, 0, 65535, ephemeral 40000-60000")
    lines.append("  (also 33434/33435 inside ICMP-quoted traceroute headers).")
    lines.append("* VLAN IDs 10, 20, 100, 4094; MPLS labels 16, 100, 1000.")
    lines.append("")
    with open(os.path.join(HERE, "README.md"), "w") as f:
        f.write("\n".join(lines))


def main():
    sample, ranges = build_sample()
    overview = sample[:100]
    sll = cooked_records(1)
    sll2 = cooked_records(2)
    rawp = raw_records()

    p = lambda name: os.path.join(HERE, name)
    write_pcap(p("sample.pcap"), 1, sample)
    write_pcap(p("sample-ns.pcap"), 1, overview, nano=True)
    write_pcapng(p("sample-ns.pcapng"), 1, overview, nano=True)
    write_pcapng(p("sample-us.pcapng"), 1, overview, nano=False)
    write_pcap(p("sll.pcap"), 113, sll)
    write_pcap(p("sll2.pcap"), 276, sll2)
    write_pcap(p("raw.pcap"), 101, rawp)
    counts = {
        "sample.pcap": len(sample),
        "sample-ns.pcap": len(overview),
        "sample-ns.pcapng": len(overview),
        "sample-us.pcapng": len(overview),
        "sll.pcap": len(sll),
        "sll2.pcap": len(sll2),
        "raw.pcap": len(rawp),
    }
    write_readme(counts, ranges, len(overview))
    for k, v in counts.items():
        print(f"{k}: {v} packets, {os.path.getsize(p(k))} bytes")


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Write a large pcap of realistic traffic for bench/read.sh (not committed; made on demand).

    python3 bench/make_big.py OUT.pcap [SIZE_MB]     (default 1024)

A mix shaped like a busy server link: TCP flows on 443 and 80 (handshakes, full-size data
segments both ways, ACKs with SACK and timestamps), DNS over UDP, some ICMP and IPv6 TCP/UDP,
ARP. Sequence numbers advance per flow, so tcpdump's relative sequence numbers are exercised.
Deterministic: a fixed seed, packet i at 1700000000 + i * 20 us. No third-party modules.
"""

import random
import struct
import sys

def csum(b):
    if len(b) % 2:
        b += b"\0"
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return (~s) & 0xFFFF

MAC_A = bytes.fromhex("001122334455")
MAC_B = bytes.fromhex("66778899aabb")

def eth(dst, src, ty, payload):
    return dst + src + struct.pack("!H", ty) + payload

def ipv4(src, dst, proto, payload, ident):
    h = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(payload), ident & 0xFFFF, 0x4000, 64, proto, 0, src, dst)
    h = h[:10] + struct.pack("!H", csum(h)) + h[12:]
    return h + payload

def ipv6(src, dst, nh, payload):
    return struct.pack("!IHBB16s16s", 0x60000000, len(payload), nh, 64, src, dst) + payload

def tcp(sport, dport, seq, ack, flags, payload, opts=b""):
    off = (20 + len(opts)) // 4
    return struct.pack("!HHIIBBHHH", sport, dport, seq & 0xFFFFFFFF, ack & 0xFFFFFFFF, off << 4, flags, 502, 0, 0) + opts + payload

def udp(sport, dport, payload):
    return struct.pack("!HHHH", sport, dport, 8 + len(payload), 0) + payload

def dns_query(ident, name):
    q = b"".join(bytes([len(p)]) + p.encode() for p in name.split(".")) + b"\0"
    return struct.pack("!HHHHHH", ident, 0x0100, 1, 0, 0, 0) + q + struct.pack("!HH", 1, 1)

def dns_answer(ident, name, addr):
    q = b"".join(bytes([len(p)]) + p.encode() for p in name.split(".")) + b"\0"
    return (struct.pack("!HHHHHH", ident, 0x8180, 1, 1, 0, 0) + q + struct.pack("!HH", 1, 1)
            + struct.pack("!HHHIH", 0xC00C, 1, 1, 300, 4) + addr)

def main():
    out = sys.argv[1]
    size = int(sys.argv[2]) if len(sys.argv) > 2 else 1024
    limit = size * 1024 * 1024
    rnd = random.Random(7)
    servers = [bytes([10, 0, 0, k]) for k in range(1, 9)]
    clients = [bytes([192, 168, rnd.randrange(256), rnd.randrange(1, 255)]) for _ in range(200)]
    v6s = [bytes.fromhex("20010db8000000000000000000000001"), bytes.fromhex("20010db8000000000000000000000002")]
    data = bytes(rnd.randrange(256) for _ in range(1460))
    flows = []
    for i in range(400):
        port = 443 if i % 4 else 80
        flows.append([rnd.choice(clients), rnd.choice(servers), 30000 + i, port, rnd.getrandbits(32), rnd.getrandbits(32), 0])
    ts_opt = lambda v: b"\x01\x01\x08\x0a" + struct.pack("!II", (v + 1000) & 0xFFFFFFFF, (v + 995) & 0xFFFFFFFF)
    frames = []
    written = 24
    i = 0
    f = open(out, "wb")
    f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 262144, 1))
    buf = []
    while written < limit:
        r = rnd.random()
        if r < 0.80:
            fl = rnd.choice(flows)
            c, s, cp, sp, cseq, sseq, state = fl
            if state == 0:
                pkts = [eth(MAC_B, MAC_A, 0x0800, ipv4(c, s, 6, tcp(cp, sp, cseq, 0, 0x02, b"", b"\x02\x04\x05\xb4\x04\x02" + ts_opt(i)[2:] + b"\x01\x03\x03\x07"), i)),
                        eth(MAC_A, MAC_B, 0x0800, ipv4(s, c, 6, tcp(sp, cp, sseq, cseq + 1, 0x12, b"", b"\x02\x04\x05\xb4\x04\x02" + ts_opt(i)[2:] + b"\x01\x03\x03\x07"), i)),
                        eth(MAC_B, MAC_A, 0x0800, ipv4(c, s, 6, tcp(cp, sp, cseq + 1, sseq + 1, 0x10, b"", ts_opt(i)), i))]
                fl[4] += 1; fl[5] += 1; fl[6] = 1
            else:
                n = rnd.choice([1448, 1448, 1448, 512, 100, 0])
                if n:
                    pkts = [eth(MAC_A, MAC_B, 0x0800, ipv4(s, c, 6, tcp(sp, cp, sseq, cseq, 0x18, data[:n], ts_opt(i)), i))]
                    fl[5] = (fl[5] + n) & 0xFFFFFFFF
                else:
                    sack = b"\x01\x01\x05\x0a" + struct.pack("!II", (sseq + 2000) & 0xFFFFFFFF, (sseq + 4000) & 0xFFFFFFFF)
                    pkts = [eth(MAC_B, MAC_A, 0x0800, ipv4(c, s, 6, tcp(cp, sp, cseq, sseq, 0x10, b"", ts_opt(i) + sack), i))]
        elif r < 0.90:
            c = rnd.choice(clients); ident = rnd.getrandbits(16)
            name = rnd.choice(["example.com", "www.example.org", "api.example.net", "cdn.example.com"])
            pkts = [eth(MAC_B, MAC_A, 0x0800, ipv4(c, bytes([8, 8, 8, 8]), 17, udp(40000 + ident % 20000, 53, dns_query(ident, name)), i)),
                    eth(MAC_A, MAC_B, 0x0800, ipv4(bytes([8, 8, 8, 8]), c, 17, udp(53, 40000 + ident % 20000, dns_answer(ident, name, bytes([93, 184, 216, 34]))), i))]
        elif r < 0.95:
            c = rnd.choice(clients)
            pkts = [eth(MAC_B, MAC_A, 0x86DD, ipv6(v6s[0], v6s[1], 6, tcp(40000 + i % 1000, 443, i * 1448, 1, 0x18, data[:rnd.choice([64, 1200])]))),
                    eth(MAC_B, MAC_A, 0x86DD, ipv6(v6s[1], v6s[0], 17, udp(5000, 6000 + i % 50, data[:200])))]
        elif r < 0.99:
            c = rnd.choice(clients)
            icmp = struct.pack("!BBHHH", 8, 0, 0, 7, i & 0xFFFF) + data[:56]
            icmp = icmp[:2] + struct.pack("!H", csum(icmp)) + icmp[4:]
            pkts = [eth(MAC_B, MAC_A, 0x0800, ipv4(c, rnd.choice(servers), 1, icmp, i))]
        else:
            arp = struct.pack("!HHBBH6s4s6s4s", 1, 0x0800, 6, 4, 1, MAC_A, bytes([10, 0, 0, 1]), b"\0" * 6, bytes([10, 0, 0, 2]))
            pkts = [eth(b"\xff" * 6, MAC_A, 0x0806, arp + b"\0" * 18)]
        for p in pkts:
            t = 1700000000 * 1000000 + i * 20
            buf.append(struct.pack("<IIII", t // 1000000, t % 1000000, len(p), len(p)) + p)
            written += 16 + len(p)
            i += 1
        if len(buf) > 4096:
            f.write(b"".join(buf)); buf = []
    f.write(b"".join(buf))
    f.close()
    print(f"{out}: {i} packets, {written} bytes", file=sys.stderr)

main()

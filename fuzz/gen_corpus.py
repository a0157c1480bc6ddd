#!/usr/bin/env python3
"""Seeds fuzz/corpus/<target>/ from the real captured frames in the unit tests.

Reads every `const NAME: [u8; N] = [ ... ];` byte array in the wire test files
(l2/src/wire/*.rs, l3l4/src/wire/frames.rs, l3l4/src/wire/frames_v6.rs) and writes:

- ethernet/: the Ethernet frames as captured, plus the IP frames and ARP packets
  wrapped in the Ethernet header of the same capture (and one 802.1Q tag);
- arp/:      the ARP packets, plus short ARP cache scripts built from them
  (opcode 0 + packet, opcode 1 + clock step, ...; see strata_fuzz::arp_cache);
- ipv4/:     the IPv4 frames (first nibble 4);
- ipv6/:     the IPv6 frames (first nibble 6).

Run from anywhere: python3 fuzz/gen_corpus.py. Rewrites the seed files it owns
(named seed-*), leaving any other corpus files alone.
"""
import pathlib
import re

ROOT = pathlib.Path(__file__).resolve().parent.parent
OUT = ROOT / "fuzz" / "corpus"
SOURCES = sorted((ROOT / "l2" / "src" / "wire").glob("*.rs")) + [
    ROOT / "l3l4" / "src" / "wire" / "frames.rs",
    ROOT / "l3l4" / "src" / "wire" / "frames_v6.rs",
]
ARRAY = re.compile(r"const\s+([A-Z0-9_]+)\s*:\s*\[u8;\s*(\d+)\]\s*=\s*\[([^\]]*)\];", re.S)


def arrays():
    found = {}
    for path in SOURCES:
        for name, n, body in ARRAY.findall(path.read_text()):
            data = bytes(int(tok, 0) for tok in re.findall(r"0x[0-9a-fA-F]+|\d+", body))
            assert len(data) == int(n), (path, name)
            found[f"{path.stem}-{name.lower()}"] = data
    return found


def main():
    frames = arrays()
    seeds = {"ethernet": {}, "arp": {}, "ipv4": {}, "ipv6": {}}
    # MACs of the l2 captures (host A -> host B).
    mac_a = bytes.fromhex("02005e100001")
    mac_b = bytes.fromhex("02005e100002")
    for name, data in frames.items():
        if name.startswith(("ethernet-", "vlan-")):
            seeds["ethernet"][name] = data
        elif name.startswith("arp-"):
            arp = data
            seeds["arp"][name] = arp
            seeds["ethernet"][name] = b"\xff" * 6 + mac_a + b"\x08\x06" + arp
        elif data and data[0] >> 4 == 4:
            seeds["ipv4"][name] = data
            seeds["ethernet"][name] = mac_b + mac_a + b"\x08\x00" + data
        elif data and data[0] >> 4 == 6:
            seeds["ipv6"][name] = data
            seeds["ethernet"][name] = mac_b + mac_a + b"\x86\xdd" + data
    # One 802.1Q (VID 100, PCP 5) and one QinQ-tagged IP frame.
    udp = frames["frames-udp_frame"]
    seeds["ethernet"]["vlan-udp_frame"] = mac_b + mac_a + bytes.fromhex("8100a0640800") + udp
    v6 = frames["frames_v6-ns"]
    seeds["ethernet"]["qinq-ns"] = mac_b + mac_a + bytes.fromhex("88a8600a8100c00c86dd") + v6

    # ARP cache scripts: op 0 = packet, 1 = clock step (x10 ms), 2 = resolve,
    # 3 = lookup, 4 = timeout, 5 = announce, 6 = permanent/remove/confirm, 7 = flush.
    # Our host is 10.0.0.2 (02:00:5e:10:00:02); the captures are A (10.0.0.1) asking B.
    req, rep = frames["arp-request"], frames["arp-reply"]
    grat, probe = frames["arp-gratuitous"], frames["arp-probe_padded"][:28]
    pkt = lambda p: b"\x00" + p
    step = lambda ms: b"\x01" + (ms // 10).to_bytes(2, "big")
    scripts = {
        "script-request-then-resolve": pkt(req) + b"\x02\x01" + b"\x03\x01",
        "script-resolve-reply": b"\x02\x01\x02\x01\x02\x01" + pkt(rep) + b"\x03\x01",
        "script-resolve-give-up": b"\x02\x07" + b"\x04" * 5 + step(5000) + b"\x04",
        "script-stale-and-poll": pkt(req) + step(40000) + b"\x04\x02\x01" + b"\x04" * 4,
        "script-probe-defence": pkt(probe) + pkt(grat) + b"\x05\x02" + b"\x04\x04",
        "script-permanent": b"\x06\x09\x02\x09" + pkt(req) + b"\x06\x0a\x07",
    }
    for name, script in scripts.items():
        seeds["arp"][name] = script

    total = 0
    for target, files in seeds.items():
        d = OUT / target
        d.mkdir(parents=True, exist_ok=True)
        for old in d.glob("seed-*"):
            old.unlink()
        for name, data in sorted(files.items()):
            (d / f"seed-{name}").write_bytes(data)
            total += len(data)
        print(f"{target}: {len(files)} files")
    print(f"total {total} bytes")


if __name__ == "__main__":
    main()

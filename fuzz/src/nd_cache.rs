//! Fuzz body for the IPv6 neighbour cache (`strata_l3l4::nd`): the input is a
//! script of commands run against a small [`NdCache`], with every output drained
//! and checked after each command.

use core::time::Duration;
use std::net::Ipv6Addr;

use strata_l2::{EthernetAddress, EthernetFrame, Instant};
use strata_l3l4::checksum::{Checksum, ChecksumCaps};
use strata_l3l4::wire::ndisc::{self, NeighborFlags};
use strata_l3l4::{Ipv6Packet, NdCache, NdConfig, NdResolve, NdiscPacket, NdiscRepr};

/// Our interface in the neighbour cache script.
pub const ND_OURS_MAC: EthernetAddress = EthernetAddress::new(0x02, 0, 0, 0, 0x09, 0x01);
/// Our IPv6 addresses in the neighbour cache script: fd00:9::1 and fe80::1.
pub const ND_OURS: [Ipv6Addr; 2] = [
    Ipv6Addr::new(0xfd00, 9, 0, 0, 0, 0, 0, 1),
    Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, 1),
];

/// Most commands one input runs.
const ND_MAX_COMMANDS: usize = 512;

/// A neighbour: fd00:9::2 ..= fd00:9::9.
fn nd_host(h: u8) -> Ipv6Addr {
    Ipv6Addr::new(0xfd00, 9, 0, 0, 0, 0, 0, 2 + u16::from(h % 8))
}

/// An address selector: 0 unspecified, 1 ours, 2 all-nodes, 3 ours (link-local),
/// 4 loopback, others a neighbour.
fn nd_addr(s: u8) -> Ipv6Addr {
    match s % 16 {
        0 => Ipv6Addr::UNSPECIFIED,
        1 => ND_OURS[0],
        2 => Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 1),
        3 => ND_OURS[1],
        4 => Ipv6Addr::LOCALHOST,
        n => nd_host(n),
    }
}

/// A link-layer address selector: none, ours, broadcast, or four neighbour MACs.
fn nd_mac(s: u8) -> Option<[u8; 6]> {
    match s % 8 {
        0 => None,
        1 => Some(*ND_OURS_MAC.as_bytes()),
        2 => Some([0xff; 6]),
        3 => Some([0x33, 0x33, 0, 0, 0, 1]),
        n => Some([0x02, 0, 0, 0, 0x0a, n]),
    }
}

/// Takes `n` bytes off the front of `rest`.
fn take<'a>(rest: &mut &'a [u8], n: usize) -> Option<&'a [u8]> {
    let bytes = rest.get(..n)?;
    *rest = &rest[n..];
    Some(bytes)
}

/// Runs the input as a script of commands on a small neighbour cache. Each
/// command is an opcode byte (taken modulo 10) and its operands:
///
/// | op | operands                      | command                                          |
/// |----|-------------------------------|--------------------------------------------------|
/// | 0  | src, dst, len, `len % 48` bytes | parse the bytes as an ND message (hop limit 255, checksum not checked) and `handle_ndisc` it |
/// | 1  | src, target, mac              | `handle_ns` of a built NS (target 1 = ours)      |
/// | 2  | target, flags, mac            | `handle_na` of a built NA (flags: R=1, S=2, O=4) |
/// | 3  | 2 bytes, BE                   | advance the clock by that many times 10 ms       |
/// | 4  | 1 byte `h`                    | `resolve(fd00:9::h)` with a packet               |
/// | 5  | 1 byte `h`                    | `lookup(fd00:9::h)` from `::`, fe80::1, ff02::1 or fd00:9::1 (`h >> 6`) |
/// | 6  | none                          | `handle_timeout` at `poll_at` (or now)           |
/// | 7  | 1 byte `h`                    | `insert_permanent` / `remove` / `confirm` of `h` |
/// | 8  | 2 bytes                       | set BaseReachableTime (ms) or RetransTimer (ms / 16) |
/// | 9  | none                          | `flush`                                          |
///
/// After every command the outputs are drained: every transmit is emitted, parsed
/// back with its checksum verified and hop limit 255, the cache's invariants are
/// checked, and every packet handed in is accounted for exactly once (sent,
/// handed back, released, returned unreachable, still waiting, or dropped).
/// Packets whose neighbour failed to resolve are left unpolled after a command
/// whose opcode byte has its top bit set, so that their bounded queue fills.
pub fn nd_cache(data: &[u8]) {
    let config = NdConfig {
        capacity: 4,
        max_incomplete: 2,
        queue_per_neighbour: 2,
        queue_total: 4,
        transmit_capacity: 4,
        event_capacity: 4,
        stale_time: Duration::from_secs(20),
        seed: data.len() as u64,
        ..NdConfig::default()
    };
    let mut cache: NdCache<u32> = NdCache::new(config.clone(), ND_OURS_MAC);
    let mut now_ms: u64 = 1_000;
    let mut next_packet: u32 = 0;
    // Packets handed in, and what became of them.
    let (mut handed, mut sent_now, mut handed_back, mut polled) = (0u64, 0u64, 0u64, 0u64);
    let no_checksum = ChecksumCaps {
        icmpv6: Checksum::None,
        ..ChecksumCaps::software()
    };
    let mut rest = data;
    for _ in 0..ND_MAX_COMMANDS {
        let Some((&op, tail)) = rest.split_first() else {
            break;
        };
        rest = tail;
        let now = Instant::from_millis(now_ms);
        match op % 10 {
            0 => {
                let Some(head) = take(&mut rest, 3) else {
                    break;
                };
                let (src, dst) = (nd_addr(head[0]), nd_addr(head[1]));
                let Some(bytes) = take(&mut rest, usize::from(head[2]) % 48) else {
                    break;
                };
                if let Ok(packet) = NdiscPacket::new_checked(bytes) {
                    if let Ok(repr) =
                        NdiscRepr::parse(&packet, &src, &dst, ndisc::HOP_LIMIT, &no_checksum)
                    {
                        cache.handle_ndisc(now, src, dst, &repr, &ND_OURS);
                    }
                }
            }
            1 => {
                let Some(b) = take(&mut rest, 3) else { break };
                let (src, target) = (nd_addr(b[0]), nd_addr(b[1]));
                let dst = if b[0] & 0x80 != 0 {
                    target
                } else {
                    strata_l3l4::wire::ipv6::solicited_node(&target)
                };
                let repr = NdiscRepr::NeighborSolicit {
                    target_addr: target,
                    lladdr: nd_mac(b[2]),
                };
                cache.handle_ns(now, src, dst, &repr, &ND_OURS);
            }
            2 => {
                let Some(b) = take(&mut rest, 3) else { break };
                let target = nd_addr(b[0]);
                let flags = NeighborFlags {
                    router: b[1] & 1 != 0,
                    solicited: b[1] & 2 != 0,
                    override_: b[1] & 4 != 0,
                };
                let dst = if b[1] & 8 != 0 {
                    Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 1)
                } else {
                    ND_OURS[0]
                };
                let repr = NdiscRepr::NeighborAdvert {
                    flags,
                    target_addr: target,
                    lladdr: nd_mac(b[2]),
                };
                cache.handle_na(now, target, dst, &repr, &ND_OURS);
            }
            3 => {
                let Some(b) = take(&mut rest, 2) else { break };
                now_ms += u64::from(u16::from_be_bytes([b[0], b[1]])) * 10;
            }
            4 => {
                let Some(b) = take(&mut rest, 1) else { break };
                next_packet += 1;
                handed += 1;
                match cache.resolve(now, nd_host(b[0]), ND_OURS[0], next_packet) {
                    NdResolve::Send(mac, _) => {
                        assert!(!mac.is_unspecified(), "resolved to 00:00:00:00:00:00");
                        sent_now += 1;
                    }
                    NdResolve::Queued { displaced } => {
                        handed_back += u64::from(displaced.is_some());
                    }
                    NdResolve::Refused(..) => handed_back += 1,
                }
            }
            5 => {
                let Some(b) = take(&mut rest, 1) else { break };
                let source = match b[0] >> 6 {
                    0 => Ipv6Addr::UNSPECIFIED,
                    1 => ND_OURS[1],
                    2 => Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 1),
                    _ => ND_OURS[0],
                };
                if let Some(mac) = cache.lookup(now, nd_host(b[0]), source) {
                    assert!(!mac.is_unspecified(), "looked up 00:00:00:00:00:00");
                }
            }
            6 => {
                let at = cache.poll_at().unwrap_or(now).max(now);
                now_ms = u64::try_from(at.since_epoch().as_millis()).unwrap_or(u64::MAX / 2);
                cache.handle_timeout(at);
            }
            7 => {
                let Some(b) = take(&mut rest, 1) else { break };
                let addr = nd_host(b[0]);
                match b[0] >> 6 {
                    0 => {
                        let mac = EthernetAddress::new(0x02, 0, 0, 0, 0x0a, b[0] & 7);
                        let _ = cache.insert_permanent(addr, mac, b[0] & 8 != 0);
                    }
                    1 => {
                        cache.remove(addr);
                    }
                    _ => {
                        cache.confirm(now, addr);
                    }
                }
            }
            8 => {
                let Some(b) = take(&mut rest, 2) else { break };
                let value = u16::from_be_bytes([b[0], b[1]]);
                if value & 1 == 0 {
                    cache.set_base_reachable_time(now, Duration::from_millis(u64::from(value)));
                } else {
                    cache.set_retrans_timer(Duration::from_millis(u64::from(value >> 4)));
                }
            }
            _ => cache.flush(),
        }
        polled += drain_nd(
            &mut cache,
            &config,
            Instant::from_millis(now_ms),
            op & 0x80 == 0,
        );
        let stats = cache.stats();
        assert_eq!(
            handed,
            sent_now
                + handed_back
                + polled
                + cache.queued_len() as u64
                + cache.unreachable_len() as u64
                + stats.resolution_failed,
            "a packet handed to the neighbour cache was lost or duplicated"
        );
    }
}

/// Drains the outputs of the cache (those of `poll_unreachable` only if
/// `unreachable`), checking each; returns the packets released or returned
/// unreachable.
fn drain_nd(cache: &mut NdCache<u32>, config: &NdConfig, now: Instant, unreachable: bool) -> u64 {
    if let Err(what) = cache.check_invariants() {
        panic!("neighbour cache invariant broken: {what}");
    }
    assert!(cache.len() <= config.capacity, "ND cache over capacity");
    assert!(cache.incomplete_len() <= config.max_incomplete);
    assert!(cache.queued_len() <= config.queue_total);
    assert!(cache.unreachable_len() <= config.queue_total);
    let mut frame = [0u8; 128];
    let mut sent = 0;
    while let Some(tx) = cache.poll_transmit(now) {
        sent += 1;
        assert!(sent <= config.transmit_capacity, "ND outbox unbounded");
        assert_eq!(tx.src_lladdr, ND_OURS_MAC, "sent as someone else");
        assert!(
            ND_OURS.contains(&tx.src_addr),
            "sent from an address not ours"
        );
        let len = tx.emit(&mut frame).expect("ND frame fits 128 bytes");
        let eth = EthernetFrame::new_checked(&frame[..len]).unwrap();
        let ip = Ipv6Packet::new_checked(eth.payload()).unwrap();
        assert_eq!(ip.hop_limit(), 255, "ND sent with hop limit below 255");
        let message = NdiscPacket::new_checked(ip.payload()).unwrap();
        let back = NdiscRepr::parse(
            &message,
            &ip.src_addr(),
            &ip.dst_addr(),
            ip.hop_limit(),
            &ChecksumCaps::software(),
        );
        assert_eq!(back, Ok(tx.repr), "ND transmit does not parse back");
        if tx.dst_addr.is_multicast() {
            let o = tx.dst_addr.octets();
            assert_eq!(
                eth.dst_addr().as_bytes(),
                &[0x33, 0x33, o[12], o[13], o[14], o[15]]
            );
        } else {
            assert!(eth.dst_addr().is_unicast() && !eth.dst_addr().is_unspecified());
        }
    }
    let mut released = 0;
    while let Some((mac, _)) = cache.poll_released() {
        released += 1;
        assert!(
            !mac.is_unspecified() && mac.is_unicast(),
            "released to a bad MAC"
        );
        assert!(released <= config.queue_total as u64, "released unbounded");
    }
    let mut returned = 0;
    if unreachable {
        while let Some((addr, _)) = cache.poll_unreachable() {
            returned += 1;
            assert!(
                returned <= config.queue_total as u64,
                "unreachable unbounded"
            );
            assert_eq!(addr.segments()[..2], [0xfd00, 9], "unreachable: not a host");
        }
    }
    let mut events = 0;
    while cache.poll_event().is_some() {
        events += 1;
        assert!(events <= config.event_capacity, "ND events unbounded");
    }
    let _ = cache.neighbours().count();
    released + returned
}

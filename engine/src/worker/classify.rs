//! RX classification: a frame's 802.1Q priority (0–7) from its VLAN tag's
//! PCP or its IP header's DSCP, read straight from the bytes (no full header
//! walk: the RX core only needs two bytes, and the worker validates the frame
//! later). A [`PriorityMap`](strata_queues::classes::PriorityMap) then turns
//! the priority into a traffic class.
//!
//! Rules, in order (IEEE 802.1Q-2018 §6.9.3: a tagged frame's priority is its
//! PCP; RFC 8325 §4.3 for mapping DSCP to 802.1 user priorities):
//! 1. a frame with an 802.1Q or 802.1ad tag (the outer one, when stacked)
//!    takes its PCP, unless [`Classifier::trust_pcp`] is off;
//! 2. an IPv4 or IPv6 packet takes `dscp_table[DSCP]` (RFC 2474 §3: the
//!    DSCP is the upper six bits of the TOS / traffic class octet), unless
//!    [`Classifier::trust_dscp`] is off. The default table is `DSCP >> 3`,
//!    the class selector (RFC 2474 §4.2.2: CS*n* → *n*, EF 46 → 5, AF4x →
//!    4, …);
//! 3. anything else (ARP, a truncated frame) takes
//!    [`Classifier::default_priority`].

/// 802.1Q C-tag TPID.
const TPID_8021Q: u16 = 0x8100;
/// 802.1ad S-tag TPID.
const TPID_8021AD: u16 = 0x88a8;
/// The pre-standard QinQ TPID some switches still send.
const TPID_QINQ_OLD: u16 = 0x9100;
/// IPv4 ethertype.
const ETH_IPV4: u16 = 0x0800;
/// IPv6 ethertype.
const ETH_IPV6: u16 = 0x86dd;
/// Most VLAN tags looked through.
const MAX_TAGS: usize = 2;

/// Turns a frame into an 802.1Q priority. See the module documentation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Classifier {
    /// Take the VLAN tag's PCP when there is one (default on).
    pub trust_pcp: bool,
    /// Take the DSCP of untagged IP packets (default on).
    pub trust_dscp: bool,
    /// DSCP → priority; entries above 7 are masked to their low three bits.
    pub dscp_table: [u8; 64],
    /// The priority of frames no rule matched (default 0, best effort).
    pub default_priority: u8,
}

impl Default for Classifier {
    /// PCP first, then DSCP by class selector (`DSCP >> 3`), else 0.
    fn default() -> Self {
        let mut dscp_table = [0u8; 64];
        for (dscp, prio) in dscp_table.iter_mut().enumerate() {
            *prio = (dscp >> 3) as u8;
        }
        Classifier {
            trust_pcp: true,
            trust_dscp: true,
            dscp_table,
            default_priority: 0,
        }
    }
}

impl Classifier {
    /// A configured rule: packets with `dscp` get `priority` (both masked
    /// to their range).
    pub fn with_dscp(mut self, dscp: u8, priority: u8) -> Self {
        self.dscp_table[usize::from(dscp & 0x3f)] = priority & 7;
        self
    }

    /// The frame's priority, 0–7. Never panics, whatever the bytes.
    #[inline]
    pub fn priority(&self, frame: &[u8]) -> u8 {
        let be16 = |at: usize| -> Option<u16> {
            Some(u16::from_be_bytes([*frame.get(at)?, *frame.get(at + 1)?]))
        };
        let Some(mut ethertype) = be16(12) else {
            return self.default_priority & 7;
        };
        let mut offset = 14;
        let mut pcp = None;
        for _ in 0..MAX_TAGS {
            if !matches!(ethertype, TPID_8021Q | TPID_8021AD | TPID_QINQ_OLD) {
                break;
            }
            let (Some(tci), Some(inner)) = (be16(offset), be16(offset + 2)) else {
                break;
            };
            pcp.get_or_insert((tci >> 13) as u8);
            ethertype = inner;
            offset += 4;
        }
        if self.trust_pcp {
            if let Some(pcp) = pcp {
                return pcp;
            }
        }
        if self.trust_dscp {
            let dscp = match ethertype {
                ETH_IPV4 => frame
                    .get(offset..offset + 2)
                    .filter(|ip| ip[0] >> 4 == 4)
                    .map(|ip| ip[1] >> 2),
                ETH_IPV6 => frame
                    .get(offset..offset + 2)
                    .filter(|ip| ip[0] >> 4 == 6)
                    .map(|ip| (((ip[0] & 0x0f) << 4) | (ip[1] >> 4)) >> 2),
                _ => None,
            };
            if let Some(dscp) = dscp {
                return self.dscp_table[usize::from(dscp & 0x3f)] & 7;
            }
        }
        self.default_priority & 7
    }
}

/// Inserts an 802.1Q tag (TPID 0x8100) with `pcp` and VLAN id `vid` after
/// the MAC addresses of an untagged frame (for tests and generators).
pub fn tag_frame(frame: &[u8], pcp: u8, vid: u16) -> Vec<u8> {
    let split = frame.len().min(12);
    let tci = (u16::from(pcp & 7) << 13) | (vid & 0x0fff);
    let mut out = Vec::with_capacity(frame.len() + 4);
    out.extend_from_slice(&frame[..split]);
    out.extend_from_slice(&TPID_8021Q.to_be_bytes());
    out.extend_from_slice(&tci.to_be_bytes());
    out.extend_from_slice(&frame[split..]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dev::generator::{udp_frame, GeneratorConfig};

    fn with_tos(mut frame: Vec<u8>, at: usize, tos: u8) -> Vec<u8> {
        frame[at + 1] = tos;
        frame
    }

    #[test]
    fn pcp_then_dscp_then_default() {
        let c = Classifier::default();
        let plain = udp_frame(&GeneratorConfig::default(), 1000);
        assert_eq!(c.priority(&plain), 0);
        // EF (46) → 5, CS6 (48) → 6, AF41 (34) → 4.
        assert_eq!(c.priority(&with_tos(plain.clone(), 14, 46 << 2)), 5);
        assert_eq!(c.priority(&with_tos(plain.clone(), 14, 48 << 2)), 6);
        assert_eq!(c.priority(&with_tos(plain.clone(), 14, 34 << 2)), 4);
        // A tag wins over the DSCP, even a priority tag of 0.
        for pcp in 0..8 {
            let tagged = tag_frame(&with_tos(plain.clone(), 14, 46 << 2), pcp, 0);
            assert_eq!(c.priority(&tagged), pcp);
        }
        // Not trusting PCP: the DSCP behind the tag counts.
        let untrusting = Classifier {
            trust_pcp: false,
            ..Classifier::default()
        };
        let tagged = tag_frame(&with_tos(plain.clone(), 14, 46 << 2), 1, 7);
        assert_eq!(untrusting.priority(&tagged), 5);
        // Stacked tags: the outer PCP.
        let qinq = tag_frame(&tag_frame(&plain, 3, 10), 6, 20);
        assert_eq!(c.priority(&qinq), 6);
        // A configured rule.
        let ruled = Classifier::default().with_dscp(10, 7);
        assert_eq!(ruled.priority(&with_tos(plain.clone(), 14, 10 << 2)), 7);
    }

    #[test]
    fn ipv6_traffic_class_and_junk() {
        let c = Classifier {
            default_priority: 2,
            ..Classifier::default()
        };
        // IPv6 with traffic class EF (0xb8): version 6, TC split over two bytes.
        let mut v6 = vec![0u8; 14 + 40];
        v6[12..14].copy_from_slice(&ETH_IPV6.to_be_bytes());
        v6[14] = 0x60 | (0xb8 >> 4);
        v6[15] = (0xb8 & 0x0f) << 4;
        assert_eq!(c.priority(&v6), 5);
        // ARP, truncated, empty, a tag with nothing after it.
        let mut arp = vec![0u8; 42];
        arp[12..14].copy_from_slice(&0x0806u16.to_be_bytes());
        assert_eq!(c.priority(&arp), 2);
        assert_eq!(c.priority(&[]), 2);
        assert_eq!(c.priority(&v6[..15]), 2);
        assert_eq!(
            c.priority(&[0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x81, 0]),
            2
        );
        // A wrong IP version behind the ethertype: no DSCP.
        let mut bad = v6.clone();
        bad[14] = 0x45;
        assert_eq!(c.priority(&bad), 2);
    }
}

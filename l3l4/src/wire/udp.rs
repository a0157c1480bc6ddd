//! UDP datagrams: RFC 768, with the checksum rules of RFC 1122 §4.1.3.4 for IPv4 (a
//! zero field means "no checksum"; a computed zero is sent as `0xffff`) and RFC 8200
//! §8.1 for IPv6 (the checksum is mandatory: a zero field is invalid). Checksums use the
//! pseudo-headers of [`IpPair`] and the fast sum of [`crate::checksum`] (RFC 1071).

use super::{read_u16, write_u16, Error, IpPair, IpProtocol, Result};
use crate::checksum::{self, ChecksumCaps};

mod field {
    use crate::wire::Field;

    pub const SRC_PORT: Field = 0..2;
    pub const DST_PORT: Field = 2..4;
    pub const LENGTH: Field = 4..6;
    pub const CHECKSUM: Field = 6..8;
}

/// Length of the UDP header.
pub const HEADER_LEN: usize = 8;
/// Largest payload the 16-bit length field allows.
pub const MAX_PAYLOAD_LEN: usize = 65_535 - HEADER_LEN;

/// A read/write view of a UDP datagram.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Packet<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> Packet<T> {
    /// Wraps a buffer without checking it.
    ///
    /// # Panics
    ///
    /// The accessors panic if the buffer is shorter than 8 bytes or than the length
    /// field. Use [`Packet::new_checked`] on bytes from the wire.
    pub const fn new_unchecked(buffer: T) -> Packet<T> {
        Packet { buffer }
    }

    /// Wraps a buffer after [`Packet::check_len`].
    ///
    /// # Errors
    ///
    /// As [`Packet::check_len`].
    pub fn new_checked(buffer: T) -> Result<Packet<T>> {
        let packet = Self::new_unchecked(buffer);
        packet.check_len()?;
        Ok(packet)
    }

    /// Checks that the buffer holds a header and that the length field lies between 8
    /// and the buffer length (bytes past it are ignored, as RFC 768 implies).
    ///
    /// # Errors
    ///
    /// [`Error::Truncated`] for fewer than 8 bytes, [`Error::Length`] for a length field
    /// below 8 or past the buffer.
    pub fn check_len(&self) -> Result<()> {
        let data = self.buffer.as_ref();
        if data.len() < HEADER_LEN {
            return Err(Error::Truncated);
        }
        let len = usize::from(read_u16(data, field::LENGTH.start));
        if len < HEADER_LEN || len > data.len() {
            return Err(Error::Length);
        }
        Ok(())
    }

    /// Consumes the view, returning the buffer.
    pub fn into_inner(self) -> T {
        self.buffer
    }

    /// The source port.
    #[inline]
    pub fn src_port(&self) -> u16 {
        read_u16(self.buffer.as_ref(), field::SRC_PORT.start)
    }

    /// The destination port.
    #[inline]
    pub fn dst_port(&self) -> u16 {
        read_u16(self.buffer.as_ref(), field::DST_PORT.start)
    }

    /// The length field: header and payload, in bytes.
    #[inline]
    pub fn len(&self) -> u16 {
        read_u16(self.buffer.as_ref(), field::LENGTH.start)
    }

    /// Whether the datagram carries no payload.
    #[inline]
    pub fn is_empty(&self) -> bool {
        usize::from(self.len()) <= HEADER_LEN
    }

    /// The checksum field.
    #[inline]
    pub fn checksum(&self) -> u16 {
        read_u16(self.buffer.as_ref(), field::CHECKSUM.start)
    }

    /// Whether the checksum verifies over the pseudo-header of `pair`, the header and
    /// the payload. Over IPv4 a zero field means the sender computed none, and verifies;
    /// over IPv6 a zero field never verifies.
    pub fn verify_checksum(&self, pair: &IpPair) -> bool {
        if self.checksum() == 0 {
            return !pair.is_ipv6();
        }
        let len = self.len();
        let data = &self.buffer.as_ref()[..usize::from(len)];
        let sum = pair.pseudo_header_sum(IpProtocol::Udp, u32::from(len)) + checksum::sum(data);
        checksum::fold(sum) == 0xffff
    }
}

impl<'a, T: AsRef<[u8]> + ?Sized> Packet<&'a T> {
    /// The payload: from the end of the header to the length field.
    #[inline]
    pub fn payload(&self) -> &'a [u8] {
        let data = self.buffer.as_ref();
        &data[HEADER_LEN..usize::from(self.len())]
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Packet<T> {
    /// Sets the source port.
    #[inline]
    pub fn set_src_port(&mut self, port: u16) {
        write_u16(self.buffer.as_mut(), field::SRC_PORT.start, port);
    }

    /// Sets the destination port.
    #[inline]
    pub fn set_dst_port(&mut self, port: u16) {
        write_u16(self.buffer.as_mut(), field::DST_PORT.start, port);
    }

    /// Sets the length field.
    #[inline]
    pub fn set_len(&mut self, len: u16) {
        write_u16(self.buffer.as_mut(), field::LENGTH.start, len);
    }

    /// Sets the checksum field.
    #[inline]
    pub fn set_checksum(&mut self, checksum: u16) {
        write_u16(self.buffer.as_mut(), field::CHECKSUM.start, checksum);
    }

    /// Computes the checksum over the pseudo-header of `pair`, the header and the
    /// payload (as far as the length field says) and writes it; a computed zero is
    /// written as `0xffff`.
    pub fn fill_checksum(&mut self, pair: &IpPair) {
        self.set_checksum(0);
        let len = self.len();
        let data = &self.buffer.as_ref()[..usize::from(len)];
        let sum = pair.pseudo_header_sum(IpProtocol::Udp, u32::from(len)) + checksum::sum(data);
        let value = !checksum::fold(sum);
        self.set_checksum(if value == 0 { 0xffff } else { value });
    }

    /// The payload, mutable: from the end of the header to the length field.
    #[inline]
    pub fn payload_mut(&mut self) -> &mut [u8] {
        let len = usize::from(self.len());
        &mut self.buffer.as_mut()[HEADER_LEN..len]
    }
}

impl<T: AsRef<[u8]>> AsRef<[u8]> for Packet<T> {
    fn as_ref(&self) -> &[u8] {
        self.buffer.as_ref()
    }
}

/// The parsed form of a UDP header.
///
/// # Examples
///
/// ```
/// use std::net::Ipv4Addr;
/// use strata_l3l4::checksum::ChecksumCaps;
/// use strata_l3l4::{IpPair, UdpPacket, UdpRepr};
///
/// let pair = IpPair::v4(Ipv4Addr::new(10, 9, 0, 1), Ipv4Addr::new(10, 9, 0, 2));
/// let caps = ChecksumCaps::software();
/// let repr = UdpRepr { src_port: 40000, dst_port: 53, payload_len: 3 };
/// // The payload is in place first (zero-copy), then the header is emitted before it.
/// let mut buf = vec![0u8; repr.buffer_len()];
/// buf[8..].copy_from_slice(b"abc");
/// repr.emit(&mut UdpPacket::new_unchecked(&mut buf[..]), &pair, &caps)?;
/// let packet = UdpPacket::new_checked(&buf[..])?;
/// assert_eq!(UdpRepr::parse(&packet, &pair, &caps)?, repr);
/// assert_eq!(packet.payload(), b"abc");
/// # Ok::<(), strata_l3l4::wire::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Repr {
    /// Source port.
    pub src_port: u16,
    /// Destination port.
    pub dst_port: u16,
    /// Payload length in bytes.
    pub payload_len: usize,
}

impl Repr {
    /// Checks a datagram received from `pair` and returns its parsed form. The checksum
    /// is verified when `caps.udp` says software does it; a zero checksum over IPv6 is
    /// rejected either way.
    ///
    /// # Errors
    ///
    /// Those of [`Packet::check_len`], and [`Error::Checksum`].
    pub fn parse<T: AsRef<[u8]>>(
        packet: &Packet<T>,
        pair: &IpPair,
        caps: &ChecksumCaps,
    ) -> Result<Repr> {
        packet.check_len()?;
        if pair.is_ipv6() && packet.checksum() == 0 {
            return Err(Error::Checksum);
        }
        if caps.udp.rx() && !packet.verify_checksum(pair) {
            return Err(Error::Checksum);
        }
        Ok(Repr {
            src_port: packet.src_port(),
            dst_port: packet.dst_port(),
            payload_len: usize::from(packet.len()) - HEADER_LEN,
        })
    }

    /// Length of the header [`Repr::emit`] writes.
    pub const fn header_len(&self) -> usize {
        HEADER_LEN
    }

    /// Length of the whole datagram: header and payload.
    pub const fn buffer_len(&self) -> usize {
        HEADER_LEN.saturating_add(self.payload_len)
    }

    /// Writes the header into the start of `packet`'s buffer, whose payload must already
    /// be in place after it. When `caps.udp` says software computes the checksum it is
    /// computed over the pseudo-header of `pair`; otherwise the field is seeded with the
    /// folded pseudo-header sum for the device to finish.
    ///
    /// # Errors
    ///
    /// [`Error::Length`] if the payload exceeds [`MAX_PAYLOAD_LEN`],
    /// [`Error::Truncated`] if the buffer is shorter than [`Repr::buffer_len`].
    pub fn emit<T: AsRef<[u8]> + AsMut<[u8]>>(
        &self,
        packet: &mut Packet<T>,
        pair: &IpPair,
        caps: &ChecksumCaps,
    ) -> Result<()> {
        if self.payload_len > MAX_PAYLOAD_LEN {
            return Err(Error::Length);
        }
        let len = HEADER_LEN + self.payload_len;
        if packet.buffer.as_ref().len() < len {
            return Err(Error::Truncated);
        }
        packet.set_src_port(self.src_port);
        packet.set_dst_port(self.dst_port);
        packet.set_len(len as u16);
        if caps.udp.tx() {
            packet.fill_checksum(pair);
        } else {
            let seed = pair.pseudo_header_sum(IpProtocol::Udp, len as u32);
            packet.set_checksum(checksum::fold(seed));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checksum::Checksum;
    use crate::wire::frames::*;
    use proptest::prelude::*;
    use std::net::{Ipv4Addr, Ipv6Addr};

    const SOFTWARE: ChecksumCaps = ChecksumCaps::software();
    const V4: IpPair = IpPair::v4(Ipv4Addr::new(10, 9, 0, 1), Ipv4Addr::new(10, 9, 0, 2));

    fn v6() -> IpPair {
        IpPair::v6("fd00:9::1".parse().unwrap(), "fd00:9::2".parse().unwrap())
    }

    #[test]
    fn deconstruct() {
        let packet = Packet::new_checked(&UDP_FRAME[20..]).unwrap();
        assert_eq!((packet.src_port(), packet.dst_port()), (40000, 5353));
        assert_eq!((packet.len(), packet.checksum()), (20, 0x9c5e));
        assert_eq!(packet.payload(), b"hello strata");
        assert!(!packet.is_empty());
        assert!(packet.verify_checksum(&V4));
        let packet = Packet::new_checked(&UDP_V6_FRAME[40..]).unwrap();
        assert_eq!(packet.payload(), b"hello strata v6");
        assert!(packet.verify_checksum(&v6()));
        // Odd payload length: the last byte is padded for the sum.
        let packet = Packet::new_checked(&ODD_UDP[20..]).unwrap();
        assert!(packet.verify_checksum(&V4));
        assert!(Packet::new_checked(&EF_FRAME[20..]).unwrap().is_empty());
    }

    #[test]
    fn construct() {
        let mut bytes = [0xa5u8; 20];
        let mut packet = Packet::new_unchecked(&mut bytes[..]);
        packet.set_src_port(40000);
        packet.set_dst_port(5353);
        packet.set_len(20);
        packet.payload_mut().copy_from_slice(b"hello strata");
        packet.fill_checksum(&V4);
        assert_eq!(bytes, UDP_FRAME[20..]);
    }

    #[test]
    fn parse_and_emit_real_frames() {
        let frames: [(&[u8], IpPair, Repr); 4] = [
            (
                &UDP_FRAME[20..],
                V4,
                Repr {
                    src_port: 40000,
                    dst_port: 5353,
                    payload_len: 12,
                },
            ),
            (
                &ODD_UDP[20..],
                V4,
                Repr {
                    src_port: 40000,
                    dst_port: 53,
                    payload_len: 3,
                },
            ),
            (
                &EF_FRAME[20..],
                V4,
                Repr {
                    src_port: 53340,
                    dst_port: 9,
                    payload_len: 0,
                },
            ),
            (
                &UDP_V6_FRAME[40..],
                v6(),
                Repr {
                    src_port: 40000,
                    dst_port: 5353,
                    payload_len: 15,
                },
            ),
        ];
        for (bytes, pair, expected) in frames {
            let packet = Packet::new_checked(bytes).unwrap();
            let repr = Repr::parse(&packet, &pair, &SOFTWARE).unwrap();
            assert_eq!(repr, expected);
            assert_eq!(repr.buffer_len(), bytes.len());
            let mut out = bytes.to_vec();
            out[..8].fill(0);
            repr.emit(&mut Packet::new_unchecked(&mut out[..]), &pair, &SOFTWARE)
                .unwrap();
            assert_eq!(out, bytes);
        }
    }

    #[test]
    fn zero_checksum_rules() {
        // IPv4: zero means "no checksum" and is accepted.
        let mut bytes = UDP_FRAME[20..].to_vec();
        Packet::new_unchecked(&mut bytes[..]).set_checksum(0);
        let packet = Packet::new_checked(&bytes[..]).unwrap();
        assert!(packet.verify_checksum(&V4));
        assert!(Repr::parse(&packet, &V4, &SOFTWARE).is_ok());
        // IPv6: zero is invalid, even when the device verifies checksums.
        let mut bytes = UDP_V6_FRAME[40..].to_vec();
        Packet::new_unchecked(&mut bytes[..]).set_checksum(0);
        let packet = Packet::new_checked(&bytes[..]).unwrap();
        assert!(!packet.verify_checksum(&v6()));
        let offloaded = ChecksumCaps::offloaded();
        assert_eq!(
            Repr::parse(&packet, &v6(), &offloaded),
            Err(Error::Checksum)
        );
        // A computed zero is sent as 0xffff: pick the payload word that makes it so.
        for pair in [V4, v6()] {
            let mut bytes = [0u8; 10];
            let mut packet = Packet::new_unchecked(&mut bytes[..]);
            packet.set_len(10);
            packet.fill_checksum(&pair);
            let word = packet.checksum();
            packet.payload_mut().copy_from_slice(&word.to_be_bytes());
            packet.fill_checksum(&pair);
            assert_eq!(packet.checksum(), 0xffff);
            assert!(packet.verify_checksum(&pair));
        }
    }

    #[test]
    fn checksum_errors_follow_caps() {
        let mut bytes = UDP_FRAME[20..].to_vec();
        bytes[10] ^= 0x80;
        let packet = Packet::new_checked(&bytes[..]).unwrap();
        assert_eq!(Repr::parse(&packet, &V4, &SOFTWARE), Err(Error::Checksum));
        // Verified by the device: accepted.
        let caps = ChecksumCaps {
            udp: Checksum::Tx,
            ..SOFTWARE
        };
        assert!(Repr::parse(&packet, &V4, &caps).is_ok());
        // Wrong pseudo-header: rejected.
        let other = IpPair::v4(Ipv4Addr::new(10, 9, 0, 3), Ipv4Addr::new(10, 9, 0, 2));
        let packet = Packet::new_checked(&UDP_FRAME[20..]).unwrap();
        assert!(!packet.verify_checksum(&other));
    }

    #[test]
    fn offloaded_emit_seeds_pseudo_header_sum() {
        let repr = Repr {
            src_port: 40000,
            dst_port: 5353,
            payload_len: 12,
        };
        let mut bytes = UDP_FRAME[20..].to_vec();
        let caps = ChecksumCaps {
            udp: Checksum::Rx,
            ..SOFTWARE
        };
        repr.emit(&mut Packet::new_unchecked(&mut bytes[..]), &V4, &caps)
            .unwrap();
        // What Linux leaves for CHECKSUM_PARTIAL: 0a09+0001+0a09+0002+0011+0014.
        assert_eq!(Packet::new_unchecked(&bytes[..]).checksum(), 0x143a);
    }

    #[test]
    fn length_errors() {
        assert_eq!(Packet::new_checked(&[][..]).err(), Some(Error::Truncated));
        assert_eq!(
            Packet::new_checked(&UDP_FRAME[20..27]).err(),
            Some(Error::Truncated)
        );
        assert_eq!(
            Packet::new_checked(&UDP_FRAME[20..39]).err(),
            Some(Error::Length)
        );
        let mut bytes = UDP_FRAME[20..].to_vec();
        Packet::new_unchecked(&mut bytes[..]).set_len(7);
        assert_eq!(Packet::new_checked(&bytes[..]).err(), Some(Error::Length));
        // A length shorter than the buffer: the rest is not payload.
        Packet::new_unchecked(&mut bytes[..]).set_len(10);
        assert_eq!(Packet::new_checked(&bytes[..]).unwrap().payload(), b"he");

        let repr = Repr {
            src_port: 1,
            dst_port: 2,
            payload_len: 5,
        };
        let mut short = [0u8; 12];
        let result = repr.emit(&mut Packet::new_unchecked(&mut short[..]), &V4, &SOFTWARE);
        assert_eq!(result, Err(Error::Truncated));
        let repr = Repr {
            payload_len: MAX_PAYLOAD_LEN + 1,
            ..repr
        };
        let result = repr.emit(&mut Packet::new_unchecked(&mut short[..]), &V4, &SOFTWARE);
        assert_eq!(result, Err(Error::Length));
    }

    fn arb_pair() -> impl Strategy<Value = IpPair> {
        prop_oneof![
            (any::<[u8; 4]>(), any::<[u8; 4]>())
                .prop_map(|(s, d)| IpPair::v4(Ipv4Addr::from(s), Ipv4Addr::from(d))),
            (any::<[u8; 16]>(), any::<[u8; 16]>())
                .prop_map(|(s, d)| IpPair::v6(Ipv6Addr::from(s), Ipv6Addr::from(d))),
        ]
    }

    proptest! {
        #[test]
        fn round_trip(
            src_port in any::<u16>(),
            dst_port in any::<u16>(),
            payload in proptest::collection::vec(any::<u8>(), 0..1500),
            pair in arb_pair(),
        ) {
            let repr = Repr { src_port, dst_port, payload_len: payload.len() };
            let mut buf = vec![0u8; repr.buffer_len()];
            buf[HEADER_LEN..].copy_from_slice(&payload);
            repr.emit(&mut Packet::new_unchecked(&mut buf[..]), &pair, &SOFTWARE).unwrap();
            let packet = Packet::new_checked(&buf[..]).unwrap();
            prop_assert_ne!(packet.checksum(), 0);
            prop_assert_eq!(Repr::parse(&packet, &pair, &SOFTWARE), Ok(repr));
            prop_assert_eq!(packet.payload(), &payload[..]);
        }

        #[test]
        fn never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..64), pair in arb_pair()) {
            let _ = Repr::parse(&Packet::new_unchecked(&bytes[..]), &pair, &SOFTWARE);
            if let Ok(packet) = Packet::new_checked(&bytes[..]) {
                let _ = (packet.payload(), packet.verify_checksum(&pair));
            }
        }

        #[test]
        fn emit_never_panics(payload_len in any::<usize>(), len in 0..100usize, pair in arb_pair()) {
            let repr = Repr { src_port: 1, dst_port: 2, payload_len };
            let mut buf = vec![0u8; len];
            let _ = repr.buffer_len();
            let _ = repr.emit(&mut Packet::new_unchecked(&mut buf[..]), &pair, &SOFTWARE);
        }

        #[test]
        fn checksum_agrees_with_etherparse(
            src in any::<[u8; 4]>(),
            dst in any::<[u8; 4]>(),
            ports in any::<(u16, u16)>(),
            payload in proptest::collection::vec(any::<u8>(), 0..600),
        ) {
            let pair = IpPair::v4(Ipv4Addr::from(src), Ipv4Addr::from(dst));
            let repr = Repr { src_port: ports.0, dst_port: ports.1, payload_len: payload.len() };
            let mut buf = vec![0u8; repr.buffer_len()];
            buf[HEADER_LEN..].copy_from_slice(&payload);
            repr.emit(&mut Packet::new_unchecked(&mut buf[..]), &pair, &SOFTWARE).unwrap();
            let theirs = etherparse::UdpHeader::with_ipv4_checksum(ports.0, ports.1, &etherparse::Ipv4Header {
                source: src,
                destination: dst,
                ..Default::default()
            }, &payload).unwrap();
            prop_assert_eq!(&buf[..HEADER_LEN], &theirs.to_bytes()[..]);
        }
    }
}

//! Wire formats: zero-copy views over packet bytes and the small parsed forms beside them.
//!
//! Every protocol lives in its own file, laid out in the same order:
//!
//! 1. a private `field` module of byte ranges;
//! 2. a `Packet<T: AsRef<[u8]>>` view: `new_unchecked`, `new_checked`, `check_len`, getters,
//!    then setters where `T: AsMut<[u8]>`;
//! 3. a `Copy` `Repr` (the parsed form) with `parse`, `buffer_len` and `emit`;
//! 4. byte-array tests taken from real frames (construct, deconstruct, parse, emit) and
//!    proptests (round trips, never a panic on arbitrary bytes).
//!
//! Views never allocate and never panic once `new_checked` has accepted the buffer. A
//! view made with `new_unchecked` over too few bytes panics in its accessors, which is
//! why untrusted bytes always go through `new_checked` (or a `Repr::parse`, which checks
//! again).
//!
//! Parse errors are one small [`Error`] enum shared by all protocols; IPv4 maps them onto
//! Zephyr's drop classes with [`ipv4::DropReason`], and [`Error::as_str`] names the others
//! for the `drop_reasons` of the stats contract.

use core::fmt;
use std::net::{Ipv4Addr, Ipv6Addr};

use crate::checksum;

pub mod icmpv4;
pub mod icmpv6;
pub mod ipv4;
pub mod ipv6;
pub mod ipv6ext;
pub mod ipv6frag;
pub mod mld;
pub mod ndisc;
pub mod tcp;
pub mod udp;

#[cfg(test)]
pub(crate) mod frames;
#[cfg(test)]
pub(crate) mod frames_v6;

/// A range of bytes inside a header.
pub(crate) type Field = core::ops::Range<usize>;

/// Why a packet could not be parsed or emitted.
///
/// Kept small and `Copy`: in the packet path an error is not propagated but counted
/// under its reason and the packet dropped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Error {
    /// The buffer is shorter than the fixed header, or than the header length the packet
    /// itself announces.
    Truncated,
    /// A version field holds a value this view does not read (IPv4: not 4).
    Version,
    /// A header-length field is below the protocol's minimum (IPv4: IHL < 5).
    HeaderLen,
    /// A length field disagrees with the bytes present or with the header: an IPv4 total
    /// length below the header length or past the buffer, a UDP length below 8 or past
    /// the buffer, or a length that does not fit its field on emit.
    Length,
    /// Malformed options (IPv4: a bad option length, or an option running past the
    /// header).
    Options,
    /// Inconsistent fragment fields: a fragment reaching past 65535 bytes, or a
    /// non-final fragment that is empty or not a multiple of 8 bytes long.
    Fragment,
    /// The checksum does not verify (or, for UDP over IPv6, is zero).
    Checksum,
    /// A type or protocol value this crate does not handle.
    Unrecognized,
    /// Some other field holds a value the protocol forbids.
    Malformed,
}

impl Error {
    /// A stable snake-case name for this error, usable as a `reason` label in the
    /// metrics and the `drop_reasons` object of the stats JSON.
    pub const fn as_str(self) -> &'static str {
        match self {
            Error::Truncated => "truncated",
            Error::Version => "version",
            Error::HeaderLen => "header_len",
            Error::Length => "length",
            Error::Options => "options",
            Error::Fragment => "fragment",
            Error::Checksum => "checksum",
            Error::Unrecognized => "unrecognized",
            Error::Malformed => "malformed",
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let text = match self {
            Error::Truncated => "buffer shorter than the header",
            Error::Version => "unexpected version",
            Error::HeaderLen => "header length below the minimum",
            Error::Length => "length field disagrees with the buffer",
            Error::Options => "malformed options",
            Error::Fragment => "inconsistent fragment fields",
            Error::Checksum => "checksum error",
            Error::Unrecognized => "unrecognized type or protocol",
            Error::Malformed => "malformed field",
        };
        f.write_str(text)
    }
}

impl std::error::Error for Error {}

/// The result of parsing or emitting a wire format.
pub type Result<T> = core::result::Result<T, Error>;

/// Declares a protocol-number enum whose last variant, `Unknown`, keeps values without a
/// name, with lossless conversions from and to the raw integer.
macro_rules! enum_with_unknown {
    (
        $( #[$enum_attr:meta] )*
        pub enum $name:ident($ty:ty) {
            $( $( #[$variant_attr:meta] )* $variant:ident = $value:expr ),+ $(,)?
        }
    ) => {
        $( #[$enum_attr] )*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum $name {
            $( $( #[$variant_attr] )* $variant, )+
            /// A value without a name here; the raw number is kept.
            Unknown($ty),
        }

        impl From<$ty> for $name {
            #[inline]
            fn from(value: $ty) -> Self {
                match value {
                    $( $value => $name::$variant, )+
                    other => $name::Unknown(other),
                }
            }
        }

        impl From<$name> for $ty {
            #[inline]
            fn from(value: $name) -> Self {
                match value {
                    $( $name::$variant => $value, )+
                    $name::Unknown(other) => other,
                }
            }
        }
    };
}
pub(crate) use enum_with_unknown;

enum_with_unknown! {
    /// An IP protocol number (IPv4 `protocol`, IPv6 `next header`), from the IANA
    /// registry.
    pub enum IpProtocol(u8) {
        /// IPv6 hop-by-hop options (RFC 8200).
        HopByHop = 0,
        /// ICMP for IPv4 (RFC 792).
        Icmp = 1,
        /// TCP (RFC 9293).
        Tcp = 6,
        /// UDP (RFC 768).
        Udp = 17,
        /// IPv6 routing header (RFC 8200).
        Ipv6Route = 43,
        /// IPv6 fragment header (RFC 8200).
        Ipv6Frag = 44,
        /// ICMP for IPv6 (RFC 4443).
        Icmpv6 = 58,
        /// IPv6 "no next header" (RFC 8200).
        Ipv6NoNxt = 59,
        /// IPv6 destination options (RFC 8200).
        Ipv6Opts = 60,
    }
}

impl fmt::Display for IpProtocol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            IpProtocol::HopByHop => f.write_str("Hop-by-Hop"),
            IpProtocol::Icmp => f.write_str("ICMP"),
            IpProtocol::Tcp => f.write_str("TCP"),
            IpProtocol::Udp => f.write_str("UDP"),
            IpProtocol::Ipv6Route => f.write_str("IPv6-Route"),
            IpProtocol::Ipv6Frag => f.write_str("IPv6-Frag"),
            IpProtocol::Icmpv6 => f.write_str("ICMPv6"),
            IpProtocol::Ipv6NoNxt => f.write_str("IPv6-NoNxt"),
            IpProtocol::Ipv6Opts => f.write_str("IPv6-Opts"),
            IpProtocol::Unknown(n) => write!(f, "IP protocol {n}"),
        }
    }
}

/// The source and destination addresses an upper-layer checksum covers (its
/// pseudo-header), with the IP version that decides the UDP zero-checksum rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum IpPair {
    /// Addresses of an IPv4 datagram (RFC 768 pseudo-header).
    V4 {
        /// Source address.
        src: Ipv4Addr,
        /// Destination address.
        dst: Ipv4Addr,
    },
    /// Addresses of an IPv6 packet (RFC 8200 §8.1 pseudo-header).
    V6 {
        /// Source address.
        src: Ipv6Addr,
        /// Destination address.
        dst: Ipv6Addr,
    },
}

impl IpPair {
    /// The pair for an IPv4 datagram.
    pub const fn v4(src: Ipv4Addr, dst: Ipv4Addr) -> Self {
        IpPair::V4 { src, dst }
    }

    /// The pair for an IPv6 packet.
    pub const fn v6(src: Ipv6Addr, dst: Ipv6Addr) -> Self {
        IpPair::V6 { src, dst }
    }

    /// Whether these are IPv6 addresses.
    pub const fn is_ipv6(&self) -> bool {
        matches!(self, IpPair::V6 { .. })
    }

    /// The partial (unfolded, not inverted) sum of the pseudo-header for an upper-layer
    /// message of `protocol` and `length` bytes. For IPv4, lengths above 65535 do not fit
    /// the pseudo-header and are truncated to 16 bits; callers check lengths first.
    #[inline]
    pub fn pseudo_header_sum(&self, protocol: IpProtocol, length: u32) -> u32 {
        match self {
            IpPair::V4 { src, dst } => {
                checksum::pseudo_header_v4(*src, *dst, protocol, length as u16)
            }
            IpPair::V6 { src, dst } => checksum::pseudo_header_v6(src, dst, protocol, length),
        }
    }
}

/// Reads a big-endian `u16` at `at`.
#[inline(always)]
pub(crate) fn read_u16(data: &[u8], at: usize) -> u16 {
    u16::from_be_bytes([data[at], data[at + 1]])
}

/// Writes a big-endian `u16` at `at`.
#[inline(always)]
pub(crate) fn write_u16(data: &mut [u8], at: usize, value: u16) {
    data[at..at + 2].copy_from_slice(&value.to_be_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ip_protocol_round_trips_every_value() {
        for n in 0..=u8::MAX {
            assert_eq!(u8::from(IpProtocol::from(n)), n);
        }
        assert_eq!(IpProtocol::from(17), IpProtocol::Udp);
        assert_eq!(IpProtocol::from(200), IpProtocol::Unknown(200));
        assert_eq!(IpProtocol::Icmpv6.to_string(), "ICMPv6");
    }

    #[test]
    fn error_names_are_distinct() {
        let all = [
            Error::Truncated,
            Error::Version,
            Error::HeaderLen,
            Error::Length,
            Error::Options,
            Error::Fragment,
            Error::Checksum,
            Error::Unrecognized,
            Error::Malformed,
        ];
        for (i, a) in all.iter().enumerate() {
            assert!(!a.to_string().is_empty());
            for b in &all[i + 1..] {
                assert_ne!(a.as_str(), b.as_str());
            }
        }
    }

    #[test]
    fn pseudo_header_sums() {
        let v4 = IpPair::v4(Ipv4Addr::new(10, 9, 0, 1), Ipv4Addr::new(10, 9, 0, 2));
        // 0a09 + 0001 + 0a09 + 0002 + 0011 + 0014
        assert_eq!(
            checksum::fold(v4.pseudo_header_sum(IpProtocol::Udp, 20)),
            0x143a
        );
        assert!(!v4.is_ipv6());
        let v6 = IpPair::v6(Ipv6Addr::LOCALHOST, Ipv6Addr::LOCALHOST);
        assert!(v6.is_ipv6());
        assert_eq!(
            checksum::fold(v6.pseudo_header_sum(IpProtocol::Udp, 8)),
            1 + 1 + 8 + 17
        );
    }
}

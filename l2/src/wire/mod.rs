//! Wire formats of the link layer: zero-copy views over bytes and the small
//! parsed values beside them.
//!
//! Every protocol lives in its own file and follows the same order:
//!
//! 1. a private `field` module naming the byte ranges of the header;
//! 2. a view, `Packet<T: AsRef<[u8]>>` under a protocol name
//!    ([`EthernetFrame`], [`VlanTag`], [`ArpPacket`]), with `new_unchecked`,
//!    `new_checked` and `check_len`, getters, and setters when
//!    `T: AsMut<[u8]>`;
//! 3. a `Copy` representation ([`EthernetRepr`], [`VlanRepr`], [`ArpRepr`])
//!    with `parse`, `buffer_len` and `emit`;
//! 4. tests built from real frames.
//!
//! Use `new_checked` on untrusted bytes: once it has succeeded, no getter of
//! the view can panic. `Repr::parse` checks the length again itself, so it
//! never panics either, whatever view it is handed. Nothing here allocates.
//!
//! Frames are read and written in network byte order (big endian).

mod arp;
mod ethernet;
mod vlan;

pub use self::arp::{ArpHardware, ArpOperation, ArpPacket, ArpRepr, ARP_ETHERNET_IPV4_LEN};
pub use self::ethernet::{
    AddressParseError, EtherType, EthernetAddress, EthernetFrame, EthernetRepr, ETHERNET_HEADER_LEN,
};
pub use self::vlan::{VlanRepr, VlanStack, VlanTag, VLAN_TAG_LEN, VLAN_VID_RESERVED};

use core::fmt;
use core::ops::{Range, RangeFrom};

/// Why bytes could not be read as a protocol header.
///
/// Kept small on purpose: in the packet path a parse error is not propagated,
/// it is turned into a counted drop reason, and these three are the reasons
/// the link layer can tell apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Error {
    /// The buffer ends before the header (or a length the header states) does.
    Truncated,
    /// A field holds a value the standard forbids (e.g. VLAN ID 4095).
    Malformed,
    /// Well-formed, but a variant this crate does not handle (e.g. ARP over a
    /// hardware type other than Ethernet, an 802.3 length field, a third VLAN
    /// tag).
    Unsupported,
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Error::Truncated => "truncated packet",
            Error::Malformed => "malformed packet",
            Error::Unsupported => "unsupported packet",
        })
    }
}

impl std::error::Error for Error {}

/// The result of parsing wire formats.
pub type Result<T> = core::result::Result<T, Error>;

/// A fixed range of bytes inside a header.
pub(crate) type Field = Range<usize>;
/// The bytes from an offset to the end of the buffer.
pub(crate) type Rest = RangeFrom<usize>;

/// Reads a big-endian `u16` from a two-byte field.
///
/// Panics if `data` is shorter than `field.end`; the views only call it on
/// buffers `check_len` accepted (or on documented unchecked ones).
#[inline]
pub(crate) fn get_u16(data: &[u8], field: Field) -> u16 {
    u16::from_be_bytes(get_array(data, field))
}

/// Writes a big-endian `u16` into a two-byte field.
#[inline]
pub(crate) fn set_u16(data: &mut [u8], field: Field, value: u16) {
    data[field].copy_from_slice(&value.to_be_bytes());
}

/// Copies a fixed-size field out into an array.
///
/// The field ranges are constants, so the length check of `copy_from_slice`
/// folds away and only the bounds check of `data[field]` remains.
#[inline]
pub(crate) fn get_array<const N: usize>(data: &[u8], field: Field) -> [u8; N] {
    let mut out = [0u8; N];
    out.copy_from_slice(&data[field]);
    out
}

/// proptest strategies shared by the wire tests.
#[cfg(test)]
pub(crate) mod strategies {
    use super::{EtherType, EthernetAddress};
    use proptest::prelude::*;

    /// Any MAC address.
    pub fn any_address() -> impl Strategy<Value = EthernetAddress> {
        any::<[u8; 6]>().prop_map(EthernetAddress)
    }

    /// Any type value (never an 802.3 length), in the canonical form
    /// `EtherType::from(u16)` gives it, so that emit → parse is the identity.
    pub fn any_ethertype() -> impl Strategy<Value = EtherType> {
        prop_oneof![
            Just(EtherType::Ipv4),
            Just(EtherType::Arp),
            Just(EtherType::Ipv6),
            Just(EtherType::Vlan),
            Just(EtherType::QinQ),
            (EtherType::MIN_TYPE..=u16::MAX).prop_map(EtherType::from),
        ]
    }
}

//! VLAN tags: IEEE 802.1Q customer tags (C-tag, TPID 0x8100) and IEEE
//! 802.1ad service tags (S-tag, TPID 0x88A8, "QinQ").
//!
//! Standards: IEEE 802.1Q-2022 clause 9.6 (VLAN tag control information:
//! PCP, DEI, VID; VID 0xFFF is reserved and must not be transmitted or
//! accepted, VID 0 marks a priority-tagged frame), IEEE 802.1ad-2005 (the
//! S-tag, outermost when stacked over a C-tag).
//!
//! The tag protocol identifier (TPID) of a tag is the type field that comes
//! before it, so the view here starts at the tag control information:
//!
//! ```text
//!  0     3   4              16              32
//! +-----+---+---------------+---------------+-------------
//! | PCP |DEI|     VID       | EtherType (2) | payload ...
//! +-----+---+---------------+---------------+-------------
//! ```
//!
//! [`VlanStack`] walks the tags after an Ethernet header in one pass and gives
//! the classifier what it needs: the priority of the outermost tag, the VIDs,
//! the type of the payload and where the payload starts.

use core::fmt;

use super::{
    get_u16, set_u16, Error, EtherType, EthernetFrame, Field, Rest, Result, ETHERNET_HEADER_LEN,
};

mod field {
    use super::{Field, Rest};

    pub const TCI: Field = 0..2;
    pub const ETHERTYPE: Field = 2..4;
    pub const PAYLOAD: Rest = 4..;
}

/// Length of one VLAN tag (tag control information and type).
pub const VLAN_TAG_LEN: usize = field::PAYLOAD.start;

/// The reserved VLAN ID 0xFFF (4095), rejected by [`VlanRepr::parse`] and
/// [`VlanStack::parse`].
pub const VLAN_VID_RESERVED: u16 = 0x0fff;

const PCP_SHIFT: u16 = 13;
const DEI_BIT: u16 = 1 << 12;
const VID_MASK: u16 = 0x0fff;

/// A read/write view of a VLAN tag over a byte buffer that starts at the
/// tag control information (just after the TPID).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VlanTag<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> VlanTag<T> {
    /// Wraps a buffer without checking its length.
    ///
    /// # Panics
    ///
    /// The getters and setters of a view made this way panic if the buffer
    /// is shorter than [`VLAN_TAG_LEN`]; use [`new_checked`](Self::new_checked)
    /// for bytes from the outside.
    pub const fn new_unchecked(buffer: T) -> VlanTag<T> {
        VlanTag { buffer }
    }

    /// Wraps a buffer after checking that it holds a whole tag.
    ///
    /// # Errors
    ///
    /// [`Error::Truncated`] if the buffer is shorter than 4 bytes.
    pub fn new_checked(buffer: T) -> Result<VlanTag<T>> {
        let tag = Self::new_unchecked(buffer);
        tag.check_len()?;
        Ok(tag)
    }

    /// Checks that the buffer holds a whole tag; after this no getter panics.
    /// The VID is not checked here (see [`VlanRepr::parse`]).
    ///
    /// # Errors
    ///
    /// [`Error::Truncated`] if the buffer is shorter than 4 bytes.
    pub fn check_len(&self) -> Result<()> {
        if self.buffer.as_ref().len() < VLAN_TAG_LEN {
            Err(Error::Truncated)
        } else {
            Ok(())
        }
    }

    /// Gives the buffer back.
    pub fn into_inner(self) -> T {
        self.buffer
    }

    /// Length of the tag: always [`VLAN_TAG_LEN`].
    pub const fn header_len() -> usize {
        VLAN_TAG_LEN
    }

    /// The whole tag control information (PCP, DEI and VID).
    #[inline]
    pub fn tci(&self) -> u16 {
        get_u16(self.buffer.as_ref(), field::TCI)
    }

    /// The priority code point, 0 to 7 (802.1Q priority, used to choose a
    /// traffic class).
    #[inline]
    pub fn pcp(&self) -> u8 {
        // Three bits: the cast cannot truncate.
        (self.tci() >> PCP_SHIFT) as u8
    }

    /// The drop eligible indicator (formerly CFI).
    #[inline]
    pub fn dei(&self) -> bool {
        self.tci() & DEI_BIT != 0
    }

    /// The VLAN identifier, 0 to 4095 (0: priority tag only; 4095:
    /// reserved).
    #[inline]
    pub fn vid(&self) -> u16 {
        self.tci() & VID_MASK
    }

    /// The type of what follows the tag (another tag or the payload).
    #[inline]
    pub fn ethertype(&self) -> EtherType {
        EtherType::from(get_u16(self.buffer.as_ref(), field::ETHERTYPE))
    }
}

impl<'a, T: AsRef<[u8]> + ?Sized> VlanTag<&'a T> {
    /// The bytes after the tag, borrowed from the underlying buffer.
    #[inline]
    pub fn payload(&self) -> &'a [u8] {
        &self.buffer.as_ref()[field::PAYLOAD]
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> VlanTag<T> {
    /// Sets the whole tag control information.
    #[inline]
    pub fn set_tci(&mut self, tci: u16) {
        set_u16(self.buffer.as_mut(), field::TCI, tci);
    }

    /// Sets the priority code point; only the low three bits are used.
    #[inline]
    pub fn set_pcp(&mut self, pcp: u8) {
        let tci = self.tci() & !(0x7 << PCP_SHIFT);
        self.set_tci(tci | ((u16::from(pcp) & 0x7) << PCP_SHIFT));
    }

    /// Sets the drop eligible indicator.
    #[inline]
    pub fn set_dei(&mut self, dei: bool) {
        let tci = self.tci() & !DEI_BIT;
        self.set_tci(if dei { tci | DEI_BIT } else { tci });
    }

    /// Sets the VLAN identifier; only the low twelve bits are used.
    #[inline]
    pub fn set_vid(&mut self, vid: u16) {
        let tci = self.tci() & !VID_MASK;
        self.set_tci(tci | (vid & VID_MASK));
    }

    /// Sets the type of what follows the tag.
    #[inline]
    pub fn set_ethertype(&mut self, ethertype: EtherType) {
        set_u16(self.buffer.as_mut(), field::ETHERTYPE, ethertype.into());
    }

    /// The bytes after the tag, writable.
    #[inline]
    pub fn payload_mut(&mut self) -> &mut [u8] {
        &mut self.buffer.as_mut()[field::PAYLOAD]
    }
}

impl<T: AsRef<[u8]>> AsRef<[u8]> for VlanTag<T> {
    fn as_ref(&self) -> &[u8] {
        self.buffer.as_ref()
    }
}

/// The parsed contents of one VLAN tag.
///
/// Whether it is a C-tag or an S-tag is said by the type field before it,
/// which belongs to the header before (an [`EthernetRepr`](super::EthernetRepr)
/// or an outer `VlanRepr`).
///
/// # Examples
///
/// ```
/// use strata_l2::{EtherType, VlanRepr, VlanTag};
///
/// // PCP 5, VID 100, carrying IPv4.
/// let bytes = [0xa0, 0x64, 0x08, 0x00];
/// let repr = VlanRepr::parse(&VlanTag::new_checked(&bytes[..])?)?;
/// assert_eq!(
///     repr,
///     VlanRepr { pcp: 5, dei: false, vid: 100, ethertype: EtherType::Ipv4 }
/// );
///
/// let mut out = [0u8; 4];
/// repr.emit(&mut VlanTag::new_unchecked(&mut out[..]));
/// assert_eq!(out, bytes);
/// # Ok::<(), strata_l2::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct VlanRepr {
    /// Priority code point, 0 to 7; [`emit`](Self::emit) keeps the low three
    /// bits.
    pub pcp: u8,
    /// Drop eligible indicator.
    pub dei: bool,
    /// VLAN identifier, 0 to 4094; [`emit`](Self::emit) keeps the low twelve
    /// bits.
    pub vid: u16,
    /// The type of what follows the tag.
    pub ethertype: EtherType,
}

impl VlanRepr {
    /// Reads a tag.
    ///
    /// # Errors
    ///
    /// [`Error::Truncated`] if the buffer is shorter than 4 bytes;
    /// [`Error::Malformed`] if the VID is the reserved 4095.
    pub fn parse<T: AsRef<[u8]>>(tag: &VlanTag<T>) -> Result<VlanRepr> {
        tag.check_len()?;
        let tci = tag.tci();
        if tci & VID_MASK == VLAN_VID_RESERVED {
            return Err(Error::Malformed);
        }
        Ok(VlanRepr {
            pcp: (tci >> PCP_SHIFT) as u8,
            dei: tci & DEI_BIT != 0,
            vid: tci & VID_MASK,
            ethertype: tag.ethertype(),
        })
    }

    /// Length of the tag [`emit`](Self::emit) writes: 4.
    pub const fn buffer_len(&self) -> usize {
        VLAN_TAG_LEN
    }

    /// Writes the tag into the first 4 bytes of `tag`.
    ///
    /// # Panics
    ///
    /// If the buffer is shorter than [`buffer_len`](Self::buffer_len).
    pub fn emit<T: AsRef<[u8]> + AsMut<[u8]>>(&self, tag: &mut VlanTag<T>) {
        let tci = ((u16::from(self.pcp) & 0x7) << PCP_SHIFT)
            | if self.dei { DEI_BIT } else { 0 }
            | (self.vid & VID_MASK);
        tag.set_tci(tci);
        tag.set_ethertype(self.ethertype);
    }
}

impl fmt::Display for VlanRepr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "VLAN vid={} pcp={}{} type={}",
            self.vid,
            self.pcp,
            if self.dei { " dei" } else { "" },
            self.ethertype
        )
    }
}

/// What the tags after an Ethernet header say, read in one pass.
///
/// At most two tags are walked: an outer S-tag (0x88A8) or C-tag (0x8100),
/// then an inner C-tag. The old pre-standard 0x8100-over-0x8100 stacking
/// is accepted as well.
///
/// # Examples
///
/// ```
/// use strata_l2::{EtherType, EthernetFrame, VlanStack};
///
/// // Broadcast ARP inside S-VID 200 (PCP 3) and C-VID 300 (PCP 6).
/// let mut bytes = [0u8; 14 + 8 + 28];
/// bytes[..6].fill(0xff);
/// bytes[12..22].copy_from_slice(&[0x88, 0xa8, 0x60, 0xc8, 0x81, 0x00, 0xc1, 0x2c, 0x08, 0x06]);
///
/// let stack = VlanStack::parse(&EthernetFrame::new_checked(&bytes[..])?)?;
/// assert_eq!(stack.ethertype, EtherType::Arp);
/// assert_eq!(stack.header_len, 22);
/// assert_eq!(stack.pcp, Some(3));
/// assert_eq!((stack.outer_vid, stack.inner_vid), (Some(200), Some(300)));
/// # Ok::<(), strata_l2::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct VlanStack {
    /// The type of the payload after the last tag (never a VLAN type).
    pub ethertype: EtherType,
    /// Length of the Ethernet header and the tags: where the payload starts
    /// in the frame (14, 18 or 22).
    pub header_len: usize,
    /// PCP of the outermost tag, the 802.1Q priority to classify by; `None`
    /// for an untagged frame (the caller applies the port's default).
    pub pcp: Option<u8>,
    /// VID of the outermost tag (the S-VID of a QinQ frame).
    pub outer_vid: Option<u16>,
    /// VID of the second tag (the C-VID of a QinQ frame).
    pub inner_vid: Option<u16>,
}

impl VlanStack {
    /// The most tags [`parse`](Self::parse) walks.
    pub const MAX_TAGS: usize = 2;

    /// Walks the VLAN tags of a frame.
    ///
    /// # Errors
    ///
    /// - [`Error::Truncated`] if the frame ends inside the Ethernet header or
    ///   a tag;
    /// - [`Error::Malformed`] if a tag carries the reserved VID 4095;
    /// - [`Error::Unsupported`] for a third tag, an S-tag inside a C-tag, or
    ///   an 802.3 length field where the payload type should be.
    #[inline]
    pub fn parse<T: AsRef<[u8]>>(frame: &EthernetFrame<T>) -> Result<VlanStack> {
        frame.check_len()?;
        let data = frame.as_ref();
        let mut stack = VlanStack {
            ethertype: frame.ethertype(),
            header_len: ETHERNET_HEADER_LEN,
            pcp: None,
            outer_vid: None,
            inner_vid: None,
        };
        let mut tpid = stack.ethertype;
        while tpid.is_vlan() {
            if stack.outer_vid.is_some() {
                // A third tag, or an S-tag carried inside a tag.
                if stack.inner_vid.is_some() || tpid == EtherType::QinQ {
                    return Err(Error::Unsupported);
                }
            }
            let rest = data.get(stack.header_len..).unwrap_or_default();
            // The tag's fields are read straight from the view (the checks of
            // `VlanRepr::parse`): a `VlanRepr` built on the stack and read back
            // field by field costs a store-forwarding stall per tag.
            let tag = VlanTag::new_checked(rest)?;
            let tci = tag.tci();
            let vid = tci & VID_MASK;
            if vid == VLAN_VID_RESERVED {
                return Err(Error::Malformed);
            }
            if stack.outer_vid.is_none() {
                stack.pcp = Some((tci >> PCP_SHIFT) as u8);
                stack.outer_vid = Some(vid);
            } else {
                stack.inner_vid = Some(vid);
            }
            stack.header_len += VLAN_TAG_LEN;
            tpid = tag.ethertype();
        }
        if tpid.is_length() {
            return Err(Error::Unsupported);
        }
        stack.ethertype = tpid;
        Ok(stack)
    }

    /// How many tags the frame carries: 0, 1 or 2.
    pub const fn tag_count(&self) -> usize {
        (self.header_len - ETHERNET_HEADER_LEN) / VLAN_TAG_LEN
    }
}

#[cfg(test)]
mod tests {
    use super::super::strategies::any_ethertype;
    use super::super::EthernetAddress;
    use super::*;
    use proptest::prelude::*;

    // The UDP datagram captured on a veth pair (see ethernet.rs), with the
    // 802.1Q tag an access switch port on VID 100 with PCP 5 inserts.
    const C_TAGGED_UDP: [u8; 52] = [
        0x02, 0x00, 0x5e, 0x10, 0x00, 0x02, 0x02, 0x00, 0x5e, 0x10, 0x00, 0x01, 0x81, 0x00, 0xa0,
        0x64, 0x08, 0x00, 0x45, 0x00, 0x00, 0x22, 0x22, 0x80, 0x40, 0x00, 0x40, 0x11, 0x04, 0x49,
        0x0a, 0x00, 0x00, 0x01, 0x0a, 0x00, 0x00, 0x02, 0xb3, 0xc8, 0x00, 0x09, 0x00, 0x0e, 0x14,
        0x22, 0x73, 0x74, 0x72, 0x61, 0x74, 0x61,
    ];

    // The captured ARP request inside S-VID 200 (PCP 3) and C-VID 300
    // (PCP 6), as a provider edge forwards it.
    const QINQ_ARP: [u8; 50] = [
        0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02, 0x00, 0x5e, 0x10, 0x00, 0x01, 0x88, 0xa8, 0x60,
        0xc8, 0x81, 0x00, 0xc1, 0x2c, 0x08, 0x06, 0x00, 0x01, 0x08, 0x00, 0x06, 0x04, 0x00, 0x01,
        0x02, 0x00, 0x5e, 0x10, 0x00, 0x01, 0x0a, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x00, 0x0a, 0x00, 0x00, 0x02,
    ];

    fn tag_at(frame: &[u8], offset: usize) -> VlanTag<&[u8]> {
        VlanTag::new_checked(&frame[offset..]).unwrap()
    }

    #[test]
    fn deconstruct() {
        let tag = tag_at(&C_TAGGED_UDP, 14);
        assert_eq!(tag.tci(), 0xa064);
        assert_eq!(tag.pcp(), 5);
        assert!(!tag.dei());
        assert_eq!(tag.vid(), 100);
        assert_eq!(tag.ethertype(), EtherType::Ipv4);
        assert_eq!(tag.payload(), &C_TAGGED_UDP[18..]);

        let outer = tag_at(&QINQ_ARP, 14);
        assert_eq!((outer.pcp(), outer.vid()), (3, 200));
        assert_eq!(outer.ethertype(), EtherType::Vlan);
        let inner = tag_at(&QINQ_ARP, 18);
        assert_eq!((inner.pcp(), inner.vid()), (6, 300));
        assert_eq!(inner.ethertype(), EtherType::Arp);
    }

    #[test]
    fn construct() {
        let mut bytes = [0xffu8; 4];
        let mut tag = VlanTag::new_unchecked(&mut bytes[..]);
        tag.set_pcp(5);
        tag.set_dei(false);
        tag.set_vid(100);
        tag.set_ethertype(EtherType::Ipv4);
        assert_eq!(bytes, C_TAGGED_UDP[14..18]);

        // Setters touch only their own bits.
        let mut tag = VlanTag::new_unchecked(&mut bytes[..]);
        tag.set_dei(true);
        assert_eq!((tag.pcp(), tag.dei(), tag.vid()), (5, true, 100));
        tag.set_pcp(0xff);
        tag.set_vid(0xffff);
        assert_eq!((tag.pcp(), tag.dei(), tag.vid()), (7, true, 0xfff));
    }

    #[test]
    fn parse() {
        let repr = VlanRepr::parse(&tag_at(&C_TAGGED_UDP, 14)).unwrap();
        assert_eq!(
            repr,
            VlanRepr {
                pcp: 5,
                dei: false,
                vid: 100,
                ethertype: EtherType::Ipv4
            }
        );
        assert_eq!(repr.to_string(), "VLAN vid=100 pcp=5 type=IPv4");
    }

    #[test]
    fn emit() {
        let repr = VlanRepr {
            pcp: 3,
            dei: false,
            vid: 200,
            ethertype: EtherType::Vlan,
        };
        let mut bytes = [0u8; 4];
        repr.emit(&mut VlanTag::new_unchecked(&mut bytes[..]));
        assert_eq!(bytes, QINQ_ARP[14..18]);
        assert_eq!(repr.buffer_len(), 4);
    }

    #[test]
    fn priority_tag_with_dei() {
        // VID 0: priority-tagged only; PCP 1 with DEI.
        let bytes = [0x30, 0x00, 0x86, 0xdd];
        let repr = VlanRepr::parse(&VlanTag::new_checked(&bytes[..]).unwrap()).unwrap();
        assert_eq!((repr.pcp, repr.dei, repr.vid), (1, true, 0));
        assert_eq!(repr.to_string(), "VLAN vid=0 pcp=1 dei type=IPv6");
    }

    #[test]
    fn reserved_vid_rejected() {
        let bytes = [0xaf, 0xff, 0x08, 0x00];
        let tag = VlanTag::new_checked(&bytes[..]).unwrap();
        assert_eq!(tag.vid(), VLAN_VID_RESERVED);
        assert_eq!(VlanRepr::parse(&tag), Err(Error::Malformed));

        let mut frame = QINQ_ARP;
        frame[18..20].copy_from_slice(&[0x0f, 0xff]);
        let frame = EthernetFrame::new_checked(&frame[..]).unwrap();
        assert_eq!(VlanStack::parse(&frame), Err(Error::Malformed));
    }

    #[test]
    fn too_short() {
        for len in 0..VLAN_TAG_LEN {
            let bytes = &C_TAGGED_UDP[14..14 + len];
            assert_eq!(VlanTag::new_checked(bytes), Err(Error::Truncated));
            let tag = VlanTag::new_unchecked(bytes);
            assert_eq!(VlanRepr::parse(&tag), Err(Error::Truncated));
        }
        for len in 0..22 {
            let frame = EthernetFrame::new_unchecked(&QINQ_ARP[..len]);
            assert_eq!(VlanStack::parse(&frame), Err(Error::Truncated), "{len}");
        }
        let frame = EthernetFrame::new_unchecked(&QINQ_ARP[..22]);
        assert!(VlanStack::parse(&frame).is_ok());
    }

    #[test]
    fn stack_untagged_single_double() {
        let mut untagged = [0u8; 48];
        untagged[..12].copy_from_slice(&C_TAGGED_UDP[..12]);
        untagged[12..].copy_from_slice(&C_TAGGED_UDP[16..]);
        let stack = VlanStack::parse(&EthernetFrame::new_checked(&untagged[..]).unwrap()).unwrap();
        assert_eq!(
            stack,
            VlanStack {
                ethertype: EtherType::Ipv4,
                header_len: 14,
                pcp: None,
                outer_vid: None,
                inner_vid: None
            }
        );
        assert_eq!(stack.tag_count(), 0);

        let frame = EthernetFrame::new_checked(&C_TAGGED_UDP[..]).unwrap();
        let stack = VlanStack::parse(&frame).unwrap();
        assert_eq!(
            stack,
            VlanStack {
                ethertype: EtherType::Ipv4,
                header_len: 18,
                pcp: Some(5),
                outer_vid: Some(100),
                inner_vid: None
            }
        );
        assert_eq!(C_TAGGED_UDP[stack.header_len], 0x45);
        assert_eq!(stack.tag_count(), 1);

        let frame = EthernetFrame::new_checked(&QINQ_ARP[..]).unwrap();
        let stack = VlanStack::parse(&frame).unwrap();
        assert_eq!(
            stack,
            VlanStack {
                ethertype: EtherType::Arp,
                header_len: 22,
                pcp: Some(3),
                outer_vid: Some(200),
                inner_vid: Some(300)
            }
        );
        assert_eq!(stack.tag_count(), 2);

        // Pre-standard double 0x8100 stacking.
        let mut old = QINQ_ARP;
        old[12..14].copy_from_slice(&[0x81, 0x00]);
        let frame = EthernetFrame::new_checked(&old[..]).unwrap();
        assert_eq!(VlanStack::parse(&frame).unwrap().inner_vid, Some(300));
    }

    #[test]
    fn stack_unsupported() {
        // An S-tag inside a C-tag.
        let mut bytes = QINQ_ARP;
        bytes[12..14].copy_from_slice(&[0x81, 0x00]);
        bytes[16..18].copy_from_slice(&[0x88, 0xa8]);
        let frame = EthernetFrame::new_checked(&bytes[..]).unwrap();
        assert_eq!(VlanStack::parse(&frame), Err(Error::Unsupported));

        // A third tag.
        let mut bytes = QINQ_ARP;
        bytes[20..22].copy_from_slice(&[0x81, 0x00]);
        let frame = EthernetFrame::new_checked(&bytes[..]).unwrap();
        assert_eq!(VlanStack::parse(&frame), Err(Error::Unsupported));

        // LLC inside a tag.
        let mut bytes = C_TAGGED_UDP;
        bytes[16..18].copy_from_slice(&[0x00, 0x26]);
        let frame = EthernetFrame::new_checked(&bytes[..]).unwrap();
        assert_eq!(VlanStack::parse(&frame), Err(Error::Unsupported));
    }

    fn any_repr() -> impl Strategy<Value = VlanRepr> {
        (
            0u8..8,
            any::<bool>(),
            0u16..VLAN_VID_RESERVED,
            any_ethertype(),
        )
            .prop_map(|(pcp, dei, vid, ethertype)| VlanRepr {
                pcp,
                dei,
                vid,
                ethertype,
            })
    }

    proptest! {
        #[test]
        fn repr_round_trip(repr in any_repr()) {
            let mut bytes = [0u8; VLAN_TAG_LEN];
            repr.emit(&mut VlanTag::new_unchecked(&mut bytes[..]));
            let tag = VlanTag::new_checked(&bytes[..]).unwrap();
            prop_assert_eq!(VlanRepr::parse(&tag), Ok(repr));
            prop_assert_eq!((tag.pcp(), tag.dei(), tag.vid()), (repr.pcp, repr.dei, repr.vid));
        }

        #[test]
        fn stack_round_trip(
            outer in proptest::option::of((any_repr(), any::<bool>())),
            inner in proptest::option::of(any_repr()),
            payload_type in any_ethertype().prop_filter("not a tag", |t| !t.is_vlan()),
        ) {
            // Build Ethernet + up to two tags.
            let mut bytes = [0u8; 22 + 8];
            let mut tags = Vec::new();
            if let Some((outer, s_tag)) = outer {
                tags.push((outer, if s_tag { EtherType::QinQ } else { EtherType::Vlan }));
                if let Some(inner) = inner {
                    tags.push((inner, EtherType::Vlan));
                }
            }
            let mut frame = EthernetFrame::new_unchecked(&mut bytes[..]);
            frame.set_src_addr(EthernetAddress::new(2, 0, 0, 0, 0, 1));
            frame.set_ethertype(tags.first().map_or(payload_type, |t| t.1));
            let mut at = ETHERNET_HEADER_LEN;
            for (i, (tag, _)) in tags.iter().enumerate() {
                let next = tags.get(i + 1).map_or(payload_type, |t| t.1);
                VlanRepr { ethertype: next, ..*tag }
                    .emit(&mut VlanTag::new_unchecked(&mut bytes[at..]));
                at += VLAN_TAG_LEN;
            }
            let stack = VlanStack::parse(&EthernetFrame::new_checked(&bytes[..]).unwrap());
            prop_assert_eq!(stack, Ok(VlanStack {
                ethertype: payload_type,
                header_len: at,
                pcp: tags.first().map(|t| t.0.pcp),
                outer_vid: tags.first().map(|t| t.0.vid),
                inner_vid: tags.get(1).map(|t| t.0.vid),
            }));
        }

        #[test]
        fn never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..32)) {
            let _ = VlanRepr::parse(&VlanTag::new_unchecked(&bytes[..]));
            if let Ok(tag) = VlanTag::new_checked(&bytes[..]) {
                let _ = (tag.pcp(), tag.dei(), tag.vid(), tag.ethertype(), tag.payload());
            }
            let _ = VlanStack::parse(&EthernetFrame::new_unchecked(&bytes[..]));
        }

        #[test]
        fn stack_never_panics_on_tagged_bytes(
            tpids in proptest::collection::vec(
                prop_oneof![Just(0x8100u16), Just(0x88a8), any::<u16>()], 1..4),
            tcis in proptest::collection::vec(any::<u16>(), 3),
            cut in 0usize..30,
        ) {
            // Mostly-valid stacks with random TCIs, cut anywhere.
            let mut bytes = vec![0u8; 12];
            for (i, tpid) in tpids.iter().enumerate() {
                bytes.extend_from_slice(&tpid.to_be_bytes());
                if i < tcis.len() {
                    bytes.extend_from_slice(&tcis[i].to_be_bytes());
                }
            }
            bytes.truncate(cut.min(bytes.len()));
            if let Ok(stack) = VlanStack::parse(&EthernetFrame::new_unchecked(&bytes[..])) {
                prop_assert!(stack.header_len <= bytes.len());
                prop_assert!(!stack.ethertype.is_vlan());
                prop_assert!(stack.tag_count() <= VlanStack::MAX_TAGS);
            }
        }
    }
}

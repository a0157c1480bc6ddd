//! The IPv6 fragment header: RFC 8200 §4.5, with the rules of RFC 5722 (overlapping
//! fragments), RFC 7112 (the header chain in the first fragment) and RFC 6946 (atomic
//! fragments).
//!
//! [`Header`] reads and writes the 8-byte header; [`Repr`] emits one per fragment when
//! a packet is split. Finding the header in a chain is [`super::ipv6ext::walk`]'s job.

use super::{Error, IpProtocol, Result};

mod field {
    use crate::wire::Field;

    pub const NXT_HDR: usize = 0;
    pub const RESERVED: usize = 1;
    pub const FR_OF_M: Field = 2..4;
    pub const IDENT: Field = 4..8;
}

/// Length of the fragment header.
pub const HEADER_LEN: usize = 8;
/// Largest fragment offset in bytes (13 bits of 8-byte units).
pub const MAX_OFFSET: u16 = 0xfff8;

const FLAG_M: u16 = 0x0001;
const OFFSET_MASK: u16 = 0xfff8;

/// A read/write view of an IPv6 fragment header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> Header<T> {
    /// Wraps a buffer without checking it.
    ///
    /// # Panics
    ///
    /// The accessors panic if the buffer is shorter than 8 bytes. Use
    /// [`Header::new_checked`] on bytes from the wire.
    pub const fn new_unchecked(buffer: T) -> Header<T> {
        Header { buffer }
    }

    /// Wraps a buffer after [`Header::check_len`].
    ///
    /// # Errors
    ///
    /// As [`Header::check_len`].
    pub fn new_checked(buffer: T) -> Result<Header<T>> {
        let header = Self::new_unchecked(buffer);
        header.check_len()?;
        Ok(header)
    }

    /// Checks that the buffer holds the 8-byte header.
    ///
    /// # Errors
    ///
    /// [`Error::Truncated`] for fewer than 8 bytes.
    pub fn check_len(&self) -> Result<()> {
        if self.buffer.as_ref().len() < HEADER_LEN {
            Err(Error::Truncated)
        } else {
            Ok(())
        }
    }

    /// Consumes the view, returning the buffer.
    pub fn into_inner(self) -> T {
        self.buffer
    }

    /// The header that follows in the reassembled packet.
    #[inline]
    pub fn next_header(&self) -> IpProtocol {
        IpProtocol::from(self.buffer.as_ref()[field::NXT_HDR])
    }

    /// The reserved byte (ignored on receipt).
    #[inline]
    pub fn reserved(&self) -> u8 {
        self.buffer.as_ref()[field::RESERVED]
    }

    fn fr_of_m(&self) -> u16 {
        super::read_u16(self.buffer.as_ref(), field::FR_OF_M.start)
    }

    /// The fragment offset in bytes (a multiple of 8).
    #[inline]
    pub fn frag_offset(&self) -> u16 {
        self.fr_of_m() & OFFSET_MASK
    }

    /// The M flag: more fragments follow.
    #[inline]
    pub fn more_frags(&self) -> bool {
        self.fr_of_m() & FLAG_M != 0
    }

    /// The identification shared by the fragments of one packet.
    #[inline]
    pub fn ident(&self) -> u32 {
        let d = self.buffer.as_ref();
        u32::from_be_bytes([d[4], d[5], d[6], d[7]])
    }

    /// Whether this is an atomic fragment (offset 0, no more fragments, RFC 6946): it
    /// is processed as a whole packet, without reassembly.
    #[inline]
    pub fn is_atomic(&self) -> bool {
        self.fr_of_m() & (OFFSET_MASK | FLAG_M) == 0
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Header<T> {
    /// Sets the next header.
    #[inline]
    pub fn set_next_header(&mut self, next_header: IpProtocol) {
        self.buffer.as_mut()[field::NXT_HDR] = u8::from(next_header);
    }

    /// Sets the reserved byte.
    #[inline]
    pub fn set_reserved(&mut self, value: u8) {
        self.buffer.as_mut()[field::RESERVED] = value;
    }

    /// Sets the fragment offset in bytes (the low three bits are dropped).
    #[inline]
    pub fn set_frag_offset(&mut self, offset: u16) {
        let raw = (self.fr_of_m() & !OFFSET_MASK) | (offset & OFFSET_MASK);
        super::write_u16(self.buffer.as_mut(), field::FR_OF_M.start, raw);
    }

    /// Sets or clears the M flag; the two reserved bits beside it are cleared.
    #[inline]
    pub fn set_more_frags(&mut self, more: bool) {
        let raw = (self.fr_of_m() & OFFSET_MASK) | u16::from(more);
        super::write_u16(self.buffer.as_mut(), field::FR_OF_M.start, raw);
    }

    /// Sets the identification.
    #[inline]
    pub fn set_ident(&mut self, ident: u32) {
        self.buffer.as_mut()[field::IDENT].copy_from_slice(&ident.to_be_bytes());
    }
}

impl<T: AsRef<[u8]>> AsRef<[u8]> for Header<T> {
    fn as_ref(&self) -> &[u8] {
        self.buffer.as_ref()
    }
}

/// The parsed form of a fragment header.
///
/// # Examples
///
/// ```
/// use strata_l3l4::{IpProtocol, Ipv6FragHeader, Ipv6FragRepr};
///
/// let repr = Ipv6FragRepr {
///     next_header: IpProtocol::Udp,
///     frag_offset: 1448,
///     more_frags: true,
///     ident: 0x1234_5678,
/// };
/// let mut buf = [0u8; 8];
/// repr.emit(&mut Ipv6FragHeader::new_unchecked(&mut buf[..]))?;
/// assert_eq!(Ipv6FragRepr::parse(&Ipv6FragHeader::new_checked(&buf[..])?)?, repr);
/// # Ok::<(), strata_l3l4::wire::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Repr {
    /// The header that follows in the reassembled packet.
    pub next_header: IpProtocol,
    /// Offset of this fragment's data in bytes, a multiple of 8.
    pub frag_offset: u16,
    /// More fragments follow.
    pub more_frags: bool,
    /// Identification.
    pub ident: u32,
}

impl Repr {
    /// Returns the parsed form of a header.
    ///
    /// # Errors
    ///
    /// [`Error::Truncated`] for fewer than 8 bytes.
    pub fn parse<T: AsRef<[u8]>>(header: &Header<T>) -> Result<Repr> {
        header.check_len()?;
        Ok(Repr {
            next_header: header.next_header(),
            frag_offset: header.frag_offset(),
            more_frags: header.more_frags(),
            ident: header.ident(),
        })
    }

    /// Whether these are the fields of an atomic fragment (offset 0, no more fragments,
    /// RFC 6946), processed as a whole packet.
    pub const fn is_atomic(&self) -> bool {
        self.frag_offset == 0 && !self.more_frags
    }

    /// Length of the header [`Repr::emit`] writes.
    pub const fn buffer_len(&self) -> usize {
        HEADER_LEN
    }

    /// Writes the header into the start of `header`'s buffer, reserved fields zero.
    ///
    /// # Errors
    ///
    /// [`Error::Truncated`] if the buffer is shorter than 8 bytes, [`Error::Fragment`]
    /// if the offset is not a multiple of 8.
    pub fn emit<T: AsRef<[u8]> + AsMut<[u8]>>(&self, header: &mut Header<T>) -> Result<()> {
        header.check_len()?;
        if self.frag_offset & !OFFSET_MASK != 0 {
            return Err(Error::Fragment);
        }
        header.set_next_header(self.next_header);
        header.set_reserved(0);
        super::write_u16(
            header.buffer.as_mut(),
            field::FR_OF_M.start,
            self.frag_offset | u16::from(self.more_frags),
        );
        header.set_ident(self.ident);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::frames_v6::*;
    use proptest::prelude::*;

    #[test]
    fn deconstruct() {
        let first = first_fragment_v6();
        let header = Header::new_checked(&first[40..48]).unwrap();
        assert_eq!(header.next_header(), IpProtocol::Icmpv6);
        assert_eq!(header.reserved(), 0);
        assert_eq!((header.frag_offset(), header.more_frags()), (0, true));
        assert_eq!(header.ident(), 0xff8a_9dd2);
        assert!(!header.is_atomic());
        let last = Header::new_checked(&LAST_FRAGMENT_V6[40..]).unwrap();
        assert_eq!((last.frag_offset(), last.more_frags()), (1448, false));
        assert_eq!(last.ident(), 0xff8a_9dd2);
        assert!(!last.is_atomic());
        assert!(Header::new_checked(&[58u8, 0, 0, 0, 1, 2, 3, 4][..])
            .unwrap()
            .is_atomic());
    }

    #[test]
    fn construct_and_emit() {
        let mut bytes = [0xa5u8; 8];
        let mut header = Header::new_unchecked(&mut bytes[..]);
        header.set_next_header(IpProtocol::Icmpv6);
        header.set_reserved(0);
        header.set_more_frags(false);
        header.set_frag_offset(1448);
        header.set_ident(0xff8a_9dd2);
        assert_eq!(bytes, LAST_FRAGMENT_V6[40..48]);
        let repr = Repr::parse(&Header::new_checked(&LAST_FRAGMENT_V6[40..48]).unwrap()).unwrap();
        assert_eq!(
            repr,
            Repr {
                next_header: IpProtocol::Icmpv6,
                frag_offset: 1448,
                more_frags: false,
                ident: 0xff8a_9dd2
            }
        );
        let mut out = [0xffu8; 8];
        repr.emit(&mut Header::new_unchecked(&mut out[..])).unwrap();
        assert_eq!(out, LAST_FRAGMENT_V6[40..48]);
        let first = first_fragment_v6();
        let repr = Repr::parse(&Header::new_checked(&first[40..48]).unwrap()).unwrap();
        repr.emit(&mut Header::new_unchecked(&mut out[..])).unwrap();
        assert_eq!(out, first[40..48]);
    }

    #[test]
    fn rejects() {
        assert_eq!(
            Header::new_checked(&[0u8; 7][..]).err(),
            Some(Error::Truncated)
        );
        let repr = Repr {
            next_header: IpProtocol::Udp,
            frag_offset: 12,
            more_frags: false,
            ident: 1,
        };
        let mut buf = [0u8; 8];
        assert_eq!(
            repr.emit(&mut Header::new_unchecked(&mut buf[..])),
            Err(Error::Fragment)
        );
        assert_eq!(
            repr.emit(&mut Header::new_unchecked(&mut buf[..7])),
            Err(Error::Truncated)
        );
    }

    proptest! {
        #[test]
        fn round_trip(nh in any::<u8>(), units in 0..8192u16, more in any::<bool>(), ident in any::<u32>()) {
            let repr = Repr {
                next_header: IpProtocol::from(nh),
                frag_offset: units * 8,
                more_frags: more,
                ident,
            };
            let mut buf = [0u8; 8];
            repr.emit(&mut Header::new_unchecked(&mut buf[..])).unwrap();
            prop_assert_eq!(Repr::parse(&Header::new_checked(&buf[..]).unwrap()), Ok(repr));
        }

        #[test]
        fn never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..12)) {
            let _ = Repr::parse(&Header::new_unchecked(&bytes[..]));
            if let Ok(header) = Header::new_checked(&bytes[..]) {
                let _ = (header.frag_offset(), header.more_frags(), header.is_atomic());
            }
        }

        #[test]
        fn agrees_with_etherparse(bytes in any::<[u8; 8]>()) {
            let ours = Header::new_checked(&bytes[..]).unwrap();
            let theirs = etherparse::Ipv6FragmentHeaderSlice::from_slice(&bytes).unwrap();
            prop_assert_eq!(u8::from(ours.next_header()), theirs.next_header().0);
            prop_assert_eq!(ours.frag_offset() / 8, theirs.fragment_offset().value());
            prop_assert_eq!(ours.more_frags(), theirs.more_fragments());
            prop_assert_eq!(ours.ident(), theirs.identification());
        }
    }
}

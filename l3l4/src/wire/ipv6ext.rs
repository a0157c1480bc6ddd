//! IPv6 extension headers: RFC 8200 §4 (hop-by-hop and destination options with their
//! TLV options and the unknown-option action bits of §4.2, the routing header of §4.4,
//! the order and limits of the chain), RFC 5095 (type 0 routing headers treated as
//! unknown), RFC 6946 (atomic fragments), RFC 2711 (router alert), RFC 4443 §3.4 (the
//! parameter problems that rejections answer with).
//!
//! [`walk`] follows the chain from the fixed header's next header to the upper-layer
//! protocol, under a hard bound on the number of headers and their bytes
//! ([`ChainLimits`]); it stops at a fragment header, whose fields it reports, since
//! what follows belongs to the reassembled packet. [`Header`] is a view of one options
//! or routing header, [`Options`] iterates its TLVs and [`OptionsRepr`] emits a
//! hop-by-hop header with a router alert (as MLD needs). The fragment header is
//! [`super::ipv6frag`].

use super::icmpv6::ParamProblem;
use super::ipv6frag;
use super::{enum_with_unknown, Error, IpProtocol, Result};

mod field {
    pub const NXT_HDR: usize = 0;
    pub const LENGTH: usize = 1;
    pub const ROUTING_TYPE: usize = 2;
    pub const SEG_LEFT: usize = 3;
    pub const OPTIONS: usize = 2;
}

/// Default bound on the number of extension headers [`walk`] follows.
pub const MAX_CHAIN_HEADERS: usize = 8;
/// Default bound on the bytes of extension headers [`walk`] reads.
pub const MAX_CHAIN_LEN: usize = 1024;

/// Offset of the fixed header's next-header field, the first parameter-problem pointer.
const FIXED_NXT_HDR_POINTER: u32 = 6;
/// Length of the fixed IPv6 header, which parameter-problem pointers count from.
const FIXED_LEN: usize = 40;

enum_with_unknown! {
    /// The type of an option in a hop-by-hop or destination options header (IANA
    /// "Destination Options and Hop-by-Hop Options"). The high two bits of an unknown
    /// type say what to do with the packet: [`OptionType::unknown_action`].
    pub enum OptionType(u8) {
        /// One byte of padding.
        Pad1 = 0,
        /// Two or more bytes of padding.
        PadN = 1,
        /// Router alert (RFC 2711), two bytes of value; 0 for MLD.
        RouterAlert = 5,
    }
}

/// What RFC 8200 §4.2 says to do with a packet holding an option of unknown type,
/// from the type's two high bits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum UnknownAction {
    /// `00`: skip the option and go on.
    Skip,
    /// `01`: discard the packet silently.
    Discard,
    /// `10`: discard the packet and send a parameter problem (code 2) pointing at the
    /// option type, even to a multicast destination.
    DiscardSendParamProblem,
    /// `11`: as `10`, but only when the destination was not multicast.
    DiscardSendParamProblemUnicast,
}

impl OptionType {
    /// The action for this type if the node does not recognize it.
    pub fn unknown_action(self) -> UnknownAction {
        match u8::from(self) >> 6 {
            0 => UnknownAction::Skip,
            1 => UnknownAction::Discard,
            2 => UnknownAction::DiscardSendParamProblem,
            _ => UnknownAction::DiscardSendParamProblemUnicast,
        }
    }

    /// Whether the option's data may change en route (the third-highest bit).
    pub fn may_change(self) -> bool {
        u8::from(self) & 0x20 != 0
    }
}

/// One TLV option: its type, the offset of its type byte from the start of the options
/// area (two bytes into the header), and its data.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct HeaderOption<'a> {
    /// The option type.
    pub kind: OptionType,
    /// Offset of the type byte from the start of the options area.
    pub offset: usize,
    /// The option data (empty for Pad1).
    pub data: &'a [u8],
}

/// An iterator over the TLV options of an options area. A malformed option (its length
/// byte missing, or its data running past the area) yields one
/// `Err(`[`Error::Options`]`)` and ends the iteration; every step consumes at least a
/// byte, so the walk is bounded by the area.
#[derive(Debug, Clone)]
pub struct Options<'a> {
    data: &'a [u8],
    pos: usize,
}

impl<'a> Options<'a> {
    /// Iterates over the options in `data` (a header's options area).
    pub const fn new(data: &'a [u8]) -> Self {
        Options { data, pos: 0 }
    }
}

impl<'a> Iterator for Options<'a> {
    type Item = Result<HeaderOption<'a>>;

    fn next(&mut self) -> Option<Self::Item> {
        let offset = self.pos;
        let kind = *self.data.get(offset)?;
        if kind == 0 {
            self.pos += 1;
            return Some(Ok(HeaderOption {
                kind: OptionType::Pad1,
                offset,
                data: &[],
            }));
        }
        let end = match self.data.get(offset + 1) {
            Some(&len) => offset + 2 + usize::from(len),
            None => usize::MAX,
        };
        if end > self.data.len() {
            self.pos = self.data.len();
            return Some(Err(Error::Options));
        }
        self.pos = end;
        Some(Ok(HeaderOption {
            kind: OptionType::from(kind),
            offset,
            data: &self.data[offset + 2..end],
        }))
    }
}

/// A read/write view of a hop-by-hop, destination options or routing header: a next
/// header byte, a length in 8-byte units past the first 8, and the body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> Header<T> {
    /// Wraps a buffer without checking it.
    ///
    /// # Panics
    ///
    /// The accessors panic if the buffer is shorter than the header length it
    /// announces. Use [`Header::new_checked`] on bytes from the wire.
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

    /// Checks that the buffer holds the whole header its length byte announces (at
    /// least 8 bytes).
    ///
    /// # Errors
    ///
    /// [`Error::Truncated`].
    pub fn check_len(&self) -> Result<()> {
        let data = self.buffer.as_ref();
        match data.get(field::LENGTH) {
            Some(&len) if data.len() >= (usize::from(len) + 1) * 8 => Ok(()),
            _ => Err(Error::Truncated),
        }
    }

    /// Consumes the view, returning the buffer.
    pub fn into_inner(self) -> T {
        self.buffer
    }

    /// The header that follows.
    #[inline]
    pub fn next_header(&self) -> IpProtocol {
        IpProtocol::from(self.buffer.as_ref()[field::NXT_HDR])
    }

    /// The header length in bytes: (length field + 1) × 8.
    #[inline]
    pub fn header_len(&self) -> usize {
        (usize::from(self.buffer.as_ref()[field::LENGTH]) + 1) * 8
    }

    /// The routing type, for a routing header.
    #[inline]
    pub fn routing_type(&self) -> u8 {
        self.buffer.as_ref()[field::ROUTING_TYPE]
    }

    /// The segments left, for a routing header.
    #[inline]
    pub fn segments_left(&self) -> u8 {
        self.buffer.as_ref()[field::SEG_LEFT]
    }
}

impl<'a, T: AsRef<[u8]> + ?Sized> Header<&'a T> {
    /// The body after the next header and length bytes: the options area of an options
    /// header.
    #[inline]
    pub fn options(&self) -> Options<'a> {
        Options::new(self.body())
    }

    /// The bytes after the next header and length bytes.
    #[inline]
    pub fn body(&self) -> &'a [u8] {
        &self.buffer.as_ref()[field::OPTIONS..self.header_len()]
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Header<T> {
    /// Sets the next header.
    #[inline]
    pub fn set_next_header(&mut self, next_header: IpProtocol) {
        self.buffer.as_mut()[field::NXT_HDR] = u8::from(next_header);
    }

    /// Sets the header length in bytes: a multiple of 8, from 8 to 2048 (other values
    /// are rounded down into that range).
    #[inline]
    pub fn set_header_len(&mut self, len: usize) {
        self.buffer.as_mut()[field::LENGTH] = (len.clamp(8, 2048) / 8 - 1) as u8;
    }

    /// The bytes after the next header and length bytes, mutable.
    #[inline]
    pub fn body_mut(&mut self) -> &mut [u8] {
        let end = self.header_len();
        &mut self.buffer.as_mut()[field::OPTIONS..end]
    }
}

impl<T: AsRef<[u8]>> AsRef<[u8]> for Header<T> {
    fn as_ref(&self) -> &[u8] {
        self.buffer.as_ref()
    }
}

/// The parsed form of an 8-byte hop-by-hop or destination options header holding at
/// most a router alert and padding: what a host emits (MLD reports go out with a
/// hop-by-hop router alert of value 0, RFC 3810 §5).
///
/// # Examples
///
/// ```
/// use strata_l3l4::wire::ipv6ext::{Header, OptionsRepr};
/// use strata_l3l4::IpProtocol;
///
/// let repr = OptionsRepr { next_header: IpProtocol::Icmpv6, router_alert: Some(0) };
/// let mut buf = [0u8; 8];
/// repr.emit(&mut Header::new_unchecked(&mut buf[..]))?;
/// assert_eq!(buf, [58, 0, 5, 2, 0, 0, 1, 0]);
/// assert_eq!(OptionsRepr::parse(&Header::new_checked(&buf[..])?)?, repr);
/// # Ok::<(), strata_l3l4::wire::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct OptionsRepr {
    /// The header that follows.
    pub next_header: IpProtocol,
    /// The router alert value, if the header carries one.
    pub router_alert: Option<u16>,
}

impl OptionsRepr {
    /// Returns the parsed form of an options header: its next header and router alert.
    /// Other options are not kept (the action bits are [`walk`]'s business).
    ///
    /// # Errors
    ///
    /// [`Error::Truncated`] for a short buffer, [`Error::Options`] for a malformed option
    /// or a router alert whose length is not 2.
    pub fn parse<T: AsRef<[u8]> + ?Sized>(header: &Header<&T>) -> Result<OptionsRepr> {
        header.check_len()?;
        let mut router_alert = None;
        for option in header.options() {
            let option = option?;
            if option.kind == OptionType::RouterAlert {
                router_alert = Some(router_alert_value(option.data).ok_or(Error::Options)?);
            }
        }
        Ok(OptionsRepr {
            next_header: header.next_header(),
            router_alert,
        })
    }

    /// Length of the header [`OptionsRepr::emit`] writes.
    pub const fn buffer_len(&self) -> usize {
        8
    }

    /// Writes the 8-byte header: the router alert and a 0-byte PadN, or a 4-byte PadN
    /// alone (the layout Linux uses).
    ///
    /// # Errors
    ///
    /// [`Error::Truncated`] if the buffer is shorter than 8 bytes.
    pub fn emit<T: AsRef<[u8]> + AsMut<[u8]>>(&self, header: &mut Header<T>) -> Result<()> {
        let Some(bytes) = header.buffer.as_mut().get_mut(..8) else {
            return Err(Error::Truncated);
        };
        bytes[field::NXT_HDR] = u8::from(self.next_header);
        bytes[field::LENGTH] = 0;
        match self.router_alert {
            Some(value) => {
                let [hi, lo] = value.to_be_bytes();
                bytes[2..].copy_from_slice(&[5, 2, hi, lo, 1, 0]);
            }
            None => bytes[2..].copy_from_slice(&[1, 4, 0, 0, 0, 0]),
        }
        Ok(())
    }
}

fn router_alert_value(data: &[u8]) -> Option<u16> {
    match *data {
        [hi, lo] => Some(u16::from_be_bytes([hi, lo])),
        _ => None,
    }
}

/// Bounds on the extension header chain that [`walk`] follows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ChainLimits {
    /// Most extension headers in a chain.
    pub max_headers: usize,
    /// Most bytes of extension headers in a chain.
    pub max_len: usize,
}

impl ChainLimits {
    /// [`MAX_CHAIN_HEADERS`] headers and [`MAX_CHAIN_LEN`] bytes.
    pub const DEFAULT: ChainLimits = ChainLimits {
        max_headers: MAX_CHAIN_HEADERS,
        max_len: MAX_CHAIN_LEN,
    };
}

impl Default for ChainLimits {
    fn default() -> Self {
        Self::DEFAULT
    }
}

/// A fragment header met by [`walk`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Fragment {
    /// Offset of the fragment header in the IPv6 payload; the headers before it are the
    /// unfragmentable part.
    pub header_offset: usize,
    /// The header's fields: next header, offset, M flag, identification.
    pub repr: ipv6frag::Repr,
}

/// What [`walk`] found: where the upper layer starts and what came before it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Chain {
    /// The protocol after the last header walked: the upper layer, or for a fragment
    /// that needs reassembly, the first header of the fragmentable part.
    pub upper: IpProtocol,
    /// Offset of that protocol's header in the IPv6 payload.
    pub upper_offset: usize,
    /// Offset, from the start of the IPv6 header, of the next-header field naming
    /// `upper`: the pointer of a parameter problem (code 1) if it is unknown.
    pub upper_pointer: u32,
    /// Number of extension headers walked.
    pub headers: usize,
    /// The fragment header, if one was met. Unless it is atomic (offset 0, no more
    /// fragments, RFC 6946), the walk stopped there: reassemble, then walk the
    /// reassembled payload from `repr.next_header`.
    pub fragment: Option<Fragment>,
    /// The value of a router alert option in the hop-by-hop header (RFC 2711).
    pub router_alert: Option<u16>,
}

/// Why [`walk`] refused a chain: drop the packet, and perhaps answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ChainError {
    /// Drop silently, counting the reason.
    Drop(Error),
    /// Drop and answer with an ICMPv6 parameter problem (RFC 4443 §3.4).
    ParamProblem {
        /// The code.
        code: ParamProblem,
        /// Offset of the offending byte from the start of the IPv6 header.
        pointer: u32,
        /// Answer only if the packet's destination was not multicast (unknown option
        /// action `11`). Otherwise RFC 4443 §2.4(e.3) lets the answer go even to a
        /// multicast destination (action `10`), or the caller's usual rule applies.
        unicast_only: bool,
    },
}

impl ChainError {
    /// The drop reason to count: [`Error::Options`] for a bad or unknown option, too
    /// long a chain or a misplaced hop-by-hop header, [`Error::Fragment`] for bad
    /// fragment fields, [`Error::Malformed`] for a routing header that cannot be
    /// processed, or the wrapped error.
    pub const fn reason(self) -> Error {
        match self {
            ChainError::Drop(error) => error,
            ChainError::ParamProblem { code, .. } => match code {
                ParamProblem::ErroneousHdrField => Error::Malformed,
                ParamProblem::IncompleteChain => Error::Fragment,
                _ => Error::Options,
            },
        }
    }
}

impl From<Error> for ChainError {
    fn from(error: Error) -> Self {
        ChainError::Drop(error)
    }
}

const fn pointer_at(payload_offset: usize) -> u32 {
    (FIXED_LEN + payload_offset) as u32
}

/// Checks the options of a hop-by-hop or destination options header whose options
/// area starts at `area_offset` in the IPv6 payload, applying the action bits of
/// unknown options and noting a router alert.
fn check_options(
    options: Options<'_>,
    area_offset: usize,
    router_alert: &mut Option<u16>,
) -> core::result::Result<(), ChainError> {
    for option in options {
        let option = option?;
        match option.kind {
            OptionType::Pad1 | OptionType::PadN => {}
            OptionType::RouterAlert => {
                let value = router_alert_value(option.data).ok_or(Error::Options)?;
                *router_alert = Some(value);
            }
            OptionType::Unknown(_) => {
                let unicast_only = match option.kind.unknown_action() {
                    UnknownAction::Skip => continue,
                    UnknownAction::Discard => return Err(ChainError::Drop(Error::Options)),
                    UnknownAction::DiscardSendParamProblem => false,
                    UnknownAction::DiscardSendParamProblemUnicast => true,
                };
                return Err(ChainError::ParamProblem {
                    code: ParamProblem::UnrecognizedOption,
                    pointer: pointer_at(area_offset + option.offset),
                    unicast_only,
                });
            }
        }
    }
    Ok(())
}

/// Walks the extension headers of an IPv6 payload whose fixed header named `first`,
/// up to the upper-layer protocol, as a host does (RFC 8200 §4):
///
/// - a hop-by-hop header anywhere but first is refused with a parameter problem
///   (code 1) pointing at the next-header field that named it, as Linux does;
/// - options are checked and unknown ones handled by their action bits (§4.2);
/// - a routing header with segments left is refused with a parameter problem (code 0)
///   pointing at its routing type, since a host processes no routing type (type 0 is
///   deprecated by RFC 5095); with no segments left it is skipped (§4.4);
/// - a fragment header ends the walk unless it is atomic; a non-final fragment must
///   carry a multiple of 8 bytes (code 0, pointer 4: the payload length) and no
///   fragment may end past 65535 bytes (code 0, pointing at the offset field) (§4.5);
/// - more than `limits.max_headers` headers or `limits.max_len` bytes of them drop the
///   packet as [`Error::Options`]; so does a header running past the payload, as
///   [`Error::Truncated`].
///
/// Upper-layer protocols, known or not, end the walk: an unknown one is the caller's
/// to refuse with a parameter problem (code 1) at [`Chain::upper_pointer`].
///
/// # Errors
///
/// [`ChainError`], saying whether to answer.
///
/// # Examples
///
/// ```
/// use strata_l3l4::wire::ipv6ext::{walk, ChainLimits};
/// use strata_l3l4::IpProtocol;
///
/// // A hop-by-hop header with a router alert, then ICMPv6.
/// let payload = [58, 0, 5, 2, 0, 0, 1, 0, 143, 0, 0, 0];
/// let chain = walk(IpProtocol::HopByHop, &payload, &ChainLimits::DEFAULT).unwrap();
/// assert_eq!((chain.upper, chain.upper_offset), (IpProtocol::Icmpv6, 8));
/// assert_eq!(chain.router_alert, Some(0));
/// ```
pub fn walk(
    first: IpProtocol,
    payload: &[u8],
    limits: &ChainLimits,
) -> core::result::Result<Chain, ChainError> {
    let mut chain = Chain {
        upper: first,
        upper_offset: 0,
        upper_pointer: FIXED_NXT_HDR_POINTER,
        headers: 0,
        fragment: None,
        router_alert: None,
    };
    loop {
        let offset = chain.upper_offset;
        let kind = chain.upper;
        if !matches!(
            kind,
            IpProtocol::HopByHop
                | IpProtocol::Ipv6Opts
                | IpProtocol::Ipv6Route
                | IpProtocol::Ipv6Frag
        ) {
            return Ok(chain);
        }
        if kind == IpProtocol::HopByHop && chain.headers > 0 {
            return Err(ChainError::ParamProblem {
                code: ParamProblem::UnrecognizedNxtHdr,
                pointer: chain.upper_pointer,
                unicast_only: false,
            });
        }
        if chain.headers >= limits.max_headers {
            return Err(ChainError::Drop(Error::Options));
        }
        let rest = &payload[offset..];
        let (next, len) = if kind == IpProtocol::Ipv6Frag {
            let header = ipv6frag::Header::new_checked(rest)?;
            let repr = ipv6frag::Repr::parse(&header)?;
            let data_len = rest.len() - ipv6frag::HEADER_LEN;
            if repr.more_frags && data_len % 8 != 0 {
                return Err(ChainError::ParamProblem {
                    code: ParamProblem::ErroneousHdrField,
                    pointer: 4,
                    unicast_only: false,
                });
            }
            if usize::from(repr.frag_offset) + data_len > super::ipv6::MAX_PAYLOAD_LEN {
                return Err(ChainError::ParamProblem {
                    code: ParamProblem::ErroneousHdrField,
                    pointer: pointer_at(offset + 2),
                    unicast_only: false,
                });
            }
            chain.fragment = Some(Fragment {
                header_offset: offset,
                repr,
            });
            (repr.next_header, ipv6frag::HEADER_LEN)
        } else {
            let header = Header::new_checked(rest)?;
            if kind == IpProtocol::Ipv6Route {
                if header.segments_left() != 0 {
                    return Err(ChainError::ParamProblem {
                        code: ParamProblem::ErroneousHdrField,
                        pointer: pointer_at(offset + field::ROUTING_TYPE),
                        unicast_only: false,
                    });
                }
            } else {
                let area = offset + field::OPTIONS;
                let alert = if kind == IpProtocol::HopByHop {
                    &mut chain.router_alert
                } else {
                    &mut None
                };
                check_options(header.options(), area, alert)?;
            }
            (header.next_header(), header.header_len())
        };
        if offset + len > limits.max_len {
            return Err(ChainError::Drop(Error::Options));
        }
        chain.headers += 1;
        chain.upper = next;
        chain.upper_pointer = pointer_at(offset);
        chain.upper_offset = offset + len;
        if chain.fragment.is_some_and(|f| !f.repr.is_atomic()) {
            return Ok(chain);
        }
    }
}

// The tests live in `ipv6ext/tests.rs`, which would push this file past 800 lines.
#[cfg(test)]
mod tests;

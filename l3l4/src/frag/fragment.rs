//! Fragmentation on send: RFC 791 §3.2 for IPv4 (data in multiples of 8 bytes, the
//! header repeated in every fragment, MF and offset fields) and RFC 8200 §4.5 for IPv6
//! (a fragment header after the unfragmentable part, a path MTU of at least 1280).
//!
//! [`plan_ipv4`] and [`plan_ipv6`] split a payload into [`FragmentSpec`]s; the emit
//! helpers [`emit_ipv4_fragment`] and [`emit_ipv6_fragment`] write one fragment each,
//! header included, into a buffer the caller hands in.

use core::ops::Range;

use crate::checksum::ChecksumCaps;
use crate::wire::{ipv4, ipv6, ipv6frag, IpProtocol};
use crate::{Ipv4Packet, Ipv4Repr, Ipv6FragHeader, Ipv6FragRepr, Ipv6Packet, Ipv6Repr};

/// The smallest MTU an IPv4 link may have (RFC 791): a 60-byte header and 8 bytes.
pub const IPV4_MIN_MTU: usize = 68;

/// Why a datagram cannot be fragmented or a fragment emitted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FragmentError {
    /// The MTU leaves no room for 8 bytes of data after the headers, or is below the
    /// version's minimum (68 for IPv4, 1280 for IPv6).
    MtuTooSmall,
    /// The payload is too long for the 16-bit length and offset fields.
    TooLong,
    /// The output buffer is shorter than the fragment.
    BufferTooSmall,
    /// The datagram has the don't-fragment flag set: answer with an ICMP destination
    /// unreachable, "fragmentation needed" (RFC 1191), instead.
    DontFragment,
    /// The datagram's header or options are malformed.
    Malformed,
}

impl core::fmt::Display for FragmentError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(match self {
            FragmentError::MtuTooSmall => "MTU too small to fragment",
            FragmentError::TooLong => "payload too long to fragment",
            FragmentError::BufferTooSmall => "buffer too small for the fragment",
            FragmentError::DontFragment => "the datagram may not be fragmented",
            FragmentError::Malformed => "malformed datagram",
        })
    }
}

impl std::error::Error for FragmentError {}

/// One fragment of a plan: where its data starts in the datagram, whether more follow,
/// and which bytes of the payload it carries.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct FragmentSpec {
    /// Offset of the data in bytes, a multiple of 8.
    pub offset: u16,
    /// More fragments follow (the MF or M flag).
    pub more_frags: bool,
    /// The bytes of the payload (IPv4) or fragmentable part (IPv6) it carries.
    pub range: Range<usize>,
}

impl FragmentSpec {
    /// Length of the fragment's data.
    pub fn len(&self) -> usize {
        self.range.len()
    }

    /// Whether the fragment carries no data (only for an empty payload).
    pub fn is_empty(&self) -> bool {
        self.range.is_empty()
    }
}

/// The fragments of one datagram, in order: every one but the last carries `chunk`
/// bytes, a multiple of 8.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Fragments {
    next: usize,
    len: usize,
    chunk: usize,
    done: bool,
}

impl Fragments {
    /// Data bytes in every fragment but the last.
    pub const fn chunk(&self) -> usize {
        self.chunk
    }
}

impl Iterator for Fragments {
    type Item = FragmentSpec;

    fn next(&mut self) -> Option<FragmentSpec> {
        if self.done {
            return None;
        }
        let start = self.next;
        let end = (start + self.chunk).min(self.len);
        self.next = end;
        self.done = end == self.len;
        Some(FragmentSpec {
            // The plan functions check that every offset fits 16 bits.
            offset: start as u16,
            more_frags: !self.done,
            range: start..end,
        })
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let left = if self.done {
            0
        } else {
            (self.len - self.next).div_ceil(self.chunk).max(1)
        };
        (left, Some(left))
    }
}

impl ExactSizeIterator for Fragments {}

fn plan(overhead: usize, payload_len: usize, mtu: usize) -> Result<Fragments, FragmentError> {
    let chunk = mtu.saturating_sub(overhead) & !7;
    if chunk == 0 {
        return Err(FragmentError::MtuTooSmall);
    }
    Ok(Fragments {
        next: 0,
        len: payload_len,
        chunk,
        done: false,
    })
}

/// Plans the fragments of an IPv4 datagram with a `header_len`-byte header (20 to 60,
/// repeated in every fragment) and `payload_len` bytes of payload over a link of `mtu`
/// bytes (RFC 791 §3.2). A payload that fits gives one fragment, offset 0, MF clear:
/// send it unfragmented.
///
/// The header length is that of the first fragment, so that every fragment fits; to
/// fragment an existing datagram with options, which later fragments carry only in
/// part, use [`plan_ipv4_datagram`] and [`emit_ipv4_fragment_of`].
///
/// # Errors
///
/// [`FragmentError::MtuTooSmall`] below 68 bytes or without room for 8 bytes of data,
/// [`FragmentError::TooLong`] if `header_len + payload_len` passes 65535.
///
/// # Examples
///
/// ```
/// use strata_l3l4::frag::plan_ipv4;
///
/// let specs: Vec<_> = plan_ipv4(20, 3000, 1500)?.collect();
/// assert_eq!(specs.len(), 3);
/// assert_eq!((specs[1].offset, specs[1].more_frags, specs[1].range.clone()), (1480, true, 1480..2960));
/// assert_eq!((specs[2].offset, specs[2].more_frags), (2960, false));
/// # Ok::<(), strata_l3l4::frag::FragmentError>(())
/// ```
pub fn plan_ipv4(
    header_len: usize,
    payload_len: usize,
    mtu: usize,
) -> Result<Fragments, FragmentError> {
    if mtu < IPV4_MIN_MTU {
        return Err(FragmentError::MtuTooSmall);
    }
    if header_len + payload_len > ipv4::MAX_LEN {
        return Err(FragmentError::TooLong);
    }
    plan(header_len, payload_len, mtu)
}

/// Plans the fragments of an IPv6 packet whose fragmentable part (the headers after
/// the fragment header, and the upper layer) is `payload_len` bytes, behind the 40-byte
/// header and `unfragmentable_len` bytes of extension headers, over a path MTU of `mtu`
/// (RFC 8200 §4.5). Every fragment gets an 8-byte fragment header.
///
/// # Errors
///
/// [`FragmentError::MtuTooSmall`] below 1280 bytes or without room for 8 bytes of data,
/// [`FragmentError::TooLong`] if a fragment's payload length or the last offset would
/// not fit 16 bits.
pub fn plan_ipv6(
    unfragmentable_len: usize,
    payload_len: usize,
    mtu: usize,
) -> Result<Fragments, FragmentError> {
    if mtu < ipv6::MIN_MTU {
        return Err(FragmentError::MtuTooSmall);
    }
    let overhead = ipv6::HEADER_LEN + unfragmentable_len + ipv6frag::HEADER_LEN;
    let fragments = plan(overhead, payload_len, mtu)?;
    let last_offset = payload_len.saturating_sub(1) / fragments.chunk * fragments.chunk;
    if last_offset > usize::from(ipv6frag::MAX_OFFSET)
        || unfragmentable_len + ipv6frag::HEADER_LEN + payload_len > ipv6::MAX_PAYLOAD_LEN
    {
        return Err(FragmentError::TooLong);
    }
    Ok(fragments)
}

/// Plans the fragments of the datagram `repr` describes (a 20-byte header,
/// `repr.payload_len` bytes of payload): [`plan_ipv4`].
///
/// # Errors
///
/// As [`plan_ipv4`].
pub fn plan_ipv4_repr(repr: &Ipv4Repr, mtu: usize) -> Result<Fragments, FragmentError> {
    plan_ipv4(repr.header_len(), repr.payload_len, mtu)
}

/// Writes one IPv4 fragment into the start of `buf`: the header of `repr` (its
/// `payload_len` replaced by the fragment's), identification `ident`, DF clear, MF and
/// offset from `spec`, then `payload[spec.range]`. The header checksum is computed when
/// `caps.ipv4` says software does it. Returns the fragment's length.
///
/// # Errors
///
/// [`FragmentError::BufferTooSmall`] if `buf` cannot hold the fragment,
/// [`FragmentError::TooLong`] if `spec.range` is outside `payload` or the header fields
/// do not emit.
///
/// # Examples
///
/// ```
/// use std::net::Ipv4Addr;
/// use strata_l3l4::frag::{emit_ipv4_fragment, plan_ipv4_repr};
/// use strata_l3l4::{ChecksumCaps, IpProtocol, Ipv4Packet, Ipv4Repr};
///
/// let payload = [7u8; 100];
/// let repr = Ipv4Repr {
///     src_addr: Ipv4Addr::new(10, 0, 0, 1),
///     dst_addr: Ipv4Addr::new(10, 0, 0, 2),
///     protocol: IpProtocol::Udp,
///     payload_len: payload.len(),
///     ttl: 64,
///     dscp: 0,
///     ecn: 0,
/// };
/// let caps = ChecksumCaps::software();
/// let mut buf = [0u8; 68];
/// for spec in plan_ipv4_repr(&repr, buf.len())? {
///     let len = emit_ipv4_fragment(&repr, 0x1234, &spec, &payload, &mut buf, &caps)?;
///     let fragment = Ipv4Packet::new_checked(&buf[..len]).unwrap();
///     assert!(fragment.verify_checksum());
///     assert_eq!(fragment.frag_offset(), spec.offset);
/// }
/// # Ok::<(), strata_l3l4::frag::FragmentError>(())
/// ```
pub fn emit_ipv4_fragment(
    repr: &Ipv4Repr,
    ident: u16,
    spec: &FragmentSpec,
    payload: &[u8],
    buf: &mut [u8],
    caps: &ChecksumCaps,
) -> Result<usize, FragmentError> {
    let data = payload
        .get(spec.range.clone())
        .ok_or(FragmentError::TooLong)?;
    let len = ipv4::HEADER_LEN + data.len();
    let out = buf.get_mut(..len).ok_or(FragmentError::BufferTooSmall)?;
    let header = Ipv4Repr {
        payload_len: data.len(),
        ..*repr
    };
    let mut packet = Ipv4Packet::new_unchecked(&mut out[..]);
    header
        .emit(&mut packet, &ChecksumCaps::software())
        .map_err(|_| FragmentError::TooLong)?;
    packet.set_ident(ident);
    packet.clear_flags();
    packet.set_more_frags(spec.more_frags);
    packet.set_frag_offset(spec.offset);
    if caps.ipv4.tx() {
        packet.fill_checksum();
    } else {
        packet.set_checksum(0);
    }
    out[ipv4::HEADER_LEN..].copy_from_slice(data);
    Ok(len)
}

/// Plans the fragments of an existing IPv4 datagram (one being forwarded, or a
/// fragment of one) over a link of `mtu` bytes: [`plan_ipv4`] with the datagram's own
/// header length, so every fragment fits even with all its options.
///
/// # Errors
///
/// [`FragmentError::DontFragment`] if the DF flag is set, and those of [`plan_ipv4`].
pub fn plan_ipv4_datagram<T: AsRef<[u8]>>(
    datagram: &Ipv4Packet<T>,
    mtu: usize,
) -> Result<Fragments, FragmentError> {
    if datagram.dont_frag() && datagram.header_len() + datagram.payload_len() > mtu {
        return Err(FragmentError::DontFragment);
    }
    plan_ipv4(datagram.header_len(), datagram.payload_len(), mtu)
}

/// Writes one fragment of an existing IPv4 datagram into the start of `buf`, as a
/// router does (RFC 791 §3.2, RFC 1812 §5.2.6): the fragment at offset 0 keeps the
/// whole header with every option; later fragments carry only the options with the
/// "copied" flag ([`ipv4::copied_options`]), so their header may be shorter.
/// Identification, TTL, DSCP and addresses are kept; a datagram that is itself a
/// fragment is refragmented (the offsets add up, and MF stays set unless this is the
/// last piece of the last fragment). The header checksum is computed when `caps.ipv4`
/// says software does it. Returns the fragment's length.
///
/// # Errors
///
/// [`FragmentError::DontFragment`] if the DF flag is set,
/// [`FragmentError::Malformed`] for malformed options,
/// [`FragmentError::BufferTooSmall`] if `buf` cannot hold the fragment,
/// [`FragmentError::TooLong`] if `spec.range` is outside the payload.
pub fn emit_ipv4_fragment_of<T: AsRef<[u8]>>(
    datagram: &Ipv4Packet<T>,
    spec: &FragmentSpec,
    buf: &mut [u8],
    caps: &ChecksumCaps,
) -> Result<usize, FragmentError> {
    if datagram.dont_frag() {
        return Err(FragmentError::DontFragment);
    }
    let bytes = datagram.as_ref();
    let header_len = datagram.header_len();
    let total_len = usize::from(datagram.total_len());
    let payload = bytes
        .get(header_len..total_len)
        .ok_or(FragmentError::Malformed)?;
    let data = payload
        .get(spec.range.clone())
        .ok_or(FragmentError::TooLong)?;
    let mut options = [0u8; ipv4::MAX_HEADER_LEN - ipv4::HEADER_LEN];
    let all_options = &bytes[ipv4::HEADER_LEN..header_len];
    let options_len = if spec.offset == 0 {
        datagram
            .check_options()
            .map_err(|_| FragmentError::Malformed)?;
        options[..all_options.len()].copy_from_slice(all_options);
        all_options.len()
    } else {
        ipv4::copied_options(all_options, &mut options).map_err(|_| FragmentError::Malformed)?
    };
    let new_header_len = ipv4::HEADER_LEN + options_len;
    let len = new_header_len + data.len();
    let offset = usize::from(datagram.frag_offset()) + usize::from(spec.offset);
    let offset = u16::try_from(offset).map_err(|_| FragmentError::TooLong)?;
    let out = buf.get_mut(..len).ok_or(FragmentError::BufferTooSmall)?;
    out[..ipv4::HEADER_LEN].copy_from_slice(&bytes[..ipv4::HEADER_LEN]);
    out[ipv4::HEADER_LEN..new_header_len].copy_from_slice(&options[..options_len]);
    out[new_header_len..].copy_from_slice(data);
    let mut packet = Ipv4Packet::new_unchecked(&mut out[..]);
    packet.set_header_len(new_header_len);
    packet.set_total_len(len as u16);
    packet.clear_flags();
    packet.set_more_frags(spec.more_frags || datagram.more_frags());
    packet.set_frag_offset(offset);
    if caps.ipv4.tx() {
        packet.fill_checksum();
    } else {
        packet.set_checksum(0);
    }
    Ok(len)
}

/// Writes one IPv6 fragment into the start of `buf`: the fixed header of `repr` (its
/// payload length replaced by the fragment's), the `unfragmentable` extension headers,
/// a fragment header (`next_header` naming the first header of the fragmentable part,
/// `ident`, offset and M flag from `spec`), then `payload[spec.range]` where `payload`
/// is the fragmentable part. Returns the fragment's length.
///
/// With `unfragmentable` empty the fixed header's next header is set to the fragment
/// header (44). Otherwise `repr.next_header` names the first unfragmentable header and
/// the caller's chain must already end in 44.
///
/// # Errors
///
/// [`FragmentError::BufferTooSmall`] if `buf` cannot hold the fragment,
/// [`FragmentError::TooLong`] if `spec.range` is outside `payload` or the headers do
/// not emit.
///
/// # Examples
///
/// ```
/// use strata_l3l4::frag::{emit_ipv6_fragment, plan_ipv6};
/// use strata_l3l4::{IpProtocol, Ipv6FragHeader, Ipv6Packet, Ipv6Repr};
///
/// let payload = vec![9u8; 2000];
/// let repr = Ipv6Repr {
///     src_addr: "fd00::1".parse().unwrap(),
///     dst_addr: "fd00::2".parse().unwrap(),
///     next_header: IpProtocol::Udp,
///     payload_len: payload.len(),
///     hop_limit: 64,
///     traffic_class: 0,
///     flow_label: 0,
/// };
/// let mut buf = [0u8; 1280];
/// let specs: Vec<_> = plan_ipv6(0, payload.len(), buf.len())?.collect();
/// assert_eq!(specs.len(), 2);
/// let len = emit_ipv6_fragment(&repr, &[], IpProtocol::Udp, 42, &specs[1], &payload, &mut buf)?;
/// let packet = Ipv6Packet::new_checked(&buf[..len]).unwrap();
/// assert_eq!(packet.next_header(), IpProtocol::Ipv6Frag);
/// let header = Ipv6FragHeader::new_checked(packet.payload()).unwrap();
/// assert_eq!((header.frag_offset(), header.more_frags(), header.ident()), (1232, false, 42));
/// # Ok::<(), strata_l3l4::frag::FragmentError>(())
/// ```
#[allow(clippy::too_many_arguments)]
pub fn emit_ipv6_fragment(
    repr: &Ipv6Repr,
    unfragmentable: &[u8],
    next_header: IpProtocol,
    ident: u32,
    spec: &FragmentSpec,
    payload: &[u8],
    buf: &mut [u8],
) -> Result<usize, FragmentError> {
    let data = payload
        .get(spec.range.clone())
        .ok_or(FragmentError::TooLong)?;
    let frag_at = ipv6::HEADER_LEN + unfragmentable.len();
    let data_at = frag_at + ipv6frag::HEADER_LEN;
    let len = data_at + data.len();
    let out = buf.get_mut(..len).ok_or(FragmentError::BufferTooSmall)?;
    let header = Ipv6Repr {
        payload_len: len - ipv6::HEADER_LEN,
        next_header: if unfragmentable.is_empty() {
            IpProtocol::Ipv6Frag
        } else {
            repr.next_header
        },
        ..*repr
    };
    header
        .emit(&mut Ipv6Packet::new_unchecked(&mut out[..]))
        .map_err(|_| FragmentError::TooLong)?;
    out[ipv6::HEADER_LEN..frag_at].copy_from_slice(unfragmentable);
    let frag = Ipv6FragRepr {
        next_header,
        frag_offset: spec.offset,
        more_frags: spec.more_frags,
        ident,
    };
    frag.emit(&mut Ipv6FragHeader::new_unchecked(
        &mut out[frag_at..data_at],
    ))
    .map_err(|_| FragmentError::TooLong)?;
    out[data_at..].copy_from_slice(data);
    Ok(len)
}

// The tests live in `fragment/tests.rs`.
#[cfg(test)]
mod tests;

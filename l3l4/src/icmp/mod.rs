//! When to send an ICMP error, how much to quote, and how often: the rules
//! of RFC 1122 §3.2.2, RFC 1812 §4.3.2 and RFC 4443 §2.4, as decisions the
//! engine asks about an offending packet before it emits an error with
//! [`Icmpv4Repr`](crate::Icmpv4Repr) or [`Icmpv6Repr`](crate::Icmpv6Repr).
//!
//! Sans-I/O: the caller passes what it knows of the packet (addresses,
//! whether it arrived as link-layer broadcast, its fragment offset, whether
//! it is itself an ICMP error) and the time; nothing here reads a clock.

mod limiter;

pub use limiter::RateLimiter;

use std::net::{Ipv4Addr, Ipv6Addr};

/// Why an error was not sent (a counter each, in `drop_reasons`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Suppressed {
    /// The offending packet is itself an ICMP error (or of an unknown ICMP type).
    AboutIcmpError,
    /// It was sent to a broadcast address or as a link-layer broadcast.
    Broadcast,
    /// It was sent to a multicast address or as a link-layer multicast.
    Multicast,
    /// It is a fragment other than the first.
    NonFirstFragment,
    /// Its source does not name one host (unspecified, broadcast, multicast, loopback).
    BadSource,
    /// The token bucket is empty.
    RateLimited,
}

impl Suppressed {
    /// A short label for metrics.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::AboutIcmpError => "about_icmp_error",
            Self::Broadcast => "broadcast",
            Self::Multicast => "multicast",
            Self::NonFirstFragment => "non_first_fragment",
            Self::BadSource => "bad_source",
            Self::RateLimited => "rate_limited",
        }
    }
}

/// What the caller knows about an IPv4 packet that would draw an error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ipv4Offender {
    /// Its source address (the error goes there).
    pub src: Ipv4Addr,
    /// Its destination address.
    pub dst: Ipv4Addr,
    /// The directed broadcast address of the receiving interface's subnet, if any.
    pub subnet_broadcast: Option<Ipv4Addr>,
    /// It arrived in a link-layer broadcast or multicast frame.
    pub link_broadcast: bool,
    /// Its fragment offset (in 8-byte units); only offset 0 may draw an error.
    pub frag_offset: u16,
    /// It is an ICMP error message, or an ICMP message of unknown type.
    pub is_icmp_error: bool,
}

/// Whether RFC 1122 §3.2.2 and RFC 1812 §4.3.2.7 allow an ICMPv4 error about
/// this packet (rate limiting aside).
///
/// # Errors
/// The [`Suppressed`] reason when an error must not be sent.
pub fn check_ipv4(o: &Ipv4Offender) -> Result<(), Suppressed> {
    if o.is_icmp_error {
        return Err(Suppressed::AboutIcmpError);
    }
    if o.frag_offset != 0 {
        return Err(Suppressed::NonFirstFragment);
    }
    if o.dst.is_multicast() {
        return Err(Suppressed::Multicast);
    }
    if o.dst.is_broadcast() || Some(o.dst) == o.subnet_broadcast || o.link_broadcast {
        return Err(Suppressed::Broadcast);
    }
    if o.src.is_unspecified()
        || o.src.is_broadcast()
        || o.src.is_multicast()
        || o.src.is_loopback()
        || Some(o.src) == o.subnet_broadcast
    {
        return Err(Suppressed::BadSource);
    }
    Ok(())
}

/// The kind of ICMPv6 error considered, for RFC 4443 §2.4 (e)'s exceptions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Icmpv6ErrorKind {
    /// Packet Too Big: sent even for multicast destinations (path MTU discovery).
    PacketTooBig,
    /// Parameter Problem code 2 (unrecognised option whose type asks for a report
    /// even to multicast): sent even for multicast destinations.
    ParamProblemUnrecognisedOptionMulticastOk,
    /// Any other error.
    Other,
}

/// What the caller knows about an IPv6 packet that would draw an error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ipv6Offender {
    /// Its source address.
    pub src: Ipv6Addr,
    /// Its destination address.
    pub dst: Ipv6Addr,
    /// It arrived in a link-layer broadcast or multicast frame.
    pub link_multicast: bool,
    /// It is a fragment other than the first.
    pub non_first_fragment: bool,
    /// It is an ICMPv6 error message (types 0–127), or a redirect.
    pub is_icmp_error: bool,
    /// Which error would be sent.
    pub kind: Icmpv6ErrorKind,
}

/// Whether RFC 4443 §2.4 (e) allows an ICMPv6 error about this packet.
///
/// # Errors
/// The [`Suppressed`] reason when an error must not be sent.
pub fn check_ipv6(o: &Ipv6Offender) -> Result<(), Suppressed> {
    if o.is_icmp_error {
        return Err(Suppressed::AboutIcmpError);
    }
    if o.non_first_fragment {
        return Err(Suppressed::NonFirstFragment);
    }
    let multicast_ok = o.kind != Icmpv6ErrorKind::Other;
    if (o.dst.is_multicast() || o.link_multicast) && !multicast_ok {
        return Err(Suppressed::Multicast);
    }
    if o.src.is_unspecified() || o.src.is_multicast() || o.src.is_loopback() {
        return Err(Suppressed::BadSource);
    }
    Ok(())
}

/// Bytes of the offending datagram an ICMPv4 error quotes: as much as fits
/// in a 576-byte error (RFC 1812 §4.3.2.3), never more than it has, and at
/// least its header plus 8 bytes when it has them (RFC 792).
pub fn ipv4_quote_len(datagram_len: usize) -> usize {
    const MAX: usize = 576 - 20 - 8;
    datagram_len.min(MAX)
}

/// Bytes of the offending packet an ICMPv6 error quotes: as much as fits
/// without the error exceeding the minimum IPv6 MTU of 1280 (RFC 4443 §2.4 (c)).
pub fn ipv6_quote_len(packet_len: usize) -> usize {
    const MAX: usize = 1280 - 40 - 8;
    packet_len.min(MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v4() -> Ipv4Offender {
        Ipv4Offender {
            src: Ipv4Addr::new(10, 0, 0, 2),
            dst: Ipv4Addr::new(10, 0, 0, 1),
            subnet_broadcast: Some(Ipv4Addr::new(10, 0, 0, 255)),
            link_broadcast: false,
            frag_offset: 0,
            is_icmp_error: false,
        }
    }

    #[test]
    fn ipv4_rules() {
        assert_eq!(check_ipv4(&v4()), Ok(()));
        let cases = [
            (
                Ipv4Offender {
                    is_icmp_error: true,
                    ..v4()
                },
                Suppressed::AboutIcmpError,
            ),
            (
                Ipv4Offender {
                    frag_offset: 185,
                    ..v4()
                },
                Suppressed::NonFirstFragment,
            ),
            (
                Ipv4Offender {
                    dst: Ipv4Addr::new(224, 0, 0, 1),
                    ..v4()
                },
                Suppressed::Multicast,
            ),
            (
                Ipv4Offender {
                    dst: Ipv4Addr::BROADCAST,
                    ..v4()
                },
                Suppressed::Broadcast,
            ),
            (
                Ipv4Offender {
                    dst: Ipv4Addr::new(10, 0, 0, 255),
                    ..v4()
                },
                Suppressed::Broadcast,
            ),
            (
                Ipv4Offender {
                    link_broadcast: true,
                    ..v4()
                },
                Suppressed::Broadcast,
            ),
            (
                Ipv4Offender {
                    src: Ipv4Addr::UNSPECIFIED,
                    ..v4()
                },
                Suppressed::BadSource,
            ),
            (
                Ipv4Offender {
                    src: Ipv4Addr::new(127, 0, 0, 1),
                    ..v4()
                },
                Suppressed::BadSource,
            ),
            (
                Ipv4Offender {
                    src: Ipv4Addr::new(239, 1, 1, 1),
                    ..v4()
                },
                Suppressed::BadSource,
            ),
            (
                Ipv4Offender {
                    src: Ipv4Addr::new(10, 0, 0, 255),
                    ..v4()
                },
                Suppressed::BadSource,
            ),
        ];
        for (o, why) in cases {
            assert_eq!(check_ipv4(&o), Err(why), "{o:?}");
        }
    }

    #[test]
    fn ipv6_rules_and_multicast_exceptions() {
        let ok = Ipv6Offender {
            src: "fe80::2".parse().unwrap(),
            dst: "fe80::1".parse().unwrap(),
            link_multicast: false,
            non_first_fragment: false,
            is_icmp_error: false,
            kind: Icmpv6ErrorKind::Other,
        };
        assert_eq!(check_ipv6(&ok), Ok(()));
        let mcast = Ipv6Offender {
            dst: "ff02::1".parse().unwrap(),
            ..ok
        };
        assert_eq!(check_ipv6(&mcast), Err(Suppressed::Multicast));
        assert_eq!(
            check_ipv6(&Ipv6Offender {
                link_multicast: true,
                ..ok
            }),
            Err(Suppressed::Multicast)
        );
        assert_eq!(
            check_ipv6(&Ipv6Offender {
                kind: Icmpv6ErrorKind::PacketTooBig,
                ..mcast
            }),
            Ok(())
        );
        assert_eq!(
            check_ipv6(&Ipv6Offender {
                kind: Icmpv6ErrorKind::ParamProblemUnrecognisedOptionMulticastOk,
                ..mcast
            }),
            Ok(())
        );
        assert_eq!(
            check_ipv6(&Ipv6Offender {
                is_icmp_error: true,
                ..ok
            }),
            Err(Suppressed::AboutIcmpError)
        );
        assert_eq!(
            check_ipv6(&Ipv6Offender {
                non_first_fragment: true,
                ..ok
            }),
            Err(Suppressed::NonFirstFragment)
        );
        assert_eq!(
            check_ipv6(&Ipv6Offender {
                src: "::".parse().unwrap(),
                ..ok
            }),
            Err(Suppressed::BadSource)
        );
        assert_eq!(
            check_ipv6(&Ipv6Offender {
                src: "ff02::1".parse().unwrap(),
                ..ok
            }),
            Err(Suppressed::BadSource)
        );
    }

    #[test]
    fn quotes_fit_the_minimum_sizes() {
        assert_eq!(ipv4_quote_len(28), 28);
        assert_eq!(ipv4_quote_len(1500), 548);
        assert_eq!(20 + 8 + ipv4_quote_len(usize::MAX), 576);
        assert_eq!(ipv6_quote_len(100), 100);
        assert_eq!(40 + 8 + ipv6_quote_len(65535), 1280);
        let labels: std::collections::HashSet<_> = [
            Suppressed::AboutIcmpError,
            Suppressed::Broadcast,
            Suppressed::Multicast,
            Suppressed::NonFirstFragment,
            Suppressed::BadSource,
            Suppressed::RateLimited,
        ]
        .iter()
        .map(|s| s.as_str())
        .collect();
        assert_eq!(labels.len(), 6);
    }
}

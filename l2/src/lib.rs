//! Strata's link layer (L2): the Ethernet, VLAN and ARP layer of the Zephyr
//! layer map, sans-I/O (no I/O, no clock, no threads).
//!
//! # Crate map
//!
//! - [`wire`] — zero-copy views over frame bytes and the parsed `Copy`
//!   representations beside them, one protocol per file:
//!   - `wire/ethernet.rs`: [`EthernetAddress`], [`EtherType`],
//!     [`EthernetFrame`] (view) and [`EthernetRepr`] (IEEE 802.3);
//!   - `wire/vlan.rs`: [`VlanTag`] (view) and [`VlanRepr`] for 802.1Q C-tags
//!     and 802.1ad S-tags, and [`VlanStack`], which walks up to two stacked
//!     tags and yields the payload type, the header length and the PCP used
//!     for traffic classes (IEEE 802.1Q);
//!   - `wire/arp.rs`: [`ArpPacket`] (view) and [`ArpRepr`] for ARP over
//!     Ethernet/IPv4, with probe and gratuitous detection (RFC 826,
//!     RFC 5227);
//!   - `wire/mod.rs`: the parse [`Error`] and [`Result`].
//!
//! - [`arp`] — ARP protocol logic for one interface, sans-I/O: [`ArpCache`],
//!   a bounded neighbour cache with reachable/stale timeouts, resolution with
//!   retry and give-up, bounded queues of packets waiting for resolution,
//!   replies, probe defence, conflict detection and announcements
//!   (RFC 826, RFC 5227, RFC 1122 §2.3.2); its [`ArpStats`] and
//!   [`ArpEvent`]s.
//! - `time.rs` — [`Instant`], the caller's clock as protocol code sees it.
//!
//! Still to come here (see DESIGN.md): L2 header add/strip over `NetBuf`s.
//!
//! # Reading a frame
//!
//! ```
//! use strata_l2::{ArpPacket, ArpRepr, EtherType, EthernetFrame, VlanStack};
//!
//! # let bytes = [
//! #     0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02, 0x00, 0x5e, 0x10, 0x00, 0x01, 0x08, 0x06,
//! #     0x00, 0x01, 0x08, 0x00, 0x06, 0x04, 0x00, 0x01, 0x02, 0x00, 0x5e, 0x10, 0x00, 0x01,
//! #     0x0a, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x0a, 0x00, 0x00, 0x02,
//! # ];
//! let frame = EthernetFrame::new_checked(&bytes[..])?;
//! let l2 = VlanStack::parse(&frame)?;
//! if l2.ethertype == EtherType::Arp {
//!     let arp = ArpRepr::parse(&ArpPacket::new_checked(&bytes[l2.header_len..])?)?;
//!     assert_eq!(arp.to_string(), "ARP request who-has 10.0.0.2 tell 10.0.0.1");
//! }
//! # Ok::<(), strata_l2::Error>(())
//! ```
//!
//! Parsers never panic, whatever the bytes: an error is a [`wire::Error`],
//! which the packet path counts as a drop reason.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod arp;
mod time;
pub mod wire;

pub use arp::{
    multicast_hardware_addr, ArpCache, ArpConfig, ArpDropReason, ArpEvent, ArpStats, ArpTransmit,
    Neighbour, NeighbourState, RemovalReason, Resolve, TransmitKind,
};
pub use time::Instant;

pub use wire::{
    AddressParseError, ArpHardware, ArpOperation, ArpPacket, ArpRepr, Error, EtherType,
    EthernetAddress, EthernetFrame, EthernetRepr, Result, VlanRepr, VlanStack, VlanTag,
    ARP_ETHERNET_IPV4_LEN, ETHERNET_HEADER_LEN, VLAN_TAG_LEN, VLAN_VID_RESERVED,
};

//! Management events (Zephyr's `net_mgmt`): what an application can subscribe
//! to about an interface. The stack gathers them from its protocol state
//! machines into a bounded queue; [`Stack::poll_event`] hands them out, oldest
//! first. When the application does not keep up, the oldest events give way
//! (counted as `events_dropped` under `eth`).

use std::collections::VecDeque;
use std::net::IpAddr;

use strata_l2::{ArpEvent, EthernetAddress};
use strata_l3l4::{AddrConfEvent, NdEvent};

use super::Stack;

/// Most events waiting for [`Stack::poll_event`].
pub const EVENT_QUEUE: usize = 256;

/// Something that happened to an interface.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MgmtEvent {
    /// The interface was brought up administratively.
    InterfaceUp,
    /// The interface was brought down administratively.
    InterfaceDown,
    /// An address became usable (IPv4 at once; IPv6 after duplicate address
    /// detection).
    AddressAdded(IpAddr),
    /// An address was removed (by hand, expiry, or found duplicate).
    AddressRemoved(IpAddr),
    /// A neighbour's link-layer address was learnt or changed.
    NeighbourAdded(IpAddr, EthernetAddress),
    /// A neighbour was forgotten (expired, unreachable, evicted, flushed).
    NeighbourRemoved(IpAddr),
    /// Another node uses one of our addresses (RFC 5227 for IPv4, RFC 4862
    /// §5.4 for IPv6).
    DuplicateAddress(IpAddr),
}

/// The bounded queue of events.
#[derive(Debug, Default)]
pub(super) struct Events {
    queue: VecDeque<MgmtEvent>,
    pub(super) dropped: u64,
}

impl Events {
    pub(super) fn push(&mut self, event: MgmtEvent) {
        if self.queue.len() >= EVENT_QUEUE {
            self.queue.pop_front();
            self.dropped += 1;
        }
        self.queue.push_back(event);
    }
}

impl Stack {
    /// The next management event, oldest first.
    pub fn poll_event(&mut self) -> Option<MgmtEvent> {
        self.events.queue.pop_front()
    }

    /// Whether the interface is administratively up.
    pub fn is_up(&self) -> bool {
        self.up
    }

    /// Brings the interface up or down administratively. While down, received
    /// frames are dropped (counted as `eth` `down`) and nothing is sent.
    pub fn set_up(&mut self, up: bool) {
        if self.up != up {
            self.up = up;
            self.events.push(if up {
                MgmtEvent::InterfaceUp
            } else {
                MgmtEvent::InterfaceDown
            });
        }
    }

    pub(super) fn arp_event(&mut self, event: ArpEvent) {
        let event = match event {
            ArpEvent::NeighbourAdded {
                addr,
                hardware_addr,
            } => MgmtEvent::NeighbourAdded(addr.into(), hardware_addr),
            ArpEvent::NeighbourChanged { addr, new, .. } => {
                MgmtEvent::NeighbourAdded(addr.into(), new)
            }
            ArpEvent::NeighbourRemoved { addr, .. } | ArpEvent::ResolutionFailed { addr, .. } => {
                MgmtEvent::NeighbourRemoved(addr.into())
            }
            ArpEvent::Conflict { addr, .. } => MgmtEvent::DuplicateAddress(addr.into()),
        };
        self.events.push(event);
    }

    pub(super) fn nd_event(&mut self, event: NdEvent) {
        let event = match event {
            NdEvent::NeighbourAdded { addr, lladdr, .. } => {
                MgmtEvent::NeighbourAdded(addr.into(), lladdr)
            }
            NdEvent::NeighbourChanged { addr, new, .. } => {
                MgmtEvent::NeighbourAdded(addr.into(), new)
            }
            NdEvent::NeighbourRemoved { addr, .. } | NdEvent::ResolutionFailed { addr, .. } => {
                MgmtEvent::NeighbourRemoved(addr.into())
            }
            NdEvent::DuplicateAddress { addr, .. } => MgmtEvent::DuplicateAddress(addr.into()),
            NdEvent::RouterLost { .. } => return,
        };
        self.events.push(event);
    }

    /// The management side of an autoconfiguration event (the protocol side
    /// is applied by the caller).
    pub(super) fn addrconf_mgmt(&mut self, event: &AddrConfEvent) {
        let event = match *event {
            AddrConfEvent::DadSucceeded { addr } => MgmtEvent::AddressAdded(addr.into()),
            AddrConfEvent::AddressRemoved { addr, .. } => MgmtEvent::AddressRemoved(addr.into()),
            AddrConfEvent::DuplicateAddressDetected { addr, .. } => {
                MgmtEvent::DuplicateAddress(addr.into())
            }
            _ => return,
        };
        self.events.push(event);
    }
}

//! The stack's echo client: ICMP and ICMPv6 echo requests sent for the
//! application ([`Stack::send_ping`]), and the echo replies that come back
//! queued for it ([`Stack::poll_ping_reply`]), as the Linux "ping sockets"
//! do. The queue is bounded: beyond [`PING_QUEUE`] replies, the oldest goes
//! (counted as `icmpv4`/`icmpv6` drop `ping_queue_full`).

use std::collections::VecDeque;
use std::net::IpAddr;

use strata_l2::Instant;
use strata_l3l4::{Icmpv4Message, Icmpv4Packet, Icmpv6Message, Icmpv6Packet, IpProtocol};

use super::{SendError, Stack};

/// Replies kept for the application at most.
pub const PING_QUEUE: usize = 4096;
/// Payload bytes of a reply kept for the application (the rest is counted
/// in `len`): enough for a sequence number and a time stamp.
pub const PING_KEPT: usize = 16;

/// An echo reply that came back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PingReply {
    /// Who answered.
    pub from: IpAddr,
    /// The request's identifier and sequence number.
    pub ident: u16,
    /// The request's sequence number.
    pub seq: u16,
    /// The first [`PING_KEPT`] payload bytes (zeros past the payload).
    pub head: [u8; PING_KEPT],
    /// The payload's length.
    pub len: usize,
}

/// The queue of replies.
#[derive(Debug, Default)]
pub(super) struct PingReplies {
    queue: VecDeque<PingReply>,
}

impl Stack {
    /// Sends an echo request (ICMP for an IPv4 `dst`, ICMPv6 for IPv6) with
    /// `ident`, `seq` and `payload`, from the interface's address that suits
    /// `dst`; the neighbour is resolved first if need be.
    ///
    /// # Errors
    ///
    /// [`SendError::NoRoute`] when no address of ours suits `dst`,
    /// [`SendError::TooLong`] for a payload over 65 000 bytes.
    pub fn send_ping(
        &mut self,
        now: Instant,
        dst: IpAddr,
        ident: u16,
        seq: u16,
        payload: &[u8],
    ) -> Result<(), SendError> {
        if payload.len() > 65_000 {
            return Err(SendError::TooLong);
        }
        let unspecified = match dst {
            IpAddr::V4(_) => IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED),
            IpAddr::V6(_) => IpAddr::V6(std::net::Ipv6Addr::UNSPECIFIED),
        };
        let src = self
            .source_for(unspecified, dst)
            .ok_or(SendError::NoRoute)?;
        let mut message = vec![0u8; 8 + payload.len()];
        message[8..].copy_from_slice(payload);
        match (src, dst) {
            (IpAddr::V4(src), IpAddr::V4(dst)) => {
                let mut packet = Icmpv4Packet::new_unchecked(&mut message[..]);
                packet.set_msg_type(Icmpv4Message::EchoRequest);
                packet.set_echo_ident(ident);
                packet.set_echo_seq_no(seq);
                packet.fill_checksum();
                self.counters.icmpv4.sent += 1;
                self.output_ipv4(now, src, dst, IpProtocol::Icmp, &message);
            }
            (IpAddr::V6(src), IpAddr::V6(dst)) => {
                let mut packet = Icmpv6Packet::new_unchecked(&mut message[..]);
                packet.set_msg_type(Icmpv6Message::EchoRequest);
                packet.set_echo_ident(ident);
                packet.set_echo_seq_no(seq);
                packet.fill_checksum(&src, &dst);
                self.counters.icmpv6.sent += 1;
                self.output_ipv6(now, src, dst, IpProtocol::Icmpv6, &message);
            }
            _ => return Err(SendError::NoRoute),
        }
        // The request may wait for resolution: the solicitation goes now.
        self.drain_protocols(now);
        Ok(())
    }

    /// The oldest echo reply not yet taken.
    pub fn poll_ping_reply(&mut self) -> Option<PingReply> {
        self.pings.queue.pop_front()
    }

    /// Queues an echo reply for the application (called by ICMP input).
    pub(super) fn ping_reply(&mut self, from: IpAddr, ident: u16, seq: u16, data: &[u8]) {
        if self.pings.queue.len() >= PING_QUEUE {
            self.pings.queue.pop_front();
            match from {
                IpAddr::V4(_) => self.counters.icmpv4.drop("ping_queue_full"),
                IpAddr::V6(_) => self.counters.icmpv6.drop("ping_queue_full"),
            }
        }
        let mut head = [0u8; PING_KEPT];
        let n = data.len().min(PING_KEPT);
        head[..n].copy_from_slice(&data[..n]);
        self.pings.queue.push_back(PingReply {
            from,
            ident,
            seq,
            head,
            len: data.len(),
        });
    }
}

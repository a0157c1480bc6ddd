//! IP fragmentation and reassembly, for IPv4 (RFC 791 §3.2, RFC 815) and IPv6
//! (RFC 8200 §4.5), with RFC 5722's rule on overlapping fragments applied to both.
//!
//! - [`reassembly`]: [`Reassembler`], generic over the address type, bounded in
//!   datagrams, bytes and time, sans-I/O (time passed in, deadlines reported out);
//! - [`fragment`]: plans of [`FragmentSpec`]s for a payload and an MTU, and helpers
//!   that emit each fragment with its header.

pub mod fragment;
pub mod reassembly;

pub use fragment::{
    emit_ipv4_fragment, emit_ipv4_fragment_of, emit_ipv6_fragment, plan_ipv4, plan_ipv4_datagram,
    plan_ipv4_repr, plan_ipv6, FragmentError, FragmentSpec, Fragments,
};
pub use reassembly::{
    Config, Expired, FragDrop, FragDropStats, Ipv4Reassembler, Ipv6Reassembler, Key, Reassembled,
    Reassembler, ReassemblyStats,
};

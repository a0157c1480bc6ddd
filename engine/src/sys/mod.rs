//! The system calls devices need that the standard library does not offer,
//! each wrapped in a safe function: the only `unsafe` of the engine lives in
//! this module (every block with a `// SAFETY:` comment).
//!
//! - [`tap`]: create or attach to a TAP interface (`/dev/net/tun`,
//!   `TUNSETIFF`) and bring an interface up (`SIOCGIFFLAGS`/`SIOCSIFFLAGS`);
//! - [`packet`]: AF_PACKET sockets with a TPACKET_V3 receive ring, an
//!   interface's index and Ethernet address;
//! - [`bpf`]: maps, XDP programs, bpf links and live-frame test runs
//!   through `bpf(2)`;
//! - [`xsk`]: AF_XDP sockets and their four rings;
//! - [`prefetch`]: asking for cache lines ahead of use.

pub mod bpf;
pub mod packet;
pub mod prefetch;
pub mod tap;
pub mod xsk;

//! Strata's engine: where pools, queues, L2 and L3/L4 meet devices,
//! interfaces, pinned workers and sockets (DESIGN.md, "Data flow").
//!
//! | module | what |
//! |---|---|
//! | [`bench`](mod@bench) | `strata bench`: generator devices feeding the whole stack into UDP sockets and the echoes back out, on pinned workers, with live rates and per-stage latency |
//! | [`cpu`] | absolute CPU ids: the process's allowed set, read once, and pinning checked against it |
//! | [`replay`] | `strata replay`: a capture received as if on one interface, the stack's answers written to another, by the capture's clock |
//! | [`stack`] | one interface's protocol stack: bursts through L2, ARP, L3 (IPv4, IPv6, ICMP, ND, MLD, reassembly) and UDP to sockets; IP output with fragmentation and neighbour resolution |
//! | [`dev`] | devices: the [`dev::Device`] trait (bursts of `NetBuf`s per queue pair) and the devices that need no privileges |
//! | [`stats`] | statistics: protocol counters, sampled per-stage latency histograms, the stats JSON, Prometheus text and the `/metrics` + `/stats` exporter |
//! | [`xdp`] | XDP without sockets: the live-frames generator and the drop-and-count receive ceiling |
//! | [`worker`] | pinned workers: run-to-completion or pipeline (per-class rings by PCP/DSCP), adaptive polling with `mio`, statistics publication, clean shutdown |
//!
//! The devices, interfaces, workers and sockets arrive with the engine
//! work (issue 4); this crate re-exports the layers below so applications
//! depend on one crate.
#![deny(unsafe_code)]
#![warn(missing_docs)]

pub mod bench;
pub mod cpu;
pub mod dev;
pub mod fwd;
pub mod gen;
pub mod replay;
pub mod serve;
pub mod stack;
pub mod stats;
#[allow(unsafe_code)]
pub mod sys;
pub mod worker;
pub mod xdp;

pub use strata_l2 as l2;
pub use strata_l3l4 as l3l4;
pub use strata_pools as pools;
pub use strata_queues as queues;

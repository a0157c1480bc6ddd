//! The `bpf(2)` calls Strata's AF_XDP backend needs, made directly (no
//! clang, libbpf or libxdp at build or run time): create a map, update and
//! read one element, load an XDP program written here as a handful of
//! instructions (with the verifier's log on refusal), attach it to an
//! interface through a bpf link (it detaches when the link's descriptor
//! closes, also when the process dies), and run a program over live frames
//! (`BPF_PROG_RUN` with `BPF_F_TEST_XDP_LIVE_FRAMES`, the generator method
//! of xdp-tools' `xdp-trafficgen`).
//!
//! The attribute structs below are prefixes of the kernel's `union
//! bpf_attr` (`linux/bpf.h`); the size passed is the struct's, and the
//! kernel treats the fields it knows beyond it as zero.

use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};

/// `enum bpf_cmd` values.
const BPF_MAP_CREATE: libc::c_long = 0;
const BPF_MAP_LOOKUP_ELEM: libc::c_long = 1;
const BPF_MAP_UPDATE_ELEM: libc::c_long = 2;
const BPF_PROG_LOAD: libc::c_long = 5;
const BPF_PROG_TEST_RUN: libc::c_long = 10;
const BPF_LINK_CREATE: libc::c_long = 28;

/// `BPF_MAP_TYPE_ARRAY`.
pub const MAP_ARRAY: u32 = 2;
/// `BPF_MAP_TYPE_XSKMAP`: queue index → AF_XDP socket.
pub const MAP_XSKMAP: u32 = 17;

/// `BPF_PROG_TYPE_XDP`.
const PROG_TYPE_XDP: u32 = 6;
/// `BPF_XDP` of `enum bpf_attach_type`.
const ATTACH_XDP: u32 = 37;
/// `BPF_F_TEST_XDP_LIVE_FRAMES`.
const TEST_XDP_LIVE_FRAMES: u32 = 1 << 1;

/// `XDP_FLAGS_SKB_MODE` (generic XDP, in the kernel's receive path).
const XDP_FLAGS_SKB_MODE: u32 = 1 << 1;
/// `XDP_FLAGS_DRV_MODE` (native XDP, in the driver).
const XDP_FLAGS_DRV_MODE: u32 = 1 << 2;

/// XDP verdicts (`enum xdp_action`).
pub mod action {
    /// Drop the frame.
    pub const DROP: i32 = 1;
    /// Let the kernel's stack have it.
    pub const PASS: i32 = 2;
    /// Send it back out of the interface it came in on.
    pub const TX: i32 = 3;
}

/// Helper function numbers (`enum bpf_func_id`).
const FUNC_MAP_LOOKUP_ELEM: i32 = 1;
const FUNC_REDIRECT_MAP: i32 = 51;

/// Where an XDP program runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum XdpMode {
    /// In the driver, before an `sk_buff` exists (veth supports it).
    Native,
    /// In the kernel's generic receive path, for any driver (slower; on
    /// veth, frames only reach it when GRO is on for the receiving end).
    Generic,
}

impl XdpMode {
    /// The mode's name on the command line and in statistics.
    pub fn name(self) -> &'static str {
        match self {
            XdpMode::Native => "native",
            XdpMode::Generic => "generic",
        }
    }

    fn flags(self) -> u32 {
        match self {
            XdpMode::Native => XDP_FLAGS_DRV_MODE,
            XdpMode::Generic => XDP_FLAGS_SKB_MODE,
        }
    }
}

/// One eBPF instruction (`struct bpf_insn`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(C)]
pub struct Insn {
    code: u8,
    /// `dst_reg` in the low four bits, `src_reg` in the high four.
    regs: u8,
    off: i16,
    imm: i32,
}

impl Insn {
    const fn new(code: u8, dst: u8, src: u8, off: i16, imm: i32) -> Insn {
        Insn {
            code,
            regs: (dst & 0xf) | (src << 4),
            off,
            imm,
        }
    }

    /// `dst = *(u32 *)(src + off)`.
    const fn load_u32(dst: u8, src: u8, off: i16) -> Insn {
        Insn::new(0x61, dst, src, off, 0)
    }

    /// `dst = imm` (64-bit move).
    const fn mov_imm(dst: u8, imm: i32) -> Insn {
        Insn::new(0xb7, dst, 0, 0, imm)
    }

    /// `dst = src` (64-bit move).
    const fn mov_reg(dst: u8, src: u8) -> Insn {
        Insn::new(0xbf, dst, src, 0, 0)
    }

    /// `dst += imm` (64-bit).
    const fn add_imm(dst: u8, imm: i32) -> Insn {
        Insn::new(0x07, dst, 0, 0, imm)
    }

    /// `*(u32 *)(dst + off) = imm`.
    const fn store_u32_imm(dst: u8, off: i16, imm: i32) -> Insn {
        Insn::new(0x62, dst, 0, off, imm)
    }

    /// `lock *(u64 *)(dst + off) += src`.
    const fn atomic_add_u64(dst: u8, src: u8, off: i16) -> Insn {
        Insn::new(0xdb, dst, src, off, 0)
    }

    /// `if dst == imm goto +off`.
    const fn jump_eq_imm(dst: u8, imm: i32, off: i16) -> Insn {
        Insn::new(0x15, dst, 0, off, imm)
    }

    /// `if dst != imm goto +off`.
    const fn jump_ne_imm(dst: u8, imm: i32, off: i16) -> Insn {
        Insn::new(0x55, dst, 0, off, imm)
    }

    /// Calls helper `func`.
    const fn call(func: i32) -> Insn {
        Insn::new(0x85, 0, 0, 0, func)
    }

    /// Returns `r0`.
    const fn exit() -> Insn {
        Insn::new(0x95, 0, 0, 0, 0)
    }

    /// `dst = map` (two instructions: a 64-bit load of the map's
    /// descriptor, which the kernel turns into the map's address).
    fn load_map(dst: u8, map: &Map) -> [Insn; 2] {
        /// `BPF_PSEUDO_MAP_FD`.
        const PSEUDO_MAP_FD: u8 = 1;
        [
            Insn::new(0x18, dst, PSEUDO_MAP_FD, 0, map.fd.as_raw_fd()),
            Insn::new(0, 0, 0, 0, 0),
        ]
    }
}

/// The XDP programs Strata loads.
pub mod programs {
    use super::{action, Insn, Map, FUNC_MAP_LOOKUP_ELEM, FUNC_REDIRECT_MAP};

    /// Redirects every frame to the AF_XDP socket of its receive queue in
    /// `xskmap`; a queue with no socket passes its frames to the kernel.
    pub fn redirect_to_xsk(xskmap: &Map) -> Vec<Insn> {
        let mut p = vec![
            // r2 = ctx->rx_queue_index (offset 16 of `struct xdp_md`)
            Insn::load_u32(2, 1, 16),
        ];
        p.extend(Insn::load_map(1, xskmap));
        p.extend([
            // The low bits of the flags are the verdict when the queue has
            // no socket (Linux 5.3+).
            Insn::mov_imm(3, action::PASS),
            Insn::call(FUNC_REDIRECT_MAP),
            Insn::exit(),
        ]);
        p
    }

    /// Drops every frame and counts it in element 0 of `counter` (an
    /// array of one `u64`): the receive ceiling of an interface.
    pub fn drop_and_count(counter: &Map) -> Vec<Insn> {
        let mut p = vec![
            // key = 0 on the stack; r2 = &key
            Insn::store_u32_imm(10, -4, 0),
            Insn::mov_reg(2, 10),
            Insn::add_imm(2, -4),
        ];
        p.extend(Insn::load_map(1, counter));
        p.extend([
            Insn::call(FUNC_MAP_LOOKUP_ELEM),
            // No element: skip the count.
            Insn::jump_eq_imm(0, 0, 2),
            Insn::mov_imm(1, 1),
            Insn::atomic_add_u64(0, 1, 0),
            Insn::mov_imm(0, action::DROP),
            Insn::exit(),
        ]);
        p
    }

    /// Sends every frame back out of the interface it came in on: run over
    /// live frames, a generator.
    pub fn transmit() -> Vec<Insn> {
        transmit_spaced(0)
    }

    /// Spins a loop `spin` times, then sends the frame back out of the
    /// interface it came in on: over live frames, a generator whose frames
    /// leave spaced apart (the kernel verifies the loop bounded by the
    /// constant; at most [`MAX_SPIN`]).
    pub fn transmit_spaced(spin: u32) -> Vec<Insn> {
        let spin = spin.min(MAX_SPIN);
        let mut p = Vec::with_capacity(5);
        if spin > 0 {
            p.extend([
                Insn::mov_imm(1, spin as i32),
                // loop: r1 -= 1; if r1 != 0 goto loop
                Insn::add_imm(1, -1),
                Insn::jump_ne_imm(1, 0, -2),
            ]);
        }
        p.extend([Insn::mov_imm(0, action::TX), Insn::exit()]);
        p
    }

    /// The longest loop [`transmit_spaced`] builds: the verifier walks
    /// every turn of it (two instructions each, within its million).
    pub const MAX_SPIN: u32 = 1 << 16;
}

fn bpf<T>(cmd: libc::c_long, attr: &mut T) -> io::Result<libc::c_long> {
    // SAFETY: `attr` is a live, initialised `repr(C)` prefix of `union
    // bpf_attr` of the size passed; the kernel reads it and may write
    // output fields inside it. Pointers inside it point to buffers that
    // outlive the call (ensured by every caller).
    let rc = unsafe {
        libc::syscall(
            libc::SYS_bpf,
            cmd,
            (attr as *mut T).cast::<libc::c_void>(),
            std::mem::size_of::<T>() as libc::c_uint,
        )
    };
    if rc < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(rc)
    }
}

fn owned(fd: libc::c_long) -> io::Result<OwnedFd> {
    let fd = RawFd::try_from(fd).map_err(|_| io::Error::other("descriptor out of range"))?;
    // SAFETY: `fd` was just returned by bpf(2) as a new descriptor, owned
    // by nothing else.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

fn name16(name: &str) -> [u8; 16] {
    let mut out = [0u8; 16];
    for (o, b) in out
        .iter_mut()
        .zip(
            name.bytes()
                .filter(|b| b.is_ascii_alphanumeric() || *b == b'_'),
        )
        .take(15)
    {
        *o = b;
    }
    out
}

#[repr(C)]
#[derive(Default)]
struct MapCreateAttr {
    map_type: u32,
    key_size: u32,
    value_size: u32,
    max_entries: u32,
    map_flags: u32,
    inner_map_fd: u32,
    numa_node: u32,
    map_name: [u8; 16],
}

#[repr(C)]
struct MapElemAttr {
    map_fd: u32,
    _pad: u32,
    key: u64,
    value: u64,
    flags: u64,
}

#[repr(C)]
struct ProgLoadAttr {
    prog_type: u32,
    insn_cnt: u32,
    insns: u64,
    license: u64,
    log_level: u32,
    log_size: u32,
    log_buf: u64,
    kern_version: u32,
    prog_flags: u32,
    prog_name: [u8; 16],
    prog_ifindex: u32,
    expected_attach_type: u32,
}

#[repr(C)]
struct LinkCreateAttr {
    prog_fd: u32,
    target_ifindex: u32,
    attach_type: u32,
    flags: u32,
}

#[repr(C)]
struct TestRunAttr {
    prog_fd: u32,
    retval: u32,
    data_size_in: u32,
    data_size_out: u32,
    data_in: u64,
    data_out: u64,
    repeat: u32,
    duration: u32,
    ctx_size_in: u32,
    ctx_size_out: u32,
    ctx_in: u64,
    ctx_out: u64,
    flags: u32,
    cpu: u32,
    batch_size: u32,
    _pad: u32,
}

/// `struct xdp_md`, the context a test run starts from.
#[repr(C)]
struct XdpMd {
    data: u32,
    data_end: u32,
    data_meta: u32,
    ingress_ifindex: u32,
    rx_queue_index: u32,
    egress_ifindex: u32,
}

/// A BPF map (closed on drop).
#[derive(Debug)]
pub struct Map {
    fd: OwnedFd,
}

impl Map {
    /// Creates a map of `map_type` with `u32` keys and `value_size`-byte values.
    ///
    /// # Errors
    ///
    /// The kernel's refusal (`EPERM` without `CAP_BPF`/`CAP_SYS_ADMIN`).
    pub fn create(map_type: u32, value_size: u32, entries: u32, name: &str) -> io::Result<Map> {
        let mut attr = MapCreateAttr {
            map_type,
            key_size: 4,
            value_size,
            max_entries: entries,
            map_name: name16(name),
            ..MapCreateAttr::default()
        };
        Ok(Map {
            fd: owned(bpf(BPF_MAP_CREATE, &mut attr)?)?,
        })
    }

    /// Sets element `key` to `value` (an XSKMAP takes a socket's descriptor).
    ///
    /// # Errors
    ///
    /// The kernel's refusal (a key out of range, a socket not bound).
    pub fn set_u32(&self, key: u32, value: u32) -> io::Result<()> {
        let mut attr = MapElemAttr {
            map_fd: self.fd.as_raw_fd() as u32,
            _pad: 0,
            key: &key as *const u32 as u64,
            value: &value as *const u32 as u64,
            flags: 0,
        };
        bpf(BPF_MAP_UPDATE_ELEM, &mut attr).map(|_| ())
    }

    /// Element `key` of a map of `u64` values.
    ///
    /// # Errors
    ///
    /// The kernel's refusal (a key out of range).
    pub fn get_u64(&self, key: u32) -> io::Result<u64> {
        let mut value = 0u64;
        let mut attr = MapElemAttr {
            map_fd: self.fd.as_raw_fd() as u32,
            _pad: 0,
            key: &key as *const u32 as u64,
            value: &mut value as *mut u64 as u64,
            flags: 0,
        };
        bpf(BPF_MAP_LOOKUP_ELEM, &mut attr)?;
        Ok(value)
    }
}

/// Why a program could not be loaded.
#[derive(Debug, thiserror::Error)]
#[error("the kernel refused the XDP program: {source}{}", if log.is_empty() { String::new() } else { format!("\nverifier log:\n{log}") })]
pub struct LoadError {
    /// The kernel's answer.
    pub source: io::Error,
    /// The verifier's log (empty when it said nothing).
    pub log: String,
}

/// A loaded XDP program (unloaded when its last user closes it).
#[derive(Debug)]
pub struct Program {
    fd: OwnedFd,
}

impl Program {
    /// Loads `insns` as an XDP program named `name`; on refusal, loads
    /// again with the verifier's log on, to say why.
    ///
    /// # Errors
    ///
    /// [`LoadError`], with the verifier's log.
    pub fn load_xdp(insns: &[Insn], name: &str) -> Result<Program, LoadError> {
        let license = b"Dual MIT/GPL\0";
        let attempt = |log: Option<&mut Vec<u8>>| {
            let (log_level, log_size, log_buf) = match log {
                Some(buf) => (1, buf.len() as u32, buf.as_mut_ptr() as u64),
                None => (0, 0, 0),
            };
            let mut attr = ProgLoadAttr {
                prog_type: PROG_TYPE_XDP,
                insn_cnt: insns.len() as u32,
                insns: insns.as_ptr() as u64,
                license: license.as_ptr() as u64,
                log_level,
                log_size,
                log_buf,
                kern_version: 0,
                prog_flags: 0,
                prog_name: name16(name),
                prog_ifindex: 0,
                expected_attach_type: ATTACH_XDP,
            };
            bpf(BPF_PROG_LOAD, &mut attr).and_then(owned)
        };
        match attempt(None) {
            Ok(fd) => Ok(Program { fd }),
            Err(source) => {
                let mut log = vec![0u8; 1 << 16];
                let _ = attempt(Some(&mut log));
                let end = log.iter().position(|&b| b == 0).unwrap_or(log.len());
                Err(LoadError {
                    source,
                    log: String::from_utf8_lossy(&log[..end]).trim_end().to_owned(),
                })
            }
        }
    }

    /// Attaches the program to interface `ifindex` in `mode` through a bpf
    /// link: it stays attached while the returned [`Link`] is open.
    ///
    /// # Errors
    ///
    /// The kernel's refusal: `EBUSY`/`EEXIST` when another XDP program is
    /// attached, `EOPNOTSUPP` when the driver has no native XDP.
    pub fn attach(&self, ifindex: u32, mode: XdpMode) -> io::Result<Link> {
        let mut attr = LinkCreateAttr {
            prog_fd: self.fd.as_raw_fd() as u32,
            target_ifindex: ifindex,
            attach_type: ATTACH_XDP,
            flags: mode.flags(),
        };
        Ok(Link {
            fd: owned(bpf(BPF_LINK_CREATE, &mut attr)?)?,
        })
    }

    /// Runs the program `repeat` times over live copies of `frame` as if
    /// received on interface `ifindex` queue 0, in batches of `batch`
    /// (`XDP_TX` sends each copy out of that interface); returns the
    /// kernel's average time per run in nanoseconds.
    ///
    /// # Errors
    ///
    /// The kernel's refusal (`EINVAL`: a kernel before 5.18, or a frame
    /// shorter than an Ethernet header).
    pub fn run_live(&self, ifindex: u32, frame: &[u8], repeat: u32, batch: u32) -> io::Result<u32> {
        let ctx = XdpMd {
            data: 0,
            data_end: frame.len() as u32,
            data_meta: 0,
            ingress_ifindex: ifindex,
            rx_queue_index: 0,
            egress_ifindex: 0,
        };
        let mut attr = TestRunAttr {
            prog_fd: self.fd.as_raw_fd() as u32,
            retval: 0,
            data_size_in: frame.len() as u32,
            data_size_out: 0,
            data_in: frame.as_ptr() as u64,
            data_out: 0,
            repeat,
            duration: 0,
            ctx_size_in: std::mem::size_of::<XdpMd>() as u32,
            ctx_size_out: 0,
            ctx_in: &ctx as *const XdpMd as u64,
            ctx_out: 0,
            flags: TEST_XDP_LIVE_FRAMES,
            cpu: 0,
            batch_size: batch,
            _pad: 0,
        };
        bpf(BPF_PROG_TEST_RUN, &mut attr)?;
        Ok(attr.duration)
    }
}

/// An attachment of a program to an interface; detached on drop.
#[derive(Debug)]
pub struct Link {
    fd: OwnedFd,
}

impl Link {
    /// The link's descriptor.
    pub fn fd(&self) -> RawFd {
        self.fd.as_raw_fd()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn instructions_are_encoded_as_the_kernel_reads_them() {
        assert_eq!(std::mem::size_of::<Insn>(), 8);
        let i = Insn::load_u32(2, 1, 16);
        assert_eq!((i.code, i.regs, i.off, i.imm), (0x61, 0x12, 16, 0));
        let i = Insn::atomic_add_u64(0, 1, 0);
        assert_eq!((i.code, i.regs), (0xdb, 0x10));
        assert_eq!(programs::transmit(), [Insn::mov_imm(0, 3), Insn::exit()]);
        assert_eq!(std::mem::size_of::<ProgLoadAttr>(), 72);
        assert_eq!(std::mem::size_of::<TestRunAttr>(), 80);
        assert_eq!(std::mem::size_of::<MapElemAttr>(), 32);
        assert_eq!(name16("strata-xsk map!"), *b"strataxskmap\0\0\0\0");
    }

    #[test]
    fn the_spaced_transmitter_counts_down_then_sends() {
        let p = programs::transmit_spaced(300);
        assert_eq!(
            p,
            [
                Insn::mov_imm(1, 300),
                Insn::add_imm(1, -1),
                Insn::jump_ne_imm(1, 0, -2),
                Insn::mov_imm(0, 3),
                Insn::exit()
            ]
        );
        // `if r1 != 0 goto -2` lands on the decrement (jumps count from the
        // next instruction).
        assert_eq!((p[2].code, p[2].off), (0x55, -2));
        // Past the longest loop, the longest.
        assert_eq!(
            programs::transmit_spaced(u32::MAX)[0],
            Insn::mov_imm(1, programs::MAX_SPIN as i32)
        );
    }
}

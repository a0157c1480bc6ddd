//! What `serve`, `gen` and `fwd` share: the flags that put Strata on a link
//! (`--iface`, `--backend`, `--mac`, `--ip`, `--ip6`, `--gateway`), and the
//! stop on Ctrl-C (SIGINT) or SIGTERM.

use std::net::{Ipv4Addr, Ipv6Addr};
use std::sync::atomic::AtomicBool;
use std::sync::Arc;

use strata_engine::dev::{XdpBind, XdpMode};
use strata_engine::l2::EthernetAddress;
use strata_engine::serve::{Backend, XdpOptions};

use crate::replay::{parse_mac, parse_v4, parse_v6, value};

/// `--backend NAME`.
pub fn parse_backend(text: &str) -> Result<Backend, String> {
    match text {
        "tap" => Ok(Backend::Tap),
        "afxdp" => Ok(Backend::AfXdp(XdpOptions::default())),
        "afpacket" => Ok(Backend::AfPacket),
        "afpacket-pnet" => Ok(Backend::AfPacketPnet),
        other => Err(format!(
            "--backend takes afxdp, afpacket, afpacket-pnet or tap, not {other:?}"
        )),
    }
}

/// `--xdp-mode`, `--xdp-bind`, `--xdp-queues`, `--xdp-ring-size` and
/// `--xdp-poll-fill`, for the `afxdp` backend.
#[derive(Debug, Default, Clone, Copy)]
pub struct XdpFlags {
    options: XdpOptions,
    given: bool,
}

impl XdpFlags {
    /// Takes `flag` (and its value) if it is an XDP flag; `Ok(false)` when
    /// it is not one.
    ///
    /// # Errors
    ///
    /// The message of a missing or bad value.
    pub fn take<'a>(
        &mut self,
        flag: &str,
        it: &mut impl Iterator<Item = &'a String>,
    ) -> Result<bool, String> {
        match flag {
            "--xdp-mode" => {
                self.options.mode = match value(flag, it)?.as_str() {
                    "native" => XdpMode::Native,
                    "generic" => XdpMode::Generic,
                    other => {
                        return Err(format!("--xdp-mode takes native or generic, not {other:?}"))
                    }
                }
            }
            "--xdp-bind" => {
                self.options.bind = match value(flag, it)?.as_str() {
                    "auto" => XdpBind::Auto,
                    "copy" => XdpBind::Copy,
                    "zero-copy" => XdpBind::ZeroCopy,
                    other => {
                        return Err(format!(
                            "--xdp-bind takes auto, copy or zero-copy, not {other:?}"
                        ))
                    }
                }
            }
            "--xdp-queues" => {
                let text = value(flag, it)?;
                self.options.queues = match text.parse::<u16>() {
                    Ok(n @ 1..=64) => n,
                    _ => {
                        return Err(format!(
                        "--xdp-queues takes 1 to 64 (queues 0..N, one socket each), not {text:?}"
                    ))
                    }
                }
            }
            "--xdp-ring-size" => {
                let text = value(flag, it)?;
                self.options.ring_size = match text.parse::<u32>() {
                    Ok(n) if n.is_power_of_two() && (64..=32768).contains(&n) => n,
                    _ => {
                        return Err(format!(
                            "--xdp-ring-size takes a power of two from 64 to 32768, not {text:?}"
                        ))
                    }
                }
            }
            "--xdp-poll-fill" => {
                let text = value(flag, it)?;
                self.options.polling_fill = match text.parse::<u32>() {
                    Ok(n @ 64..=32768) => n,
                    _ => {
                        return Err(format!(
                            "--xdp-poll-fill takes 64 to 32768 frames (kept in the fill ring while polling), not {text:?}"
                        ))
                    }
                }
            }
            _ => return Ok(false),
        }
        self.given = true;
        Ok(true)
    }

    /// `backend` with these options applied.
    ///
    /// # Errors
    ///
    /// XDP flags given for another backend.
    pub fn apply(self, backend: Backend) -> Result<Backend, String> {
        match backend {
            Backend::AfXdp(_) => Ok(Backend::AfXdp(self.options)),
            other if self.given => Err(format!(
                "--xdp-* flags are for --backend afxdp, not {}",
                other.name()
            )),
            other => Ok(other),
        }
    }
}

/// A flag set by SIGINT or SIGTERM.
///
/// # Errors
///
/// The signal handlers could not be installed.
pub fn stop_flag() -> Result<Arc<AtomicBool>, String> {
    let stop = Arc::new(AtomicBool::new(false));
    for signal in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        signal_hook::flag::register(signal, Arc::clone(&stop))
            .map_err(|e| format!("cannot catch signal {signal}: {e}"))?;
    }
    Ok(stop)
}

/// The link flags, as parsed.
#[derive(Debug)]
pub struct LinkFlags {
    /// `--iface`.
    pub iface: Option<String>,
    /// `--backend` (default `tap`).
    pub backend: Backend,
    /// `--mac`.
    pub mac: Option<EthernetAddress>,
    /// `--ip`, repeatable.
    pub ipv4: Vec<(Ipv4Addr, u8)>,
    /// `--ip6`, repeatable.
    pub ipv6: Vec<(Ipv6Addr, u8)>,
    /// `--gateway`.
    pub gateway4: Option<Ipv4Addr>,
    /// `--xdp-mode`, `--xdp-bind`, `--xdp-queues`, `--xdp-ring-size`,
    /// `--xdp-poll-fill`.
    pub xdp: XdpFlags,
}

impl Default for LinkFlags {
    fn default() -> Self {
        LinkFlags {
            iface: None,
            backend: Backend::Tap,
            mac: None,
            ipv4: Vec::new(),
            ipv6: Vec::new(),
            gateway4: None,
            xdp: XdpFlags::default(),
        }
    }
}

impl LinkFlags {
    /// Takes `flag` (and its value from `it`) if it is a link flag;
    /// `Ok(false)` when it is not one.
    ///
    /// # Errors
    ///
    /// The message of a missing or bad value.
    pub fn take<'a>(
        &mut self,
        flag: &str,
        it: &mut impl Iterator<Item = &'a String>,
    ) -> Result<bool, String> {
        match flag {
            "--iface" => self.iface = Some(value(flag, it)?.clone()),
            "--backend" => self.backend = parse_backend(value(flag, it)?)?,
            "--mac" => self.mac = Some(parse_mac(value(flag, it)?)?),
            "--ip" => self.ipv4.push(parse_v4(value(flag, it)?)?),
            "--ip6" => self.ipv6.push(parse_v6(value(flag, it)?)?),
            "--gateway" => {
                let text = value(flag, it)?;
                let gw: Ipv4Addr = text
                    .parse()
                    .map_err(|_| format!("--gateway takes an IPv4 address, not {text:?}"))?;
                self.gateway4 = Some(gw);
            }
            _ => return self.xdp.take(flag, it),
        }
        Ok(true)
    }

    /// The backend, with the XDP flags applied.
    ///
    /// # Errors
    ///
    /// XDP flags given for another backend.
    pub fn backend(&self) -> Result<Backend, String> {
        self.xdp.apply(self.backend)
    }
}

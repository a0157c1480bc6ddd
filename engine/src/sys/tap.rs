//! TAP interfaces through `/dev/net/tun` (Linux's
//! `Documentation/networking/tuntap.rst`): one file descriptor per interface,
//! one Ethernet frame per `read` or `write`, no packet-information header
//! (`IFF_NO_PI`).

use std::fs::{File, OpenOptions};
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::fs::OpenOptionsExt;

/// Longest interface name the kernel takes (`IFNAMSIZ` less the NUL).
pub const MAX_NAME: usize = libc::IFNAMSIZ - 1;

/// `struct ifreq` as `TUNSETIFF` and the `SIOC[GS]IFFLAGS` calls read it:
/// the name, then a union whose first member here is the flags.
#[repr(C)]
struct IfReqFlags {
    name: [libc::c_char; libc::IFNAMSIZ],
    flags: libc::c_short,
    /// The rest of the union (`struct ifreq` is 40 bytes on Linux).
    _pad: [u8; 22],
}

impl IfReqFlags {
    fn new(name: &str, flags: libc::c_short) -> io::Result<IfReqFlags> {
        if name.is_empty() || name.len() > MAX_NAME || name.bytes().any(|b| b == 0 || b == b'/') {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("interface name {name:?}: 1 to {MAX_NAME} bytes, no '/' or NUL"),
            ));
        }
        let mut req = IfReqFlags {
            name: [0; libc::IFNAMSIZ],
            flags,
            _pad: [0; 22],
        };
        for (slot, byte) in req.name.iter_mut().zip(name.bytes()) {
            *slot = byte as libc::c_char;
        }
        Ok(req)
    }

    fn name(&self) -> String {
        let bytes: Vec<u8> = self
            .name
            .iter()
            .take_while(|&&c| c != 0)
            .map(|&c| c as u8)
            .collect();
        String::from_utf8_lossy(&bytes).into_owned()
    }
}

/// `TUNSETIFF` (`_IOW('T', 202, int)`).
const TUNSETIFF: libc::c_ulong = 0x4004_54ca;

/// Creates the TAP interface `name` in the calling thread's network
/// namespace, or attaches to it if it exists (and is a TAP interface this
/// process may open), and returns its file, non-blocking, with the name the
/// kernel gave it.
///
/// # Errors
///
/// The kernel's refusal: `EPERM` without `CAP_NET_ADMIN`, `EBUSY` when
/// another process holds it, `EINVAL` for a TUN interface of that name.
pub fn open(name: &str) -> io::Result<(File, String)> {
    let mut req = IfReqFlags::new(name, (libc::IFF_TAP | libc::IFF_NO_PI) as libc::c_short)?;
    let file = OpenOptions::new()
        .read(true)
        .write(true)
        .custom_flags(libc::O_NONBLOCK | libc::O_CLOEXEC)
        .open("/dev/net/tun")?;
    // SAFETY: `req` is a live, properly sized `struct ifreq` (name NUL
    // terminated: at most IFNAMSIZ - 1 bytes were copied into zeroes);
    // TUNSETIFF reads it and writes the chosen name back into it.
    let rc = unsafe {
        libc::ioctl(
            file.as_raw_fd(),
            TUNSETIFF as _,
            &mut req as *mut IfReqFlags,
        )
    };
    if rc < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok((file, req.name()))
}

/// Sets the interface `name` administratively up (`ip link set NAME up`).
///
/// # Errors
///
/// No such interface, or no `CAP_NET_ADMIN`.
pub fn set_up(name: &str) -> io::Result<()> {
    // SAFETY: a plain socket(2) call; the descriptor is owned right below.
    let fd = unsafe { libc::socket(libc::AF_INET, libc::SOCK_DGRAM | libc::SOCK_CLOEXEC, 0) };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: `fd` was just returned by socket(2) and is owned by nothing else.
    let socket = unsafe { OwnedFd::from_raw_fd(fd) };
    let mut req = IfReqFlags::new(name, 0)?;
    // SAFETY: `req` is a live `struct ifreq`; SIOCGIFFLAGS writes the flags
    // into its union.
    let rc = unsafe {
        libc::ioctl(
            socket.as_raw_fd(),
            libc::SIOCGIFFLAGS as _,
            &mut req as *mut IfReqFlags,
        )
    };
    if rc < 0 {
        return Err(io::Error::last_os_error());
    }
    req.flags |= libc::IFF_UP as libc::c_short;
    // SAFETY: as above; SIOCSIFFLAGS reads the name and flags.
    let rc = unsafe {
        libc::ioctl(
            socket.as_raw_fd(),
            libc::SIOCSIFFLAGS as _,
            &mut req as *mut IfReqFlags,
        )
    };
    if rc < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ifreq_is_the_kernels_size_and_names_are_checked() {
        assert_eq!(std::mem::size_of::<IfReqFlags>(), 40);
        assert!(IfReqFlags::new("", 0).is_err());
        assert!(IfReqFlags::new("a/b", 0).is_err());
        assert!(IfReqFlags::new(&"x".repeat(MAX_NAME + 1), 0).is_err());
        assert_eq!(IfReqFlags::new("tap0", 0).unwrap().name(), "tap0");
        assert_eq!(
            IfReqFlags::new(&"y".repeat(MAX_NAME), 0).unwrap().name(),
            "y".repeat(MAX_NAME)
        );
    }
}

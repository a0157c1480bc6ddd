//! UDP demultiplexing (RFC 768, RFC 1122 §4.1.3.4): which bound socket a
//! datagram belongs to, by destination port and address, with sockets
//! bound to a specific local address taking precedence over those bound to
//! the unspecified address. A datagram that matches nothing draws an ICMP
//! port unreachable (subject to [`crate::icmp`]'s rules).

use std::collections::HashMap;
use std::fmt;
use std::hash::{BuildHasherDefault, Hasher};
use std::net::IpAddr;

/// A bind that cannot be made.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BindError {
    /// Port 0 is not bound (an engine picks an ephemeral port instead).
    PortZero,
    /// That address and port are taken.
    InUse,
    /// The table holds its maximum number of bindings.
    Full,
}

impl fmt::Display for BindError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::PortZero => f.write_str("cannot bind port 0"),
            Self::InUse => f.write_str("address and port already bound"),
            Self::Full => f.write_str("too many bound UDP sockets"),
        }
    }
}

impl std::error::Error for BindError {}

/// Bound UDP sockets, identified by a handle `S` the engine chooses.
#[derive(Debug, Clone)]
pub struct UdpDemux<S> {
    /// Port → the sockets bound to it: by exact local address, then the
    /// wildcard. Keyed by port alone, with a multiplicative hash: the lookup
    /// of every received datagram is one multiply and a short scan (the
    /// table holds only our binds, so a sender cannot crowd a bucket).
    ports: HashMap<u16, PortBinds<S>, BuildHasherDefault<PortHasher>>,
    len: usize,
    max: usize,
}

/// The sockets bound to one port.
#[derive(Debug, Clone)]
struct PortBinds<S> {
    exact: Vec<(IpAddr, S)>,
    wildcard: Option<S>,
}

/// A hasher for a port number: Fibonacci hashing, one multiply.
#[derive(Debug, Default, Clone, Copy)]
struct PortHasher(u64);

impl Hasher for PortHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0.rotate_left(8) ^ u64::from(b)).wrapping_mul(0x9e37_79b9_7f4a_7c15);
        }
    }

    fn write_u16(&mut self, port: u16) {
        self.0 = u64::from(port).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    }
}

impl<S: Copy> UdpDemux<S> {
    /// An empty table of at most `max` bindings.
    pub fn new(max: usize) -> Self {
        Self {
            ports: HashMap::default(),
            len: 0,
            max,
        }
    }

    /// Binds `socket` to `port` on `addr` (`None` or an unspecified address: all local addresses).
    ///
    /// # Errors
    /// [`BindError`] for port 0, a taken address and port, or a full table.
    pub fn bind(&mut self, addr: Option<IpAddr>, port: u16, socket: S) -> Result<(), BindError> {
        if port == 0 {
            return Err(BindError::PortZero);
        }
        let addr = addr.filter(|a| !a.is_unspecified());
        let taken = self.ports.get(&port).is_some_and(|binds| match addr {
            Some(addr) => binds.exact.iter().any(|&(a, _)| a == addr),
            None => binds.wildcard.is_some(),
        });
        if taken {
            return Err(BindError::InUse);
        }
        if self.len >= self.max {
            return Err(BindError::Full);
        }
        let binds = self.ports.entry(port).or_insert(PortBinds {
            exact: Vec::new(),
            wildcard: None,
        });
        match addr {
            Some(addr) => binds.exact.push((addr, socket)),
            None => binds.wildcard = Some(socket),
        }
        self.len += 1;
        Ok(())
    }

    /// Removes a binding; returns its socket.
    pub fn unbind(&mut self, addr: Option<IpAddr>, port: u16) -> Option<S> {
        let addr = addr.filter(|a| !a.is_unspecified());
        let binds = self.ports.get_mut(&port)?;
        let socket = match addr {
            Some(addr) => {
                let at = binds.exact.iter().position(|&(a, _)| a == addr)?;
                Some(binds.exact.swap_remove(at).1)
            }
            None => binds.wildcard.take(),
        }?;
        if binds.exact.is_empty() && binds.wildcard.is_none() {
            self.ports.remove(&port);
        }
        self.len -= 1;
        Some(socket)
    }

    /// The socket for a datagram to `dst`:`port`: an exact address bind
    /// first, then a wildcard bind; `None` means port unreachable.
    #[inline]
    pub fn lookup(&self, dst: IpAddr, port: u16) -> Option<S> {
        let binds = self.ports.get(&port)?;
        binds
            .exact
            .iter()
            .find(|&&(a, _)| a == dst)
            .map(|&(_, s)| s)
            .or(binds.wildcard)
    }

    /// Bindings in the table.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether nothing is bound.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exact_binds_win_over_wildcards() {
        let mut d = UdpDemux::<u32>::new(8);
        let a: IpAddr = "10.0.0.1".parse().unwrap();
        let b: IpAddr = "10.0.0.2".parse().unwrap();
        d.bind(None, 7, 1).unwrap();
        d.bind(Some(a), 7, 2).unwrap();
        assert_eq!(d.lookup(a, 7), Some(2));
        assert_eq!(d.lookup(b, 7), Some(1));
        assert_eq!(d.lookup(a, 9), None, "closed port: port unreachable");
        assert_eq!(
            d.bind(Some("0.0.0.0".parse().unwrap()), 7, 3),
            Err(BindError::InUse)
        );
        assert_eq!(d.unbind(Some(a), 7), Some(2));
        assert_eq!(d.lookup(a, 7), Some(1));
        let v6: IpAddr = "2001:db8::1".parse().unwrap();
        assert_eq!(
            d.lookup(v6, 7),
            Some(1),
            "a wildcard bind serves both families"
        );
    }

    #[test]
    fn bad_binds_are_errors() {
        let mut d = UdpDemux::<u32>::new(1);
        assert_eq!(d.bind(None, 0, 1), Err(BindError::PortZero));
        d.bind(None, 53, 1).unwrap();
        assert_eq!(d.bind(None, 54, 2), Err(BindError::Full));
        assert_eq!(d.len(), 1);
        assert!(!d.is_empty());
        assert!(BindError::InUse.to_string().contains("already"));
    }
}

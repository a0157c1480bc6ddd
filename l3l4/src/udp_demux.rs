//! UDP demultiplexing (RFC 768, RFC 1122 §4.1.3.4): which bound socket a
//! datagram belongs to, by destination port and address, with sockets
//! bound to a specific local address taking precedence over those bound to
//! the unspecified address. A datagram that matches nothing draws an ICMP
//! port unreachable (subject to [`crate::icmp`]'s rules).

use std::collections::HashMap;
use std::fmt;
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
    /// (local address, or `None` for the unspecified address; port) → socket.
    binds: HashMap<(Option<IpAddr>, u16), S>,
    max: usize,
}

impl<S: Copy> UdpDemux<S> {
    /// An empty table of at most `max` bindings.
    pub fn new(max: usize) -> Self {
        Self {
            binds: HashMap::new(),
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
        let key = (addr, port);
        if self.binds.contains_key(&key) {
            return Err(BindError::InUse);
        }
        if self.binds.len() >= self.max {
            return Err(BindError::Full);
        }
        self.binds.insert(key, socket);
        Ok(())
    }

    /// Removes a binding; returns its socket.
    pub fn unbind(&mut self, addr: Option<IpAddr>, port: u16) -> Option<S> {
        self.binds
            .remove(&(addr.filter(|a| !a.is_unspecified()), port))
    }

    /// The socket for a datagram to `dst`:`port`: an exact address bind
    /// first, then a wildcard bind; `None` means port unreachable.
    pub fn lookup(&self, dst: IpAddr, port: u16) -> Option<S> {
        self.binds
            .get(&(Some(dst), port))
            .or_else(|| self.binds.get(&(None, port)))
            .copied()
    }

    /// Bindings in the table.
    pub fn len(&self) -> usize {
        self.binds.len()
    }

    /// Whether nothing is bound.
    pub fn is_empty(&self) -> bool {
        self.binds.is_empty()
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

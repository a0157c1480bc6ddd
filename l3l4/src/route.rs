//! Routing tables with longest-prefix match (RFC 1812 §5.2.4.3), for IPv4
//! and IPv6: a route names a prefix, an optional gateway and an interface;
//! the default route is the prefix of length 0.
//!
//! Lookups walk the prefix lengths from longest to shortest, each a hash
//! probe, so a lookup costs at most 33 (IPv4) or 129 (IPv6) probes however
//! many routes there are, and only over lengths actually present.

use std::collections::HashMap;
use std::fmt;
use std::net::{Ipv4Addr, Ipv6Addr};

/// An address family the table can hold.
pub trait RouteAddr: Copy + Eq + std::hash::Hash + fmt::Debug {
    /// Bits in an address.
    const BITS: u8;
    /// The address as a big-endian integer.
    fn to_bits(self) -> u128;
    /// An address from a big-endian integer (the low `BITS` bits).
    fn from_bits(bits: u128) -> Self;
}

impl RouteAddr for Ipv4Addr {
    const BITS: u8 = 32;
    fn to_bits(self) -> u128 {
        u128::from(u32::from(self))
    }
    fn from_bits(bits: u128) -> Self {
        Ipv4Addr::from(bits as u32)
    }
}

impl RouteAddr for Ipv6Addr {
    const BITS: u8 = 128;
    fn to_bits(self) -> u128 {
        u128::from(self)
    }
    fn from_bits(bits: u128) -> Self {
        Ipv6Addr::from(bits)
    }
}

/// Keeps the first `len` bits of `addr`.
fn mask<A: RouteAddr>(addr: A, len: u8) -> A {
    if len == 0 {
        return A::from_bits(0);
    }
    let shift = u32::from(A::BITS - len);
    A::from_bits((addr.to_bits() >> shift) << shift)
}

/// Where a matching packet goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Route<A> {
    /// The network (host bits are cleared when the route is added).
    pub prefix: A,
    /// Prefix length in bits.
    pub len: u8,
    /// The next hop, or `None` for an on-link network (send to the destination itself).
    pub gateway: Option<A>,
    /// The interface to send on (the engine's interface index).
    pub iface: u32,
}

impl<A: RouteAddr> Route<A> {
    /// The address to resolve on the link for a packet to `dst`.
    pub fn next_hop(&self, dst: A) -> A {
        self.gateway.unwrap_or(dst)
    }
}

/// A route that cannot be added.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RouteError {
    /// The prefix length is longer than the address.
    BadPrefixLen(u8),
    /// The table already holds its maximum number of routes.
    Full,
}

impl fmt::Display for RouteError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::BadPrefixLen(n) => write!(f, "prefix length {n} is longer than the address"),
            Self::Full => f.write_str("routing table is full"),
        }
    }
}

impl std::error::Error for RouteError {}

/// A routing table for one address family.
///
/// # Examples
/// ```
/// use std::net::Ipv4Addr;
/// use strata_l3l4::route::RouteTable;
/// let mut t = RouteTable::<Ipv4Addr>::new(64);
/// t.add(Ipv4Addr::new(10, 0, 0, 0), 8, None, 1)?;
/// t.add(Ipv4Addr::UNSPECIFIED, 0, Some(Ipv4Addr::new(192, 0, 2, 1)), 2)?; // default
/// assert_eq!(t.lookup(Ipv4Addr::new(10, 1, 2, 3)).unwrap().iface, 1);
/// assert_eq!(t.lookup(Ipv4Addr::new(8, 8, 8, 8)).unwrap().next_hop(Ipv4Addr::new(8, 8, 8, 8)),
///            Ipv4Addr::new(192, 0, 2, 1));
/// # Ok::<(), strata_l3l4::route::RouteError>(())
/// ```
#[derive(Debug, Clone)]
pub struct RouteTable<A: RouteAddr> {
    by_len: HashMap<(u8, A), Route<A>>,
    /// How many routes have each prefix length (index = length).
    len_count: Vec<u32>,
    max_routes: usize,
}

impl<A: RouteAddr> RouteTable<A> {
    /// An empty table holding at most `max_routes` routes.
    pub fn new(max_routes: usize) -> Self {
        Self {
            by_len: HashMap::new(),
            len_count: vec![0; usize::from(A::BITS) + 1],
            max_routes,
        }
    }

    /// Adds (or replaces) the route for `prefix/len`; host bits of `prefix` are cleared.
    ///
    /// # Errors
    /// [`RouteError::BadPrefixLen`] or [`RouteError::Full`].
    pub fn add(
        &mut self,
        prefix: A,
        len: u8,
        gateway: Option<A>,
        iface: u32,
    ) -> Result<(), RouteError> {
        if len > A::BITS {
            return Err(RouteError::BadPrefixLen(len));
        }
        let prefix = mask(prefix, len);
        let route = Route {
            prefix,
            len,
            gateway,
            iface,
        };
        if let Some(old) = self.by_len.get_mut(&(len, prefix)) {
            *old = route;
            return Ok(());
        }
        if self.by_len.len() >= self.max_routes {
            return Err(RouteError::Full);
        }
        self.by_len.insert((len, prefix), route);
        self.len_count[usize::from(len)] += 1;
        Ok(())
    }

    /// Removes the route for `prefix/len`; returns it if there was one.
    pub fn remove(&mut self, prefix: A, len: u8) -> Option<Route<A>> {
        if len > A::BITS {
            return None;
        }
        let route = self.by_len.remove(&(len, mask(prefix, len)))?;
        self.len_count[usize::from(len)] -= 1;
        Some(route)
    }

    /// The most specific route for `dst`, if any.
    pub fn lookup(&self, dst: A) -> Option<&Route<A>> {
        (0..=A::BITS)
            .rev()
            .filter(|&len| self.len_count[usize::from(len)] > 0)
            .find_map(|len| self.by_len.get(&(len, mask(dst, len))))
    }

    /// Routes in the table.
    pub fn len(&self) -> usize {
        self.by_len.len()
    }

    /// Whether the table is empty.
    pub fn is_empty(&self) -> bool {
        self.by_len.is_empty()
    }

    /// Every route, most specific first.
    pub fn routes(&self) -> Vec<Route<A>> {
        let mut v: Vec<Route<A>> = self.by_len.values().copied().collect();
        v.sort_by(|a, b| {
            b.len
                .cmp(&a.len)
                .then(a.prefix.to_bits().cmp(&b.prefix.to_bits()))
        });
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn a(s: &str) -> Ipv4Addr {
        s.parse().unwrap()
    }

    #[test]
    fn longest_prefix_wins_and_default_catches_the_rest() {
        let mut t = RouteTable::<Ipv4Addr>::new(16);
        assert!(t.lookup(a("10.0.0.1")).is_none());
        t.add(a("10.0.0.0"), 8, None, 1).unwrap();
        t.add(a("10.1.0.0"), 16, Some(a("10.0.0.254")), 2).unwrap();
        t.add(a("10.1.2.3"), 32, None, 3).unwrap();
        t.add(a("0.0.0.0"), 0, Some(a("192.0.2.1")), 9).unwrap();
        assert_eq!(t.lookup(a("10.9.9.9")).unwrap().iface, 1);
        assert_eq!(t.lookup(a("10.1.9.9")).unwrap().iface, 2);
        assert_eq!(
            t.lookup(a("10.1.9.9")).unwrap().next_hop(a("10.1.9.9")),
            a("10.0.0.254")
        );
        assert_eq!(t.lookup(a("10.1.2.3")).unwrap().iface, 3);
        assert_eq!(t.lookup(a("8.8.8.8")).unwrap().iface, 9);
        assert_eq!(t.routes().first().unwrap().len, 32);
        assert_eq!(
            t.remove(a("10.1.255.255"), 16).unwrap().iface,
            2,
            "host bits ignored"
        );
        assert_eq!(t.lookup(a("10.1.9.9")).unwrap().iface, 1);
        assert!(t.remove(a("10.1.0.0"), 16).is_none());
        assert!(t.remove(a("10.1.0.0"), 40).is_none());
    }

    #[test]
    fn bad_routes_and_limits_are_errors() {
        let mut t = RouteTable::<Ipv4Addr>::new(1);
        assert_eq!(
            t.add(a("10.0.0.0"), 33, None, 1),
            Err(RouteError::BadPrefixLen(33))
        );
        t.add(a("10.0.0.0"), 8, None, 1).unwrap();
        assert_eq!(t.add(a("11.0.0.0"), 8, None, 1), Err(RouteError::Full));
        t.add(a("10.0.0.0"), 8, None, 5).unwrap();
        assert_eq!(
            (t.len(), t.lookup(a("10.2.3.4")).unwrap().iface),
            (1, 5),
            "replaced, not added"
        );
        assert!(RouteError::Full.to_string().contains("full"));
    }

    #[test]
    fn ipv6_routes() {
        let mut t = RouteTable::<Ipv6Addr>::new(8);
        t.add("2001:db8::".parse().unwrap(), 32, None, 1).unwrap();
        t.add("2001:db8:1::".parse().unwrap(), 48, None, 2).unwrap();
        t.add(
            "::".parse().unwrap(),
            0,
            Some("fe80::1".parse().unwrap()),
            3,
        )
        .unwrap();
        assert_eq!(t.lookup("2001:db8:1::5".parse().unwrap()).unwrap().iface, 2);
        assert_eq!(t.lookup("2001:db8:2::5".parse().unwrap()).unwrap().iface, 1);
        assert_eq!(t.lookup("2600::1".parse().unwrap()).unwrap().iface, 3);
        assert_eq!(
            t.add("::".parse().unwrap(), 129, None, 1),
            Err(RouteError::BadPrefixLen(129))
        );
    }

    proptest! {
        /// The table agrees with a brute-force scan for the longest match.
        #[test]
        fn matches_a_linear_scan(
            routes in proptest::collection::vec((any::<u32>(), 0u8..=32, 0u32..4), 0..40),
            probes in proptest::collection::vec(any::<u32>(), 1..40),
        ) {
            let mut t = RouteTable::<Ipv4Addr>::new(1000);
            let mut model: Vec<(u32, u8, u32)> = Vec::new();
            for (p, len, iface) in routes {
                t.add(Ipv4Addr::from(p), len, None, iface).unwrap();
                let m = if len == 0 { 0 } else { (p >> (32 - len)) << (32 - len) };
                model.retain(|&(mp, ml, _)| !(mp == m && ml == len));
                model.push((m, len, iface));
            }
            for probe in probes {
                let want = model
                    .iter()
                    .filter(|&&(p, len, _)| len == 0 || (probe >> (32 - len)) << (32 - len) == p)
                    .max_by_key(|&&(_, len, _)| len)
                    .map(|&(_, _, iface)| iface);
                prop_assert_eq!(t.lookup(Ipv4Addr::from(probe)).map(|r| r.iface), want);
            }
        }
    }
}

//! Time as the protocol code sees it: a point on a clock the caller owns.
//!
//! Protocol state in this crate never reads a clock. The caller reads its own
//! (the TSC, `std::time::Instant`, a simulated clock in tests), turns it into
//! an [`Instant`] — the time elapsed since an epoch of its choosing — and
//! passes it in as `now`. Deadlines come back out as [`Instant`]s on the same
//! clock. Only differences between instants mean anything, so any epoch
//! works as long as it stays the same for the life of the state.

use core::fmt;
use core::ops::{Add, AddAssign, Sub};
use core::time::Duration;

/// A point in time, as the time elapsed since the caller's epoch.
///
/// Arithmetic saturates instead of panicking: adding a huge timeout gives
/// [`Instant::MAX`] ("never"), and subtracting a later instant gives zero.
///
/// # Examples
///
/// ```
/// use core::time::Duration;
/// use strata_l2::Instant;
///
/// let start = Instant::from_millis(1_000);
/// let later = start + Duration::from_secs(30);
/// assert_eq!(later - start, Duration::from_secs(30));
/// assert_eq!(start - later, Duration::ZERO);
/// assert_eq!(later.to_string(), "31.000s");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Instant(Duration);

impl Instant {
    /// The epoch itself.
    pub const ZERO: Instant = Instant(Duration::ZERO);

    /// The latest representable instant, used for "never".
    pub const MAX: Instant = Instant(Duration::MAX);

    /// The instant `since_epoch` after the epoch.
    pub const fn from_duration(since_epoch: Duration) -> Instant {
        Instant(since_epoch)
    }

    /// The instant `millis` milliseconds after the epoch.
    pub const fn from_millis(millis: u64) -> Instant {
        Instant(Duration::from_millis(millis))
    }

    /// The instant `secs` seconds after the epoch.
    pub const fn from_secs(secs: u64) -> Instant {
        Instant(Duration::from_secs(secs))
    }

    /// The time elapsed since the epoch.
    pub const fn since_epoch(self) -> Duration {
        self.0
    }

    /// Whole milliseconds since the epoch (saturating at `u64::MAX`).
    pub fn total_millis(self) -> u64 {
        u64::try_from(self.0.as_millis()).unwrap_or(u64::MAX)
    }

    /// The time from `earlier` to `self`, or zero if `earlier` is later.
    pub fn saturating_duration_since(self, earlier: Instant) -> Duration {
        self.0.saturating_sub(earlier.0)
    }
}

impl Add<Duration> for Instant {
    type Output = Instant;

    /// Saturates at [`Instant::MAX`].
    fn add(self, rhs: Duration) -> Instant {
        Instant(self.0.saturating_add(rhs))
    }
}

impl AddAssign<Duration> for Instant {
    fn add_assign(&mut self, rhs: Duration) {
        *self = *self + rhs;
    }
}

impl Sub for Instant {
    type Output = Duration;

    /// Same as [`saturating_duration_since`](Instant::saturating_duration_since).
    fn sub(self, rhs: Instant) -> Duration {
        self.saturating_duration_since(rhs)
    }
}

impl fmt::Display for Instant {
    /// Formats as seconds with millisecond precision, e.g. `31.000s`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{:03}s", self.0.as_secs(), self.0.subsec_millis())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arithmetic_saturates() {
        let t = Instant::from_secs(5);
        assert_eq!(t + Duration::from_millis(250), Instant::from_millis(5_250));
        assert_eq!(t + Duration::MAX, Instant::MAX);
        assert_eq!(Instant::ZERO - t, Duration::ZERO);
        assert_eq!(t - Instant::ZERO, Duration::from_secs(5));
        let mut u = t;
        u += Duration::from_secs(1);
        assert_eq!(u.since_epoch(), Duration::from_secs(6));
        assert_eq!(u.total_millis(), 6_000);
        assert_eq!(Instant::MAX.total_millis(), u64::MAX);
        assert_eq!(Instant::from_duration(Duration::from_secs(6)), u);
        assert_eq!(Instant::from_millis(15).to_string(), "0.015s");
    }
}

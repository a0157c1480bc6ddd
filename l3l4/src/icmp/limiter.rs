//! A token bucket for ICMP errors (RFC 1812 §4.3.2.8, RFC 4443 §2.4 (f)),
//! like Linux's `icmp_ratelimit`/`icmp_msgs_per_sec`: errors may come in a
//! burst, then at a steady rate. Time is passed in.

use core::time::Duration;

use strata_l2::Instant;

/// Allows `rate` errors per second on average and bursts of up to `burst`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimiter {
    /// Tokens, in units of 1/`rate` seconds' worth times `SCALE`.
    tokens_nanos: u64,
    /// Nanoseconds one token takes to refill.
    per_token_nanos: u64,
    /// The bucket size, in nanoseconds of tokens.
    cap_nanos: u64,
    last: Instant,
    limited: u64,
}

impl RateLimiter {
    /// A full bucket of `burst` tokens refilling at `rate` per second
    /// (a `rate` of 0 allows only the first `burst` errors; `burst` is at least 1).
    pub fn new(rate: u32, burst: u32) -> Self {
        let per_token_nanos = if rate == 0 {
            u64::MAX / 4
        } else {
            1_000_000_000 / u64::from(rate)
        };
        let cap_nanos = per_token_nanos.saturating_mul(u64::from(burst.max(1)));
        Self {
            tokens_nanos: cap_nanos,
            per_token_nanos,
            cap_nanos,
            last: Instant::ZERO,
            limited: 0,
        }
    }

    /// Linux's defaults: 1000 errors per second, bursts of 50.
    pub fn linux_default() -> Self {
        Self::new(1000, 50)
    }

    /// Takes a token if there is one; `false` (and a count) if not.
    pub fn allow(&mut self, now: Instant) -> bool {
        let elapsed = now.saturating_duration_since(self.last);
        self.last = self.last.max(now);
        let refill = u64::try_from(elapsed.as_nanos()).unwrap_or(u64::MAX);
        self.tokens_nanos = self.tokens_nanos.saturating_add(refill).min(self.cap_nanos);
        if self.tokens_nanos >= self.per_token_nanos {
            self.tokens_nanos -= self.per_token_nanos;
            true
        } else {
            self.limited += 1;
            false
        }
    }

    /// Errors refused so far.
    pub fn limited(&self) -> u64 {
        self.limited
    }

    /// When the next token will be there, if the bucket is empty now.
    pub fn next_token_at(&self) -> Option<Instant> {
        (self.tokens_nanos < self.per_token_nanos)
            .then(|| self.last + Duration::from_nanos(self.per_token_nanos - self.tokens_nanos))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bursts_then_steady_rate() {
        let mut rl = RateLimiter::new(10, 3);
        let t0 = Instant::from_secs(100);
        assert!((0..3).all(|_| rl.allow(t0)));
        assert!(!rl.allow(t0));
        assert_eq!(rl.next_token_at(), Some(t0 + Duration::from_millis(100)));
        assert!(!rl.allow(t0 + Duration::from_millis(99)));
        assert!(rl.allow(t0 + Duration::from_millis(100)));
        // One second refills ten tokens, but the bucket holds three.
        let t1 = t0 + Duration::from_secs(1);
        assert_eq!((0..10).filter(|_| rl.allow(t1)).count(), 3);
        assert_eq!(rl.limited(), 2 + 7);
    }

    #[test]
    fn time_going_backwards_or_extreme_values_do_not_panic() {
        let mut rl = RateLimiter::new(0, 0);
        assert!(rl.allow(Instant::MAX));
        assert!(!rl.allow(Instant::ZERO));
        let mut rl = RateLimiter::new(u32::MAX, u32::MAX);
        assert!(rl.allow(Instant::from_secs(5)));
        assert!(rl.allow(Instant::from_secs(1)));
        assert!(RateLimiter::linux_default().allow(Instant::ZERO));
    }
}

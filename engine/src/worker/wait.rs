//! Adaptive polling: the idle spell that ends busy polling, the `mio` wait
//! on device fds and an eventfd ([`mio::Waker`]), the wake-up protocol
//! between threads, and the thread CPU time read from `/proc`.
//!
//! # Waking a thread without a lost wake-up
//!
//! A thread about to sleep *arms* its [`WakeFlag`] and runs one more full
//! polling round. Only if that round finds nothing does it wait. A producer
//! (the pipeline's RX thread, a worker handing frames back, an application)
//! first makes its work visible (a ring push: a Release store), then asks
//! the flag whether to wake the thread, and if so writes the eventfd. The
//! flag's fences make sure at least one side sees the other (its module
//! documentation; model-checked with loom), so either the sleeper's last
//! round finds the work or the producer wakes it. An eventfd written before
//! the sleeper reaches `epoll_wait` stays readable, so that wake is not
//! lost either. The wait always has a timeout as well, as a safety net.

use std::time::{Duration, Instant};

use strata_queues::WakeFlag;

use mio::{Events, Interest, Poll, Token, Waker};

use crate::dev::Device;

/// The token of the eventfd waker in a thread's `mio::Poll`.
pub(crate) const WAKE_TOKEN: Token = Token(usize::MAX);

/// When busy polling ends and how long a wait may last.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IdleConfig {
    /// Consecutive empty rounds before a thread may wait (default 1000).
    pub rounds: u32,
    /// And at least this long since the last work (default 100 µs). The
    /// spell grows when a sleep lost frames; see [`IdleConfig::max_spell`].
    pub spell: Duration,
    /// How long the spell may grow (default 50 ms). When the devices'
    /// receive drops grew while the thread slept, it woke too late for the
    /// traffic's bursts: the next spell covers a gap a quarter longer than
    /// the one just slept through, so the thread polls through such gaps
    /// instead (as a NIC's interrupt moderation would hold the interrupt).
    /// A sleep that lost nothing halves it again, so a steady stream the
    /// rings hold, or sparse traffic, keeps the thread sleeping.
    pub max_spell: Duration,
    /// Longest wait when some device has no fd to wake the thread: it naps
    /// and polls (default 10 ms).
    pub nap: Duration,
    /// Longest wait otherwise: a safety net and the idle publication
    /// interval (default 1 s).
    pub max_sleep: Duration,
    /// Never wait: busy-poll always (the lowest latency, a whole core).
    pub busy_poll: bool,
}

impl Default for IdleConfig {
    fn default() -> Self {
        IdleConfig {
            rounds: 1000,
            spell: Duration::from_micros(100),
            max_spell: Duration::from_millis(50),
            nap: Duration::from_millis(10),
            max_sleep: Duration::from_secs(1),
            busy_poll: false,
        }
    }
}

/// The spell after a wake-up that ended an idle gap of `gap`, in which the
/// devices `lost` frames or not, from the spell `current` (see
/// [`IdleConfig::max_spell`]). Only loss grows it: a backlog alone (a
/// steady stream arriving during the wake-up, or a deep ring holding a
/// burst) is what sleeping is for; growing the spell for every full burst
/// found after a wake-up had the worker spin through a steady 0.8 Mpps
/// AF_PACKET stream, 1235 ns of CPU a frame where sleeping took 312
/// (`perf/afpacket-rx.sh`).
fn next_spell(config: &IdleConfig, current: Duration, gap: Duration, lost: bool) -> Duration {
    let floor = config.spell;
    let ceiling = config.max_spell.max(floor);
    if lost {
        (gap + gap / 4).clamp(floor, ceiling).max(current)
    } else {
        (current / 2).max(floor)
    }
}

/// The waking end of a thread, shared with those who wake it.
#[derive(Debug)]
pub(crate) struct WakeHandle {
    sleeping: WakeFlag,
    waker: Waker,
}

impl WakeHandle {
    /// Wakes the thread if it is armed or waiting; call after making the
    /// work visible (see the module documentation).
    #[inline]
    pub(crate) fn wake_if_sleeping(&self) {
        if self.sleeping.should_wake() {
            self.wake();
        }
    }

    /// Writes the eventfd whatever the thread is doing (shutdown).
    pub(crate) fn wake(&self) {
        // An error here means the eventfd is gone or full: either way the
        // thread is already woken or exiting; the wait's timeout remains.
        let _ = self.waker.wake();
    }
}

/// One thread's idle state and `mio` poller.
#[derive(Debug)]
pub(crate) struct Idler {
    config: IdleConfig,
    poll: Poll,
    events: Events,
    handle: std::sync::Arc<WakeHandle>,
    empty_rounds: u32,
    last_work: Instant,
    armed: bool,
    /// Some device has no fd: waits are naps.
    napping: bool,
    /// The devices' wait fds, registered with the poller only while the
    /// thread waits: a registered socket has a waiter on its wait queue,
    /// which makes the kernel take locks to wake it on every frame sent
    /// or received (measured: 6% of an AF_XDP forwarder's time).
    fds: Vec<std::os::fd::RawFd>,
    /// Waits so far.
    pub(crate) sleeps: u64,
    /// The spell now (grown by losses, see [`IdleConfig::max_spell`]).
    spell: Duration,
}

/// What the idle state says after a round.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum IdleStep {
    /// Keep polling.
    Poll,
    /// Armed: run one more round, then wait if it is empty too.
    Armed,
    /// Wait now (publish first if needed).
    Wait,
}

impl Idler {
    /// A poller with its eventfd waker; `fds` are the devices' wait fds
    /// ([`Device::wait_fds`]: empty for a device that cannot wake anyone).
    pub(crate) fn new(
        config: IdleConfig,
        fds: &[Vec<std::os::fd::RawFd>],
    ) -> std::io::Result<Idler> {
        let poll = Poll::new()?;
        let waker = Waker::new(poll.registry(), WAKE_TOKEN)?;
        Ok(Idler {
            config,
            poll,
            events: Events::with_capacity(16),
            handle: std::sync::Arc::new(WakeHandle {
                sleeping: WakeFlag::new(),
                waker,
            }),
            empty_rounds: 0,
            last_work: Instant::now(),
            armed: false,
            napping: fds.iter().any(Vec::is_empty),
            fds: fds.iter().flatten().copied().collect(),
            sleeps: 0,
            spell: config.spell,
        })
    }

    /// The handle others wake this thread with.
    pub(crate) fn handle(&self) -> std::sync::Arc<WakeHandle> {
        std::sync::Arc::clone(&self.handle)
    }

    /// Accounts for a round that did `work` units; says what to do next.
    #[inline]
    pub(crate) fn after_round(&mut self, work: usize, now: Instant) -> IdleStep {
        if work > 0 {
            self.empty_rounds = 0;
            self.last_work = now;
            if self.armed {
                self.disarm();
            }
            return IdleStep::Poll;
        }
        if self.armed {
            return IdleStep::Wait;
        }
        self.empty_rounds = self.empty_rounds.saturating_add(1);
        if self.config.busy_poll
            || self.empty_rounds < self.config.rounds
            || now.saturating_duration_since(self.last_work) < self.spell
        {
            return IdleStep::Poll;
        }
        self.armed = true;
        // Before the last round (module documentation).
        self.handle.sleeping.arm();
        IdleStep::Armed
    }

    fn disarm(&mut self) {
        self.armed = false;
        // A producer that still sees it armed makes one spurious eventfd
        // write, never a lost wake-up.
        self.handle.sleeping.disarm();
    }

    /// [`Idler::wait`] around the devices' wake-ups: arms every device's
    /// ([`Device::arm_wake`]), waits unless one already has frames, and
    /// disarms them all. `device` picks the device out of each item.
    pub(crate) fn wait_on<T>(
        &mut self,
        now: Instant,
        until: Option<Duration>,
        items: &mut [T],
        device: impl Fn(&mut T) -> Option<&mut dyn Device>,
    ) -> bool {
        let mut ready = false;
        for item in items.iter_mut() {
            if let Some(d) = device(item) {
                ready |= d.arm_wake();
            }
        }
        let woke = if ready {
            // Frames came after the last empty round: no sleep.
            self.disarm();
            self.empty_rounds = 0;
            self.last_work = now;
            true
        } else {
            let lost = |items: &mut [T]| -> u64 {
                items
                    .iter_mut()
                    .filter_map(|item| device(item).map(|d| d.stats().rx_dropped))
                    .sum()
            };
            let before = lost(items);
            let gap = self.wait(now, until);
            if let Some(gap) = gap {
                let lost_now = lost(items) > before;
                self.spell = next_spell(&self.config, self.spell, gap, lost_now);
            }
            gap.is_some()
        };
        for item in items.iter_mut() {
            if let Some(d) = device(item) {
                d.disarm_wake();
            }
        }
        woke
    }

    /// Waits for a device fd, the eventfd, or `until` (capped by the nap or
    /// the safety net), then disarms. Returns the idle gap a wake-up ended,
    /// or `None` when nothing woke it.
    fn wait(&mut self, now: Instant, until: Option<Duration>) -> Option<Duration> {
        let cap = if self.napping {
            self.config.nap
        } else {
            self.config.max_sleep
        };
        let timeout = until.map_or(cap, |t| t.min(cap));
        self.sleeps += 1;
        let idle_since = self.last_work;
        // Registering checks readiness: a frame that came after the last
        // empty round wakes the wait at once.
        let registry = self.poll.registry();
        let mut registered = 0;
        let mut napping = self.napping;
        for (i, fd) in self.fds.iter().enumerate() {
            let source = &mut mio::unix::SourceFd(fd);
            if registry
                .register(source, Token(i), Interest::READABLE)
                .is_ok()
            {
                registered += 1;
            } else {
                // Cannot sleep on it: nap and poll instead.
                napping = true;
            }
        }
        let timeout = if napping {
            timeout.min(self.config.nap)
        } else {
            timeout
        };
        // An error (EINTR) is a spurious wake-up: the loop polls again.
        let woke = match self.poll.poll(&mut self.events, Some(timeout)) {
            Ok(()) => !self.events.is_empty(),
            Err(_) => false,
        };
        if registered > 0 {
            let registry = self.poll.registry();
            for fd in &self.fds {
                // An fd that was not registered answers ENOENT: nothing to do.
                let _ = registry.deregister(&mut mio::unix::SourceFd(fd));
            }
        }
        self.disarm();
        // After a timeout the spell still holds: one empty round re-arms,
        // the next waits again (a napping thread polls twice per nap).
        if !woke {
            // Nothing came: the spell shrinks back.
            self.spell = (self.spell / 2).max(self.config.spell);
            return None;
        }
        // Back to busy polling for at least one spell (`wait_on` sets the
        // next from what the devices lost meanwhile).
        let awake = now.max(Instant::now());
        self.empty_rounds = 0;
        self.last_work = awake;
        Some(awake.saturating_duration_since(idle_since))
    }
}

/// The calling thread's CPU time (user + system), from
/// `/proc/thread-self/schedstat` (nanoseconds) when the kernel keeps it,
/// else `/proc/thread-self/stat` (clock ticks of 10 ms, Linux's `USER_HZ`).
pub fn thread_cpu_time() -> Option<Duration> {
    if let Ok(text) = std::fs::read_to_string("/proc/thread-self/schedstat") {
        if let Some(ns) = text
            .split_whitespace()
            .next()
            .and_then(|t| t.parse::<u64>().ok())
        {
            if ns > 0 {
                return Some(Duration::from_nanos(ns));
            }
        }
    }
    let fields = stat_fields()?;
    // Fields 14 and 15 (utime, stime) are the 12th and 13th after the
    // command name.
    let utime: u64 = fields.get(11)?.parse().ok()?;
    let stime: u64 = fields.get(12)?.parse().ok()?;
    Some(Duration::from_millis((utime + stime) * 10))
}

/// The CPU the calling thread last ran on (`/proc/thread-self/stat`, field
/// 39).
pub fn current_cpu() -> Option<usize> {
    stat_fields()?.get(36)?.parse().ok()
}

/// The fields of `/proc/thread-self/stat` after the command name (field 3
/// on).
fn stat_fields() -> Option<Vec<String>> {
    let text = std::fs::read_to_string("/proc/thread-self/stat").ok()?;
    // The command name is in parentheses and may hold spaces or ')'.
    let rest = &text[text.rfind(')')? + 1..];
    Some(rest.split_whitespace().map(str::to_owned).collect())
}

#[cfg(test)]
mod spell_tests {
    use super::*;

    #[test]
    fn the_spell_grows_with_loss_and_shrinks_without() {
        let config = IdleConfig::default();
        let ms = Duration::from_millis;
        let floor = config.spell;
        // A 24 ms gap in which frames were lost: the next spell covers 30 ms.
        let s = next_spell(&config, floor, ms(24), true);
        assert_eq!(s, ms(30));
        // A shorter gap with loss never shrinks it.
        assert_eq!(next_spell(&config, s, ms(2), true), ms(30));
        // Capped: a 1 s gap gives the longest spell, no more.
        assert_eq!(next_spell(&config, floor, ms(1000), true), config.max_spell);
        // A sleep that lost nothing halves it.
        assert_eq!(next_spell(&config, ms(30), ms(1), false), ms(15));
        // Sparse traffic (a frame or two after a wake) halves it, down to
        // the configured spell and no lower.
        assert_eq!(next_spell(&config, ms(30), ms(24), false), ms(15));
        let mut s = ms(30);
        for _ in 0..20 {
            s = next_spell(&config, s, ms(500), false);
        }
        assert_eq!(s, floor);
        // A configuration whose longest spell is below the spell keeps the spell.
        let flat = IdleConfig {
            max_spell: Duration::ZERO,
            ..config
        };
        assert_eq!(next_spell(&flat, floor, ms(24), true), floor);
    }
}

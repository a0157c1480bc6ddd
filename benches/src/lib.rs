//! Helpers shared by the criterion benches: CPU choice and pinning.
#![forbid(unsafe_code)]

use strata_engine::cpu;

/// Two distinct allowed CPUs (absolute ids) for producer/consumer benches,
/// or `None` on a one-CPU machine.
pub fn two_cpus() -> Option<(usize, usize)> {
    let cpus = cpu::allowed_cpus();
    (cpus.len() >= 2).then(|| (cpus[0], cpus[1]))
}

/// Pins the calling thread, ignoring failure (a bench still runs unpinned).
pub fn pin(cpu: usize) {
    let _ = cpu::pin_current(cpu);
}

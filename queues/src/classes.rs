//! Per-class queue sets: Zephyr's traffic classes over SPSC rings.
//!
//! A frame's 802.1Q priority (0–7, from the VLAN PCP, a DSCP rule or a
//! configured rule) picks one of 1–8 classes through a [`PriorityMap`]; the
//! consumer drains classes from the highest (class `n-1`) to the lowest
//! (class 0), either in strict priority or weighted round robin so that low
//! classes are not starved. Reference: IEEE 802.1Q-2018 §8.6.6, table 8-5
//! (recommended priority to traffic class mappings), as Zephyr's
//! `net_tc_mapping.h` uses it.

use core::fmt;

use crate::error::{CapacityError, Full};
use crate::spsc::{self, Consumer, Producer};
use crate::stats::RingStats;

/// The most classes a set holds (802.1Q has eight priorities).
pub const MAX_CLASSES: usize = 8;

/// A class set that cannot be built.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClassError {
    /// Zero classes asked for.
    NoClasses,
    /// More than [`MAX_CLASSES`] classes asked for.
    TooManyClasses(usize),
    /// A priority mapped to a class that does not exist.
    BadMapping {
        /// The 802.1Q priority.
        priority: u8,
        /// The class it was mapped to.
        class: u8,
        /// Classes in the set.
        classes: usize,
    },
    /// Weights must be given for every class and be at least 1.
    BadWeights,
    /// A ring of the set cannot be built.
    Capacity(CapacityError),
}

impl fmt::Display for ClassError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NoClasses => f.write_str("a queue set needs at least one traffic class"),
            Self::TooManyClasses(n) => {
                write!(
                    f,
                    "{n} traffic classes asked for; at most {MAX_CLASSES} are supported"
                )
            }
            Self::BadMapping {
                priority,
                class,
                classes,
            } => write!(
                f,
                "priority {priority} maps to class {class}, but there are only {classes} classes"
            ),
            Self::BadWeights => {
                f.write_str("weights must be given for every class and be at least 1")
            }
            Self::Capacity(e) => write!(f, "traffic class ring: {e}"),
        }
    }
}

impl std::error::Error for ClassError {}

impl From<CapacityError> for ClassError {
    fn from(e: CapacityError) -> Self {
        Self::Capacity(e)
    }
}

fn check_classes(classes: usize) -> Result<(), ClassError> {
    match classes {
        0 => Err(ClassError::NoClasses),
        1..=MAX_CLASSES => Ok(()),
        n => Err(ClassError::TooManyClasses(n)),
    }
}

/// Maps 802.1Q priorities (0–7) onto `n` traffic classes; class `n-1` is
/// served first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PriorityMap {
    table: [u8; 8],
    classes: u8,
}

/// 802.1Q-2018 table 8-5, for implementations with strict priority
/// transmission selection (no credit-based shaper). Row `n-1` is for `n`
/// classes; column is the priority. Note priority 1 (background) ranks
/// below priority 0 (best effort).
const STRICT: [[u8; 8]; 8] = [
    [0, 0, 0, 0, 0, 0, 0, 0],
    [0, 0, 0, 0, 1, 1, 1, 1],
    [0, 0, 0, 0, 1, 1, 2, 2],
    [0, 0, 1, 1, 2, 2, 3, 3],
    [0, 0, 1, 1, 2, 2, 3, 4],
    [1, 0, 2, 2, 3, 3, 4, 5],
    [1, 0, 2, 3, 4, 4, 5, 6],
    [1, 0, 2, 3, 4, 5, 6, 7],
];

impl PriorityMap {
    /// The standard mapping for `classes` classes.
    ///
    /// # Errors
    /// [`ClassError::NoClasses`] or [`ClassError::TooManyClasses`].
    pub fn strict(classes: usize) -> Result<Self, ClassError> {
        check_classes(classes)?;
        Ok(Self {
            table: STRICT[classes - 1],
            classes: classes as u8,
        })
    }

    /// A custom mapping: `table[p]` is the class of priority `p`.
    ///
    /// # Errors
    /// A bad class count, or an entry naming a class that does not exist.
    pub fn from_table(table: [u8; 8], classes: usize) -> Result<Self, ClassError> {
        check_classes(classes)?;
        for (priority, &class) in table.iter().enumerate() {
            if usize::from(class) >= classes {
                return Err(ClassError::BadMapping {
                    priority: priority as u8,
                    class,
                    classes,
                });
            }
        }
        Ok(Self {
            table,
            classes: classes as u8,
        })
    }

    /// The class of an 802.1Q priority; only its low three bits count, so
    /// any byte from the wire is safe to pass.
    #[inline(always)]
    pub fn class_of(&self, priority: u8) -> usize {
        usize::from(self.table[usize::from(priority & 7)])
    }

    /// The number of classes.
    pub fn classes(&self) -> usize {
        usize::from(self.classes)
    }
}

/// How the consumer side chooses between classes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Schedule {
    /// Always the highest non-empty class first.
    Strict,
    /// Weighted round robin: in each round a class gives at most its weight
    /// in items (highest class first), so lower classes are never starved.
    /// Weights are indexed by class.
    Weighted([u32; MAX_CLASSES]),
}

/// Builds a class set: `classes` SPSC rings of `capacity` each.
///
/// # Errors
/// A bad class count or capacity, or weights of 0 in a weighted schedule.
///
/// # Examples
/// ```
/// use strata_queues::classes::{class_set, PriorityMap, Schedule};
/// let map = PriorityMap::strict(4)?;
/// let (mut tx, mut rx) = class_set::<&str>(map, 16, Schedule::Strict)?;
/// tx.push("bulk", 1).unwrap();      // priority 1 (background) → class 0
/// tx.push("control", 7).unwrap();   // priority 7 (network control) → class 3
/// let mut out = Vec::new();
/// rx.pop_burst(&mut out, 8);
/// assert_eq!(out, ["control", "bulk"]);
/// # Ok::<(), strata_queues::classes::ClassError>(())
/// ```
pub fn class_set<T>(
    map: PriorityMap,
    capacity: usize,
    schedule: Schedule,
) -> Result<(ClassProducer<T>, ClassConsumer<T>), ClassError> {
    if let Schedule::Weighted(w) = schedule {
        if w[..map.classes()].contains(&0) {
            return Err(ClassError::BadWeights);
        }
    }
    let mut producers = Vec::with_capacity(map.classes());
    let mut consumers = Vec::with_capacity(map.classes());
    for _ in 0..map.classes() {
        let (p, c) = spsc::ring(capacity)?;
        producers.push(p);
        consumers.push(c);
    }
    Ok((
        ClassProducer {
            map,
            rings: producers,
        },
        ClassConsumer {
            rings: consumers,
            schedule,
        },
    ))
}

/// The enqueue side of a class set.
pub struct ClassProducer<T> {
    map: PriorityMap,
    rings: Vec<Producer<T>>,
}

impl<T> fmt::Debug for ClassProducer<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClassProducer")
            .field("map", &self.map)
            .finish()
    }
}

impl<T> ClassProducer<T> {
    /// Enqueues `item` into the class of 802.1Q `priority`.
    ///
    /// # Errors
    /// [`Full`] with the item when that class's ring is full.
    #[inline]
    pub fn push(&mut self, item: T, priority: u8) -> Result<(), Full<T>> {
        let class = self.map.class_of(priority);
        self.rings[class].push(item)
    }

    /// Enqueues into `class` directly (clamped to the highest class).
    ///
    /// # Errors
    /// [`Full`] with the item when that ring is full.
    #[inline]
    pub fn push_class(&mut self, item: T, class: usize) -> Result<(), Full<T>> {
        let class = class.min(self.rings.len() - 1);
        self.rings[class].push(item)
    }

    /// Moves as many of `items` as fit into `class` (clamped); returns how many.
    #[inline]
    #[must_use = "items refused stay in the Vec and must be dealt with"]
    pub fn push_burst_class(&mut self, items: &mut Vec<T>, class: usize) -> usize {
        let class = class.min(self.rings.len() - 1);
        self.rings[class].push_burst(items)
    }

    /// The priority map in use.
    pub fn map(&self) -> &PriorityMap {
        &self.map
    }

    /// Counters per class, indexed by class.
    pub fn stats(&self) -> Vec<RingStats> {
        self.rings.iter().map(Producer::stats).collect()
    }
}

/// The dequeue side of a class set.
pub struct ClassConsumer<T> {
    rings: Vec<Consumer<T>>,
    schedule: Schedule,
}

impl<T> fmt::Debug for ClassConsumer<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClassConsumer")
            .field("schedule", &self.schedule)
            .finish()
    }
}

impl<T> ClassConsumer<T> {
    /// Appends up to `max` items to `out`, highest class first, following
    /// the schedule; returns how many.
    pub fn pop_burst(&mut self, out: &mut Vec<T>, max: usize) -> usize {
        let mut taken = 0;
        match self.schedule {
            Schedule::Strict => {
                for ring in self.rings.iter_mut().rev() {
                    if taken == max {
                        break;
                    }
                    taken += ring.pop_burst(out, max - taken);
                }
            }
            Schedule::Weighted(weights) => loop {
                let before = taken;
                for (class, ring) in self.rings.iter_mut().enumerate().rev() {
                    if taken == max {
                        return taken;
                    }
                    let quantum = (weights[class] as usize).min(max - taken);
                    taken += ring.pop_burst(out, quantum);
                }
                if taken == before || taken == max {
                    return taken;
                }
            },
        }
        taken
    }

    /// Counters per class, indexed by class.
    pub fn stats(&self) -> Vec<RingStats> {
        self.rings.iter().map(Consumer::stats).collect()
    }

    /// The number of classes.
    pub fn classes(&self) -> usize {
        self.rings.len()
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    #[test]
    fn strict_table_follows_8021q() {
        let m8 = PriorityMap::strict(8).unwrap();
        // Background (1) is the lowest class, best effort (0) just above it.
        assert_eq!(m8.class_of(1), 0);
        assert_eq!(m8.class_of(0), 1);
        assert_eq!(m8.class_of(7), 7);
        let m1 = PriorityMap::strict(1).unwrap();
        assert!((0..8).all(|p| m1.class_of(p) == 0));
        let m2 = PriorityMap::strict(2).unwrap();
        assert_eq!(
            (0..8).map(|p| m2.class_of(p)).collect::<Vec<_>>(),
            [0, 0, 0, 0, 1, 1, 1, 1]
        );
        // Every table maps into range, and higher priorities never map lower (except BK/BE).
        for n in 1..=8 {
            let m = PriorityMap::strict(n).unwrap();
            assert!((0..=255u8).all(|p| m.class_of(p) < n));
            assert!((2..7u8).all(|p| m.class_of(p) <= m.class_of(p + 1)));
        }
    }

    #[test]
    fn bad_sets_are_errors() {
        assert_eq!(PriorityMap::strict(0), Err(ClassError::NoClasses));
        assert_eq!(PriorityMap::strict(9), Err(ClassError::TooManyClasses(9)));
        assert!(matches!(
            PriorityMap::from_table([0, 0, 0, 0, 0, 0, 0, 3], 3),
            Err(ClassError::BadMapping {
                priority: 7,
                class: 3,
                classes: 3
            })
        ));
        let map = PriorityMap::strict(2).unwrap();
        assert!(matches!(
            class_set::<u8>(map, 3, Schedule::Strict),
            Err(ClassError::Capacity(_))
        ));
        assert!(matches!(
            class_set::<u8>(map, 4, Schedule::Weighted([1, 0, 1, 1, 1, 1, 1, 1])),
            Err(ClassError::BadWeights)
        ));
        assert!(ClassError::TooManyClasses(9)
            .to_string()
            .contains("at most 8"));
    }

    #[test]
    fn strict_drains_higher_classes_first() {
        let map = PriorityMap::strict(8).unwrap();
        let (mut tx, mut rx) = class_set::<(u8, u32)>(map, 64, Schedule::Strict).unwrap();
        for i in 0..10u32 {
            for p in 0..8u8 {
                tx.push((p, i), p).unwrap();
            }
        }
        let mut out = Vec::new();
        assert_eq!(rx.pop_burst(&mut out, 80), 80);
        let classes: Vec<usize> = out.iter().map(|&(p, _)| map.class_of(p)).collect();
        assert!(
            classes.windows(2).all(|w| w[0] >= w[1]),
            "classes in descending order"
        );
        let stats = tx.stats();
        assert!(stats.iter().all(|s| s.enqueued == 10 && s.dequeued == 10));
    }

    #[test]
    fn weighted_serves_every_class_each_round() {
        let map = PriorityMap::strict(2).unwrap();
        let weights = [1, 3, 0, 0, 0, 0, 0, 0];
        let (mut tx, mut rx) = class_set::<u8>(map, 64, Schedule::Weighted(weights)).unwrap();
        for _ in 0..20 {
            tx.push_class(0, 0).unwrap();
            tx.push_class(1, 1).unwrap();
        }
        let mut out = Vec::new();
        assert_eq!(rx.pop_burst(&mut out, 8), 8);
        assert_eq!(out, [1, 1, 1, 0, 1, 1, 1, 0]);
        // Strict would have starved class 0 for this burst.
        let (mut tx, mut rx) = class_set::<u8>(map, 64, Schedule::Strict).unwrap();
        for _ in 0..20 {
            tx.push_class(0, 0).unwrap();
            tx.push_class(1, 1).unwrap();
        }
        out.clear();
        rx.pop_burst(&mut out, 8);
        assert!(out.iter().all(|&c| c == 1));
    }

    #[test]
    fn class_numbers_are_clamped() {
        let map = PriorityMap::strict(2).unwrap();
        let (mut tx, mut rx) = class_set::<u8>(map, 4, Schedule::Strict).unwrap();
        tx.push_class(9, 200).unwrap();
        tx.push(7, 255).unwrap();
        let mut out = Vec::new();
        assert_eq!(rx.pop_burst(&mut out, 4), 2);
        assert_eq!(rx.stats()[1].dequeued, 2);
    }
}

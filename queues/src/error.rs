//! Error values. Each is sized to the caller's decision: a refused item is
//! handed back inside the error, so nothing is ever lost or leaked.

use core::fmt;

/// The largest capacity a ring accepts: 2^30 slots.
pub const MAX_CAPACITY: usize = 1 << 30;

/// A ring capacity that cannot be built.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CapacityError {
    /// A ring of zero slots.
    Zero,
    /// Capacities are powers of two, so an index is masked rather than divided.
    NotPowerOfTwo(usize),
    /// More than [`MAX_CAPACITY`] slots, or more memory than the address space holds.
    TooLarge {
        /// The capacity asked for.
        requested: usize,
        /// The largest capacity accepted.
        max: usize,
    },
}

impl fmt::Display for CapacityError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Zero => f.write_str("ring capacity must not be zero"),
            Self::NotPowerOfTwo(n) => write!(
                f,
                "ring capacity {n} is not a power of two (try {})",
                n.checked_next_power_of_two().unwrap_or(MAX_CAPACITY)
            ),
            Self::TooLarge { requested, max } => {
                write!(
                    f,
                    "ring capacity {requested} is larger than the maximum {max}"
                )
            }
        }
    }
}

impl std::error::Error for CapacityError {}

/// Checks a requested capacity for elements of `elem_size` bytes.
pub(crate) fn check_capacity(capacity: usize, elem_size: usize) -> Result<(), CapacityError> {
    if capacity == 0 {
        return Err(CapacityError::Zero);
    }
    if !capacity.is_power_of_two() {
        return Err(CapacityError::NotPowerOfTwo(capacity));
    }
    let too_large = CapacityError::TooLarge {
        requested: capacity,
        max: MAX_CAPACITY,
    };
    if capacity > MAX_CAPACITY {
        return Err(too_large);
    }
    match capacity.checked_mul(elem_size) {
        Some(bytes) if bytes <= isize::MAX as usize => Ok(()),
        _ => Err(too_large),
    }
}

/// A single enqueue was refused because the ring was full; the item is handed back.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Full<T>(pub T);

impl<T> Full<T> {
    /// Takes the refused item back.
    pub fn into_inner(self) -> T {
        self.0
    }
}

impl<T> fmt::Debug for Full<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Full(..)")
    }
}

impl<T> fmt::Display for Full<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ring is full")
    }
}

impl<T> std::error::Error for Full<T> {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn capacities_are_checked() {
        assert_eq!(check_capacity(0, 8), Err(CapacityError::Zero));
        assert_eq!(check_capacity(3, 8), Err(CapacityError::NotPowerOfTwo(3)));
        assert!(matches!(
            check_capacity(1 << 31, 1),
            Err(CapacityError::TooLarge { .. })
        ));
        assert!(matches!(
            check_capacity(1 << 30, usize::MAX / 4),
            Err(CapacityError::TooLarge { .. })
        ));
        assert_eq!(check_capacity(1, 8), Ok(()));
        assert_eq!(check_capacity(1024, 0), Ok(()));
        assert!(CapacityError::NotPowerOfTwo(1000)
            .to_string()
            .contains("1024"));
    }
}

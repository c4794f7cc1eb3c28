//! The reference relying party and its deliberate faults.

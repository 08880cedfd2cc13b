//! The bundled component families. Each module documents its density, statistics, M-step and
//! the degenerate cases of the M-step.

pub mod bernoulli;
pub mod exponential;
pub mod gaussian;
pub mod geometric;
pub mod poisson;
pub mod zero_inflated;

/// ½ log 2π.
pub(crate) const HALF_LN_2PI: f64 = 0.918_938_533_204_672_8;

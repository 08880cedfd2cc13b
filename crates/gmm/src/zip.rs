//! The zero-inflated Poisson model (work in progress).

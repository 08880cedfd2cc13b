//! # mixture
//!
//! Finite mixtures whose components are pluggable distribution families (work in progress).

#![warn(missing_docs)]

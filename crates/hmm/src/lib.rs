//! # hmm
//!
//! Hidden Markov models fitted by Baum–Welch (work in progress).

#![warn(missing_docs)]

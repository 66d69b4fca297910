//! Integration tests of coinrs-core through its public API: every reject reason of
//! PROTOCOL.md §4, the order of the rules, encodings against hostile input, and fixed vectors
//! computed outside Rust (tests/data).

mod encoding;
mod fixture;
mod rejects;
mod vectors;

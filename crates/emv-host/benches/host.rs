//! Issuer host benchmarks (written below).
fn main() {}

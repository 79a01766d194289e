//! Fuzz target: see `harness::glob_rules`.
#![no_main]

#[path = "../harness.rs"]
mod harness;

libfuzzer_sys::fuzz_target!(|data: &[u8]| harness::glob_rules(data));

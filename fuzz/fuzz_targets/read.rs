//! Arbitrary bytes as an audit log file: every layout (lines, arrays, back-to-back objects,
//! event lists), every wrapper format, bad lines of every kind.
#![no_main]

mod common;

libfuzzer_sys::fuzz_target!(|data: &[u8]| common::read_both_ways(data));

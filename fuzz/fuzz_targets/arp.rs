//! libFuzzer target `arp`: see `strata_fuzz::arp`.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| strata_fuzz::arp(data));

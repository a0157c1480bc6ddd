//! libFuzzer target `tcp`: see `strata_fuzz::tcp`.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| strata_fuzz::tcp(data));

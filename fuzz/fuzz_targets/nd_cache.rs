//! libFuzzer target `nd_cache`: see `strata_fuzz::nd_cache`.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| strata_fuzz::nd_cache(data));

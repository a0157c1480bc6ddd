//! libFuzzer target `ipv4`: see `strata_fuzz::ipv4`.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| strata_fuzz::ipv4(data));

//! libFuzzer target `ipv6`: see `strata_fuzz::ipv6`.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| strata_fuzz::ipv6(data));

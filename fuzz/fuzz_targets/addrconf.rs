//! libFuzzer target `addrconf`: see `strata_fuzz::addrconf`.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| strata_fuzz::addrconf(data));

//! libFuzzer target `mld_listener`: see `strata_fuzz::mld_listener`.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| strata_fuzz::mld_listener(data));

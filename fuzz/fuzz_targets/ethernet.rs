//! libFuzzer target `ethernet`: see `strata_fuzz::ethernet`.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| strata_fuzz::ethernet(data));

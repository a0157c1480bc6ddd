//! libFuzzer target `reassembly`: see `strata_fuzz::reassembly`.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| strata_fuzz::reassembly(data));

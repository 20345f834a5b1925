//! --proto json --json-framing length: a 4-byte length, then the object.
//! Every check is in src/lib.rs.

#![no_main]

use libfuzzer_sys::fuzz_target;
use socklab::framing::{JsonFraming, Proto, Role};
use socklab_fuzz::{Target, check};

const TARGET: Target = Target::new(Proto::Json, JsonFraming::Length, Role::Server);

fuzz_target!(|data: &[u8]| check(TARGET, data));

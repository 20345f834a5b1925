//! --proto telnet: RFC 854 commands and subnegotiations in the data.
//! Every check is in src/lib.rs.

#![no_main]

use libfuzzer_sys::fuzz_target;
use socklab::framing::{JsonFraming, Proto, Role};
use socklab_fuzz::{Target, check};

const TARGET: Target = Target::new(Proto::Telnet, JsonFraming::Newline, Role::Server);

fuzz_target!(|data: &[u8]| check(TARGET, data));

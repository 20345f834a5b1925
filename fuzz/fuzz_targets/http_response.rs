//! --proto http as a client: responses, to GET, HEAD and CONNECT (see SENT in src/lib.rs).
//! Every check is in src/lib.rs.

#![no_main]

use libfuzzer_sys::fuzz_target;
use socklab::framing::{JsonFraming, Proto, Role};
use socklab_fuzz::{Target, check};

const TARGET: Target = Target::new(Proto::Http, JsonFraming::Newline, Role::Client);

fuzz_target!(|data: &[u8]| check(TARGET, data));

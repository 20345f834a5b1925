//! SCRAM interop with an independent implementation: ~30 lines of Python
//! built only on its standard library (hashlib.pbkdf2_hmac, hmac), as the
//! client against our server and as the server against our client, for
//! SHA-1 and SHA-256. Our RFC vector tests prove we match the RFC's text;
//! these prove we match someone else's reading of it, with random nonces
//! and salts every run.
//!
//! The two processes trade SCRAM messages as base64 lines on stdin/stdout,
//! the way XMPP carries them in <auth/>, <challenge/>, <response/>, <success/>.

mod util;

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{Receiver, channel};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

use socklab::chat::sasl::{
    Condition, Credentials, DEFAULT_ITERATIONS, Mechanism, ScramClient, ScramError, ScramHash,
    ServerExchange, ServerSettings, Step,
};
use util::{DEADLINE, require};

const CLIENT: &str = r#"
import base64, hashlib, hmac, os, sys
h, user, pw = sys.argv[1], sys.argv[2], sys.argv[3].encode()
def send(text): print(base64.b64encode(text.encode()).decode(), flush=True)
def recv(): return base64.b64decode(sys.stdin.readline()).decode()
cnonce = base64.b64encode(os.urandom(18)).decode()
bare = "n=%s,r=%s" % (user.replace("=", "=3D").replace(",", "=2C"), cnonce)
send("n,," + bare)
first = recv()
a = dict(kv.split("=", 1) for kv in first.split(","))
assert a["r"].startswith(cnonce) and len(a["r"]) > len(cnonce), first
salted = hashlib.pbkdf2_hmac(h, pw, base64.b64decode(a["s"]), int(a["i"]))
client_key = hmac.new(salted, b"Client Key", h).digest()
stored_key = hashlib.new(h, client_key).digest()
without_proof = "c=biws,r=" + a["r"]
auth = ",".join([bare, first, without_proof]).encode()
signature = hmac.new(stored_key, auth, h).digest()
proof = bytes(x ^ y for x, y in zip(client_key, signature))
send(without_proof + ",p=" + base64.b64encode(proof).decode())
server_key = hmac.new(salted, b"Server Key", h).digest()
expected = "v=" + base64.b64encode(hmac.new(server_key, auth, h).digest()).decode()
final = recv()
print("ok" if final == expected else "refused: " + (final or "no server-final"), flush=True)
"#;

const SERVER: &str = r#"
import base64, hashlib, hmac, os, sys
h, user, pw, rogue = sys.argv[1], sys.argv[2], sys.argv[3].encode(), sys.argv[4] == "rogue"
def send(text): print(base64.b64encode(text.encode()).decode(), flush=True)
def recv(): return base64.b64decode(sys.stdin.readline()).decode()
b64 = lambda b: base64.b64encode(b).decode()
client_first = recv()
assert client_first.startswith("n,,"), client_first
bare = client_first[3:]
a = dict(kv.split("=", 1) for kv in bare.split(","))
assert a["n"] == user, bare
nonce, salt = a["r"] + b64(os.urandom(18)), os.urandom(16)
first = "r=%s,s=%s,i=4096" % (nonce, b64(salt))
send(first)
final = recv()
without_proof, proof = final.rsplit(",p=", 1)
assert without_proof == "c=biws,r=" + nonce, final
salted = hashlib.pbkdf2_hmac(h, pw, salt, 4096)
stored_key = hashlib.new(h, hmac.new(salted, b"Client Key", h).digest()).digest()
auth = ",".join([bare, first, without_proof]).encode()
signature = hmac.new(stored_key, auth, h).digest()
client_key = bytes(x ^ y for x, y in zip(base64.b64decode(proof), signature))
if not hmac.compare_digest(hashlib.new(h, client_key).digest(), stored_key):
    send("e=invalid-proof")
elif rogue:
    send("v=" + b64(os.urandom(len(stored_key))))
else:
    send("v=" + b64(hmac.new(hmac.new(salted, b"Server Key", h).digest(), auth, h).digest()))
"#;

/// A Python process whose stdout lines arrive through a channel, so every
/// read is bounded by DEADLINE.
struct Python {
    child: Child,
    stdin: Option<ChildStdin>,
    lines: Receiver<String>,
}

impl Python {
    fn start(script: &str, args: &[&str]) -> Python {
        require("python3");
        let mut child = Command::new("python3")
            .arg("-c")
            .arg(script)
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("start python3");
        let stdout = child.stdout.take().expect("stdout");
        let (tx, lines) = channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                let _ = tx.send(line);
            }
        });
        let stdin = child.stdin.take();
        Python {
            child,
            stdin,
            lines,
        }
    }

    fn line(&self) -> String {
        self.lines
            .recv_timeout(DEADLINE)
            .expect("python said nothing (its traceback is on stderr above)")
    }

    fn recv(&self) -> Vec<u8> {
        STANDARD.decode(self.line()).expect("python sends base64")
    }

    fn send(&mut self, data: &[u8]) {
        let stdin = self.stdin.as_mut().expect("stdin open");
        writeln!(stdin, "{}", STANDARD.encode(data)).expect("write to python");
    }

    /// Closes stdin (python's readline then returns "") and waits for exit.
    fn finish(mut self) {
        self.stdin = None;
        let status = self.child.wait().expect("wait for python");
        assert!(status.success(), "python exited with {status}");
    }
}

fn python_hash(hash: ScramHash) -> &'static str {
    match hash {
        ScramHash::Sha1 => "sha1",
        ScramHash::Sha256 => "sha256",
    }
}

/// The python client logs in to our server as alice with `password`.
/// Returns the server's last step and what python made of it.
fn python_client_against_our_server(hash: ScramHash, password: &str) -> (Step, String) {
    let creds = Credentials::derive(&"pencil".into(), DEFAULT_ITERATIONS).expect("derive");
    let mut py = Python::start(CLIENT, &[python_hash(hash), "alice", password]);
    let settings = ServerSettings::new("example.org");
    let first = py.recv();
    let (mut server, step) = ServerExchange::start(&settings, Mechanism::Scram(hash), Some(&first));
    assert!(
        matches!(&step, Step::NeedCredentials { username } if username == "alice"),
        "{step:?}"
    );
    let Step::Challenge(server_first) = server.credentials(Some(creds)) else {
        panic!("no server-first")
    };
    py.send(&server_first);
    let step = server.respond(&py.recv());
    if let Step::Success {
        additional: Some(v),
        ..
    } = &step
    {
        py.send(v);
    }
    py.stdin = None; // on failure: no server-final, python reads ""
    let verdict = py.line();
    py.finish();
    (step, verdict)
}

#[test]
fn a_python_scram_client_logs_in_to_our_server_with_sha1_and_sha256() {
    for hash in [ScramHash::Sha1, ScramHash::Sha256] {
        let (step, verdict) = python_client_against_our_server(hash, "pencil");
        assert!(
            matches!(&step, Step::Success { username, .. } if username == "alice"),
            "{step:?}"
        );
        assert_eq!(
            verdict, "ok",
            "python checked our server signature ({hash:?})"
        );
    }
}

#[test]
fn a_python_scram_client_with_the_wrong_password_is_refused() {
    for hash in [ScramHash::Sha1, ScramHash::Sha256] {
        let (step, verdict) = python_client_against_our_server(hash, "pencil2");
        let Step::Failure(f) = step else {
            panic!("{step:?}")
        };
        assert_eq!(f.condition, Condition::NotAuthorized);
        assert_eq!(verdict, "refused: no server-final");
    }
}

/// Our client logs in to the python server, which knows `server_password`.
fn our_client_against_python_server(
    hash: ScramHash,
    server_password: &str,
    mode: &str,
) -> Result<(), ScramError> {
    let mut py = Python::start(SERVER, &[python_hash(hash), "alice", server_password, mode]);
    let mut client = ScramClient::new(hash, "alice", "pencil").expect("client");
    py.send(&client.client_first());
    let client_final = client.client_final(&py.recv())?;
    py.send(&client_final);
    let result = client.verify_server_final(&py.recv());
    py.finish();
    result
}

#[test]
fn our_scram_client_logs_in_to_a_python_server_with_sha1_and_sha256() {
    for hash in [ScramHash::Sha1, ScramHash::Sha256] {
        assert_eq!(
            our_client_against_python_server(hash, "pencil", "honest"),
            Ok(())
        );
        let wrong = our_client_against_python_server(hash, "other", "honest");
        assert_eq!(wrong, Err(ScramError::ServerError("invalid-proof".into())));
    }
}

#[test]
fn our_scram_client_catches_a_python_server_that_fakes_its_signature() {
    for hash in [ScramHash::Sha1, ScramHash::Sha256] {
        let rogue = our_client_against_python_server(hash, "pencil", "rogue");
        assert_eq!(rogue, Err(ScramError::ServerSignature));
    }
}

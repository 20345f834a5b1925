//! What the server stores instead of a password: SCRAM's salted keys.
//!
//! SCRAM (RFC 5802 §3) lets a server check a password it never keeps:
//!
//! ```text
//! SaltedPassword = Hi(password, salt, i)        PBKDF2: i rounds, slow on purpose
//! ClientKey      = HMAC(SaltedPassword, "Client Key")
//! StoredKey      = H(ClientKey)                 stored
//! ServerKey      = HMAC(SaltedPassword, "Server Key")   stored
//! ```
//!
//! A stolen database gives StoredKey, which is a hash of ClientKey: enough
//! to check a login, not enough to make one. One salt and one iteration
//! count serve both hashes, so an account works with SCRAM-SHA-1 and
//! SCRAM-SHA-256 alike. PLAIN is checked against the SHA-256 keys by running
//! the same derivation on the password it receives.
//!
//! [`Credentials::derive`] and [`verify_plain`] run PBKDF2 and take
//! milliseconds by design: the server calls them on a worker thread.

use std::fmt;

use super::hash::{self, ScramHash};
use super::secret::Secret;

/// RFC 7677 §4: "the hash iteration-count ... SHOULD be at least 4096".
pub const DEFAULT_ITERATIONS: u32 = 4096;
/// Fewer rounds than this make offline guessing cheap; clients refuse it.
pub const MIN_ITERATIONS: u32 = 1000;
/// More than this would let a server (or a forged server-first) keep a
/// client busy for minutes; clients refuse it.
pub const MAX_ITERATIONS: u32 = 10_000_000;
/// Bytes of random salt for a new account.
pub const SALT_LEN: usize = 16;

/// The two keys SCRAM keeps for one hash.
#[derive(Clone, PartialEq, Eq)]
pub struct ScramKeys {
    /// `H(ClientKey)`: checks the client's proof.
    pub stored_key: Vec<u8>,
    /// `HMAC(SaltedPassword, "Server Key")`: signs the server's final message.
    pub server_key: Vec<u8>,
}

impl ScramKeys {
    /// The keys from a SaltedPassword (RFC 5802 §3).
    pub fn from_salted(hash: ScramHash, salted: &[u8]) -> ScramKeys {
        let client_key = hash.hmac(salted, b"Client Key");
        ScramKeys {
            stored_key: hash.h(&client_key),
            server_key: hash.hmac(salted, b"Server Key"),
        }
    }
}

impl fmt::Debug for ScramKeys {
    /// Lengths only: with StoredKey and one overheard exchange, anyone can
    /// recover ClientKey and log in, so the keys deserve the password's care.
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        write!(
            f,
            "ScramKeys {{ stored_key: <{} bytes>, server_key: <{} bytes> }}",
            self.stored_key.len(),
            self.server_key.len()
        )
    }
}

/// One account's stored credentials.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Credentials {
    pub salt: Vec<u8>,
    pub iterations: u32,
    pub sha1: ScramKeys,
    pub sha256: ScramKeys,
}

/// Why credentials could not be derived.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeriveError(pub String);

impl fmt::Display for DeriveError {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for DeriveError {}

impl Credentials {
    /// New credentials with a fresh random salt. Slow (two PBKDF2 runs):
    /// call it on a worker thread. `iterations` must be within
    /// [`MIN_ITERATIONS`]..=[`MAX_ITERATIONS`]; [`DEFAULT_ITERATIONS`] is
    /// what RFC 7677 recommends.
    pub fn derive(password: &Secret, iterations: u32) -> Result<Credentials, DeriveError> {
        let salt = hash::random_bytes(SALT_LEN)
            .map_err(|e| DeriveError(format!("the system's random source failed: {e}")))?;
        Credentials::from_salt(password, &salt, iterations)
    }

    /// Credentials for a given salt: for tests (RFC vectors) and for
    /// importing accounts from another server.
    pub fn from_salt(
        password: &Secret,
        salt: &[u8],
        iterations: u32,
    ) -> Result<Credentials, DeriveError> {
        if !(MIN_ITERATIONS..=MAX_ITERATIONS).contains(&iterations) {
            return Err(DeriveError(format!(
                "{iterations} iterations is outside {MIN_ITERATIONS}..={MAX_ITERATIONS}: \
                 clients refuse such counts, so nobody could log in"
            )));
        }
        if salt.is_empty() {
            return Err(DeriveError("the salt is empty".into()));
        }
        let pw = password.expose().as_bytes();
        let keys =
            |h: ScramHash| ScramKeys::from_salted(h, &h.salted_password(pw, salt, iterations));
        Ok(Credentials {
            salt: salt.to_vec(),
            iterations,
            sha1: keys(ScramHash::Sha1),
            sha256: keys(ScramHash::Sha256),
        })
    }

    /// The keys for one hash.
    pub fn keys(&self, hash: ScramHash) -> &ScramKeys {
        match hash {
            ScramHash::Sha1 => &self.sha1,
            ScramHash::Sha256 => &self.sha256,
        }
    }
}

/// Checks a PLAIN password against stored credentials: derive StoredKey from
/// the password with the account's salt and count, compare in constant time.
/// Slow (one PBKDF2 run): call it on a worker thread.
///
/// `None` (no such user) runs the same PBKDF2 on a dummy salt with
/// `unknown_iterations` (pass the count new accounts get) and returns false,
/// so the answer takes as long as for a real user with a wrong password.
pub fn verify_plain(
    creds: Option<&Credentials>,
    password: &Secret,
    unknown_iterations: u32,
) -> bool {
    let hash = ScramHash::Sha256;
    let pw = password.expose().as_bytes();
    match creds {
        Some(c) => {
            let salted = hash.salted_password(pw, &c.salt, c.iterations);
            let keys = ScramKeys::from_salted(hash, &salted);
            hash::ct_eq(&keys.stored_key, &c.sha256.stored_key)
        }
        None => {
            let rounds = unknown_iterations.clamp(1, MAX_ITERATIONS);
            let salted = hash.salted_password(pw, &[0; SALT_LEN], rounds);
            std::hint::black_box(ScramKeys::from_salted(hash, &salted));
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_password_verifies_against_derived_credentials() {
        let c = Credentials::derive(&"pencil".into(), DEFAULT_ITERATIONS).unwrap();
        assert_eq!(c.salt.len(), SALT_LEN);
        assert!(verify_plain(Some(&c), &"pencil".into(), 4096));
        assert!(!verify_plain(Some(&c), &"pencil2".into(), 4096));
        assert!(!verify_plain(None, &"pencil".into(), 4096));
    }

    #[test]
    fn two_derivations_use_different_salts() {
        let a = Credentials::derive(&"pencil".into(), MIN_ITERATIONS).unwrap();
        let b = Credentials::derive(&"pencil".into(), MIN_ITERATIONS).unwrap();
        assert_ne!(a.salt, b.salt);
        assert_ne!(a.sha256, b.sha256);
    }

    #[test]
    fn iteration_counts_outside_the_range_are_refused() {
        for i in [0, 999, MAX_ITERATIONS + 1] {
            let e = Credentials::from_salt(&"x".into(), b"salt", i).unwrap_err();
            assert!(e.0.contains(&i.to_string()), "{e}");
        }
    }

    #[test]
    fn debug_never_shows_key_bytes() {
        let c = Credentials::from_salt(&"pencil".into(), b"salt", 1000).unwrap();
        let text = format!("{c:?}");
        assert!(
            text.contains("<32 bytes>") && text.contains("<20 bytes>"),
            "{text}"
        );
    }
}

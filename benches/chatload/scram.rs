//! SCRAM-SHA-1 (RFC 5802) from the client's side, for thousands of logins.
//!
//! The expensive step of SCRAM is the client's: `SaltedPassword =
//! Hi(password, salt, i)`, i rounds of HMAC, a few milliseconds. Real
//! clients pay it once per account and cache the result (RFC 5802 §5.1
//! allows it); here every account has the same password and salt (the bench
//! derives its credentials once), so one cache entry serves every session
//! and the generator stays far cheaper than the server it measures. The
//! server's side of SCRAM needs no PBKDF2 at all: it keeps StoredKey.
//!
//! socklab's own `ScramClient` recomputes `Hi` on every login, which is
//! right for a chat client and wrong for a load generator.

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use hmac::{Hmac, KeyInit, Mac};
use sha1::{Digest, Sha1};

/// SaltedPassword by (salt, iteration count).
pub type SaltCache = Rc<RefCell<HashMap<(Vec<u8>, u32), Vec<u8>>>>;

pub struct ScramSha1 {
    first_bare: String,
    nonce: String,
    cache: SaltCache,
}

fn hmac(key: &[u8], data: &[u8]) -> Vec<u8> {
    // HMAC accepts a key of any length (RFC 2104 §2): this cannot fail.
    Hmac::<Sha1>::new_from_slice(key)
        .map(|m| m.chain_update(data).finalize().into_bytes().to_vec())
        .unwrap_or_default()
}

impl ScramSha1 {
    pub fn new(user: &str, cache: SaltCache) -> ScramSha1 {
        let mut bytes = [0u8; 18];
        let _ = getrandom::fill(&mut bytes);
        let nonce = B64.encode(bytes);
        ScramSha1 {
            first_bare: format!("n={user},r={nonce}"),
            nonce,
            cache,
        }
    }

    /// `n,,n=USER,r=NONCE`.
    pub fn client_first(&mut self) -> Vec<u8> {
        format!("n,,{}", self.first_bare).into_bytes()
    }

    /// `c=biws,r=NONCE,p=PROOF`, from the server-first message.
    pub fn client_final(&mut self, server_first: &[u8], password: &str) -> Result<Vec<u8>, String> {
        let text = std::str::from_utf8(server_first).map_err(|e| e.to_string())?;
        let attr = |k: &str| {
            text.split(',')
                .find_map(|a| a.strip_prefix(k))
                .ok_or(format!("server-first without {k}: {text}"))
        };
        let nonce = attr("r=")?;
        if !nonce.starts_with(&self.nonce) {
            return Err(format!("server-first nonce does not extend ours: {text}"));
        }
        let salt = B64.decode(attr("s=")?).map_err(|e| e.to_string())?;
        let rounds: u32 = attr("i=")?.parse().map_err(|e| format!("i=: {e}"))?;
        let salted = self
            .cache
            .borrow_mut()
            .entry((salt.clone(), rounds))
            .or_insert_with(|| {
                let mut out = vec![0; 20];
                pbkdf2::pbkdf2_hmac::<Sha1>(password.as_bytes(), &salt, rounds, &mut out);
                out
            })
            .clone();
        let client_key = hmac(&salted, b"Client Key");
        let stored_key = Sha1::digest(&client_key);
        let without_proof = format!("c=biws,r={nonce}");
        let auth_message = format!("{},{text},{without_proof}", self.first_bare);
        let signature = hmac(&stored_key, auth_message.as_bytes());
        let proof: Vec<u8> = client_key
            .iter()
            .zip(&signature)
            .map(|(a, b)| a ^ b)
            .collect();
        Ok(format!("{without_proof},p={}", B64.encode(proof)).into_bytes())
    }
}

//! The three primitives SCRAM is built from, for each hash it can use:
//! `H` (a hash), `HMAC` (a keyed hash) and `Hi` (PBKDF2 with HMAC), plus the
//! constant-time comparison and the random bytes for nonces and salts.
//!
//! They come from RustCrypto's `sha1`, `sha2`, `hmac` and `pbkdf2` crates,
//! not from hand-written code: a one-bit slip in a home-made SHA-256 would
//! still "work" between our own client and server and fail against every
//! other implementation. RFC 5802 §2.2 names the functions this file mirrors.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, KeyInit, Mac};
use sha1::Sha1;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// The hash inside a SCRAM mechanism: SCRAM-SHA-1 (RFC 5802) or
/// SCRAM-SHA-256 (RFC 7677). The steps are identical; only sizes differ.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ScramHash {
    Sha1,
    Sha256,
}

impl ScramHash {
    /// The SASL mechanism name: `SCRAM-SHA-1`, `SCRAM-SHA-256`.
    pub fn mechanism(self) -> &'static str {
        match self {
            ScramHash::Sha1 => "SCRAM-SHA-1",
            ScramHash::Sha256 => "SCRAM-SHA-256",
        }
    }

    /// Bytes in one output: 20 for SHA-1, 32 for SHA-256 (the size of every
    /// key, proof and signature in the exchange).
    pub fn size(self) -> usize {
        match self {
            ScramHash::Sha1 => 20,
            ScramHash::Sha256 => 32,
        }
    }

    /// `H(data)`.
    pub(crate) fn h(self, data: &[u8]) -> Vec<u8> {
        match self {
            ScramHash::Sha1 => Sha1::digest(data).to_vec(),
            ScramHash::Sha256 => Sha256::digest(data).to_vec(),
        }
    }

    /// `HMAC(key, data)`.
    pub(crate) fn hmac(self, key: &[u8], data: &[u8]) -> Vec<u8> {
        // HMAC takes a key of any length (long keys are hashed first, RFC
        // 2104 §2), so `new_from_slice` cannot fail for these two types; the
        // empty vector is unreachable and would only make a proof not match.
        match self {
            ScramHash::Sha1 => Hmac::<Sha1>::new_from_slice(key)
                .map(|m| m.chain_update(data).finalize().into_bytes().to_vec())
                .unwrap_or_default(),
            ScramHash::Sha256 => Hmac::<Sha256>::new_from_slice(key)
                .map(|m| m.chain_update(data).finalize().into_bytes().to_vec())
                .unwrap_or_default(),
        }
    }

    /// `Hi(password, salt, i)`: PBKDF2 with this HMAC, one block long. This
    /// is the deliberately slow step (i rounds of HMAC): run it off the
    /// event loop.
    pub(crate) fn salted_password(self, password: &[u8], salt: &[u8], i: u32) -> Vec<u8> {
        let mut out = vec![0; self.size()];
        match self {
            ScramHash::Sha1 => pbkdf2::pbkdf2_hmac::<Sha1>(password, salt, i, &mut out),
            ScramHash::Sha256 => pbkdf2::pbkdf2_hmac::<Sha256>(password, salt, i, &mut out),
        }
        out
    }
}

/// Compares two secrets (keys, proofs, signatures) in time that does not
/// depend on where they first differ, so an attacker timing many attempts
/// learns nothing byte by byte. Lengths are public (they follow the hash).
pub(crate) fn ct_eq(a: &[u8], b: &[u8]) -> bool {
    bool::from(a.ct_eq(b))
}

/// `a XOR b`, byte by byte (ClientProof = ClientKey XOR ClientSignature).
pub(crate) fn xor(a: &[u8], b: &[u8]) -> Vec<u8> {
    a.iter().zip(b).map(|(x, y)| x ^ y).collect()
}

/// `n` bytes from the operating system's random source.
pub(crate) fn random_bytes(n: usize) -> Result<Vec<u8>, getrandom::Error> {
    let mut bytes = vec![0; n];
    getrandom::fill(&mut bytes)?;
    Ok(bytes)
}

/// A fresh nonce: 18 random bytes in base64, so 24 printable characters
/// that never include `,` (RFC 5802 forbids it) and carry 144 bits.
pub(crate) fn nonce() -> Result<String, getrandom::Error> {
    Ok(STANDARD.encode(random_bytes(18)?))
}

pub(crate) fn b64(bytes: &[u8]) -> String {
    STANDARD.encode(bytes)
}

/// Strict base64 (padding required), as SCRAM's `s=`, `c=`, `p=`, `v=` use.
pub(crate) fn unb64(text: &str) -> Option<Vec<u8>> {
    STANDARD.decode(text).ok()
}

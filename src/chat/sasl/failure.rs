//! Why an authentication failed, in RFC 6120's words and in plain ones.
//!
//! XMPP reports a SASL failure as `<failure><not-authorized/></failure>`: a
//! fixed set of condition names (RFC 6120 §6.5) that clients branch on. The
//! condition is for the peer; the `reason` is for the person watching the
//! narration, and says what was wrong and, where it helps, what to do next.
//! A reason never contains a password, and it never says whether a user
//! exists (a wrong password and an unknown user read the same).

use std::fmt;

/// RFC 6120 §6.5 failure conditions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Condition {
    /// §6.5.1: the client sent `<abort/>`.
    Aborted,
    /// §6.5.2: the account exists but is switched off.
    AccountDisabled,
    /// §6.5.3: the password is right but has expired.
    CredentialsExpired,
    /// §6.5.4: this mechanism is only allowed over TLS.
    EncryptionRequired,
    /// §6.5.5: the base64 around the SASL data was wrong.
    IncorrectEncoding,
    /// §6.5.6: the client asked to act as someone it may not be.
    InvalidAuthzid,
    /// §6.5.7: a mechanism the server does not know or does not offer.
    InvalidMechanism,
    /// §6.5.8: the data breaks the mechanism's syntax.
    MalformedRequest,
    /// §6.5.9: a mechanism weaker than the server's policy allows.
    MechanismTooWeak,
    /// §6.5.10: wrong credentials (also: unknown user; the two look alike).
    NotAuthorized,
    /// §6.5.11: a problem on the server's side; try again later.
    TemporaryAuthFailure,
}

impl Condition {
    /// The element name as it goes on the wire: `not-authorized`.
    pub fn name(self) -> &'static str {
        match self {
            Condition::Aborted => "aborted",
            Condition::AccountDisabled => "account-disabled",
            Condition::CredentialsExpired => "credentials-expired",
            Condition::EncryptionRequired => "encryption-required",
            Condition::IncorrectEncoding => "incorrect-encoding",
            Condition::InvalidAuthzid => "invalid-authzid",
            Condition::InvalidMechanism => "invalid-mechanism",
            Condition::MalformedRequest => "malformed-request",
            Condition::MechanismTooWeak => "mechanism-too-weak",
            Condition::NotAuthorized => "not-authorized",
            Condition::TemporaryAuthFailure => "temporary-auth-failure",
        }
    }
}

/// A failed exchange: the condition for the wire, the reason for people.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    pub condition: Condition,
    pub reason: String,
}

impl Failure {
    pub fn new(condition: Condition, reason: impl Into<String>) -> Failure {
        Failure {
            condition,
            reason: reason.into(),
        }
    }

    pub fn malformed(reason: impl Into<String>) -> Failure {
        Failure::new(Condition::MalformedRequest, reason)
    }

    /// The one answer for a wrong password and for an unknown user alike:
    /// saying which would tell an attacker which usernames exist.
    pub fn wrong_credentials() -> Failure {
        Failure::new(
            Condition::NotAuthorized,
            "wrong username or password (the server does not say which, so that \
             nobody can probe which accounts exist)",
        )
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        write!(f, "{}: {}", self.condition.name(), self.reason)
    }
}

impl std::error::Error for Failure {}

/// The message as text: SCRAM messages are UTF-8 (RFC 5802 §5.1).
pub(crate) fn utf8<'a>(data: &'a [u8], what: &str) -> Result<&'a str, Failure> {
    std::str::from_utf8(data).map_err(|e| {
        Failure::malformed(format!(
            "{what}: not UTF-8 (bad byte at offset {})",
            e.valid_up_to()
        ))
    })
}

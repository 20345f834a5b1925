//! The mechanisms this module speaks, by their SASL names.
//!
//! A server lists what it offers in `<mechanisms/>`; the client answers with
//! one name in `<auth mechanism="..."/>`. RFC 6120 §6.5 gives two ways to
//! refuse a name: `invalid-mechanism` (unknown, or not offered) and
//! `mechanism-too-weak` (known, but policy forbids it, as PLAIN without TLS
//! often is).

use super::failure::{Condition, Failure};
use super::hash::ScramHash;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Mechanism {
    Scram(ScramHash),
    Plain,
    Anonymous,
}

impl Mechanism {
    /// Every mechanism, strongest first: the order to offer them in.
    pub const ALL: [Mechanism; 4] = [
        Mechanism::Scram(ScramHash::Sha256),
        Mechanism::Scram(ScramHash::Sha1),
        Mechanism::Plain,
        Mechanism::Anonymous,
    ];

    /// The SASL name: `SCRAM-SHA-256`, `PLAIN`, `ANONYMOUS`.
    pub fn name(self) -> &'static str {
        match self {
            Mechanism::Scram(h) => h.mechanism(),
            Mechanism::Plain => "PLAIN",
            Mechanism::Anonymous => "ANONYMOUS",
        }
    }

    /// The mechanism with this exact name (SASL names are upper case).
    pub fn from_name(name: &str) -> Option<Mechanism> {
        Mechanism::ALL.into_iter().find(|m| m.name() == name)
    }

    /// Checks a client's choice against what the server offers: unknown or
    /// unoffered names are `invalid-mechanism`, except PLAIN and ANONYMOUS,
    /// which are known but weaker than the offered SCRAM (`mechanism-too-weak`).
    pub fn choose(name: &str, offered: &[Mechanism]) -> Result<Mechanism, Failure> {
        let offer = || {
            offered
                .iter()
                .map(|m| m.name())
                .collect::<Vec<_>>()
                .join(" ")
        };
        match Mechanism::from_name(name) {
            Some(m) if offered.contains(&m) => Ok(m),
            Some(m @ (Mechanism::Plain | Mechanism::Anonymous)) => Err(Failure::new(
                Condition::MechanismTooWeak,
                format!(
                    "{} is not allowed on this server; use one of: {}",
                    m.name(),
                    offer()
                ),
            )),
            _ if name.ends_with("-PLUS") => Err(Failure::new(
                Condition::InvalidMechanism,
                format!(
                    "{name} needs channel binding, which this server does not offer; use one of: {}",
                    offer()
                ),
            )),
            _ => Err(Failure::new(
                Condition::InvalidMechanism,
                format!("'{name}' is not offered here; use one of: {}", offer()),
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_choices_are_checked() {
        for m in Mechanism::ALL {
            assert_eq!(Mechanism::from_name(m.name()), Some(m));
        }
        let offered = [
            Mechanism::Scram(ScramHash::Sha256),
            Mechanism::Scram(ScramHash::Sha1),
        ];
        assert_eq!(Mechanism::choose("SCRAM-SHA-1", &offered), Ok(offered[1]));
        let cases = [
            ("PLAIN", Condition::MechanismTooWeak),
            ("SCRAM-SHA-256-PLUS", Condition::InvalidMechanism),
            ("scram-sha-1", Condition::InvalidMechanism),
            ("DIGEST-MD5", Condition::InvalidMechanism),
        ];
        for (name, condition) in cases {
            let f = Mechanism::choose(name, &offered).unwrap_err();
            assert_eq!(f.condition, condition, "{name}: {f}");
            assert!(f.reason.contains("SCRAM-SHA-256 SCRAM-SHA-1"), "{f}");
        }
    }
}

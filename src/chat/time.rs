//! Timestamps as XMPP writes them (XEP-0082): `2026-11-26T14:43:32.123Z`,
//! always UTC. Offline messages carry one in `<delay stamp='…'/>` so that a
//! client shows when a message was sent, not when it arrived.

use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// Milliseconds since the Unix epoch as an XEP-0082 date-time.
pub fn stamp(ms: i64) -> String {
    let nanos = i128::from(ms) * 1_000_000;
    let Ok(t) = OffsetDateTime::from_unix_timestamp_nanos(nanos) else {
        return "1970-01-01T00:00:00Z".to_string();
    };
    // RFC 3339 with millisecond precision and a Z, as XEP-0082 shows it.
    let t = t
        .replace_nanosecond(t.millisecond() as u32 * 1_000_000)
        .unwrap_or(t);
    t.format(&Rfc3339)
        .unwrap_or_else(|_| "1970-01-01T00:00:00Z".into())
}

/// Parses an XEP-0082 date-time (any offset) to milliseconds since the epoch.
pub fn parse(s: &str) -> Option<i64> {
    let t = OffsetDateTime::parse(s.trim(), &Rfc3339).ok()?;
    i64::try_from(t.unix_timestamp_nanos() / 1_000_000).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stamps_round_trip() {
        assert_eq!(stamp(0), "1970-01-01T00:00:00Z");
        let ms = 1_795_000_000_123;
        assert_eq!(parse(&stamp(ms)), Some(ms));
        assert_eq!(
            parse("2026-11-26T15:43:32+01:00"),
            parse("2026-11-26T14:43:32Z")
        );
        assert_eq!(parse("yesterday"), None);
    }
}

//! What happens to each datagram or chunk in the relay: pure and
//! deterministic.
//!
//! A real bad network is random; a teaching one must be repeatable, so that
//! "with seed 42, datagram #4 is lost" is true on every run and can be
//! checked. The fate of a datagram depends only on the seed, the direction
//! and the datagram's number, never on timing: [`Impairment::fate`] hashes
//! those three into a private random stream (splitmix64) and draws from it in
//! a fixed order.

use std::time::{Duration, Instant};

/// Which way a datagram or chunk travels through the relay.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Dir {
    /// From a client to the target.
    Up,
    /// From the target back to the client.
    Down,
}

impl Dir {
    /// The way back.
    pub fn reverse(self) -> Dir {
        match self {
            Dir::Up => Dir::Down,
            Dir::Down => Dir::Up,
        }
    }
    pub fn arrow(self) -> &'static str {
        match self {
            Dir::Up => "→",
            Dir::Down => "←",
        }
    }
    pub fn name(self) -> &'static str {
        match self {
            Dir::Up => "up",
            Dir::Down => "down",
        }
    }
}

/// The impairments asked for on the command line.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Impairment {
    /// Probabilities, 0.0 to 1.0.
    pub loss: f64,
    pub dup: f64,
    pub reorder: f64,
    pub delay: Duration,
    pub jitter: Duration,
    pub seed: u64,
}

/// The decision for one datagram.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fate {
    Drop,
    Deliver {
        /// 1, or 2 when duplicated.
        copies: u8,
        /// Held back and sent after the next datagram (reordered).
        hold: bool,
        delay: Duration,
    },
}

/// splitmix64: a tiny, well-known generator with good mixing.
fn splitmix(x: &mut u64) -> u64 {
    *x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *x;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// A uniform number in [0, 1).
fn unit(x: &mut u64) -> f64 {
    (splitmix(x) >> 11) as f64 / (1u64 << 53) as f64
}

impl Impairment {
    pub fn is_none(&self) -> bool {
        self.loss == 0.0
            && self.dup == 0.0
            && self.reorder == 0.0
            && self.delay.is_zero()
            && self.jitter.is_zero()
    }

    /// The fate of datagram `number` (from 1) travelling `dir`.
    pub fn fate(&self, dir: Dir, number: u64) -> Fate {
        let salt = match dir {
            Dir::Up => 0x5550,
            Dir::Down => 0xD0D0,
        };
        let mut state = self.seed ^ salt ^ number.wrapping_mul(0x2545_F491_4F6C_DD1D);
        splitmix(&mut state);
        // Every draw happens, in this order, whatever the earlier ones gave,
        // so that changing one probability does not reshuffle the others.
        let lost = unit(&mut state) < self.loss;
        let dup = unit(&mut state) < self.dup;
        let hold = unit(&mut state) < self.reorder;
        let swing = unit(&mut state) * 2.0 - 1.0;
        if lost {
            return Fate::Drop;
        }
        let jitter = self.jitter.as_secs_f64() * swing;
        let seconds = (self.delay.as_secs_f64() + jitter).max(0.0);
        // A delay beyond what Duration holds (10^19 s) is as good as forever.
        let delay = Duration::try_from_secs_f64(seconds).unwrap_or(Duration::MAX);
        Fate::Deliver {
            copies: if dup { 2 } else { 1 },
            hold,
            delay,
        }
    }
}

/// The moment `wait` after `now`, for a delay, a window or an idle timeout.
/// A wait longer than a century is not going to end while the relay runs:
/// it is cut to a century, so that a huge `--delay` can never overflow the
/// clock (`Instant + Duration` panics on overflow).
pub fn deadline(now: Instant, wait: Duration) -> Instant {
    const CENTURY: Duration = Duration::from_secs(100 * 365 * 24 * 3600);
    // Instant counts nanoseconds in an i64 of seconds: a century always fits.
    now.checked_add(wait.min(CENTURY)).unwrap_or(now)
}

/// Parses a percentage: `30%`, `30`, `2.5%`.
pub fn parse_percent(s: &str) -> Result<f64, String> {
    let number = s.trim().trim_end_matches('%');
    let value: f64 = number
        .parse()
        .map_err(|_| format!("{s:?} is not a percentage: write it like 30% or 2.5%"))?;
    if !(0.0..=100.0).contains(&value) || s.trim().starts_with('-') {
        return Err(format!("{s}: a probability is between 0% and 100%"));
    }
    Ok(value / 100.0)
}

/// Parses a delay with optional jitter: `50ms`, `50ms±20ms`, `50ms+-20ms`.
pub fn parse_delay(s: &str) -> Result<(Duration, Duration), String> {
    if s.trim_start().starts_with('-') {
        return Err(format!(
            "{s}: a delay cannot be negative (the relay cannot send before it receives)"
        ));
    }
    let (base, jitter) = match s.split_once('±').or_else(|| s.split_once("+-")) {
        Some((b, j)) => (b, Some(j)),
        None => (s, None),
    };
    let base = crate::units::parse_duration(base)?;
    let jitter = jitter
        .map(crate::units::parse_duration)
        .transpose()?
        .unwrap_or_default();
    Ok((base, jitter))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lossy(seed: u64) -> Impairment {
        Impairment {
            loss: 0.3,
            dup: 0.05,
            reorder: 0.1,
            seed,
            ..Impairment::default()
        }
    }

    #[test]
    fn the_same_seed_gives_the_same_fates() {
        let a: Vec<Fate> = (1..200).map(|n| lossy(42).fate(Dir::Up, n)).collect();
        let b: Vec<Fate> = (1..200).map(|n| lossy(42).fate(Dir::Up, n)).collect();
        assert_eq!(a, b);
        let c: Vec<Fate> = (1..200).map(|n| lossy(43).fate(Dir::Up, n)).collect();
        assert_ne!(a, c, "another seed, another run");
        let down: Vec<Fate> = (1..200).map(|n| lossy(42).fate(Dir::Down, n)).collect();
        assert_ne!(a, down, "the two directions are independent");
    }

    #[test]
    fn rates_are_roughly_what_was_asked() {
        let n = 20_000;
        let fates: Vec<Fate> = (1..=n).map(|i| lossy(7).fate(Dir::Up, i)).collect();
        let lost = fates.iter().filter(|f| **f == Fate::Drop).count() as f64 / n as f64;
        assert!((0.28..0.32).contains(&lost), "loss {lost}");
        let dups = fates
            .iter()
            .filter(|f| matches!(f, Fate::Deliver { copies: 2, .. }))
            .count() as f64
            / n as f64;
        assert!((0.025..0.045).contains(&dups), "dup among delivered {dups}");
    }

    #[test]
    fn no_impairment_delivers_everything_at_once() {
        let none = Impairment::default();
        assert!(none.is_none());
        assert!((1..100).all(|n| none.fate(Dir::Up, n)
            == Fate::Deliver {
                copies: 1,
                hold: false,
                delay: Duration::ZERO
            }));
    }

    #[test]
    fn jitter_stays_around_the_delay_and_never_negative() {
        let imp = Impairment {
            delay: Duration::from_millis(50),
            jitter: Duration::from_millis(20),
            ..Impairment::default()
        };
        for n in 1..1000 {
            let Fate::Deliver { delay, .. } = imp.fate(Dir::Up, n) else {
                panic!("no loss asked")
            };
            assert!((30..=70).contains(&delay.as_millis()), "{delay:?}");
        }
    }

    #[test]
    fn huge_delays_never_overflow() {
        let imp = Impairment {
            delay: Duration::MAX,
            jitter: Duration::MAX,
            ..Impairment::default()
        };
        for n in 1..100 {
            let Fate::Deliver { delay, .. } = imp.fate(Dir::Up, n) else {
                panic!("no loss asked")
            };
            let now = Instant::now();
            assert!(deadline(now, delay) > now + Duration::from_secs(3600));
        }
        let now = Instant::now();
        assert_eq!(deadline(now, Duration::ZERO), now);
        assert_eq!(
            deadline(now, Duration::from_millis(5)),
            now + Duration::from_millis(5)
        );
    }

    #[test]
    fn flag_values_are_checked() {
        assert_eq!(parse_percent("30%"), Ok(0.3));
        assert_eq!(parse_percent("2.5"), Ok(0.025));
        assert!(
            parse_percent("130%")
                .unwrap_err()
                .contains("between 0% and 100%")
        );
        assert!(parse_percent("lots").is_err());
        assert_eq!(
            parse_delay("50ms±20ms"),
            Ok((Duration::from_millis(50), Duration::from_millis(20)))
        );
        assert_eq!(
            parse_delay("1s+-5ms"),
            Ok((Duration::from_secs(1), Duration::from_millis(5)))
        );
        assert!(
            parse_delay("-5ms")
                .unwrap_err()
                .contains("cannot be negative")
        );
    }
}

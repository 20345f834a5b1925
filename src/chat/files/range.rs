//! One byte range of a file (RFC 9110 §14): what `curl -r 100-199` asks
//! for, so that an interrupted download resumes where it stopped instead of
//! starting over. The file service serves a single range; several ranges
//! (a multipart answer) or another unit get the whole file, which RFC 9110
//! allows: a server may ignore Range.

pub enum Range {
    /// Not one range the file service serves (several, or not bytes): the
    /// whole file.
    Ignore,
    /// First and last byte, inclusive.
    Bytes(u64, u64),
    /// Nothing of the file is in the range: 416.
    Unsatisfiable,
}

/// `bytes=a-b`, `bytes=a-` or `bytes=-n` of a file of `size` bytes.
pub fn parse(value: &[u8], size: u64) -> Range {
    let Ok(v) = std::str::from_utf8(value) else {
        return Range::Ignore;
    };
    let Some(spec) = v.trim().strip_prefix("bytes=") else {
        return Range::Ignore;
    };
    if spec.contains(',') {
        return Range::Ignore;
    }
    let Some((a, b)) = spec.split_once('-') else {
        return Range::Ignore;
    };
    let num = |s: &str| s.trim().parse::<u64>().ok();
    let (first, last) = match (a.trim().is_empty(), b.trim().is_empty()) {
        // The last n bytes; "the last 0" is no bytes at all.
        (true, false) => match num(b) {
            Some(0) | None => return Range::Unsatisfiable,
            Some(n) => (size.saturating_sub(n), size.saturating_sub(1)),
        },
        (false, true) => match num(a) {
            Some(a) => (a, size.saturating_sub(1)),
            None => return Range::Ignore,
        },
        // A last byte past the end means "to the end" (§14.1.2).
        (false, false) => match (num(a), num(b)) {
            (Some(a), Some(b)) if a <= b => (a, b.min(size.saturating_sub(1))),
            _ => return Range::Ignore,
        },
        (true, true) => return Range::Ignore,
    };
    if size == 0 || first >= size {
        Range::Unsatisfiable
    } else {
        Range::Bytes(first, last)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_follow_rfc_9110() {
        let r = |s: &str| match parse(s.as_bytes(), 100) {
            Range::Bytes(a, b) => format!("{a}-{b}"),
            Range::Ignore => "all".into(),
            Range::Unsatisfiable => "416".into(),
        };
        assert_eq!(r("bytes=0-9"), "0-9");
        assert_eq!(r("bytes=90-"), "90-99");
        assert_eq!(r("bytes=-10"), "90-99");
        assert_eq!(r("bytes=-1000"), "0-99");
        assert_eq!(r("bytes=50-500"), "50-99");
        assert_eq!(r("bytes=100-"), "416");
        assert_eq!(r("bytes=-0"), "416");
        assert_eq!(r("bytes=0-1,5-6"), "all");
        assert_eq!(r("items=0-1"), "all");
        assert_eq!(r("bytes=9-1"), "all");
        assert_eq!(r("bytes=x-1"), "all");
    }
}

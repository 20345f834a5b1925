//! File names that come from the wire are never trusted: `../../.bashrc`
//! must end up as a harmless name inside the folder it was meant for. The
//! server stores files under names it chose; the names shown in URLs and
//! used by downloading clients keep only letters, digits, `.`, `_` and `-`.

/// Longest name kept.
const MAX: usize = 100;

/// A name safe for a URL path segment and a file in a folder: no path
/// separators, no leading dot, no control or invisible characters.
pub fn safe(name: &str) -> String {
    // Only the last path component counts: a client may send a full path.
    let last = name.rsplit(['/', '\\']).next().unwrap_or_default();
    let mut out: String = last
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') {
                c
            } else {
                '_'
            }
        })
        .take(MAX)
        .collect();
    while out.starts_with('.') {
        out.remove(0);
    }
    if out.is_empty() || out.chars().all(|c| c == '_') {
        out = "file".to_string();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_tricks_become_plain_names() {
        assert_eq!(safe("../../.bashrc"), "bashrc");
        assert_eq!(safe("/etc/passwd"), "passwd");
        assert_eq!(safe("..\\..\\win.ini"), "win.ini");
        assert_eq!(safe("photo 1.jpg"), "photo_1.jpg");
        assert_eq!(safe("一起.png"), "__.png");
        assert_eq!(safe("..."), "file");
        assert_eq!(safe(""), "file");
        assert_eq!(safe("a\u{202e}gpj.exe"), "a_gpj.exe");
        assert_eq!(safe(&"x".repeat(500)).len(), MAX);
    }
}

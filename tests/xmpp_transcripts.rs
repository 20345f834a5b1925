//! Real XMPP transcripts (slixmpp 1.17 logging in to Prosody 0.12 with
//! SCRAM-SHA-1 and with PLAIN, both directions, captured on loopback) framed
//! by `socklab frame --proto xml`: one frame per stanza, the stream restart
//! after SASL success followed, no error, whatever the read sizes.

mod util;

use std::path::Path;

use util::socklab;

fn frames(file: &Path, extra: &[&str]) -> Vec<serde_json::Value> {
    let mut args = vec!["frame", "--proto", "xml"];
    args.extend_from_slice(extra);
    let path = file.to_str().expect("utf-8 path");
    args.push(path);
    let out = socklab(&args).output().expect("run socklab frame");
    assert!(
        out.status.success(),
        "{path}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let events: Vec<serde_json::Value> = String::from_utf8_lossy(&out.stderr)
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect();
    assert!(
        !events.iter().any(|e| e["step"] == "error"),
        "{path}: an error"
    );
    events
        .into_iter()
        .filter(|e| e["step"] == "frame")
        .collect()
}

#[test]
fn captured_logins_frame_one_stanza_at_a_time_through_the_restart() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/xmpp");
    for name in ["scram", "plain"] {
        for dir_name in ["c2s", "s2c"] {
            let file = dir.join(format!("slixmpp-to-prosody-{name}-{dir_name}.xml"));
            let whole = frames(&file, &[]);
            let opens = whole
                .iter()
                .filter(|f| f["text"].as_str().is_some_and(|t| t.contains("opened")))
                .count();
            assert_eq!(
                opens,
                2,
                "{}: the first stream and the one after SASL success",
                file.display()
            );
            let bytes: u64 = whole.iter().filter_map(|f| f["n"].as_u64()).sum();
            let len = std::fs::metadata(&file).expect("file").len();
            assert!(
                bytes + 64 >= len,
                "frames cover the transcript: {bytes} of {len}"
            );
            let byte_by_byte = frames(&file, &["--chunk", "1"]);
            assert_eq!(byte_by_byte.len(), whole.len(), "{}", file.display());
        }
    }
}

//! `socklab compare`: every row comes from a real run, so the tests check
//! what must be true of any run (TCP delivered everything in order, UDP with
//! loss lost exactly the predicted set, a tiny buffer dropped datagrams...),
//! never a particular number.

mod util;

use std::collections::HashMap;

use util::Proc;

/// Runs every experiment once and returns the rows and the measurements.
fn compare() -> (Vec<serde_json::Value>, HashMap<(String, String), f64>) {
    let f = Proc::socklab(&["compare"]).finish();
    assert_eq!(f.code(), 0, "{}", f.stderr);
    let rows = f
        .stdout_text()
        .lines()
        .map(|l| serde_json::from_str(l).expect("a JSON row"))
        .collect();
    let measured = f
        .events
        .iter()
        .filter(|e| e["step"] == "measured")
        .map(|e| {
            let key = (
                e["experiment"].as_str().unwrap_or("").to_string(),
                e["key"].as_str().unwrap_or("").to_string(),
            );
            (key, e["value"].as_f64().unwrap_or(f64::NAN))
        })
        .collect();
    (rows, measured)
}

#[test]
fn every_experiment_holds_its_invariants() {
    let (rows, m) = compare();
    let names: Vec<&str> = rows.iter().filter_map(|r| r["name"].as_str()).collect();
    assert_eq!(
        names,
        [
            "setup",
            "boundaries",
            "size",
            "pressure",
            "network",
            "speed"
        ]
    );
    assert!(
        rows.iter()
            .all(|r| r["tcp"].is_array() && r["udp"].is_array() && r["why"].is_string())
    );
    let get = |e: &str, k: &str| {
        *m.get(&(e.to_string(), k.to_string()))
            .unwrap_or_else(|| panic!("{e}/{k} not measured: {m:?}"))
    };

    // setup: TCP is refused at once; UDP's send "succeeds"; ICMP tells a
    // connected socket.
    assert!(get("setup", "tcp_refused_us") >= 0.0);
    assert_eq!(get("setup", "udp_send_error"), 0.0);
    assert!(get("setup", "udp_icmp_us") >= 0.0);
    // boundaries: three datagrams, three receives, always.
    assert_eq!(get("boundaries", "udp_recvs"), 3.0);
    assert!((1.0..=3.0).contains(&get("boundaries", "tcp_reads_nagle")));
    // size: the limits, exactly.
    assert_eq!(get("size", "udp_max_ipv4"), 65_507.0);
    assert_eq!(get("size", "tcp_big_bytes"), (10 << 20) as f64);
    // pressure: the kernel dropped datagrams; TCP lost nothing and the
    // sender had to wait for the receiver (which waited 200 ms).
    assert!(get("pressure", "udp_received") < get("pressure", "udp_sent"));
    assert!(get("pressure", "udp_dropped") >= 1.0);
    assert_eq!(get("pressure", "tcp_delivered"), 1_000_000.0);
    assert!(
        get("pressure", "tcp_held_ms") >= 100.0,
        "flow control should hold the sender"
    );
    // network: the seed's losses, exactly; TCP complete and in order.
    assert_eq!(get("network", "udp_lost_as_predicted"), 1.0);
    assert!(get("network", "udp_lost") > 0.0);
    assert_eq!(get("network", "tcp_received"), 500.0);
    assert_eq!(get("network", "tcp_in_order"), 1.0);
    // speed: real numbers, not constants.
    assert!(get("speed", "tcp_rtt_p50_us") > 0.0 && get("speed", "udp_rtt_p50_us") > 0.0);
    assert!(get("speed", "tcp_rtt_p99_us") >= get("speed", "tcp_rtt_p50_us"));
    assert!(get("speed", "tcp_bulk_mib_s") > 0.0);
    assert!((0.0..=100.0).contains(&get("speed", "udp_bulk_lost_pct")));
}

#[test]
fn one_experiment_is_narrated_step_by_step() {
    let mut cmd = std::process::Command::new(util::bin());
    cmd.args(["--color", "never", "compare", "--only", "boundaries"]);
    let f = util::run("compare --only", cmd);
    assert_eq!(f.code(), 0, "{}", f.stderr);
    assert!(
        f.stderr.contains("three write() calls of 100 bytes"),
        "{}",
        f.stderr
    );
    assert!(
        f.stdout_text().starts_with("boundaries  TCP"),
        "{}",
        f.stdout_text()
    );
}

#[test]
fn the_list_and_a_wrong_name() {
    let list = util::run("compare --list", util::socklab(&["compare", "--list"]));
    assert_eq!(list.stdout_text().lines().count(), 6);
    let wrong = util::run(
        "compare --only",
        util::socklab(&["compare", "--only", "nope"]),
    );
    assert_eq!(wrong.code(), 2);
    assert!(
        wrong.stderr.contains("setup, boundaries"),
        "{}",
        wrong.stderr
    );
}

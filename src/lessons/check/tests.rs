//! The check engine against hand-made logs: causal order across processes,
//! backtracking, near misses, absent steps, foreign sides, operators.

use super::*;
use serde_json::json;

fn step(name: &str, who: Who, step_name: &str, conditions: &[(&str, &str)]) -> Step {
    Step {
        name: name.into(),
        who,
        cmd: None,
        step: Some(step_name.into()),
        conditions: conditions
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        any: vec![],
        after: None,
        min_count: None,
        group: None,
        says: format!("{name} happened"),
        stuck: format!("no {name} yet (port {{listening.addr.port|PORT}})"),
        stuck_foreign: None,
        near: vec![],
        absent: false,
    }
}

fn tcp_pattern() -> Vec<Step> {
    let mut accept = step(
        "accepted",
        Who::Server,
        "accept",
        &[("pid", "{listening.pid}"), ("peer", "{connected.local}")],
    );
    accept.after = Some("listening".into());
    let mut connected = step(
        "connected",
        Who::Client,
        "connected",
        &[("peer.port", "{listening.addr.port}")],
    );
    connected.after = Some("listening".into());
    vec![
        step("listening", Who::Server, "listen", &[]),
        connected,
        accept,
    ]
}

fn log() -> Vec<Value> {
    vec![
        json!({"side": "server", "pid": 1, "cmd": "listen", "step": "listen", "addr": "127.0.0.1:5288"}),
        // The server's accept is logged before the client's "connected":
        // two processes, no order between them.
        json!({"side": "server", "pid": 1, "cmd": "listen", "step": "accept", "peer": "127.0.0.1:40000"}),
        json!({"side": "client", "pid": 2, "cmd": "connect", "step": "connected", "local": "127.0.0.1:40000", "peer": "127.0.0.1:5288"}),
    ]
}

#[test]
fn what_the_log_quotes_is_shown_escaped() {
    let hostile = "\u{1b}]52;c;AAAA\u{7}\u{202e}";
    let events = vec![
        json!({"side": "server", "step": "message", "body": hostile}),
        json!({"side": "learner", "step": "answer", "question": "q", "value": hostile}),
    ];
    let bindings = HashMap::from([("m".to_string(), Bound::Event { index: 0, count: 1 })]);
    let shown = "\\x1b]52;c;AAAA\\x07\\u{202e}";
    assert_eq!(
        fill("got {m.body}", &bindings, &events),
        format!("got {shown}")
    );
    let ask = step("answered", Who::Learner, "answer", &[("question", "q")]);
    let advice = stuck_advice(&ask, &ask.stuck, &bindings, &events, false);
    assert!(advice.contains(shown), "{advice}");
    assert!(!advice.contains('\u{1b}'), "{advice}");
}

#[test]
fn a_complete_session_passes_in_any_causal_order() {
    assert!(evaluate(&tcp_pattern(), None, &log()).passed());
}

#[test]
fn an_empty_log_fails_at_the_first_step_with_its_advice() {
    let v = evaluate(&tcp_pattern(), None, &[]);
    assert!(!v.passed());
    assert_eq!(
        v.outcomes[0],
        Outcome::Failed("no listening yet (port PORT)".into())
    );
    assert_eq!(v.outcomes[1], Outcome::NotReached);
}

#[test]
fn advice_is_filled_from_what_did_happen() {
    let events = log();
    let v = evaluate(&tcp_pattern(), None, &events[..1]);
    assert_eq!(
        v.outcomes[1],
        Outcome::Failed("no connected yet (port 5288)".into())
    );
}

#[test]
fn a_connection_to_another_port_does_not_count() {
    let mut events = log();
    events[2]["peer"] = json!("127.0.0.1:9999");
    assert!(!evaluate(&tcp_pattern(), None, &events).passed());
}

#[test]
fn a_foreign_client_is_skipped_and_the_server_side_still_checked() {
    let server_only = vec![log()[0].clone(), log()[1].clone()];
    let v = evaluate(&tcp_pattern(), Some(Who::Client), &server_only);
    assert!(v.passed(), "{:?}", v.outcomes);
    assert_eq!(v.outcomes[1], Outcome::Skipped);
    // ...but the server's own steps are still required.
    let events = log();
    let v = evaluate(&tcp_pattern(), Some(Who::Client), &events[..1]);
    assert!(!v.passed());
}

#[test]
fn backtracking_finds_the_attempt_that_worked() {
    let mut events = vec![
        json!({"side": "server", "pid": 9, "cmd": "listen", "step": "listen", "addr": "127.0.0.1:1111"}),
    ];
    events.extend(log());
    assert!(evaluate(&tcp_pattern(), None, &events).passed());
}

#[test]
fn operators_compare_as_documented() {
    assert!(compare("80", "< 1024", false));
    assert!(!compare("8080", "< 1024", false));
    assert!(compare("a", "!= b", false));
    assert!(compare("hello\r\n", "~ \r\n", false));
    assert!(compare("CRLF", "one of: crlf, \\r\\n", true));
    assert!(compare(" 127.0.0.1 ", "127.0.0.1", true));
}

#[test]
fn answers_compare_as_people_write_them() {
    assert!(compare("65,507", "65507", true));
    assert!(compare("65 507 bytes", "65507", true));
    assert!(compare("Three", "one of: 3, three", true));
    assert!(!compare("65,507", "65507", false), "only answers are read");
    assert!(!compare("3", "33", true));
}

#[test]
fn a_condition_on_a_missing_field_is_false_not_dropped() {
    let mut events = log();
    // The client's connected event lost its local address: the server's
    // accept cannot be shown to be that client's.
    events[2].as_object_mut().expect("object").remove("local");
    let v = evaluate(&tcp_pattern(), None, &events);
    assert!(!v.passed(), "{:?}", v.outcomes);
}

#[test]
fn an_absent_step_holds_until_its_event_appears_and_names_it() {
    let mut kept = step(
        "kept",
        Who::Server,
        "stop_listening",
        &[("pid", "{listening.pid}")],
    );
    kept.absent = true;
    kept.stuck = "listener {miss.pid} stopped".into();
    let steps = vec![step("listening", Who::Server, "listen", &[]), kept];
    let mut events = vec![log()[0].clone()];
    assert!(evaluate(&steps, None, &events).passed());
    events.push(json!({"side": "server", "pid": 1, "step": "stop_listening"}));
    let v = evaluate(&steps, None, &events);
    assert_eq!(v.outcomes[1], Outcome::Failed("listener 1 stopped".into()));
    // Another listener that kept listening is found by backtracking.
    events.push(json!({"side": "server", "pid": 2, "step": "listen"}));
    assert!(evaluate(&steps, None, &events).passed());
}

#[test]
fn a_near_miss_replaces_the_advice_and_can_be_quoted() {
    let mut connected = tcp_pattern().remove(1);
    connected.near = vec![Near {
        who: None,
        cmd: None,
        step: Some("connected".into()),
        conditions: BTreeMap::new(),
        advice: "B reached port {miss.peer.port}, not {listening.addr.port}".into(),
    }];
    let steps = vec![tcp_pattern().remove(0), connected];
    let mut events = log();
    events[2]["peer"] = json!("127.0.0.1:9999");
    let v = evaluate(&steps, None, &events);
    assert_eq!(
        v.outcomes[1],
        Outcome::Failed("B reached port 9999, not 5288".into())
    );
}

#[test]
fn foreign_advice_is_given_when_the_other_program_was_used() {
    let mut fin = step("fin", Who::Server, "peer_closed", &[]);
    fin.stuck_foreign = Some("nc needs -N".into());
    let mut steps = tcp_pattern();
    steps.push(fin);
    let server_only = vec![log()[0].clone(), log()[1].clone()];
    let v = evaluate(&steps, Some(Who::Client), &server_only);
    assert_eq!(v.outcomes[3], Outcome::Failed("nc needs -N".into()));
    let events = log();
    let v = evaluate(&steps, Some(Who::Client), &events);
    assert_eq!(
        v.outcomes[3],
        Outcome::Failed("no fin yet (port 5288)".into())
    );
}

#[test]
fn min_count_groups_by_a_field() {
    let mut s = step("burst", Who::Server, "datagram", &[]);
    s.min_count = Some(3);
    s.group = Some("from".into());
    let d = |from: &str| json!({"side": "server", "step": "datagram", "from": from});
    let events = vec![d("a:1"), d("b:2"), d("a:1"), d("a:1")];
    let v = evaluate(std::slice::from_ref(&s), None, &events);
    assert!(v.passed());
    assert_eq!(v.fill("{burst.count} from {burst.from}"), "3 from a:1");
    assert!(!evaluate(&[s], None, &events[..3]).passed());
}

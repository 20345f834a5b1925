//! What `socklab listen --proto http` answers: a plain-text account of the
//! request it received, form fields decoded (the curriculum's login form).
//! The body is never held whole: it streams to stdout as it arrives, and
//! the answer is made from its size and a bounded sample of its start.

use crate::framing::http::{self, Sample};

use super::inbound::Reply;

/// The reason phrases of the statuses socklab answers with (RFC 9110 §15).
pub fn reason(code: u16) -> &'static str {
    match code {
        200 => "OK",
        413 => "Content Too Large",
        431 => "Request Header Fields Too Large",
        501 => "Not Implemented",
        _ => "Bad Request",
    }
}

/// The answer to `request`, from its head and what was seen of its body.
pub fn answer(request: &http::Message, body_seen: &Sample) -> Reply {
    let mut body = format!("socklab received: {}\n", request.start_line());
    body.push_str(&format!("headers: {}\n", request.header_count()));
    let kind = request
        .header("content-type")
        .map(|v| String::from_utf8_lossy(v).into_owned());
    body.push_str(&format!(
        "body: {} bytes{}\n",
        body_seen.total(),
        kind.as_ref().map(|k| format!(" ({k})")).unwrap_or_default()
    ));
    let form = kind
        .as_deref()
        .is_some_and(|k| k.starts_with("application/x-www-form-urlencoded"));
    if form && body_seen.is_whole() {
        for (name, value) in form_fields(body_seen.bytes()) {
            body.push_str(&format!("form: {name} = {value}\n"));
        }
    } else if form {
        body.push_str(&format!(
            "form: not decoded (over {} bytes)\n",
            Sample::KEEP
        ));
    }
    let close = request.wants_close();
    let code = if request.is_response() { 400 } else { 200 };
    let kind = "text/plain; charset=utf-8";
    // RFC 9110 §9.3.2: the answer to HEAD is the head a GET would get,
    // Content-Length included, and nothing after it.
    let head_only =
        matches!(request.start(), http::Start::Request { method, .. } if method == "HEAD");
    let bytes = if head_only {
        http::response_head(code, reason(code), kind, body.len(), close)
    } else {
        http::response(code, reason(code), kind, body.as_bytes(), close)
    };
    Reply { bytes, close }
}

/// Decodes `a=1&b=x+y%21` into pairs.
pub fn form_fields(body: &[u8]) -> Vec<(String, String)> {
    let decode = |s: &[u8]| {
        let mut out = Vec::with_capacity(s.len());
        let mut i = 0;
        while i < s.len() {
            match s[i] {
                b'+' => out.push(b' '),
                b'%' if i + 2 < s.len() => {
                    match std::str::from_utf8(&s[i + 1..i + 3])
                        .ok()
                        .and_then(|h| u8::from_str_radix(h, 16).ok())
                    {
                        Some(b) => {
                            out.push(b);
                            i += 2;
                        }
                        None => out.push(b'%'),
                    }
                }
                b => out.push(b),
            }
            i += 1;
        }
        String::from_utf8_lossy(&out).into_owned()
    };
    body.split(|&b| b == b'&')
        .filter(|p| !p.is_empty())
        .map(|pair| {
            let mut kv = pair.splitn(2, |&b| b == b'=');
            (
                decode(kv.next().unwrap_or_default()),
                decode(kv.next().unwrap_or_default()),
            )
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn form_bodies_decode() {
        assert_eq!(
            form_fields(b"username=zhangsan&password=123456"),
            [
                ("username".into(), "zhangsan".into()),
                ("password".into(), "123456".into())
            ]
        );
        assert_eq!(
            form_fields(b"a=x+y%21&b"),
            [("a".into(), "x y!".into()), ("b".into(), String::new())]
        );
        assert_eq!(form_fields(b"bad=%zz%"), [("bad".into(), "%zz%".into())]);
    }
}

//! Telnet's vocabulary: the command bytes of RFC 854 and the options of the
//! RFCs that define them, each with what it is for and what refusing it
//! means, so that the narration can name every byte of a negotiation.

/// "Interpret as command": starts every command; IAC IAC is a data byte 255.
pub const IAC: u8 = 255;
pub const DONT: u8 = 254;
pub const DO: u8 = 253;
pub const WONT: u8 = 252;
pub const WILL: u8 = 251;
/// Subnegotiation begins (IAC SB option ... IAC SE).
pub const SB: u8 = 250;
/// Subnegotiation ends.
pub const SE: u8 = 240;
/// Are you there?
pub const AYT: u8 = 246;

/// A telnet option (RFC 855's framework; each option has its own RFC).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Opt {
    pub name: &'static str,
    pub rfc: &'static str,
    /// What the option is for.
    pub what: &'static str,
    /// What it means when it stays off.
    pub off: &'static str,
}

const fn opt(name: &'static str, rfc: &'static str, what: &'static str, off: &'static str) -> Opt {
    Opt {
        name,
        rfc,
        what,
        off,
    }
}

/// The option with this number.
pub fn option(code: u8) -> Opt {
    match code {
        0 => opt(
            "BINARY",
            "RFC 856",
            "8-bit binary data instead of NVT text",
            "the data stays 7-bit NVT text with CR LF line ends",
        ),
        1 => opt(
            "ECHO",
            "RFC 857",
            "echoing: the side that does it sends back each character it receives",
            "each side's own terminal echoes what is typed there, which keeps a client in line mode",
        ),
        3 => opt(
            "SUPPRESS-GO-AHEAD",
            "RFC 858",
            "no GA after each transmission; with ECHO it puts a client in character mode",
            "the client keeps sending whole lines, edited locally (line mode)",
        ),
        5 => opt(
            "STATUS",
            "RFC 859",
            "reporting which options are on, when asked",
            "nobody asks for or sends a status report",
        ),
        6 => opt(
            "TIMING-MARK",
            "RFC 860",
            "a mark in the stream, answered once everything before it was processed",
            "no mark comes back; the peer learns only that we do not use it",
        ),
        24 => opt(
            "TERMINAL-TYPE",
            "RFC 1091",
            "telling the other side the terminal's type (XTERM, VT100...) so it sends the right escape codes",
            "the server does not learn the terminal type and treats it as a plain one",
        ),
        25 => opt(
            "END-OF-RECORD",
            "RFC 885",
            "marking the end of each record with IAC EOR",
            "records are not marked",
        ),
        31 => opt(
            "NAWS",
            "RFC 1073",
            "Negotiate About Window Size: sending the window's width and height, and every change",
            "no window size is sent; a server assumes 80x24 or does without",
        ),
        32 => opt(
            "TERMINAL-SPEED",
            "RFC 1079",
            "sending the terminal's line speed (baud), a relic of modems",
            "no speed is sent; nothing depends on it today",
        ),
        33 => opt(
            "TOGGLE-FLOW-CONTROL",
            "RFC 1372",
            "remote control of flow control (Ctrl-S, Ctrl-Q)",
            "flow control stays as the client has it",
        ),
        34 => opt(
            "LINEMODE",
            "RFC 1184",
            "line editing by the client under the server's rules",
            "the client falls back to its old line-by-line mode",
        ),
        35 => opt(
            "X-DISPLAY-LOCATION",
            "RFC 1096",
            "sending the X11 display (host:0) so remote programs can open windows",
            "no X display is passed on",
        ),
        36 => opt(
            "ENVIRON",
            "RFC 1408",
            "passing environment variables (the first version)",
            "no environment variables are passed",
        ),
        37 => opt(
            "AUTHENTICATION",
            "RFC 2941",
            "authenticating (Kerberos and others) inside telnet",
            "no authentication happens inside telnet",
        ),
        38 => opt(
            "ENCRYPT",
            "RFC 2946",
            "encrypting the session",
            "the session stays in clear text, as telnet always was (ssh replaced it for this)",
        ),
        39 => opt(
            "NEW-ENVIRON",
            "RFC 1572",
            "passing environment variables such as USER and DISPLAY",
            "no environment variables are passed",
        ),
        42 => opt(
            "CHARSET",
            "RFC 2066",
            "agreeing on a character set such as UTF-8",
            "no character set is agreed on",
        ),
        44 => opt(
            "COM-PORT-OPTION",
            "RFC 2217",
            "controlling a serial port on the far side (speed, parity)",
            "no serial port is controlled",
        ),
        255 => opt(
            "EXTENDED-OPTIONS-LIST",
            "RFC 861",
            "options numbered beyond 255",
            "no extended options are used",
        ),
        _ => opt(
            "UNKNOWN-OPTION",
            "",
            "an option socklab does not know",
            "it stays off, as every option does until both sides agree (RFC 855)",
        ),
    }
}

/// A command that is not a negotiation: its name and what it asks for.
pub fn command(code: u8) -> (&'static str, &'static str) {
    match code {
        SE => ("SE", "the end of a subnegotiation that never began"),
        241 => ("NOP", "no operation (often a keep-alive)"),
        242 => ("DM", "data mark: where urgent data (a Synch) ends"),
        243 => ("BRK", "break: the BREAK key"),
        244 => ("IP", "interrupt process: Ctrl-C on the client's side"),
        245 => ("AO", "abort output: stop the output in progress"),
        AYT => (
            "AYT",
            "are you there? A client asks whether the server is alive",
        ),
        247 => ("EC", "erase character: delete the last character typed"),
        248 => ("EL", "erase line: delete the line being typed"),
        249 => ("GA", "go ahead: your turn, for half-duplex terminals"),
        _ => (
            "UNKNOWN",
            "not a telnet command: RFC 854 defines 240 to 255",
        ),
    }
}

/// The name of a negotiation verb.
pub fn verb(code: u8) -> &'static str {
    match code {
        WILL => "WILL",
        WONT => "WONT",
        DO => "DO",
        _ => "DONT",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_option_the_curriculum_meets_has_a_name_and_an_rfc() {
        for code in [0, 1, 3, 5, 6, 24, 31, 32, 33, 34, 35, 36, 39] {
            let o = option(code);
            assert_ne!(o.name, "UNKNOWN-OPTION", "{code}");
            assert!(o.rfc.starts_with("RFC "), "{code}");
        }
        assert_eq!(option(200).name, "UNKNOWN-OPTION");
        assert_eq!(command(244).0, "IP");
        assert_eq!(command(7).0, "UNKNOWN");
    }
}

//! The command line, declared with clap derive; the doc comments are the help.
//!
//! Conventions:
//! - Values are typed and checked by clap before any code runs: a port is a
//!   `u16` (70000 is rejected with a message), an address an [`Endpoint`], a
//!   duration goes through [`duration_in`] (`5`, `500ms`, `2m`).
//! - Every number has a range, checked by its value parser (`duration_in`,
//!   `size_in`, `number_in`), and the help says it as `(MIN to MAX)`: an
//!   absurd value is a usage error naming the range, never a panic later.
//! - Value names are uppercase: `PORT`, `HOST`, `DUR`, `N`, `FILE`.
//! - Where netcat has a flag for the same thing, socklab uses the same letter:
//!   `-k`, `-C`, `-w`, `-v`, `-N`, `-s`, `-p`, `-4`, `-6`, `-n`, `-d`, `-t`,
//!   `-i`, `-z`, and `-l` is accepted. Where nc's letter means something else
//!   here (`-q` is quiet, `-x` is the hex dump) or is refused by design
//!   (`-e`, `-c`), [`crate::netcat`] answers the nc invocation precisely.
//! - Output flags (`-q`, `-v`, `--json`, `--events`, `--color`, `-x`) are global:
//!   they may come before or after the subcommand, and each subcommand's
//!   help lists them under their own heading.

// The doc comments here are --help text, where `[::1]:PORT` means an address,
// not a rustdoc link.
#![allow(rustdoc::broken_intra_doc_links)]

use std::net::IpAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::addr::{Endpoint, parse_port};
use crate::framing::{JsonFraming, Limits, Proto};
use crate::units::{
    DAY, GIB, HOUR, KIB, MIB, MILLISECOND, MINUTE, SECOND, duration_in, explained, number_in,
    show_duration, size_in,
};

const EXIT_CODES: &str = "\
Exit codes: 0 success · 1 network or runtime error (explained on stderr) · 2 usage error
· 130 interrupted by Ctrl-C (SIGINT). `scan` exits 0 when some port is open, 1 when none is.
Every step goes to stderr as narration; stdout carries only the data.
The manual: socklab man > /usr/local/share/man/man1/socklab.1";

#[derive(Parser, Debug)]
#[command(
    name = "socklab",
    version,
    long_version = crate::build::LONG_VERSION,
    about = "Learn how sockets work by using real ones: netcat-style tools that narrate every step",
    long_about = "Learn how sockets work by using real ones.\n\n\
        socklab listens, connects, sends and receives like netcat, and narrates every \
        socket call on stderr as it happens: socket(), bind(), listen(), accept(), the \
        non-blocking connect(), each read and write, FIN and close. Data goes to stdout \
        untouched, so it works in scripts too.\n\n\
        Start with `socklab demo`, then run `socklab listen 5288` and \
        `socklab connect 127.0.0.1 5288` in two terminals.",
    after_help = EXIT_CODES,
    propagate_version = true,
    arg_required_else_help = true
)]
pub struct Cli {
    #[command(flatten)]
    pub output: OutputArgs,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Args, Debug, Clone, Default)]
#[command(next_help_heading = "Output (every command)")]
pub struct OutputArgs {
    /// No narration: data on stdout, errors on stderr, nothing else
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    pub quiet: bool,
    /// More detail: every readiness event poll() reports and every read and write
    #[arg(short, long, global = true)]
    pub verbose: bool,
    /// Events as JSON lines on stderr instead of narration (schema: docs/events.md)
    #[arg(long, global = true)]
    pub json: bool,
    /// Also append every event as a JSON line to FILE
    #[arg(long, global = true, value_name = "FILE")]
    pub events: Option<PathBuf>,
    /// When to colour the narration (NO_COLOR turns auto off)
    #[arg(long, global = true, value_enum, value_name = "WHEN", default_value_t = ColorWhen::Auto)]
    pub color: ColorWhen,
    /// Hex and ASCII dump of every byte sent (>) and received (<), on stderr
    #[arg(short = 'x', long, global = true)]
    pub hex: bool,
    /// Where lesson progress and session logs live (default: $XDG_STATE_HOME/socklab)
    #[arg(long, global = true, value_name = "DIR", env = "SOCKLAB_STATE_DIR")]
    pub state_dir: Option<PathBuf>,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, ValueEnum)]
pub enum ColorWhen {
    /// Colour when stderr is a terminal and NO_COLOR is not set
    #[default]
    Auto,
    Always,
    Never,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Wait for TCP connections and talk to whoever connects (like `nc -l`)
    Listen(ListenArgs),
    /// Open a TCP connection and talk over it (like `nc HOST PORT`)
    Connect(ConnectArgs),
    /// Send UDP datagrams: one argument, or one stdin line, is one datagram
    Send(SendArgs),
    /// Receive UDP datagrams and show each one: number, sender, size, data
    Recv(RecvArgs),
    /// Watch a whole conversation in one terminal: a server and a client on loopback
    Demo(DemoArgs),
    /// Feed bytes to a protocol's framing offline, in chunks, and watch frames being cut
    Frame(FrameArgs),
    /// Forward TCP or UDP to a target, making the network worse on purpose (loss, delay, slicing...)
    Relay(RelayArgs),
    /// Measure TCP against UDP on loopback, now: set-up, boundaries, size, loss, speed
    Compare(CompareArgs),
    /// Instant messaging: a server that speaks XMPP and JSON (`chat serve`), its accounts, and a client (`chat alice@localhost`)
    Chat(ChatArgs),
    /// Which TCP ports answer: a connect scan, each answer explained (like `nc -z`)
    Scan(ScanArgs),
    /// Print the manual page: socklab man > /usr/local/share/man/man1/socklab.1
    Man,
    /// Print a shell completion script: socklab completions bash > /etc/bash_completion.d/socklab
    Completions {
        #[arg(value_enum, value_name = "SHELL")]
        shell: clap_complete::Shell,
    },
    /// List the lessons: ✓ done, → next
    Lessons,
    /// Read a lesson, check what you did, get a hint: `lesson next`, `lesson 3`, `lesson check`
    Lesson(LessonArgs),
}

#[derive(Args, Debug)]
#[command(args_conflicts_with_subcommands = true)]
pub struct LessonArgs {
    /// Show lesson N and make it the current one (without N: the current lesson)
    #[arg(value_name = "N", value_parser = lesson_number, help = lesson_number_help("Show lesson N", " and make it the current one (without N: the current lesson)"))]
    pub number: Option<usize>,
    #[command(subcommand)]
    pub action: Option<LessonAction>,
}

#[derive(Subcommand, Debug)]
pub enum LessonAction {
    /// Show the first lesson not yet done, and make it current
    Next,
    /// Check the current lesson against what you really did (its session log)
    Check,
    /// Show the next hint for the current lesson
    Hint,
    /// Draw the socket call-flow chart, lighting the steps you have done
    Chart,
    /// Answer one of the current lesson's questions
    Answer {
        /// The question's id, as the lesson shows it
        #[arg(value_name = "QUESTION")]
        question: String,
        /// Your answer
        #[arg(value_name = "ANSWER")]
        value: String,
    },
    /// Forget the current lesson's progress and session log (or lesson N's; --all: every lesson's)
    Reset {
        #[arg(value_name = "N", value_parser = lesson_number, help = lesson_number_help("The lesson to forget", "; without N, the current lesson"))]
        number: Option<usize>,
        /// Forget every lesson: all progress and every session log (asks first on a terminal)
        #[arg(long, conflicts_with = "number")]
        all: bool,
        /// With --all: do not ask for confirmation
        #[arg(short, long, requires = "all")]
        yes: bool,
    },
}

/// How a connection uses stdin, stdout and FIN. Shared by listen and connect.
#[derive(Args, Debug, Clone, Default)]
pub struct StreamArgs {
    /// Send CRLF line endings (LF in stdin becomes CR LF), as telnet-style text protocols expect
    #[arg(short = 'C', long)]
    pub crlf: bool,
    /// When stdin ends, do not send FIN (shutdown); keep the connection open until the peer closes
    #[arg(long, conflicts_with_all = ["send_only", "recv_only"])]
    pub no_shutdown: bool,
    /// Only send stdin; ignore data from the peer and finish when stdin ends
    #[arg(long, conflicts_with = "recv_only")]
    pub send_only: bool,
    /// Only receive; do not read stdin (nc -d)
    #[arg(short = 'd', long)]
    pub recv_only: bool,
    /// A connection that cannot be established, or on which nothing is sent or received, for DUR ends, as with nc -w (1ms to 24h): a connect timeout exits 1, an idle one ends the conversation (exit 0, as nc). listen waits for its client as long as it takes, as nc -l does
    #[arg(short = 'w', long = "timeout", value_name = "DUR", value_parser = duration_in(MILLISECOND, DAY))]
    pub timeout: Option<Duration>,
    /// An error: close a connection on which nothing was sent or received for DUR, e.g. 30s (1ms to 24h), and exit 1; listen --proto http: 60s unless given
    #[arg(long, value_name = "DUR", value_parser = duration_in(MILLISECOND, DAY))]
    pub idle_timeout: Option<Duration>,
    /// When stdin ends, wait at most DUR for the peer to finish, then close and exit 0 (nc -q; socklab's -q is --quiet); 0s closes at once (0s to 24h)
    #[arg(long, value_name = "DUR", value_parser = duration_in(Duration::ZERO, DAY))]
    pub quit_after: Option<Duration>,
    /// Send stdin one line at a time, DUR apart (nc -i), e.g. 1s (1ms to 1h)
    #[arg(short = 'i', long, value_name = "DUR", value_parser = duration_in(MILLISECOND, HOUR))]
    pub interval: Option<Duration>,
    /// Answer telnet negotiation (nc -t): the same as --proto telnet
    #[arg(short = 't')]
    pub telnet: bool,
    /// Accepted for netcat habits: sending FIN when stdin ends is already the default
    #[arg(short = 'N')]
    pub nc_shutdown: bool,
    /// (netcat's UDP flag: socklab uses `send` and `recv` for UDP)
    #[arg(short = 'u', hide = true)]
    pub udp: bool,
}

/// Which addresses a host may resolve to (nc's -4, -6, -n). Shared by
/// listen, connect, send, recv and scan.
#[derive(Args, Debug, Clone, Copy, Default)]
pub struct LookupArgs {
    /// IPv4 only: a name resolves to its IPv4 addresses; listen binds 127.0.0.1 unless told
    #[arg(short = '4', conflicts_with = "ipv6")]
    pub ipv4: bool,
    /// IPv6 only: a name resolves to its IPv6 addresses; listen binds ::1 unless told
    #[arg(short = '6')]
    pub ipv6: bool,
    /// No name lookups (no DNS): HOST must be an IP address
    #[arg(short = 'n', long = "numeric")]
    pub numeric: bool,
}

impl LookupArgs {
    pub fn lookup(&self) -> crate::addr::Lookup {
        crate::addr::Lookup {
            ipv6: match (self.ipv4, self.ipv6) {
                (true, _) => Some(false),
                (_, true) => Some(true),
                _ => None,
            },
            numeric: self.numeric,
        }
    }
}

/// Protocol framing on a connection or datagram socket. Shared by listen,
/// connect, send, recv and frame.
#[derive(Args, Debug, Clone)]
pub struct FramingArgs {
    /// Cut frames out of the data with this protocol and show each one as it is cut
    #[arg(long, value_enum, value_name = "PROTO")]
    pub proto: Option<Proto>,
    /// With --proto json: one object per line, or a 4-byte big-endian length prefix
    #[arg(long, value_enum, value_name = "HOW", default_value_t = JsonFraming::Newline)]
    pub json_framing: JsonFraming,
    /// Largest frame accepted, e.g. 64k (1 to 1GiB); a bigger one is an error. HTTP bodies are not frames: they stream through whatever their size
    #[arg(long, value_name = "SIZE", value_parser = size_in(1, GIB), default_value = "1MiB")]
    pub max_frame: usize,
    /// With --proto http: most header fields in one message (1 to 10000)
    #[arg(long, value_name = "N", value_parser = number_in(1usize, 10_000), default_value_t = 64)]
    pub max_headers: usize,
    /// With --proto http: largest head, start line and headers (1 to 1MiB)
    #[arg(long, value_name = "SIZE", value_parser = size_in(1, MIB), default_value = "16k")]
    pub max_header_bytes: usize,
    /// With --proto xml: deepest element nesting (1 to 1000)
    #[arg(long, value_name = "N", value_parser = number_in(1usize, 1000), default_value_t = 32)]
    pub max_depth: usize,
    /// Message view (json, xml, http): each line you type is sent as a message from NAME...
    #[arg(long, value_name = "NAME", requires = "to")]
    pub from: Option<String>,
    /// ...to NAME
    #[arg(long, value_name = "NAME", requires = "from")]
    pub to: Option<String>,
}

impl FramingArgs {
    pub fn limits(&self) -> Limits {
        Limits {
            max_frame: self.max_frame,
            max_headers: self.max_headers,
            max_header_bytes: self.max_header_bytes,
            max_depth: self.max_depth,
        }
    }
}

#[derive(Args, Debug)]
pub struct ListenArgs {
    /// Where to listen: PORT (on 127.0.0.1), HOST:PORT, [::1]:PORT; 0.0.0.0:PORT or [::]:PORT for every interface; port 0 lets the OS choose
    #[arg(value_name = "[HOST:]PORT", value_parser = parse_endpoint, required_unless_present = "port")]
    pub addr: Option<Endpoint>,
    /// The port, written as nc -l -p PORT writes it (instead of [HOST:]PORT)
    #[arg(short = 'p', long, value_name = "PORT", value_parser = parse_port, conflicts_with = "addr")]
    pub port: Option<u16>,
    /// The address to listen on, written as nc -l -s IP writes it (default 127.0.0.1)
    #[arg(short = 's', long, value_name = "IP")]
    pub source: Option<IpAddr>,
    /// Keep accepting clients after the first, and serve them all at once
    #[arg(short = 'k', long)]
    pub keep_open: bool,
    /// With -k: serve at most N clients at once (1 to 100000); refuse the rest politely (accept, then close)
    #[arg(long, value_name = "N", requires = "keep_open", value_parser = number_in(1u32, 100_000))]
    pub max_conns: Option<u32>,
    /// Answer each client with what it sent (the RFC 862 echo service); stdin is not read
    #[arg(long, conflicts_with_all = ["send_only", "recv_only", "no_shutdown"])]
    pub echo: bool,
    /// Length of the queue of finished handshakes waiting for accept() (1 to 65535; Linux caps it at net.core.somaxconn)
    #[arg(long, value_name = "N", value_parser = number_in(1i32, 65535), default_value_t = 128)]
    pub backlog: i32,
    /// With --proto http: a request head (request line and headers) must arrive within DUR of its first byte, or the client gets 408 Request Timeout (1ms to 1h)
    #[arg(long, value_name = "DUR", value_parser = duration_in(MILLISECOND, HOUR), default_value = "10s")]
    pub head_timeout: Duration,
    /// With -k: a client that falls SIZE behind the fastest one in the broadcast of stdin (it is not reading) is dropped, so the others keep receiving (64k to 1G)
    #[arg(long, value_name = "SIZE", requires = "keep_open", value_parser = size_in(64 * KIB, GIB), default_value = "4MiB")]
    pub max_lag: usize,
    /// Accepted for netcat habits (`nc -l`): `listen` already listens
    #[arg(short = 'l', hide = true)]
    pub nc_listen: bool,
    #[command(flatten)]
    pub stream: StreamArgs,
    #[command(flatten)]
    pub lookup: LookupArgs,
    #[command(flatten)]
    pub framing: FramingArgs,
}

#[derive(Args, Debug)]
pub struct ConnectArgs {
    /// Where to connect: HOST PORT, HOST:PORT or [IPv6]:PORT (localhost, 127.0.0.1, ::1 ...)
    #[arg(value_name = "HOST[:PORT]", value_parser = parse_endpoint)]
    pub host: Endpoint,
    /// The port, when not given as HOST:PORT
    #[arg(value_name = "PORT", value_parser = parse_port)]
    pub port: Option<u16>,
    /// Give up connecting after DUR, without -w's idle limit (1ms to 24h; default: the kernel's own limit, about two minutes)
    #[arg(long, value_name = "DUR", value_parser = duration_in(MILLISECOND, DAY))]
    pub connect_timeout: Option<Duration>,
    /// Scan instead of connecting (nc -z): connect -z HOST PORTS is socklab scan HOST PORTS
    #[arg(short = 'z')]
    pub scan: bool,
    /// Local address to bind before connecting
    #[arg(short = 's', long, value_name = "IP")]
    pub source: Option<IpAddr>,
    /// Local port to bind before connecting, 0 to 65535 (instead of one the OS picks)
    #[arg(short = 'p', long, value_name = "PORT", value_parser = parse_port)]
    pub source_port: Option<u16>,
    #[command(flatten)]
    pub stream: StreamArgs,
    #[command(flatten)]
    pub lookup: LookupArgs,
    #[command(flatten)]
    pub framing: FramingArgs,
    #[command(flatten)]
    pub http: HttpClientArgs,
}

/// How `connect --proto http` sends the requests you type.
#[derive(Args, Debug, Clone, Default)]
pub struct HttpClientArgs {
    /// With --proto http: add this header field to each short request (`GET /path`), e.g. -H 'Accept: text/plain'; one named like a field socklab adds (Host, User-Agent, Accept) replaces it; repeatable
    #[arg(short = 'H', long = "header", value_name = "'NAME: VALUE'")]
    pub header: Vec<crate::framing::http::Field>,
    /// With --proto http: send each request at once, without waiting for the answer to the one before (HTTP/1.1 pipelining; some servers answer only the first)
    #[arg(long)]
    pub pipeline: bool,
}

#[derive(Args, Debug)]
pub struct SendArgs {
    /// Where to send: HOST PORT, HOST:PORT or [IPv6]:PORT
    #[arg(value_name = "HOST[:PORT]", value_parser = parse_endpoint)]
    pub host: Endpoint,
    /// [PORT] [MESSAGE]...: the port (unless given as HOST:PORT), then the datagram to send, its words joined by spaces as echo joins them; without a message, each stdin line is one datagram
    #[arg(value_name = "PORT] [MESSAGE", num_args = 0..)]
    pub rest: Vec<String>,
    /// Send one datagram of N bytes, e.g. 65507, 70000, 64k (0 to 1MiB), instead of a message
    #[arg(long, value_name = "N", value_parser = explained(size_in(0, MIB), "an IP packet holds at most 65,535 bytes, so 1MiB is far beyond any datagram; try --size 65507 or --size 65508"))]
    pub size: Option<usize>,
    /// After the last datagram, wait DUR for replies and for "nobody is listening" news (0s to 24h)
    #[arg(long, value_name = "DUR", value_parser = duration_in(Duration::ZERO, DAY), default_value = "500ms")]
    pub wait: Duration,
    /// Local address to bind before sending
    #[arg(short = 's', long, value_name = "IP")]
    pub source: Option<IpAddr>,
    /// Local port to send from, 0 to 65535 (instead of one the OS picks)
    #[arg(short = 'p', long, value_name = "PORT", value_parser = parse_port)]
    pub source_port: Option<u16>,
    #[command(flatten)]
    pub lookup: LookupArgs,
    #[command(flatten)]
    pub framing: FramingArgs,
}

#[derive(Args, Debug)]
pub struct RecvArgs {
    /// Where to receive: PORT (on 127.0.0.1), HOST:PORT, [::1]:PORT, 0.0.0.0:PORT; port 0 lets the OS choose
    #[arg(value_name = "[HOST:]PORT", value_parser = parse_endpoint)]
    pub addr: Endpoint,
    /// Send each datagram back to whoever sent it
    #[arg(long)]
    pub echo: bool,
    /// Exit after N datagrams (1 to 1000000000)
    #[arg(long, value_name = "N", value_parser = number_in(1u64, 1_000_000_000))]
    pub count: Option<u64>,
    #[command(flatten)]
    pub lookup: LookupArgs,
    #[command(flatten)]
    pub framing: FramingArgs,
}

#[derive(Args, Debug)]
pub struct DemoArgs {
    /// Which conversation to show
    #[arg(value_enum, default_value_t = DemoKind::Tcp)]
    pub kind: DemoKind,
    /// Pause DUR between steps, to watch them happen (0s to 1m)
    #[arg(long, value_name = "DUR", value_parser = duration_in(Duration::ZERO, MINUTE))]
    pub pace: Option<Duration>,
}

#[derive(Args, Debug)]
pub struct CompareArgs {
    /// Run one experiment and narrate it step by step
    #[arg(long, value_name = "NAME")]
    pub only: Option<String>,
    /// List the experiments
    #[arg(long)]
    pub list: bool,
}

#[derive(Args, Debug)]
#[command(
    after_help = "`socklab connect -z HOST PORTS` (nc's spelling) runs the same scan.\n\
    Scan only machines you are allowed to: your own, on loopback, is always fine."
)]
pub struct ScanArgs {
    /// The host to scan: an IP address, or a name (resolved once; the first address is scanned)
    #[arg(value_name = "HOST", value_parser = parse_endpoint)]
    pub host: Endpoint,
    /// Ports: a list and ranges, e.g. 22,80,8000-8100 (each 1 to 65535); several arguments add up, as nc's do
    #[arg(value_name = "PORTS", required = true, value_parser = crate::scan::ports::parse_ports)]
    pub ports: Vec<crate::scan::ports::PortList>,
    /// Give each port DUR to answer before calling it filtered (nc -w), 1ms to 1m
    #[arg(short = 'w', long = "timeout", value_name = "DUR", value_parser = duration_in(MILLISECOND, MINUTE), default_value = "1s")]
    pub timeout: Duration,
    /// Most connection attempts in flight at once (1 to 1024)
    #[arg(long, value_name = "N", value_parser = number_in(1usize, 1024), default_value_t = 256)]
    pub parallel: usize,
    /// Wait DUR between starting one probe and the next (nc -i), 1ms to 1m; implies --parallel 1
    #[arg(short = 'i', long, value_name = "DUR", value_parser = duration_in(MILLISECOND, MINUTE))]
    pub interval: Option<Duration>,
    #[command(flatten)]
    pub lookup: LookupArgs,
}

#[derive(Args, Debug)]
pub struct RelayArgs {
    /// Where the relay listens: PORT (on 127.0.0.1) or HOST:PORT
    #[arg(value_name = "[HOST:]PORT", value_parser = parse_endpoint)]
    pub listen: Endpoint,
    /// Where it forwards to: HOST:PORT
    #[arg(value_name = "TARGET", value_parser = parse_endpoint)]
    pub target: Endpoint,
    /// Relay UDP datagrams (one session per client address) instead of TCP
    #[arg(long)]
    pub udp: bool,
    /// UDP: drop this share of datagrams, e.g. 30% (0% to 100%)
    #[arg(long, value_name = "PERCENT", value_parser = crate::relay::fate::parse_percent, allow_hyphen_values = true)]
    pub loss: Option<f64>,
    /// UDP: send this share of datagrams twice (0% to 100%)
    #[arg(long, value_name = "PERCENT", value_parser = crate::relay::fate::parse_percent, allow_hyphen_values = true)]
    pub dup: Option<f64>,
    /// UDP: hold this share of datagrams back and send them after the next one (0% to 100%)
    #[arg(long, value_name = "PERCENT", value_parser = crate::relay::fate::parse_percent, allow_hyphen_values = true)]
    pub reorder: Option<f64>,
    /// Hold each datagram or chunk this long, with optional jitter: 50ms or 50ms±20ms (each 0s to 1m)
    #[arg(long, value_name = "DUR[±DUR]", value_parser = relay_delay, allow_hyphen_values = true)]
    pub delay: Option<(Duration, Duration)>,
    /// Seed for every random choice: the same seed does the same thing every time (0 to 18446744073709551615)
    #[arg(long, value_name = "N", value_parser = number_in(0, u64::MAX), default_value_t = 1)]
    pub seed: u64,
    /// TCP: forward at most N bytes per write (1 to 1048576)
    #[arg(long, value_name = "N", value_parser = number_in(1u64, 1 << 20))]
    pub slice: Option<u64>,
    /// TCP: gather what arrives during DUR and forward it in one write (1ms to 1m)
    #[arg(long, value_name = "DUR", value_parser = duration_in(MILLISECOND, MINUTE))]
    pub coalesce: Option<Duration>,
    /// UDP: forget a client's session after DUR without datagrams (1ms to 24h)
    #[arg(long, value_name = "DUR", value_parser = duration_in(MILLISECOND, DAY), default_value = "60s")]
    pub udp_idle: Duration,
}

#[derive(Args, Debug)]
#[command(args_conflicts_with_subcommands = true)]
pub struct FrameArgs {
    #[command(subcommand)]
    pub action: Option<FrameAction>,
    /// Bytes to decode (default: stdin)
    #[arg(value_name = "FILE")]
    pub file: Option<PathBuf>,
    /// Feed the bytes N at a time, 1 = byte by byte (1 to 1048576)
    #[arg(long, value_name = "N", value_parser = number_in(1u64, 1 << 20), conflicts_with_all = ["split_at", "random_chunks"])]
    pub chunk: Option<u64>,
    /// Cut the input at these byte offsets, e.g. 5,13 (each 1 to 1073741824)
    #[arg(
        long,
        value_name = "OFFSETS",
        value_parser = number_in(1usize, GIB),
        value_delimiter = ',',
        conflicts_with = "random_chunks"
    )]
    pub split_at: Vec<usize>,
    /// Feed pieces of random sizes (1 to 16 bytes); --seed makes it repeatable
    #[arg(long)]
    pub random_chunks: bool,
    /// Seed for --random-chunks (0 to 18446744073709551615)
    #[arg(
        long,
        value_name = "N",
        value_parser = number_in(0, u64::MAX),
        default_value_t = 1,
        requires = "random_chunks"
    )]
    pub seed: u64,
    #[command(flatten)]
    pub framing: FramingArgs,
}

#[derive(Subcommand, Debug)]
pub enum FrameAction {
    /// Print the exact bytes a message becomes on the wire (text and hex on a terminal, raw in a pipe)
    Encode {
        /// What to encode: a line as `connect --proto P` would send it (a JSON object, `GET /path`, a stanza, or with --from/--to the message body)
        #[arg(value_name = "INPUT")]
        input: String,
        #[command(flatten)]
        framing: FramingArgs,
    },
}

/// Where the chat server keeps its data, and for which domain.
#[derive(Args, Debug, Clone)]
pub struct DataArgs {
    /// Where the databases live (default: $XDG_DATA_HOME/socklab/chat)
    #[arg(long, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// The chat domain: users are NAME@DOMAIN
    #[arg(long, value_name = "DOMAIN", default_value = "localhost")]
    pub domain: String,
}

#[derive(Args, Debug)]
#[command(args_conflicts_with_subcommands = true)]
pub struct ChatArgs {
    #[command(subcommand)]
    pub action: Option<ChatAction>,
    /// Log in as JID and chat: type a line to send it to the current contact, /help for commands
    #[arg(value_name = "JID")]
    pub jid: Option<String>,
    #[command(flatten)]
    pub client: ChatClientArgs,
}

/// How the chat client reaches its server and where it keeps its cache.
#[derive(Args, Debug, Clone)]
pub struct ChatClientArgs {
    /// The server to connect to: HOST:PORT, or PORT on 127.0.0.1
    #[arg(long, value_name = "HOST:PORT", value_parser = parse_endpoint, default_value = "127.0.0.1:5222")]
    pub server: Endpoint,
    /// The wire protocol: XMPP (any XMPP server) or socklab's JSON protocol
    #[arg(long, value_enum, value_name = "PROTO", default_value_t = ChatProto::Xmpp)]
    pub proto: ChatProto,
    /// Read the password from the first line of FILE (default: ask on the terminal)
    #[arg(long, value_name = "FILE")]
    pub password_file: Option<PathBuf>,
    /// Where the local cache of chat records lives (default: $XDG_DATA_HOME/socklab/chat)
    #[arg(long, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// Use this SASL mechanism instead of the strongest one the server offers
    #[arg(long, value_enum, value_name = "NAME", ignore_case = true)]
    pub mechanism: Option<ChatMechanism>,
    /// The resource to bind (this device's name: alice@localhost/NAME); default: the server picks
    #[arg(long, value_name = "NAME")]
    pub resource: Option<String>,
    /// The largest attachment this client downloads: a bigger one is refused before it fills the disk (1k to 1T)
    #[arg(long, value_name = "SIZE", value_parser = size_in(KIB, 1024 * GIB), default_value = "4GiB")]
    pub max_download: usize,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, ValueEnum)]
pub enum ChatProto {
    /// XMPP (RFC 6120): works with socklab's server, Prosody, ejabberd...
    #[default]
    Xmpp,
    /// socklab's JSON protocol, one object per line (only socklab's server speaks it)
    Json,
}

/// The SASL mechanisms the client can use, as the server lists them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ChatMechanism {
    /// The password never crosses the wire; the server proves itself too (RFC 7677)
    #[value(name = "SCRAM-SHA-256")]
    ScramSha256,
    /// The same with SHA-1 (RFC 5802)
    #[value(name = "SCRAM-SHA-1")]
    ScramSha1,
    /// The password itself, base64-encoded (RFC 4616): readable by anyone on the path without TLS
    #[value(name = "PLAIN")]
    Plain,
}

/// `socklab chat send FROM TO MESSAGE...`.
#[derive(Args, Debug)]
pub struct ChatSendArgs {
    /// Who sends: alice@localhost
    #[arg(value_name = "FROM")]
    pub from: String,
    /// Who receives: bob@localhost (or bob, on FROM's domain)
    #[arg(value_name = "TO")]
    pub to: String,
    /// The message, its words joined with spaces; without it (and without --file), each stdin line is one message
    #[arg(value_name = "MESSAGE")]
    pub message: Vec<String>,
    /// Send this file too: upload it to the server's file service (XEP-0363), then send its link (XEP-0066)
    #[arg(long, value_name = "PATH")]
    pub file: Option<PathBuf>,
    #[command(flatten)]
    pub client: ChatClientArgs,
}

#[derive(Subcommand, Debug)]
pub enum ChatAction {
    /// Run the chat server: XMPP and the JSON protocol on one port (default 127.0.0.1:5222)
    Serve(ChatServeArgs),
    /// Log in, send one message (or one per stdin line), close cleanly: exit 0 once the server took it
    Send(ChatSendArgs),
    /// Create an account (the password is asked for, or read from --password-file)
    Adduser {
        /// The account's name: alice (the part before @); NAME@DOMAIN is the JID
        #[arg(value_name = "NAME")]
        name: String,
        /// Read the password from the first line of FILE
        #[arg(long, value_name = "FILE")]
        password_file: Option<PathBuf>,
        #[command(flatten)]
        data: DataArgs,
    },
    /// Delete an account, its roster and its offline messages
    Deluser {
        /// The account's name: alice (the part before @); NAME@DOMAIN is the JID
        #[arg(value_name = "NAME")]
        name: String,
        #[command(flatten)]
        data: DataArgs,
    },
    /// Change an account's password
    Passwd {
        /// The account's name: alice (the part before @); NAME@DOMAIN is the JID
        #[arg(value_name = "NAME")]
        name: String,
        /// Read the password from the first line of FILE
        #[arg(long, value_name = "FILE")]
        password_file: Option<PathBuf>,
        #[command(flatten)]
        data: DataArgs,
    },
    /// Print the <auth/> element that logs NAME in with SASL PLAIN, to type into `socklab connect --proto xml`
    Plain {
        /// The account's name: alice (the part before @); NAME@DOMAIN is the JID
        #[arg(value_name = "NAME")]
        name: String,
        /// Read the password from the first line of FILE
        #[arg(long, value_name = "FILE")]
        password_file: Option<PathBuf>,
    },
    /// List the accounts
    Users {
        #[command(flatten)]
        data: DataArgs,
    },
    /// Print the messages in JID's local cache, oldest first, for scripts (no server needed; with --json, one JSON object per line)
    History(ChatHistoryArgs),
    /// Delete a user's archived messages from the server's database (all of them, or those older than --older-than)
    Purge {
        /// Whose archive: bob (the account's name, before the @)
        #[arg(value_name = "NAME")]
        name: String,
        /// Only messages older than DAYS days (1 to 36500)
        #[arg(long, value_name = "DAYS", value_parser = number_in(1u32, 36_500))]
        older_than: Option<u32>,
        #[command(flatten)]
        data: DataArgs,
    },
}

/// `socklab chat history JID`.
#[derive(Args, Debug)]
pub struct ChatHistoryArgs {
    /// Whose cache: alice@localhost
    #[arg(value_name = "JID")]
    pub jid: String,
    /// Only the conversation with NAME (bob means bob@DOMAIN)
    #[arg(long = "with", value_name = "NAME")]
    pub with: Option<String>,
    /// Only messages sent on or after DATE: 2026-11-01 (midnight UTC) or 2026-11-01T12:00:00Z
    #[arg(long, value_name = "DATE", value_parser = since_date)]
    pub since: Option<i64>,
    /// First log in and sync the cache with the server's archive (XEP-0313)
    #[arg(long)]
    pub sync: bool,
    #[command(flatten)]
    pub client: ChatClientArgs,
}

#[derive(Args, Debug)]
pub struct ChatServeArgs {
    /// Where to listen: PORT (on 127.0.0.1) or HOST:PORT
    #[arg(value_name = "[HOST:]PORT", value_parser = parse_endpoint, default_value = "5222")]
    pub addr: Endpoint,
    /// SASL mechanisms to offer, comma-separated (SCRAM-SHA-256, SCRAM-SHA-1, PLAIN)
    #[arg(
        long,
        value_name = "LIST",
        default_value = "SCRAM-SHA-256,SCRAM-SHA-1,PLAIN"
    )]
    pub sasl: String,
    /// Also offer SASL ANONYMOUS: log in without an account, under a made-up name
    #[arg(long)]
    pub anonymous: bool,
    /// Largest stanza or JSON line accepted; a bigger one ends the stream with policy-violation (1k to 64MiB)
    #[arg(long, value_name = "SIZE", value_parser = size_in(KIB, 64 * MIB), default_value = "256k")]
    pub max_stanza: usize,
    /// Close a connection that has not logged in after DUR (1s to 1h); a file-service connection quiet for DUR (30s at most) too
    #[arg(long, value_name = "DUR", value_parser = duration_in(SECOND, HOUR), default_value = "60s")]
    pub login_timeout: Duration,
    /// Keep archived messages DAYS days, deleting older ones at start and every hour (1 to 36500; default: keep them all)
    #[arg(long, value_name = "DAYS", value_parser = number_in(1u32, 36_500))]
    pub archive_days: Option<u32>,
    /// How long a wrong password waits before its failure is sent (0s to 1m)
    #[arg(long, value_name = "DUR", value_parser = duration_in(Duration::ZERO, MINUTE), default_value = "1s")]
    pub failure_delay: Duration,
    /// The file service (attachments, XEP-0363): HTTP on this port of the chat server's host (default 5280, or an OS-chosen one when the chat port is 0)
    #[arg(long, value_name = "PORT", value_parser = parse_port)]
    pub http_port: Option<u16>,
    /// Run no file service: no attachments
    #[arg(long, conflicts_with = "http_port")]
    pub no_files: bool,
    /// Largest attachment accepted; a bigger one gets file-too-large (1 to 16GiB)
    #[arg(long, value_name = "SIZE", value_parser = size_in(1, 16 * GIB), default_value = "100MiB")]
    pub max_file_size: usize,
    /// What one user may store in attachments, in all (1 to 64GiB)
    #[arg(long, value_name = "SIZE", value_parser = size_in(1, 64 * GIB), default_value = "1GiB")]
    pub quota: usize,
    /// How long an upload slot waits for its PUT (1s to 24h)
    #[arg(long, value_name = "DUR", value_parser = duration_in(SECOND, DAY), default_value = "5m")]
    pub slot_ttl: Duration,
    #[command(flatten)]
    pub data: DataArgs,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum DemoKind {
    /// A TCP listener and a client: handshake, a line each way, FIN, close
    Tcp,
    /// A UDP receiver and sender side by side: datagrams, boundaries, nobody listening
    Udp,
}

/// `--since`: a day or a date-time, as milliseconds since the epoch.
fn since_date(s: &str) -> Result<i64, String> {
    crate::chat::time::parse_day(s)
        .ok_or_else(|| format!("{s:?} is not a date: write 2026-11-01, or 2026-11-01T12:00:00Z"))
}

fn parse_endpoint(s: &str) -> Result<Endpoint, String> {
    s.parse()
}

/// A lesson number: 1 to the number of lessons compiled in.
fn lesson_number(s: &str) -> Result<usize, String> {
    number_in(1, crate::lessons::catalog::count())(s)
}

/// The help for a lesson number, with the range in it.
fn lesson_number_help(what: &str, rest: &str) -> String {
    format!("{what} (1 to {}){rest}", crate::lessons::catalog::count())
}

/// `--delay`: the relay holds data this long, so each part has a ceiling.
fn relay_delay(s: &str) -> Result<(Duration, Duration), String> {
    let range = format!("each part must be between 0s and {}", show_duration(MINUTE));
    match crate::relay::fate::parse_delay(s) {
        Ok((base, jitter)) if base <= MINUTE && jitter <= MINUTE => Ok((base, jitter)),
        Ok(_) => Err(range),
        Err(e) => Err(format!("{e}; {range}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn the_cli_is_well_formed() {
        Cli::command().debug_assert();
    }

    #[test]
    fn netcat_flags_parse() {
        let cli = Cli::try_parse_from(["socklab", "listen", "-k", "-l", "-C", "-N", "5288"]);
        assert!(cli.is_ok(), "{cli:?}");
        let cli = Cli::try_parse_from(["socklab", "-q", "connect", "-w", "5", "localhost", "80"]);
        assert!(cli.is_ok(), "{cli:?}");
    }

    #[test]
    fn bad_ports_are_usage_errors() {
        for args in [
            ["socklab", "listen", "70000"],
            ["socklab", "listen", "localhost:"],
        ] {
            let err = Cli::try_parse_from(args).expect_err("rejected");
            assert_eq!(err.exit_code(), 2);
        }
    }
}

//! nginx on loopback for a test: a temporary directory with its files to
//! serve and its own configuration (`daemon off`, its own pid file and
//! logs, no access log, one process), on a port the OS chose a moment
//! before, waited for by connecting until it answers. Killed when dropped.

use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Instant;

use super::{DEADLINE, free_tcp_port, require};

pub struct Nginx {
    pub port: u16,
    child: Child,
    dir: tempfile::TempDir,
}

impl Nginx {
    /// Starts nginx serving `files` (name, contents) and any `extra`
    /// directives for its `server` block.
    pub fn start(files: &[(&str, &[u8])], extra: &str) -> Nginx {
        require("nginx");
        let dir = tempfile::tempdir().expect("tempdir");
        let root = dir.path().join("root");
        std::fs::create_dir(&root).expect("root dir");
        for (name, contents) in files {
            std::fs::write(root.join(name), contents).expect("a file to serve");
        }
        let d = dir.path().display();
        let port = free_tcp_port();
        // One process, no workers: killing it leaves nothing behind (a
        // killed master would orphan its workers, still listening), and
        // nothing runs as another user who could not read a private
        // temporary directory.
        let conf = format!(
            "daemon off;
master_process off;
pid {d}/nginx.pid;
error_log {d}/error.log;
events {{ worker_connections 64; }}
http {{
    access_log off;
    client_body_temp_path {d}/body;
    proxy_temp_path {d}/proxy;
    fastcgi_temp_path {d}/fastcgi;
    uwsgi_temp_path {d}/uwsgi;
    scgi_temp_path {d}/scgi;
    server {{
        listen 127.0.0.1:{port};
        root {d}/root;
        {extra}
    }}
}}
"
        );
        let conf_path = dir.path().join("nginx.conf");
        std::fs::write(&conf_path, conf).expect("nginx.conf");
        let child = Command::new("nginx")
            .arg("-p")
            .arg(dir.path())
            .arg("-e")
            .arg(dir.path().join("error.log"))
            .arg("-c")
            .arg(&conf_path)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start nginx");
        let mut nginx = Nginx { port, child, dir };
        nginx.wait_until_listening();
        nginx
    }

    /// A file to serve that is too large to pass as bytes: created here,
    /// under the root.
    pub fn root(&self) -> PathBuf {
        self.dir.path().join("root")
    }

    fn wait_until_listening(&mut self) {
        let end = Instant::now() + DEADLINE;
        while TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!("nginx exited ({status}): {}", self.log());
            }
            assert!(Instant::now() < end, "nginx never listened: {}", self.log());
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(Path::new(self.dir.path()).join("error.log")).unwrap_or_default()
    }
}

impl Drop for Nginx {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

//! Password checks off the loop thread.
//!
//! Checking a PLAIN password means running PBKDF2 thousands of times, on
//! purpose: that is what makes a stolen database slow to attack. It takes
//! milliseconds, which on the event loop's thread would stall every other
//! session for each login. So the loop hands the check to these threads and
//! carries on; the answer comes back through a channel, and a `mio::Waker`
//! wakes the loop to read it.

use std::sync::mpsc::{Receiver, Sender, channel};
use std::sync::{Arc, Mutex};
use std::thread;

use mio::Waker;

use super::core::SessionId;
use super::sasl::{Credentials, DEFAULT_ITERATIONS, Secret, verify_plain};

struct Job {
    id: SessionId,
    password: Secret,
    credentials: Option<Credentials>,
}

/// A finished check.
pub struct Verdict {
    pub id: SessionId,
    pub ok: bool,
}

pub struct Workers {
    jobs: Option<Sender<Job>>,
    results: Receiver<Verdict>,
    threads: Vec<thread::JoinHandle<()>>,
}

impl Workers {
    /// Starts `n` threads that wake the loop through `waker`.
    pub fn start(n: usize, waker: Arc<Waker>) -> std::io::Result<Workers> {
        let (jobs, inbox) = channel::<Job>();
        let inbox = Arc::new(Mutex::new(inbox));
        let (done, results) = channel();
        let mut threads = Vec::new();
        for i in 0..n.max(1) {
            let inbox = inbox.clone();
            let done = done.clone();
            let waker = waker.clone();
            threads.push(
                thread::Builder::new()
                    .name(format!("auth-{i}"))
                    .spawn(move || {
                        loop {
                            // Holding the lock only to take a job: the checks run in parallel.
                            let job = match inbox.lock() {
                                Ok(rx) => rx.recv(),
                                Err(_) => return,
                            };
                            let Ok(job) = job else { return };
                            let ok = verify_plain(
                                job.credentials.as_ref(),
                                &job.password,
                                DEFAULT_ITERATIONS,
                            );
                            if done.send(Verdict { id: job.id, ok }).is_err()
                                || waker.wake().is_err()
                            {
                                return;
                            }
                        }
                    })?,
            );
        }
        Ok(Workers {
            jobs: Some(jobs),
            results,
            threads,
        })
    }

    pub fn verify(&self, id: SessionId, password: Secret, credentials: Option<Credentials>) {
        if let Some(jobs) = &self.jobs {
            let _ = jobs.send(Job {
                id,
                password,
                credentials,
            });
        }
    }

    /// Verdicts that have come back.
    pub fn done(&self) -> impl Iterator<Item = Verdict> + '_ {
        self.results.try_iter()
    }
}

impl Drop for Workers {
    fn drop(&mut self) {
        // Closing the channel ends the threads once their job is done.
        self.jobs = None;
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
    }
}

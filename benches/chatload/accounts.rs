//! Creates `user0` … `user{N-1}` for both servers, quickly.
//!
//! socklab: `socklab chat adduser` in a loop would pay a process start and
//! two PBKDF2 runs per user. Here the credentials are derived once and
//! stored for every user in one SQLite transaction, through the same
//! `Store` the server reads. Every account gets the same salt, which a real
//! server must never do (one guessed password would unlock them all) and
//! which changes nothing the benchmark measures: a PLAIN login still runs
//! 4096 PBKDF2 rounds on the server, a SCRAM login still sends the salt.
//!
//! Prosody: `prosodyctl register` starts Lua per user. With
//! `authentication = "internal_plain"` an account is one file,
//! `DATA/localhost/accounts/NAME.dat`, holding a Lua table; writing those
//! files directly is what `prosodyctl` would do, minus the start-up.

use std::path::Path;

use anyhow::Context;
use socklab::chat::sasl::{Credentials, DEFAULT_ITERATIONS, Secret};
use socklab::chat::store::{Store, now_ms};

pub fn socklab(dir: &Path, domain: &str, users: usize, password: &str) -> anyhow::Result<()> {
    let mut store = Store::open(&dir.join("server.db"), domain)?;
    let creds = Credentials::derive(&Secret::new(password), DEFAULT_ITERATIONS)?;
    // One transaction for them all (the server's group commit, borrowed).
    store.batch_writes();
    let mut added = 0;
    for i in 0..users {
        added += usize::from(store.add_user(&format!("user{i}"), &creds, now_ms())?);
    }
    store.commit()?;
    eprintln!(
        "socklab: {added} accounts added, {} already there, in {}",
        users - added,
        dir.display()
    );
    Ok(())
}

pub fn prosody(dir: &Path, domain: &str, users: usize, password: &str) -> anyhow::Result<()> {
    // The password goes into a Lua string literal: keep it to characters
    // that need no escaping there.
    if !password.chars().all(|c| c.is_ascii_alphanumeric()) {
        anyhow::bail!("--password: use letters and digits only (it is written into Lua source)");
    }
    // Prosody's datamanager escapes host and user names with %XX for
    // anything but letters, digits and a few more: "localhost" and
    // "userN" pass unchanged.
    let accounts = dir.join(domain).join("accounts");
    std::fs::create_dir_all(&accounts)
        .with_context(|| format!("cannot create {}", accounts.display()))?;
    let body = format!("return {{\n\t[\"password\"] = \"{password}\";\n}};\n");
    for i in 0..users {
        let path = accounts.join(format!("user{i}.dat"));
        std::fs::write(&path, &body).with_context(|| format!("cannot write {}", path.display()))?;
    }
    eprintln!("prosody: {users} account files in {}", accounts.display());
    Ok(())
}

//! `socklab chat adduser | deluser | passwd | users`: the accounts in the
//! server's database. Passwords come from a prompt with echo off, or from
//! `--password-file` (first line) for scripts — never from the command
//! line, where `ps` and the shell history would show them.

use std::io::IsTerminal;
use std::path::Path;

use anyhow::{Context, bail};

use super::jid::localpart;
use super::sasl::{Credentials, DEFAULT_ITERATIONS, Secret};
use super::store::{Store, now_ms};

/// Reads a password from the file's first line, or asks on the terminal.
pub fn read_password(file: Option<&Path>, prompt: &str, confirm: bool) -> anyhow::Result<Secret> {
    if let Some(path) = file {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read the password file {}", path.display()))?;
        let line = text.lines().next().unwrap_or_default();
        if line.is_empty() {
            bail!(
                "the password file {} is empty: put the password on its first line",
                path.display()
            );
        }
        return Ok(Secret::new(line));
    }
    if !std::io::stdin().is_terminal() {
        bail!(
            "no terminal to ask for the password on: give it with --password-file FILE (its first line)"
        );
    }
    let first = rpassword::prompt_password(prompt).context("cannot read the password")?;
    if first.is_empty() {
        bail!("an empty password is not allowed");
    }
    if confirm {
        let again = rpassword::prompt_password("again: ").context("cannot read the password")?;
        if again != first {
            bail!("the two passwords differ: nothing was changed");
        }
    }
    Ok(Secret::new(first))
}

pub fn adduser(store: &Store, name: &str, password: &Secret) -> anyhow::Result<String> {
    let name = localpart(name).map_err(anyhow::Error::msg)?;
    let creds = Credentials::derive(password, DEFAULT_ITERATIONS)?;
    if !store.add_user(&name, &creds, now_ms())? {
        bail!(
            "{name}@{} exists already: `socklab chat passwd {name}` changes its password",
            store.domain()
        );
    }
    Ok(format!(
        "added {name}@{}: the database keeps a salt and two SCRAM keys ({} PBKDF2 iterations), not the password",
        store.domain(),
        creds.iterations
    ))
}

pub fn passwd(store: &Store, name: &str, password: &Secret) -> anyhow::Result<String> {
    let name = localpart(name).map_err(anyhow::Error::msg)?;
    let creds = Credentials::derive(password, DEFAULT_ITERATIONS)?;
    if !store.set_keys(&name, &creds)? {
        bail!(
            "there is no user {name}@{}: `socklab chat adduser {name}` creates it",
            store.domain()
        );
    }
    Ok(format!(
        "changed {name}@{}'s password (new salt, new keys)",
        store.domain()
    ))
}

pub fn deluser(store: &mut Store, name: &str) -> anyhow::Result<String> {
    let name = localpart(name).map_err(anyhow::Error::msg)?;
    if !store.delete_user(&name)? {
        bail!("there is no user {name}@{}", store.domain());
    }
    Ok(format!(
        "deleted {name}@{} with its roster and offline messages (a running server ends its sessions at their next login)",
        store.domain()
    ))
}

pub fn users(store: &Store) -> anyhow::Result<String> {
    let rows = store.users()?;
    if rows.is_empty() {
        return Ok("no users yet: `socklab chat adduser alice` adds one".to_string());
    }
    let mut out = String::from("user                 contacts  offline  created\n");
    for r in rows {
        out.push_str(&format!(
            "{:<20} {:>8} {:>8}  {}\n",
            format!("{}@{}", r.name, store.domain()),
            r.contacts,
            r.offline,
            super::time::stamp(r.created_ms)
        ));
    }
    Ok(out.trim_end().to_string())
}

/// The `<auth/>` element of a PLAIN login, and what it means.
pub fn plain_auth(name: &str, password: &Secret) -> (String, String) {
    use base64::Engine as _;
    let payload = super::sasl::plain_initial("", name, password);
    let b64 = base64::engine::general_purpose::STANDARD.encode(&payload);
    let element =
        format!("<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>{b64}</auth>");
    let explanation = format!(
        "PLAIN's message is NUL, the user name, NUL, the password (\\0{name}\\0{}), base64-encoded: \
         encoded, not encrypted, so anyone who reads the socket can decode it (the shell way: printf '\\0{name}\\0PASSWORD' | base64). \
         Type the line below after the server's <stream:features>.",
        super::sasl::MASK
    );
    (element, explanation)
}

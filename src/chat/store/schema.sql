-- socklab chat server: everything the server keeps between runs.
-- Read it with `sqlite3 ~/.local/share/socklab/chat/server.db .schema`.
-- Passwords are never stored: only SCRAM's salted keys (RFC 5802 §3), from
-- which a login can be checked but the password cannot be recovered.

PRAGMA user_version = 1;

-- One row per account. `name` is the part before @ in alice@localhost.
CREATE TABLE IF NOT EXISTS users (
    name              TEXT PRIMARY KEY,
    salt              BLOB NOT NULL,
    iterations        INTEGER NOT NULL,
    sha1_stored_key   BLOB NOT NULL,  -- H(HMAC(SaltedPassword, "Client Key")), SHA-1
    sha1_server_key   BLOB NOT NULL,  -- HMAC(SaltedPassword, "Server Key"), SHA-1
    sha256_stored_key BLOB NOT NULL,  -- the same with SHA-256
    sha256_server_key BLOB NOT NULL,
    created_ms        INTEGER NOT NULL
);

-- Rosters (friend lists) and presence subscriptions (RFC 6121 §2, §3).
-- subscription: 'none' | 'to' (owner sees contact) | 'from' (contact sees
-- owner) | 'both'. ask_out: owner asked, no answer yet. ask_in: contact
-- asked, owner has not answered. A request from someone who is not in the
-- roster is kept with in_roster = 0 until the owner answers it.
CREATE TABLE IF NOT EXISTS roster (
    owner        TEXT NOT NULL REFERENCES users(name) ON DELETE CASCADE,
    contact      TEXT NOT NULL,           -- bare JID, bob@localhost
    name         TEXT,                    -- what the owner calls the contact
    subscription TEXT NOT NULL DEFAULT 'none',
    ask_out      INTEGER NOT NULL DEFAULT 0,
    ask_in       INTEGER NOT NULL DEFAULT 0,
    in_roster    INTEGER NOT NULL DEFAULT 1,
    groups       TEXT NOT NULL DEFAULT '[]',  -- JSON array of group names
    PRIMARY KEY (owner, contact)
);

-- Messages for users who were offline, delivered at their next login with
-- the time they were sent (XEP-0160, XEP-0203), then deleted.
CREATE TABLE IF NOT EXISTS offline (
    id        INTEGER PRIMARY KEY,
    owner     TEXT NOT NULL REFERENCES users(name) ON DELETE CASCADE,
    sender    TEXT NOT NULL,              -- full JID, as the server stamped it
    kind      TEXT NOT NULL,              -- normal | chat | headline
    stanza_id TEXT,                       -- the sender's id attribute
    body      TEXT,
    subject   TEXT,
    thread    TEXT,
    extra     TEXT NOT NULL DEFAULT '',   -- extension elements, as XML
    stamp_ms  INTEGER NOT NULL,
    archive_id INTEGER                    -- its id in the owner's archive
);
CREATE INDEX IF NOT EXISTS offline_by_owner ON offline(owner, id);

-- The message archive (XEP-0313): every message the server routed, once for
-- each local user it concerns — the sender's copy ('out') and the
-- recipient's ('in'). `id` orders a user's archive and is the id clients
-- page with and sync by.
CREATE TABLE IF NOT EXISTS archive (
    id        INTEGER PRIMARY KEY,
    owner     TEXT NOT NULL REFERENCES users(name) ON DELETE CASCADE,
    with_jid  TEXT NOT NULL,              -- the other party, bare JID
    direction TEXT NOT NULL,              -- 'in' | 'out'
    sender    TEXT NOT NULL,              -- full JID
    recipient TEXT NOT NULL,
    kind      TEXT NOT NULL,
    stanza_id TEXT,
    body      TEXT,
    extra     TEXT NOT NULL DEFAULT '',   -- extension elements, as XML
    stamp_ms  INTEGER NOT NULL
);
-- Each query reads one of these in order, and no further than its page:
-- a conversation (with), the whole archive (a client's sync), a time.
CREATE INDEX IF NOT EXISTS archive_by_with ON archive(owner, with_jid, id);
CREATE INDEX IF NOT EXISTS archive_by_owner ON archive(owner, id);
CREATE INDEX IF NOT EXISTS archive_by_time ON archive(owner, stamp_ms);

-- Attachments (XEP-0363 HTTP File Upload): a slot is a promise to accept
-- one file of one size, once, before it expires. `id` is 128 random bits
-- and appears in both URLs: whoever has the URL can fetch the file, and
-- nobody can guess one. The file itself is `files/<id>` in the data
-- directory, under this server-chosen name, never the client's.
CREATE TABLE IF NOT EXISTS uploads (
    id           TEXT PRIMARY KEY,
    owner        TEXT NOT NULL REFERENCES users(name) ON DELETE CASCADE,
    filename     TEXT NOT NULL,           -- the client's name, made safe
    size         INTEGER NOT NULL,
    content_type TEXT NOT NULL,
    created_ms   INTEGER NOT NULL,
    expires_ms   INTEGER NOT NULL,        -- the PUT must start before this
    stored       INTEGER NOT NULL DEFAULT 0   -- 1 once the file is complete
);
CREATE INDEX IF NOT EXISTS uploads_by_owner ON uploads(owner);

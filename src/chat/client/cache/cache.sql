-- socklab chat client: the local cache of one account's chat records, like
-- the database an IM SDK keeps on the phone. One file per account:
-- <data-dir>/client/alice@localhost.db. Read it with
-- `sqlite3 ~/.local/share/socklab/chat/client/alice@localhost.db .schema`.
-- It holds what this device sent and received; `/history bob` reads it,
-- also when the server is down. No passwords here.

PRAGMA user_version = 2;

-- Every message sent (stored once its bytes were written to the socket) and
-- received (stored on arrival).
CREATE TABLE IF NOT EXISTS messages (
    id         INTEGER PRIMARY KEY,
    peer       TEXT NOT NULL,            -- the other person, bare JID: bob@localhost
    direction  TEXT NOT NULL CHECK (direction IN ('in', 'out')),
    body       TEXT NOT NULL,
    stamp_ms   INTEGER NOT NULL,         -- when it was sent (for a delayed message, its <delay> stamp)
    stanza_id  TEXT,                     -- the stanza's id attribute, to match an error reply
    archive_id TEXT UNIQUE,              -- its id in the server's archive (XEP-0313, XEP-0359); NULL until known
    error      TEXT                      -- why the server refused it (out only); NULL if it did not
);
CREATE INDEX IF NOT EXISTS messages_by_peer ON messages(peer, stamp_ms, id);
-- A message from the archive that has no archive_id here yet (one this
-- device sent, or received before its id was known) is found by its stanza id.
CREATE INDEX IF NOT EXISTS messages_by_stanza ON messages(stanza_id);

-- How far the last sync with the server's archive got: the archive id of
-- the last message it fetched. Archive ids are opaque text, ordered only by
-- the archive, so the next sync asks for what comes after this one.
CREATE TABLE IF NOT EXISTS sync (
    name  TEXT PRIMARY KEY,              -- 'archive'
    value TEXT NOT NULL
);

-- The roster as last seen from the server: /roster can show it offline.
CREATE TABLE IF NOT EXISTS roster (
    contact      TEXT PRIMARY KEY,       -- bare JID
    name         TEXT,                   -- what we call the contact
    subscription TEXT NOT NULL,          -- none | to | from | both (RFC 6121 §2.1.2.5)
    ask          INTEGER NOT NULL DEFAULT 0,  -- we asked to see their presence, no answer yet
    updated_ms   INTEGER NOT NULL
);

-- Attachments (version 2): files received (downloaded into the attachments
-- folder beside this database) and sent (uploaded from where they are),
-- with the SHA-256 of their bytes, to compare with the sender's.
CREATE TABLE IF NOT EXISTS attachments (
    id         INTEGER PRIMARY KEY,
    peer       TEXT NOT NULL,            -- who sent it (in) or got it (out), bare JID
    direction  TEXT NOT NULL CHECK (direction IN ('in', 'out')),
    name       TEXT NOT NULL,            -- the name as sent (from the URL): shown, never a path
    path       TEXT NOT NULL,            -- where the file is on this device (absolute)
    size       INTEGER NOT NULL,
    sha256     TEXT NOT NULL,            -- hex
    url        TEXT NOT NULL,            -- the GET URL the message carried
    stamp_ms   INTEGER NOT NULL
);

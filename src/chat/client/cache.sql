-- socklab chat client: the local cache of one account's chat records, like
-- the database an IM SDK keeps on the phone. One file per account:
-- <data-dir>/client/alice@localhost.db. Read it with
-- `sqlite3 ~/.local/share/socklab/chat/client/alice@localhost.db .schema`.
-- It holds what this device sent and received; `/history bob` reads it,
-- also when the server is down. No passwords here.

PRAGMA user_version = 1;

-- Every message sent (stored once its bytes were written to the socket) and
-- received (stored on arrival).
CREATE TABLE IF NOT EXISTS messages (
    id         INTEGER PRIMARY KEY,
    peer       TEXT NOT NULL,            -- the other person, bare JID: bob@localhost
    direction  TEXT NOT NULL CHECK (direction IN ('in', 'out')),
    body       TEXT NOT NULL,
    stamp_ms   INTEGER NOT NULL,         -- when it was sent (for a delayed message, its <delay> stamp)
    stanza_id  TEXT,                     -- the stanza's id attribute, to match an error reply
    archive_id TEXT UNIQUE,              -- the server archive's id (XEP-0313), for a later sync; NULL for now
    error      TEXT                      -- why the server refused it (out only); NULL if it did not
);
CREATE INDEX IF NOT EXISTS messages_by_peer ON messages(peer, stamp_ms, id);

-- The roster as last seen from the server: /roster can show it offline.
CREATE TABLE IF NOT EXISTS roster (
    contact      TEXT PRIMARY KEY,       -- bare JID
    name         TEXT,                   -- what we call the contact
    subscription TEXT NOT NULL,          -- none | to | from | both (RFC 6121 §2.1.2.5)
    ask          INTEGER NOT NULL DEFAULT 0,  -- we asked to see their presence, no answer yet
    updated_ms   INTEGER NOT NULL
);

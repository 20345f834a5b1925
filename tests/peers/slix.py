#!/usr/bin/env python3
"""A real XMPP client (slixmpp) driven line by line, for socklab's tests.

usage: slix.py JID PASSWORD PORT [--mech NAME]

Reads one JSON command per line on stdin and prints one JSON event per line
on stderr (with a "step" key, as socklab's --json events have), so a test can drive a scenario step by step and wait for each
event with a deadline. Plain TCP on 127.0.0.1 only.

commands: {"cmd": "send", "to": JID, "body": TEXT, "type": "chat", "url": URL}
                                             (url: an XEP-0066 <x xmlns='jabber:x:oob'>)
          {"cmd": "subscribe" | "subscribed" | "unsubscribe" | "unsubscribed", "to": JID}
          {"cmd": "roster"}                  -> {"event": "roster", "items": {...}}
          {"cmd": "roster_add", "jid": JID, "name": NAME}
          {"cmd": "presence", "show": "away"}
          {"cmd": "iq_ping", "to": JID}      -> {"event": "pong" | "iq_error", ...}
          {"cmd": "mam", "with": JID, "start": STAMP, "end": STAMP, "max": N,
           "after": ID, "before": ID}        -> {"event": "mam", "results": [...],
                                                 "first", "last", "count", "complete"}
          {"cmd": "mam_pages", "with": JID, "max": N, "reverse": BOOL}
                                             -> {"event": "mam_pages", "pages": [[...], ...]}
          {"cmd": "upload", "path": PATH, "content_type": TYPE}
                                             -> {"event": "uploaded", "url": GET-URL}
                                                | "upload_error" (kind, text, status)
          {"cmd": "slot", "name": NAME, "size": N}
                                             -> {"event": "slot", "put", "get"} | "iq_error"
                                                (with "app", "max_file_size" for file-too-large)
          {"cmd": "quit"}
events:   session_start, failed_auth, disconnected, message, presence,
          subscribe, subscribed, unsubscribe, unsubscribed, roster, roster_push,
          mam, mam_pages, iq_error, uploaded, upload_error, slot

"mam" is one XEP-0313 query, one page (XEP-0059 paging by archive id);
"mam_pages" walks the whole archive with slixmpp's own page iterator,
forwards, or backwards from the last page with reverse.
"upload" is slixmpp's whole XEP-0363 flow: disco for the upload service, a
slot request, the PUT (with aiohttp); "slot" is the slot request alone, so
that a test sees the server's refusal rather than slixmpp's own size check.
A received message's XEP-0066 URL is its event's "url".
"""
import asyncio
import json
import sys

import slixmpp
from slixmpp.plugins import xep_0082


def emit(event, **kw):
    print(json.dumps({'step': event, **kw}, ensure_ascii=False), file=sys.stderr, flush=True)


class Client(slixmpp.ClientXMPP):
    def __init__(self, jid, password, mech):
        super().__init__(jid, password)
        # socklab's chat runs on plain TCP on loopback: no TLS at all.
        self.enable_direct_tls = False
        self.enable_starttls = False
        self.enable_plaintext = True
        self['feature_mechanisms'].unencrypted_plain = True
        self['feature_mechanisms'].unencrypted_scram = True
        if mech:
            self['feature_mechanisms'].use_mech = mech
        self.register_plugin('xep_0199')
        self.register_plugin('xep_0203')
        self.register_plugin('xep_0313')
        self.register_plugin('xep_0066')
        self.auto_authorize = None
        self.auto_subscribe = False
        self.add_event_handler('session_start', self.on_start)
        self.add_event_handler('failed_auth', lambda e: emit(event='failed_auth'))
        self.add_event_handler('disconnected', lambda e: emit(event='disconnected'))
        self.add_event_handler('message', self.on_message)
        self.add_event_handler('message_error', self.on_message)
        self.add_event_handler('roster_update', lambda iq: emit(event='roster_push', items=self.items()))
        for kind in ['subscribe', 'subscribed', 'unsubscribe', 'unsubscribed']:
            self.add_event_handler('presence_' + kind, self.sub_handler(kind))
        self.add_event_handler('presence_available', self.on_presence)
        self.add_event_handler('presence_unavailable', self.on_presence)
        self.add_event_handler('changed_status', self.on_presence)

    def items(self):
        r = self.client_roster
        return {j: {'subscription': r[j]['subscription'], 'name': r[j]['name'],
                    'pending_out': r[j]['pending_out']} for j in r if j != self.boundjid.bare}

    def sub_handler(self, kind):
        def handler(p):
            emit(event=kind, **{'from': str(p['from'])})
        return handler

    def on_presence(self, p):
        emit(event='presence', **{'from': str(p['from']), 'type': p['type'], 'show': p['show'], 'status': p['status']})

    async def on_start(self, _):
        await self.get_roster()
        self.send_presence()
        emit(event='session_start', jid=str(self.boundjid))

    def on_message(self, m):
        delay = m['delay']['stamp'] if m['delay']['stamp'] else None
        emit(event='message', **{'from': str(m['from']), 'to': str(m['to']), 'type': m['type'],
             'body': m['body'], 'id': m['id'], 'delay': str(delay) if delay else None,
             'error': m['error']['condition'] if m['type'] == 'error' else None,
             'url': m['oob']['url'] or None})


def archived(m):
    """One MAM result: its archive id and the forwarded message."""
    r = m['mam_result']
    inner = r['forwarded']['stanza']
    stamp = r['forwarded']['delay']['stamp']
    return {'id': r['id'], 'queryid': r['queryid'], 'from': str(inner['from']),
            'to': str(inner['to']), 'body': inner['body'],
            'stamp': xep_0082.format_datetime(stamp) if stamp else None}


def mam_filter(cmd):
    """The query's form fields, from a command."""
    when = lambda k: xep_0082.parse(cmd[k]) if k in cmd else None
    return {'with_jid': slixmpp.JID(cmd['with']) if 'with' in cmd else None,
            'start': when('start'), 'end': when('end')}


async def mam_page(c, cmd):
    rsm = {k: cmd[k] for k in ('max', 'after', 'before') if k in cmd}
    try:
        iq = await c['xep_0313'].retrieve(rsm=rsm, timeout=10, **mam_filter(cmd))
    except slixmpp.exceptions.IqError as e:
        return emit('iq_error', condition=e.iq['error']['condition'], text=e.iq['error']['text'])
    fin = iq['mam_fin']
    emit('mam', results=[archived(m) for m in iq['mam']['results']],
         first=fin['rsm']['first'], last=fin['rsm']['last'], count=fin['rsm']['count'],
         complete=fin['complete'])


async def mam_pages(c, cmd):
    pages = []
    query = c['xep_0313'].retrieve(iterator=True, reverse=cmd.get('reverse', False),
                                   rsm={'max': cmd.get('max', 10)}, **mam_filter(cmd))
    async for page in query:
        pages.append([archived(m) for m in page['mam']['results']])
    emit('mam_pages', pages=pages)


def upload_plugin(c):
    """XEP-0363, registered when first used: it needs aiohttp for the PUT."""
    if 'xep_0363' not in c.plugin:
        c.register_plugin('xep_0363')
    return c['xep_0363']


async def upload(c, cmd):
    from slixmpp.plugins.xep_0363.http_upload import FileUploadError, HTTPError
    try:
        url = await upload_plugin(c).upload_file(cmd['path'], content_type=cmd.get('content_type'),
                                                 timeout=10)
        emit('uploaded', url=url)
    except HTTPError as e:
        emit('upload_error', kind='http', status=e.args[0], text=e.args[1])
    except FileUploadError as e:
        emit('upload_error', kind=type(e).__name__, text=str(e))
    except slixmpp.exceptions.IqError as e:
        emit('upload_error', kind='iq', text=e.iq['error']['text'], condition=e.iq['error']['condition'])


async def slot(c, cmd):
    plugin = upload_plugin(c)
    service = slixmpp.JID('upload.' + c.boundjid.domain)
    try:
        iq = await plugin.request_slot(service, cmd['name'], cmd['size'], timeout=10)
    except slixmpp.exceptions.IqError as e:
        err = e.iq['error']
        app = next((x for x in err.xml if x.tag.endswith('}file-too-large')), None)
        most = app.find('{urn:xmpp:http:upload:0}max-file-size') if app is not None else None
        return emit('iq_error', condition=err['condition'], text=err['text'],
                    app='file-too-large' if app is not None else None,
                    max_file_size=most.text if most is not None else None)
    s = iq['http_upload_slot']
    emit('slot', put=s['put']['url'], get=s['get']['url'])


async def commands(c):
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    while True:
        line = await reader.readline()
        if not line:
            break
        cmd = json.loads(line)
        k = cmd['cmd']
        if k == 'send':
            m = c.make_message(mto=cmd['to'], mbody=cmd['body'], mtype=cmd.get('type', 'chat'))
            if 'url' in cmd:
                m['oob']['url'] = cmd['url']
            m.send()
        elif k in ('subscribe', 'subscribed', 'unsubscribe', 'unsubscribed'):
            c.send_presence(pto=cmd['to'], ptype=k)
        elif k == 'roster':
            await c.get_roster()
            emit(event='roster', items=c.items())
        elif k == 'roster_add':
            await c.update_roster(cmd['jid'], name=cmd.get('name'))
            emit(event='roster_added', jid=cmd['jid'])
        elif k == 'presence':
            c.send_presence(pshow=cmd.get('show'), pstatus=cmd.get('status'))
        elif k == 'iq_ping':
            try:
                await c['xep_0199'].send_ping(cmd['to'], timeout=10)
                emit(event='pong', **{'from': cmd['to']})
            except slixmpp.exceptions.IqError as e:
                emit(event='iq_error', condition=e.iq['error']['condition'])
        elif k == 'mam':
            await mam_page(c, cmd)
        elif k == 'mam_pages':
            await mam_pages(c, cmd)
        elif k == 'upload':
            await upload(c, cmd)
        elif k == 'slot':
            await slot(c, cmd)
        elif k == 'quit':
            c.disconnect()
            await c.disconnected
            break
        emit(event='done', cmd=k)


async def main():
    jid, password, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
    mech = sys.argv[5] if len(sys.argv) > 5 and sys.argv[4] == '--mech' else None
    c = Client(jid, password, mech)
    c.connect('127.0.0.1', port)
    await commands(c)


asyncio.run(main())

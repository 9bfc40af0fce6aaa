// Client authentication: every refusal kind in both dialects, success with both
// header styles, refused requests never reaching a provider.
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';

import { startGateway, sleep } from './lib/gateway.mjs';
import { DIALECTS, assertDialectError, unknownKey } from './lib/dialects.mjs';

let gw;
let keys;
let expiredCreatedAt;

before(async () => {
  gw = await startGateway({ label: 'auth' });
  expiredCreatedAt = Date.now();
  keys = {
    alice: gw.keys.alice,
    expiring: await gw.createKey('shortlived', '--expires', '1s'),
    disabled: await gw.createKey('carol'),
    bob: await gw.createKey('bob', '--models', 'gpt-*'),
  };
  await gw.ctlOk('key', 'disable', keys.disabled.id);
});

after(async () => { await gw?.stop(); });

// Sends `body` to `dialect`'s endpoint and asserts the refusal, and that no
// provider saw the request.
async function assertRefused(dialect, { key, auth, model }, status, type) {
  const d = DIALECTS[dialect];
  const before = gw.totalUpstreamRequests();
  const res = await gw.post(d.path, d.body(model ?? d.model), { key, auth });
  const body = assertDialectError(dialect, res, status, type);
  assert.equal(gw.totalUpstreamRequests(), before, 'a refused request never reaches a provider');
  if (key) assert.ok(!res.text.includes(key), 'the error does not echo the presented key');
  return body;
}

for (const dialect of ['anthropic', 'openai']) {
  describe(`${dialect} endpoint`, () => {
    test('no key -> 401 authentication_error', async () => {
      await assertRefused(dialect, { auth: 'none' }, 401, 'authentication_error');
    });

    test('empty x-api-key and empty Bearer -> 401', async () => {
      await assertRefused(dialect, { key: '', auth: 'x-api-key' }, 401, 'authentication_error');
      const d = DIALECTS[dialect];
      const res = await gw.request('POST', d.path, { body: d.body(), auth: 'none', headers: { authorization: 'Bearer ' } });
      assertDialectError(dialect, res, 401, 'authentication_error');
    });

    test('unknown key -> 401 (x-api-key and Bearer)', async () => {
      await assertRefused(dialect, { key: unknownKey() }, 401, 'authentication_error');
      await assertRefused(dialect, { key: unknownKey(), auth: 'bearer' }, 401, 'authentication_error');
      await assertRefused(dialect, { key: 'not-an-llmproxy-key' }, 401, 'authentication_error');
    });

    test('a key one character off -> 401', async () => {
      const k = keys.alice.key;
      const last = k.at(-1) === 'a' ? 'b' : 'a';
      await assertRefused(dialect, { key: k.slice(0, -1) + last }, 401, 'authentication_error');
      await assertRefused(dialect, { key: k.slice(0, -1) }, 401, 'authentication_error');
    });

    test('disabled key -> 401', async () => {
      await assertRefused(dialect, { key: keys.disabled.key }, 401, 'authentication_error');
      await assertRefused(dialect, { key: keys.disabled.key, auth: 'bearer' }, 401, 'authentication_error');
    });

    test('expired key -> 401', async () => {
      // --expires 1s has whole-second resolution: wait until surely past it.
      const wait = expiredCreatedAt + 2200 - Date.now();
      if (wait > 0) await sleep(wait);
      await assertRefused(dialect, { key: keys.expiring.key }, 401, 'authentication_error');
    });

    test('model outside the key allow-list -> 403 permission_error', async () => {
      const model = dialect === 'anthropic' ? 'claude-sonnet-4-5' : 'o3-mini';
      await assertRefused(dialect, { key: keys.bob.key, model }, 403, 'permission_error');
    });

    test('success with x-api-key and with Authorization: Bearer', async () => {
      const d = DIALECTS[dialect];
      const mock = gw.mocks[dialect];
      for (const auth of ['x-api-key', 'bearer']) {
        const n = mock.requests.length;
        const res = await gw.post(d.path, d.body(), { key: keys.alice.key, auth });
        assert.equal(res.status, 200, res.text);
        assert.match(JSON.stringify(res.json()), /llmproxy demo provider: /);
        assert.equal(mock.requests.length, n + 1);
      }
    });
  });
}

test('allow-listed model works for the restricted key', async () => {
  const d = DIALECTS.openai;
  const res = await gw.post(d.path, d.body('gpt-4o'), { key: keys.bob.key });
  assert.equal(res.status, 200, res.text);
  assert.equal(gw.mocks.openai.requests.at(-1).body.model, 'gpt-mock');
});

test('a key with a future expiry works (so the expired refusal is about expiry)', async () => {
  const fresh = await gw.createKey('longlived', '--expires', '1h');
  const d = DIALECTS.openai;
  const res = await gw.post(d.path, d.body(), { key: fresh.key });
  assert.equal(res.status, 200, res.text);
});

// HTTP/1.1 responses read off one socket in order: each resolves with its
// status, headers and body (Content-Length or chunked framing).
function responseReader(socket) {
  let buf = Buffer.alloc(0);
  let waiting = null;
  const tryParse = () => {
    const end = buf.indexOf('\r\n\r\n');
    if (end < 0) return null;
    const head = buf.subarray(0, end).toString('latin1').split('\r\n');
    const status = Number(head[0].split(' ')[1]);
    const headers = {};
    for (const line of head.slice(1)) {
      const i = line.indexOf(':');
      headers[line.slice(0, i).trim().toLowerCase()] = line.slice(i + 1).trim();
    }
    let rest = buf.subarray(end + 4);
    let body;
    if (headers['transfer-encoding'] === 'chunked') {
      const parts = [];
      for (;;) {
        const eol = rest.indexOf('\r\n');
        if (eol < 0) return null;
        const size = parseInt(rest.subarray(0, eol).toString('latin1'), 16);
        if (rest.length < eol + 2 + size + 2) return null;
        if (size === 0) { rest = rest.subarray(eol + 4); break; }
        parts.push(rest.subarray(eol + 2, eol + 2 + size));
        rest = rest.subarray(eol + 2 + size + 2);
      }
      body = Buffer.concat(parts);
    } else {
      const len = Number(headers['content-length'] ?? 0);
      if (rest.length < len) return null;
      body = rest.subarray(0, len);
      rest = rest.subarray(len);
    }
    buf = rest;
    const text = body.toString('utf8');
    return { status, headers, text, json: () => JSON.parse(text) };
  };
  const pump = () => {
    if (!waiting) return;
    const res = tryParse();
    if (res) { const w = waiting; waiting = null; w.resolve(res); }
  };
  socket.on('data', (d) => { buf = Buffer.concat([buf, d]); pump(); });
  socket.on('close', () => { if (waiting) waiting.reject(new Error('connection closed')); });
  return () => new Promise((resolve, reject) => {
    const timer = setTimeout(() => { waiting = null; reject(new Error('no response within 5 s')); }, 5000);
    waiting = {
      resolve: (v) => { clearTimeout(timer); resolve(v); },
      reject: (e) => { clearTimeout(timer); reject(e); },
    };
    pump();
  });
}

// A refused request's body is consumed (read with the header, drained from the
// socket, or discarded by nginx: over 1 MB, chunked, or still arriving) and the
// connection stays usable: everything below goes over one socket, pipelined
// requests included.
test('refusals keep the connection: small, large, chunked, late and pipelined bodies', async () => {
  const d = DIALECTS.anthropic;
  const body = (bytes) => {
    const b = d.body();
    b.system = 'x'.repeat(bytes);
    return JSON.stringify(b);
  };
  const head = (key, length) => `POST ${d.path} HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\n` +
    `anthropic-version: 2023-06-01\r\nx-api-key: ${key}\r\n` +
    (length === undefined ? 'Transfer-Encoding: chunked\r\n' : `Content-Length: ${Buffer.byteLength(length)}\r\n`) + '\r\n';
  const post = (key, text) => head(key, text) + text;
  const socket = net.connect(gw.port, '127.0.0.1');
  await new Promise((resolve, reject) => { socket.once('connect', resolve); socket.once('error', reject); });
  const next = responseReader(socket);
  const refused = async (what) => {
    const res = await next();
    assert.equal(res.headers.connection, 'keep-alive', `${what}: connection kept`);
    assertDialectError('anthropic', res, 401, 'authentication_error');
  };
  try {
    const before = gw.totalUpstreamRequests();
    const small = body(24 * 1024);
    const large = body(200 * 1024);
    socket.write(post(unknownKey(), small));
    await refused('24 KB body');
    socket.write(post(unknownKey(), large));
    await refused('200 KB body');
    socket.write(post(unknownKey(), body(2 * 1024 * 1024)));
    await refused('2 MB body (left to nginx)');
    const chunked = `${(5000).toString(16)}\r\n${small.slice(0, 5000)}\r\n` +
      `${Buffer.byteLength(small.slice(5000)).toString(16)}\r\n${small.slice(5000)}\r\n0\r\n\r\n`;
    socket.write(head(unknownKey()) + chunked);
    await refused('chunked body');
    // The answer comes before the rest of the body is sent.
    socket.write(head(unknownKey(), small) + small.slice(0, 100));
    await refused('body arriving late');
    await sleep(50);
    socket.write(small.slice(100));
    // A refused request and a valid one in one write: with a large body the
    // next request is still in the socket, with a small one it was read with
    // the refused request's header.
    for (const text of [small, body(10)]) {
      socket.write(post(unknownKey(), text) + post(keys.alice.key, text));
      await refused('pipelined refusal');
      const ok = await next();
      assert.equal(ok.status, 200, ok.text);
    }
    assert.equal(gw.totalUpstreamRequests(), before + 2, 'only the valid requests reached a provider');
    socket.write(post(keys.alice.key, body(100)));
    assert.equal((await next()).status, 200);
  } finally {
    socket.destroy();
  }
});

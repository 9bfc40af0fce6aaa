// Client authentication: every refusal kind in both dialects, success with both
// header styles, refused requests never reaching a provider.
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';

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

// A refused request's body is read (small ones) or discarded (large or chunked
// ones) and the connection stays usable: every request below goes over one
// kept-alive socket, and the last, valid one must still be answered.
test('refusals keep the connection: small, large, chunked and slow bodies, then a valid request', async () => {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const d = DIALECTS.anthropic;
  const padded = (bytes) => {
    const body = d.body();
    body.system = 'x'.repeat(bytes);
    return JSON.stringify(body);
  };
  // pieces: the body as written, with a pause between pieces; chunked when
  // no content-length is given.
  const send = (key, pieces, { chunked = false, pauseMs = 0 } = {}) => new Promise((resolve, reject) => {
    const headers = { 'content-type': 'application/json', 'anthropic-version': '2023-06-01', 'x-api-key': key };
    if (!chunked) headers['content-length'] = pieces.reduce((n, p) => n + Buffer.byteLength(p), 0);
    const req = http.request(`${gw.url}${d.path}`, { method: 'POST', agent, headers }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c) => { text += c; });
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, text, reused: req.reusedSocket,
        json: () => JSON.parse(text) }));
    });
    req.on('error', reject);
    (async () => {
      for (let i = 0; i < pieces.length; i++) {
        if (i > 0 && pauseMs) await sleep(pauseMs);
        req.write(pieces[i]);
      }
      req.end();
    })();
  });
  try {
    const before = gw.totalUpstreamRequests();
    const small = padded(24 * 1024);
    const large = padded(100 * 1024);
    const cases = [
      ['24 KB body (read)', [small], {}],
      ['100 KB body (discarded)', [large], {}],
      ['chunked body (discarded)', [small.slice(0, 5000), small.slice(5000)], { chunked: true }],
      ['body arriving late (read)', [small.slice(0, 100), small.slice(100)], { pauseMs: 200 }],
    ];
    for (const [i, [what, pieces, opts]] of cases.entries()) {
      const res = await send(unknownKey(), pieces, opts);
      assertDialectError('anthropic', res, 401, 'authentication_error');
      if (i > 0) assert.equal(res.reused, true, `${what}: answered on the same connection`);
    }
    assert.equal(gw.totalUpstreamRequests(), before, 'no refused request reached a provider');
    const ok = await send(keys.alice.key, [small]);
    assert.equal(ok.status, 200, ok.text);
    assert.equal(ok.reused, true, 'the valid request used the same connection');
    assert.equal(gw.totalUpstreamRequests(), before + 1);
  } finally {
    agent.destroy();
  }
});

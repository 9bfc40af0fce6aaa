// Client authentication: every refusal kind in both dialects, success with both
// header styles, refused requests never reaching a provider.
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';

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

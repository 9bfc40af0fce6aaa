// llmproxy-ctl on its own (no nginx): help everywhere, init, secrets kept out
// of every output but the two places meant for them, one-line errors.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { statSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';

import { makeTempDir, runCtl, requireGatewayBinaries } from './lib/gateway.mjs';

let dir;
let ctl;
const PROVIDER_SECRET = 'sk-provider-SECRET-ctl-5d1e';

before(() => {
  requireGatewayBinaries();
  dir = makeTempDir('ctl');
  const store = path.join(dir, 'store');
  const masterKey = path.join(dir, 'keys', 'master.key');
  ctl = (...args) => runCtl(args, { store, masterKey });
});

after(() => { if (dir && !process.env.LLMPROXY_KEEP_TMP) rmSync(dir, { recursive: true, force: true }); });

// A failed command: non-zero exit, one line on stderr naming the reason.
async function assertFails(args, reason) {
  const r = await ctl(...args);
  assert.notEqual(r.code, 0, `${args.join(' ')} should fail`);
  const lines = r.stderr.trim().split('\n');
  assert.equal(lines.length, 1, `one-line reason: ${r.stderr}`);
  assert.match(lines[0], reason);
  return r;
}

test('--help works for the program and every command', async () => {
  const commands = [[], ['init'], ['provider'], ['provider', 'add'], ['provider', 'set'], ['provider', 'list'],
    ['provider', 'show'], ['provider', 'rm'], ['route'], ['route', 'set'], ['route', 'list'], ['route', 'rm'],
    ['key'], ['key', 'create'], ['key', 'list'], ['key', 'show'], ['key', 'disable'], ['key', 'enable'],
    ['key', 'rotate'], ['key', 'rm']];
  for (const c of commands) {
    const r = await runCtl([...c, '--help']);
    assert.equal(r.code, 0, `${c.join(' ')} --help: ${r.stderr}`);
    assert.match(r.stdout, /usage: llmproxy-ctl/, `${c.join(' ')} --help`);
  }
});

test('a store that was never initialised is refused with a clear message', async () => {
  await assertFails(['key', 'list'], /not initialised; run llmproxy-ctl init/);
});

test('init creates the store and a 0600 master key, and is idempotent', async () => {
  const first = await ctl('init');
  assert.equal(first.code, 0, first.stderr);
  const keyFile = path.join(dir, 'keys', 'master.key');
  assert.equal(statSync(keyFile).mode & 0o777, 0o600);
  assert.match(readFileSync(keyFile, 'utf8'), /^[0-9a-f]{64}\n$/);
  const before = readFileSync(keyFile, 'utf8');
  const again = await ctl('init');
  assert.equal(again.code, 0, again.stderr);
  assert.equal(readFileSync(keyFile, 'utf8'), before, 'the master key is kept');
});

test('a master key inside the store directory is refused', async () => {
  const r = await runCtl(['init'], { store: path.join(dir, 'store'), masterKey: path.join(dir, 'store', 'mk') });
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /inside the store/);
});

test('the provider key is shown only by provider show --reveal', async () => {
  const add = await ctl('provider', 'add', 'p1', '--format', 'openai', '--base-url', 'http://127.0.0.1:9/v1/',
    '--api-key', PROVIDER_SECRET);
  assert.equal(add.code, 0, add.stderr);
  assert.ok(!add.stdout.includes(PROVIDER_SECRET) && !add.stderr.includes(PROVIDER_SECRET));
  for (const args of [['provider', 'list'], ['--json', 'provider', 'list'], ['provider', 'show', 'p1'],
    ['provider', 'show', 'p1', '--json']]) {
    const r = await ctl(...args);
    assert.equal(r.code, 0, r.stderr);
    assert.ok(!r.stdout.includes(PROVIDER_SECRET), `${args.join(' ')} must not print the provider key`);
  }
  const shown = JSON.parse((await ctl('provider', 'show', 'p1', '--json')).stdout);
  assert.equal(shown.api_key, 'set');
  assert.equal(shown.base_url, 'http://127.0.0.1:9/v1', 'trailing slash trimmed');
  const revealed = await ctl('provider', 'show', 'p1', '--reveal');
  assert.ok(revealed.stdout.includes(PROVIDER_SECRET));
  // Sealed in the store, not stored in the clear.
  const data = readFileSync(path.join(dir, 'store', 'data.mdb'));
  assert.equal(data.indexOf(PROVIDER_SECRET), -1, 'the store holds the provider key sealed only');
});

test('client keys: printed once at creation, then only prefix and last 4; never stored in the clear', async () => {
  const r = await ctl('key', 'create', 'alice', '--json');
  assert.equal(r.code, 0, r.stderr);
  const { id, key } = JSON.parse(r.stdout);
  assert.match(id, /^key_[0-9a-f]{12}$/);
  assert.match(key, /^sk-llmp-[0-9A-Za-z]{43}$/);
  for (const args of [['key', 'list'], ['--json', 'key', 'list'], ['key', 'show', id], ['key', 'show', id, '--json']]) {
    const out = await ctl(...args);
    assert.equal(out.code, 0, out.stderr);
    assert.ok(!out.stdout.includes(key), `${args.join(' ')} must not print the secret`);
  }
  const shown = JSON.parse((await ctl('key', 'show', id, '--json')).stdout);
  assert.equal(shown.prefix, key.slice(0, 12));
  assert.equal(shown.last4, key.slice(-4));
  assert.equal(shown.state, 'active');
  assert.ok(!JSON.stringify(shown).match(/digest/i));
  const data = readFileSync(path.join(dir, 'store', 'data.mdb'));
  assert.equal(data.indexOf(key), -1);
  assert.equal(data.indexOf(key.slice(8)), -1);

  const other = JSON.parse((await ctl('key', 'create', 'bob', '--json')).stdout);
  assert.notEqual(other.key, key);
  assert.notEqual(other.id, id);
});

test('key states and expiry formats', async () => {
  const { id } = JSON.parse((await ctl('key', 'create', 'carol', '--json', '--models', 'gpt-*,claude-haiku-*',
    '--expires', '30d')).stdout);
  let shown = JSON.parse((await ctl('key', 'show', id, '--json')).stdout);
  assert.deepEqual(shown.models, ['gpt-*', 'claude-haiku-*']);
  const in30d = Date.parse(shown.expires_at) - Date.now();
  assert.ok(Math.abs(in30d - 30 * 86400e3) < 120e3, `expires_at ${shown.expires_at}`);
  assert.equal((await ctl('key', 'disable', id)).code, 0);
  shown = JSON.parse((await ctl('key', 'show', id, '--json')).stdout);
  assert.equal(shown.state, 'disabled');
  assert.equal((await ctl('key', 'enable', id)).code, 0);
  assert.equal(JSON.parse((await ctl('key', 'show', id, '--json')).stdout).state, 'active');
  const dated = JSON.parse((await ctl('key', 'create', 'dave', '--json', '--expires', '2031-02-03T04:05:06Z')).stdout);
  assert.equal(JSON.parse((await ctl('key', 'show', dated.id, '--json')).stdout).expires_at, '2031-02-03T04:05:06Z');
  await assertFails(['key', 'create', 'erin', '--expires', 'soon'], /expir|duration|soon/i);
  assert.equal((await ctl('key', 'rm', id)).code, 0);
  await assertFails(['key', 'show', id], /key_|not found|no such/i);
});

test('errors are one line with a reason, and never echo secrets', async () => {
  await assertFails(['route', 'set', 'gpt-*', 'nope/m'], /unknown provider 'nope'/);
  const dup = await assertFails(['provider', 'add', 'p1', '--format', 'openai', '--base-url', 'http://127.0.0.1:9/v1',
    '--api-key', 'sk-provider-SECRET-dup'], /already exists/);
  assert.ok(!dup.stderr.includes('sk-provider-SECRET-dup'));
  await assertFails(['provider', 'add', 'p2', '--format', 'openai', '--base-url', 'ftp://example.invalid'], /base URL/);
  await assertFails(['provider', 'add', 'p3', '--format', 'openai', '--base-url', 'http://u:pw@127.0.0.1/v1'], /base URL|userinfo/i);
  await assertFails(['provider', 'add', 'Bad_Name', '--format', 'openai', '--base-url', 'http://127.0.0.1/v1'], /name/i);
  await assertFails(['provider', 'add', 'p4', '--format', 'cohere', '--base-url', 'http://127.0.0.1/v1'], /format/i);
  assert.equal((await ctl('route', 'set', 'gpt-*', 'p1/gpt-4o')).code, 0);
  await assertFails(['provider', 'rm', 'p1'], /used by route/);
  await assertFails(['bogus'], /unknown command/);
});

test('routes: set (exact, glob, regex, default), list as JSON, rm', async () => {
  for (const [p, t] of [['default', 'p1/d'], ['re:^o[0-9]', 'p1/o'], ['gpt-4o', 'p1/exact'], ['gpt-4*', 'p1/g4']]) {
    assert.equal((await ctl('route', 'set', p, t)).code, 0);
  }
  const list = JSON.parse((await ctl('--json', 'route', 'list')).stdout);
  const patterns = list.map((r) => r.pattern);
  for (const p of ['default', 're:^o[0-9]', 'gpt-4o', 'gpt-4*', 'gpt-*']) assert.ok(patterns.includes(p), p);
  assert.equal((await ctl('route', 'rm', 'gpt-4*')).code, 0);
  assert.ok(!JSON.parse((await ctl('--json', 'route', 'list')).stdout).some((r) => r.pattern === 'gpt-4*'));
});

// llmproxy-ctl's scenario routes (--threshold) and per-provider timeouts
// (--timeouts / --no-timeouts), on their own and as the gateway applies them.
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import path from 'node:path';

import { makeTempDir, runCtl, requireGatewayBinaries, startGateway } from './lib/gateway.mjs';
import { DIALECTS } from './lib/dialects.mjs';

const ANT = DIALECTS.anthropic;

describe('ctl alone', () => {
  let dir;
  let ctl;

  before(async () => {
    requireGatewayBinaries();
    dir = makeTempDir('ctl-routes');
    ctl = (...args) => runCtl(args, { store: path.join(dir, 'store'), masterKey: path.join(dir, 'master.key') });
    for (const args of [['init'],
      ['provider', 'add', 'p', '--format', 'openai', '--base-url', 'http://127.0.0.1:9/v1', '--api-key', 'sk-p-SECRET']]) {
      const r = await ctl(...args);
      assert.equal(r.code, 0, r.stderr);
    }
  });

  after(() => { if (dir && !process.env.LLMPROXY_KEEP_TMP) rmSync(dir, { recursive: true, force: true }); });

  const ok = async (...args) => {
    const r = await ctl(...args);
    assert.equal(r.code, 0, `${args.join(' ')}: ${r.stderr}`);
    return r;
  };

  // Refused: exit 1 or 2, one line on stderr naming the reason, store unchanged.
  async function refused(args, reason) {
    const before = (await ok('route', 'list', '--json')).stdout;
    const providers = (await ok('provider', 'list', '--json')).stdout;
    const r = await ctl(...args);
    assert.ok(r.code === 1 || r.code === 2, `${args.join(' ')} exits 1 or 2, got ${r.code}: ${r.stderr}`);
    const lines = r.stderr.trim().split('\n');
    assert.equal(lines.length, 1, `one-line reason: ${r.stderr}`);
    assert.match(lines[0], reason);
    assert.equal((await ok('route', 'list', '--json')).stdout, before, 'routes unchanged');
    assert.equal((await ok('provider', 'list', '--json')).stdout, providers, 'providers unchanged');
  }

  const routes = async () => JSON.parse((await ok('route', 'list', '--json')).stdout);
  const route = async (pattern) => (await routes()).find((r) => r.pattern === pattern);

  test('route set scenario:long-context --threshold N: kind scenario, threshold shown', async () => {
    await ok('route', 'set', 'scenario:long-context', 'p/m-long', '--threshold', '1000');
    const r = await route('scenario:long-context');
    assert.equal(r.kind, 'scenario');
    assert.equal(r.threshold, 1000);
    assert.deepEqual(r.targets, [{ provider: 'p', model: 'm-long' }]);
  });

  test('scenario:long-context without --threshold gets the default 60000', async () => {
    await ok('route', 'set', 'scenario:long-context', 'p/m-long');
    assert.equal((await route('scenario:long-context')).threshold, 60000);
  });

  test('every known scenario key is accepted as kind scenario', async () => {
    for (const name of ['web-search', 'image', 'think', 'background']) {
      await ok('route', 'set', `scenario:${name}`, `p/m-${name}`);
      const r = await route(`scenario:${name}`);
      assert.equal(r.kind, 'scenario', name);
      assert.equal(r.threshold, undefined, `${name} has no threshold`);
    }
    await ok('route', 'set', 'gpt-*', 'p/m-glob');
    assert.notEqual((await route('gpt-*')).kind, 'scenario');
  });

  test('--threshold is refused for any other pattern', async () => {
    await refused(['route', 'set', 'gpt-*', 'p/m', '--threshold', '1000'], /--threshold/);
    await refused(['route', 'set', 'scenario:think', 'p/m', '--threshold', '1000'], /--threshold/);
    await refused(['route', 'set', 'default', 'p/m', '--threshold', '5'], /--threshold/);
  });

  test('--threshold must be a positive number', async () => {
    for (const bad of ['0', 'abc', '', '10k', '1.5']) {
      await refused(['route', 'set', 'scenario:long-context', 'p/m', '--threshold', bad], /threshold/);
    }
  });

  test('an unknown scenario key is refused, naming the known ones', async () => {
    await refused(['route', 'set', 'scenario:foo', 'p/m'], /scenario:foo.*scenario:long-context/);
    await refused(['route', 'set', 'scenario:thinking', 'p/m'], /scenario:thinking/);
  });

  test('route rm scenario:think removes it', async () => {
    await ok('route', 'rm', 'scenario:think');
    assert.equal(await route('scenario:think'), undefined);
  });

  test('provider add --timeouts is stored and shown by provider show --json', async () => {
    await ok('provider', 'add', 'slow', '--format', 'anthropic', '--base-url', 'http://127.0.0.1:9',
      '--api-key', 'sk-slow-SECRET', '--timeouts', 'connect=2s first_byte=1s');
    const shown = JSON.parse((await ok('provider', 'show', 'slow', '--json')).stdout);
    assert.equal(shown.timeouts, 'connect=2s first_byte=1s');
    const text = (await ok('provider', 'show', 'slow')).stdout;
    assert.match(text, /timeouts:\s+connect=2s first_byte=1s/);
  });

  test('bad --timeouts values are refused', async () => {
    const add = (t) => ['provider', 'add', 'bad', '--format', 'anthropic', '--base-url', 'http://127.0.0.1:9',
      '--api-key', 'sk-bad', '--timeouts', t];
    await refused(add('connect=2x'), /--timeouts.*connect/);
    await refused(add('bogus=2s'), /--timeouts.*bogus/);
    await refused(add('first_byte=0s'), /--timeouts.*first_byte/);
    await refused(add('first_byte'), /--timeouts/);
    await refused(add('idle=25h'), /--timeouts.*idle/);
    await refused(['provider', 'set', 'slow', '--timeouts', 'total=abc'], /--timeouts.*total/);
    await refused(['provider', 'set', 'slow', '--timeouts', 'idle=1s', '--no-timeouts'], /--no-timeouts/);
    const shown = JSON.parse((await ok('provider', 'show', 'slow', '--json')).stdout);
    assert.equal(shown.timeouts, 'connect=2s first_byte=1s', 'a refused set keeps the old value');
  });

  test('provider set --timeouts replaces, --no-timeouts clears', async () => {
    await ok('provider', 'set', 'slow', '--timeouts', 'idle=3s');
    assert.equal(JSON.parse((await ok('provider', 'show', 'slow', '--json')).stdout).timeouts, 'idle=3s');
    await ok('provider', 'set', 'slow', '--no-timeouts');
    const shown = JSON.parse((await ok('provider', 'show', 'slow', '--json')).stdout);
    assert.equal(shown.timeouts, null);
    assert.match((await ok('provider', 'show', 'slow')).stdout, /timeouts:\s+-/);
  });

  // Last in this group: if the ctl takes it, the stored value breaks later reads.
  test('a negative or out-of-range --threshold is refused', async () => {
    await refused(['route', 'set', 'scenario:long-context', 'p/m', '--threshold', '-5'], /threshold/);
    await refused(['route', 'set', 'scenario:long-context', 'p/m', '--threshold', '99999999999999999999'], /threshold/);
  });
});

// nginx's llmproxy_timeouts give 5 s to the first byte; the provider "slowant"
// (the Anthropic mock) overrides it with 500 ms of its own.
describe('gateway: a provider\'s own first_byte timeout', () => {
  let gw;

  before(async () => {
    gw = await startGateway({ label: 'ctl-timeouts', extraServer: 'llmproxy_timeouts first_byte=5s;' });
    await gw.ctlOk('provider', 'add', 'slowant', '--format', 'anthropic', '--base-url', gw.mocks.anthropic.baseUrl,
      '--api-key', 'sk-provider-SECRET-slowant', '--timeouts', 'first_byte=500ms');
    gw.secrets.push('sk-provider-SECRET-slowant');
    await gw.ctlOk('route', 'set', 'slow-*', 'slowant/claude-slow,mockoai/gpt-fallback');
  });

  after(async () => { await gw?.stop(); });

  test('a stalled provider times out at its own first_byte and the fallback answers', async () => {
    const a = gw.mocks.anthropic.requests.length;
    const o = gw.mocks.openai.requests.length;
    gw.mocks.anthropic.enqueue({ type: 'json', headersDelayMs: 2000, body: { never: 'seen' } });
    const t0 = performance.now();
    const r = await gw.post(ANT.path, ANT.body('slow-model'));
    const took = performance.now() - t0;
    assert.equal(r.status, 200, r.text);
    assert.equal(r.headers['x-llmproxy-provider'], 'mockoai');
    assert.equal(r.headers['x-llmproxy-model'], 'gpt-fallback');
    assert.equal(gw.mocks.anthropic.requests.length - a, 1, 'the timed-out provider is not retried');
    assert.equal(gw.mocks.anthropic.requests.at(-1).body.model, 'claude-slow');
    assert.equal(gw.mocks.openai.requests.length - o, 1);
    assert.ok(took >= 450 && took < 1800, `abandoned at the provider's 500 ms, not nginx's 5 s (took ${Math.round(took)} ms)`);
  });

  test('after provider set --no-timeouts, nginx\'s 5 s apply again at the next request', async () => {
    await gw.ctlOk('provider', 'set', 'slowant', '--no-timeouts');
    const o = gw.mocks.openai.requests.length;
    gw.mocks.anthropic.enqueue({ type: 'demo', headersDelayMs: 1500 });
    const r = await gw.post(ANT.path, ANT.body('slow-model'));
    assert.equal(r.status, 200, r.text);
    assert.equal(r.headers['x-llmproxy-provider'], 'slowant', 'the slow primary was waited for');
    assert.equal(gw.mocks.openai.requests.length, o, 'no fallback');
  });
});

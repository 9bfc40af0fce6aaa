// Claude Code itself (npm @anthropic-ai/claude-code, offline) with
// ANTHROPIC_BASE_URL at the gateway, in passthrough to the anthropic mock.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';

import { REPO, startGateway, PROVIDER_KEYS } from './lib/gateway.mjs';

const CLAUDE = path.join(REPO, 't', 'node_modules', '.bin', 'claude');
let gw;

before(async () => {
  assert.ok(existsSync(CLAUDE), `${CLAUDE} missing: run npm ci in t/`);
  gw = await startGateway({ label: 'claude-code' });
});

after(async () => { await gw?.stop(); });

// Runs `claude -p PROMPT` with a fresh HOME and only the given variables.
function runClaude(prompt, env, timeoutMs = 60000) {
  const home = path.join(gw.dir, `home-${Math.random().toString(36).slice(2)}`);
  mkdirSync(home, { mode: 0o700 });
  return new Promise((resolve) => {
    const child = spawn(CLAUDE, ['-p', prompt, '--output-format', 'text'], {
      env: { PATH: process.env.PATH, HOME: home, ANTHROPIC_BASE_URL: gw.url,
        CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: '1', DISABLE_AUTOUPDATER: '1', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => { stdout += d; });
    child.stderr.on('data', (d) => { stderr += d; });
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('exit', (code, signal) => { clearTimeout(timer); resolve({ code, signal, stdout, stderr }); });
  });
}

function assertReachedMockThroughGateway(fromIndex) {
  const recs = gw.mocks.anthropic.requests.slice(fromIndex);
  assert.ok(recs.length >= 1, 'Claude Code reached the provider through the gateway');
  const rec = recs.find((r) => r.body?.stream === true);
  assert.ok(rec, 'a streamed /v1/messages request');
  assert.equal(rec.path, '/v1/messages');
  assert.equal(rec.headers['x-api-key'], PROVIDER_KEYS.mockant);
  assert.equal(rec.headers.authorization, undefined);
  assert.equal(rec.headers['anthropic-version'], '2023-06-01');
  assert.match(rec.headers['anthropic-beta'] ?? '', /claude-code-/, 'anthropic-beta forwarded');
  assert.equal(rec.body.model, 'claude-real');
  assert.ok(!rec.raw.includes(gw.keys.alice.key));
}

test('claude -p with ANTHROPIC_API_KEY (x-api-key) gets the provider reply', async () => {
  const n = gw.mocks.anthropic.requests.length;
  const r = await runClaude('Say hello', { ANTHROPIC_API_KEY: gw.keys.alice.key });
  assert.equal(r.code, 0, `exit ${r.code} ${r.signal ?? ''}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`);
  assert.match(r.stdout, /llmproxy demo provider: /);
  assertReachedMockThroughGateway(n);
});

test('claude -p with ANTHROPIC_AUTH_TOKEN (Bearer) gets the provider reply', async () => {
  const n = gw.mocks.anthropic.requests.length;
  const r = await runClaude('Say hello', { ANTHROPIC_AUTH_TOKEN: gw.keys.alice.key });
  assert.equal(r.code, 0, `exit ${r.code} ${r.signal ?? ''}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`);
  assert.match(r.stdout, /llmproxy demo provider: /);
  assertReachedMockThroughGateway(n);
});

// A client that reads slowly: the gateway's output backs up (busy buffers),
// and every event must still arrive whole, once, in order: no buffer reused
// while nginx still holds it, passthrough and translated.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';

import { startGateway, SseParser } from './lib/gateway.mjs';
import { DIALECTS } from './lib/dialects.mjs';
import { anthropicEvents, openaiChunks } from '../scripts/mock-provider.mjs';

let gw;

before(async () => {
  gw = await startGateway({ label: 'slow-client' });
});

after(async () => { await gw?.stop(); });

// ~1.4 MB of text in 3,000 numbered pieces: a mix-up shows in the order.
const PIECES = 3000;
const TEXT = Array.from({ length: PIECES }, (_, i) => `<${i}:${'abcdefghij'.repeat(45)}>`).join('');

// POSTs `body` and reads the response slowly: nothing for 300 ms after the
// first bytes, then a 50 ms pause after every 128 KB.
function slowStream(urlPath, body, headers) {
  return new Promise((resolve, reject) => {
    const payload = Buffer.from(JSON.stringify(body));
    const req = http.request(`${gw.url}${urlPath}`, {
      method: 'POST', agent: false,
      headers: { ...headers, 'content-type': 'application/json', 'content-length': payload.length },
    }, (res) => {
      const parts = [];
      let sincePause = 0;
      let first = true;
      res.on('data', (d) => {
        parts.push(d);
        sincePause += d.length;
        if (first || sincePause > 128 * 1024) {
          res.pause();
          setTimeout(() => res.resume(), first ? 300 : 50);
          first = false;
          sincePause = 0;
        }
      });
      res.on('end', () => resolve({ status: res.statusCode, text: Buffer.concat(parts).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.setTimeout(30000, () => req.destroy(new Error('slow stream: no data for 30 s')));
    req.end(payload);
  });
}

function anthropicText(text) {
  const events = new SseParser().feed(text).filter((e) => e.data !== undefined).map((e) => JSON.parse(e.data));
  assert.equal(events.at(-1).type, 'message_stop', 'the stream ends with message_stop');
  return events.filter((e) => e.type === 'content_block_delta').map((e) => e.delta.text).join('');
}

function openaiText(text) {
  const events = new SseParser().feed(text).filter((e) => e.data !== undefined);
  assert.equal(events.at(-1).data, '[DONE]');
  return events.slice(0, -1).map((e) => JSON.parse(e.data))
    .map((c) => c.choices?.[0]?.delta?.content ?? '').join('');
}

test('Anthropic passthrough: 3,000 events (1.4 MB) to a slow reader arrive whole and in order', async () => {
  gw.mocks.anthropic.enqueue({ type: 'sse', events: anthropicEvents({ model: 'claude-real', text: TEXT, pieces: PIECES }) });
  const d = DIALECTS.anthropic;
  const r = await slowStream(d.path, d.body(d.model, { stream: true }), gw.authHeaders(gw.keys.alice.key));
  assert.equal(r.status, 200);
  const got = anthropicText(r.text);
  assert.equal(got.length, TEXT.length);
  assert.ok(got === TEXT, 'the text arrived unchanged');
});

test('OpenAI client, Anthropic provider (translated): the same to a slow reader', async () => {
  gw.mocks.anthropic.enqueue({ type: 'sse', events: anthropicEvents({ model: 'claude-real', text: TEXT, pieces: PIECES }) });
  const d = DIALECTS.openai;
  const r = await slowStream(d.path, d.body('claude-sonnet-4-5', { stream: true }), gw.authHeaders(gw.keys.alice.key, 'bearer'));
  assert.equal(r.status, 200);
  const got = openaiText(r.text);
  assert.equal(got.length, TEXT.length);
  assert.ok(got === TEXT, 'the text arrived unchanged');
});

test('OpenAI passthrough and Anthropic client translated: the same to a slow reader', async () => {
  for (const [dialect, model, read] of [['openai', 'gpt-4o-mini', openaiText], ['anthropic', 'gpt-4o-mini', anthropicText]]) {
    gw.mocks.openai.enqueue({ type: 'sse', events: openaiChunks({ model: 'gpt-mock', text: TEXT, pieces: PIECES }) });
    const d = DIALECTS[dialect];
    const body = d.body(model, { stream: true, max_tokens: 64 });
    const r = await slowStream(d.path, body, gw.authHeaders(gw.keys.alice.key, dialect === 'openai' ? 'bearer' : 'x-api-key'));
    assert.equal(r.status, 200, dialect);
    const got = read(r.text);
    assert.equal(got.length, TEXT.length, dialect);
    assert.ok(got === TEXT, `${dialect}: the text arrived unchanged`);
  }
});

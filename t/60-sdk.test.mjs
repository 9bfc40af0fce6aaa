// The official SDKs and curl, pointed at the gateway, in same-dialect passthrough.
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';

import { startGateway, PROVIDER_KEYS } from './lib/gateway.mjs';
import { unknownKey } from './lib/dialects.mjs';
import { anthropicEvents, anthropicMessage, openaiChunks, openaiCompletion } from '../scripts/mock-provider.mjs';

let gw;

before(async () => {
  gw = await startGateway({ label: 'sdk' });
});

after(async () => { await gw?.stop(); });

describe('@anthropic-ai/sdk -> /v1/messages -> anthropic mock', () => {
  const client = () => new Anthropic({ apiKey: gw.keys.alice.key, baseURL: gw.url, maxRetries: 0 });
  const params = { model: 'claude-sonnet-4-5', max_tokens: 256, messages: [{ role: 'user', content: 'What is 2+2?' }] };

  test('messages.create (non-stream)', async () => {
    gw.mocks.anthropic.enqueue({ type: 'json', body: anthropicMessage({ model: 'claude-real', text: 'It is 4.' }) });
    const { data, response } = await client().messages.create(params).withResponse();
    assert.equal(data.type, 'message');
    assert.equal(data.content[0].text, 'It is 4.');
    assert.equal(response.headers.get('x-llmproxy-provider'), 'mockant');
    const rec = gw.mocks.anthropic.requests.at(-1);
    assert.equal(rec.headers['x-api-key'], PROVIDER_KEYS.mockant);
    assert.ok(rec.headers['anthropic-version'], 'the SDK sends anthropic-version and it is forwarded');
    assert.equal(rec.body.model, 'claude-real');
    assert.deepEqual(rec.body.messages, params.messages);
  });

  test('messages.stream helper: text events, tool input, final message', async () => {
    gw.mocks.anthropic.enqueue({ type: 'sse', events: anthropicEvents({ model: 'claude-real', text: 'Let me check that.',
      toolUses: [{ id: 'toolu_1', name: 'calculator', input: { expression: '2+2', precise: true } }] }) });
    const stream = client().messages.stream(params);
    const texts = [];
    stream.on('text', (t) => texts.push(t));
    const final = await stream.finalMessage();
    assert.equal(texts.join(''), 'Let me check that.');
    assert.equal(final.stop_reason, 'tool_use');
    assert.deepEqual(final.content.map((b) => b.type), ['text', 'tool_use']);
    assert.deepEqual(final.content[1].input, { expression: '2+2', precise: true });
    assert.equal(gw.mocks.anthropic.requests.at(-1).body.stream, true);
  });

  test('authToken (Authorization: Bearer) works too', async () => {
    const c = new Anthropic({ authToken: gw.keys.alice.key, apiKey: null, baseURL: gw.url, maxRetries: 0 });
    const msg = await c.messages.create(params);
    assert.match(msg.content[0].text, /llmproxy demo provider: /);
  });

  test('a wrong key surfaces as the SDK AuthenticationError', async () => {
    const c = new Anthropic({ apiKey: unknownKey(), baseURL: gw.url, maxRetries: 0 });
    await assert.rejects(c.messages.create(params), (err) => {
      assert.ok(err instanceof Anthropic.AuthenticationError, String(err));
      assert.equal(err.status, 401);
      assert.equal(err.error?.error?.type, 'authentication_error');
      return true;
    });
  });
});

describe('openai SDK -> /v1/chat/completions -> openai mock', () => {
  const client = () => new OpenAI({ apiKey: gw.keys.alice.key, baseURL: `${gw.url}/v1`, maxRetries: 0 });
  const params = { model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'What is 2+2?' }] };

  test('chat.completions.create (non-stream)', async () => {
    gw.mocks.openai.enqueue({ type: 'json', body: openaiCompletion({ model: 'gpt-mock', text: 'It is 4.' }) });
    const { data, response } = await client().chat.completions.create(params).withResponse();
    assert.equal(data.choices[0].message.content, 'It is 4.');
    assert.equal(response.headers.get('x-llmproxy-model'), 'gpt-mock');
    const rec = gw.mocks.openai.requests.at(-1);
    assert.equal(rec.headers.authorization, `Bearer ${PROVIDER_KEYS.mockoai}`);
    assert.equal(rec.body.model, 'gpt-mock');
  });

  test('chat.completions.create (stream): text, interleaved tool calls, usage', async () => {
    gw.mocks.openai.enqueue({ type: 'sse', events: openaiChunks({ model: 'gpt-mock', text: 'Checking.', usage: 'trailing',
      toolCalls: [{ id: 'call_a', name: 'calc', arguments: { e: '2+2' } }, { id: 'call_b', name: 'log', arguments: { msg: 'hi there' } }] }) });
    const stream = await client().chat.completions.create({ ...params, stream: true, stream_options: { include_usage: true } });
    let text = '';
    const args = {};
    let usage;
    for await (const chunk of stream) {
      if (chunk.usage) usage = chunk.usage;
      const delta = chunk.choices[0]?.delta;
      if (delta?.content) text += delta.content;
      for (const tc of delta?.tool_calls ?? []) args[tc.index] = (args[tc.index] ?? '') + (tc.function?.arguments ?? '');
    }
    assert.equal(text, 'Checking.');
    assert.deepEqual(JSON.parse(args[0]), { e: '2+2' });
    assert.deepEqual(JSON.parse(args[1]), { msg: 'hi there' });
    assert.equal(usage.total_tokens, 18);
  });

  test('a wrong key surfaces as the SDK AuthenticationError', async () => {
    const c = new OpenAI({ apiKey: unknownKey(), baseURL: `${gw.url}/v1`, maxRetries: 0 });
    await assert.rejects(c.chat.completions.create(params), (err) => {
      assert.ok(err instanceof OpenAI.AuthenticationError, String(err));
      assert.equal(err.status, 401);
      assert.equal(err.type, 'authentication_error');
      return true;
    });
  });
});

describe('curl', () => {
  const curl = (args, input) => new Promise((resolve) => {
    const child = execFile('curl', ['-sS', ...args], { timeout: 15000 }, (err, stdout, stderr) =>
      resolve({ code: err ? err.code : 0, stdout, stderr }));
    if (input !== undefined) child.stdin.end(input);
  });

  test('curl -N streams /v1/messages', async () => {
    gw.mocks.anthropic.enqueue({ type: 'sse', events: anthropicEvents({ model: 'claude-real', text: 'curl sees this', pieces: 1 }) });
    const body = JSON.stringify({ model: 'claude-sonnet-4-5', max_tokens: 50, stream: true, messages: [{ role: 'user', content: 'hi' }] });
    const r = await curl(['-N', '-H', `x-api-key: ${gw.keys.alice.key}`, '-H', 'anthropic-version: 2023-06-01',
      '-H', 'content-type: application/json', '--data-binary', '@-', `${gw.url}/v1/messages`], body);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^event: message_start\n/);
    assert.match(r.stdout, /event: message_stop\ndata: /);
    assert.match(r.stdout, /"text_delta","text":"curl sees this"/);
  });

  test('curl -I / (HEAD probe) and a Bearer chat completion', async () => {
    const head = await curl(['-I', `${gw.url}/`]);
    assert.equal(head.code, 0, head.stderr);
    assert.match(head.stdout, /^HTTP\/1\.1 200/);
    const r = await curl(['-H', `Authorization: Bearer ${gw.keys.alice.key}`, '-H', 'content-type: application/json',
      '-d', JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] }), `${gw.url}/v1/chat/completions`]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(JSON.parse(r.stdout).choices[0].message.content, /llmproxy demo provider/);
  });
});

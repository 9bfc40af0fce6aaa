// The harness and the mock providers on their own: stock nginx (no llmproxy
// module) proxying to a mock, and the mocks' scenarios talked to directly.
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import path from 'node:path';
import { rmSync, writeFileSync } from 'node:fs';

import {
  REPO, SseParser, freePort, httpPreamble, httpRequest, mainPreamble, makeTempDir,
  sseRequest, startNginx, badErrorLogLines,
} from './lib/gateway.mjs';
import {
  startMockProvider, openaiChunks, anthropicEvents, openaiCompletion, anthropicMessage,
  providerErrorScenario, streamErrorScenario, sseBody,
} from '../scripts/mock-provider.mjs';

describe('SseParser', () => {
  test('gives the same events at every split point, LF and CRLF', () => {
    const body = sseBody([
      { event: 'message_start', data: { type: 'message_start', text: 'héllo 🌍' } },
      { comment: 'keepalive' },
      { data: 'line one\nline two' },
      { data: '[DONE]' },
    ]);
    for (const text of [body, body.replace(/\n/g, '\r\n')]) {
      const whole = new SseParser().feed(text);
      assert.deepEqual(whole.map((e) => e.event), ['message_start', undefined, undefined]);
      assert.equal(whole[1].data, 'line one\nline two');
      assert.equal(JSON.parse(whole[0].data).text, 'héllo 🌍');
      for (let cut = 1; cut < text.length; cut++) {
        const p = new SseParser();
        const got = [...p.feed(text.slice(0, cut)), ...p.feed(text.slice(cut))];
        assert.deepEqual(got, whole, `split at ${cut}`);
      }
    }
  });
});

describe('mock provider scenarios', () => {
  let oai;
  let ant;
  before(async () => {
    oai = await startMockProvider({ format: 'openai' });
    ant = await startMockProvider({ format: 'anthropic' });
  });
  after(async () => { await oai.close(); await ant.close(); });

  test('base URLs follow each ecosystem convention', () => {
    assert.equal(oai.baseUrl, `http://127.0.0.1:${oai.port}/v1`);
    assert.equal(ant.baseUrl, `http://127.0.0.1:${ant.port}`);
  });

  test('demo reply, non-stream, both dialects; requests are recorded', async () => {
    const body = '{"model":"m1",  "messages":[{"role":"user","content":"hi"}]}';
    const r1 = await httpRequest(`${oai.baseUrl}/chat/completions`, { method: 'POST', body, headers: { 'x-test': '1' } });
    assert.equal(r1.status, 200);
    const c = r1.json();
    assert.equal(c.object, 'chat.completion');
    assert.equal(c.model, 'm1');
    assert.match(c.choices[0].message.content, /^llmproxy demo provider: /);
    const rec = oai.requests.at(-1);
    assert.equal(rec.method, 'POST');
    assert.equal(rec.path, '/v1/chat/completions');
    assert.equal(rec.raw, body);
    assert.equal(rec.headers['x-test'], '1');
    assert.deepEqual(rec.body.messages, [{ role: 'user', content: 'hi' }]);

    const r2 = await httpRequest(`${ant.baseUrl}/v1/messages?beta=true`, { method: 'POST', body });
    const m = r2.json();
    assert.equal(m.type, 'message');
    assert.match(m.content[0].text, /^llmproxy demo provider: /);
    assert.equal(ant.requests.at(-1).query, '?beta=true');
  });

  test('demo reply streams when asked, both dialects', async () => {
    const s1 = await sseRequest(`${oai.baseUrl}/chat/completions`, { method: 'POST',
      body: { model: 'm', stream: true, stream_options: { include_usage: true }, messages: [] } });
    assert.equal(s1.headers['content-type'], 'text/event-stream');
    assert.equal(s1.events.at(-1).data, '[DONE]');
    const text = s1.events.filter((e) => e.json?.choices?.length).map((e) => e.json.choices[0].delta.content ?? '').join('');
    assert.match(text, /^llmproxy demo provider: /);
    assert.ok(s1.events.at(-2).json.usage, 'trailing usage chunk');

    const s2 = await sseRequest(`${ant.baseUrl}/v1/messages`, { method: 'POST', body: { model: 'c', stream: true, messages: [] } });
    assert.deepEqual([s2.events[0].event, s2.events.at(-1).event], ['message_start', 'message_stop']);
    const t2 = s2.events.filter((e) => e.json?.delta?.type === 'text_delta').map((e) => e.json.delta.text).join('');
    assert.match(t2, /^llmproxy demo provider: /);
  });

  test('queue is consumed per request, then the default applies', async () => {
    ant.enqueue(providerErrorScenario('anthropic', 429, { retryAfter: 7 }), { type: 'json', status: 201, body: 'x' });
    const a = await httpRequest(`${ant.baseUrl}/v1/messages`, { method: 'POST', body: {} });
    assert.equal(a.status, 429);
    assert.equal(a.headers['retry-after'], '7');
    assert.equal(a.json().error.type, 'rate_limit_error');
    const b = await httpRequest(`${ant.baseUrl}/v1/messages`, { method: 'POST', body: {} });
    assert.deepEqual([b.status, b.text], [201, 'x']);
    ant.setDefault(providerErrorScenario('anthropic', 529));
    const c = await httpRequest(`${ant.baseUrl}/v1/messages`, { method: 'POST', body: {} });
    assert.equal(c.json().error.type, 'overloaded_error');
    ant.setDefault({ type: 'demo' });
    ant.enqueue((req) => ({ type: 'json', body: { echoed: req.body.n } }));
    const d = await httpRequest(`${ant.baseUrl}/v1/messages`, { method: 'POST', body: { n: 42 } });
    assert.deepEqual(d.json(), { echoed: 42 });
  });

  test('per-event delay: the first event arrives before the stream ends', async () => {
    oai.enqueue({ type: 'sse', events: [{ data: { n: 1 } }, { data: { n: 2 }, delayMs: 400 }, { data: '[DONE]' }] });
    const s = await sseRequest(`${oai.baseUrl}/chat/completions`, { method: 'POST', body: {} });
    const rec = oai.requests.at(-1);
    assert.equal(s.events.length, 3);
    assert.ok(s.events[0].at < rec.responseFinishedAt - 300, 'first event long before the mock finished');
    assert.ok(s.events[1].at - s.events[0].at >= 350);
  });

  test('raw chunks split inside a UTF-8 sequence arrive intact', async () => {
    const bytes = Buffer.from(sseBody([{ data: { text: 'naïve 日本 🌍' } }]));
    const cut = bytes.indexOf(Buffer.from('🌍')) + 2;
    oai.enqueue({ type: 'raw', chunks: [{ data: bytes.subarray(0, cut) }, { data: bytes.subarray(cut), delayMs: 50 }] });
    const s = await sseRequest(`${oai.baseUrl}/chat/completions`, { method: 'POST', body: {} });
    assert.equal(s.events[0].json.text, 'naïve 日本 🌍');
  });

  test('stall before headers, destroy mid-stream, destroy at once, error event first', async () => {
    oai.enqueue({ type: 'json', headersDelayMs: 300, body: { ok: 1 } });
    const t0 = performance.now();
    const r = await httpRequest(`${oai.baseUrl}/chat/completions`, { method: 'POST', body: {} });
    assert.ok(performance.now() - t0 >= 280);
    assert.deepEqual(r.json(), { ok: 1 });

    oai.enqueue({ type: 'sse', events: openaiChunks({ text: 'a b c d' }).slice(0, 2), end: 'destroy' });
    const cut = await sseRequest(`${oai.baseUrl}/chat/completions`, { method: 'POST', body: {} });
    assert.equal(cut.aborted, true);
    assert.equal(cut.events.length, 2);

    oai.enqueue({ type: 'destroy' });
    await assert.rejects(httpRequest(`${oai.baseUrl}/chat/completions`, { method: 'POST', body: {} }));

    ant.enqueue(streamErrorScenario('anthropic'));
    const e = await sseRequest(`${ant.baseUrl}/v1/messages`, { method: 'POST', body: {} });
    assert.equal(e.status, 200);
    assert.equal(e.events[0].event, 'error');
    assert.equal(e.events[0].json.error.type, 'overloaded_error');
  });

  test('raw socket scenario writes exact bytes', async () => {
    oai.enqueue({ type: 'socket', chunks: [{ data: 'HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\n' }, { data: 'ok', delayMs: 20 }] });
    const r = await httpRequest(`${oai.baseUrl}/chat/completions`, { method: 'POST', body: {} });
    assert.deepEqual([r.status, r.text], [200, 'ok']);
  });
});

describe('reply builders', () => {
  test('openai chunks: interleaved tool-call fragments reassemble; usage placements', () => {
    const toolCalls = [{ name: 'get_weather', arguments: { city: 'Paris', unit: 'C' } },
      { name: 'search', arguments: { q: 'nginx "sse" ünïcode' } }];
    const events = openaiChunks({ text: '', toolCalls, usage: 'finish' });
    assert.equal(events.at(-1).data, '[DONE]');
    const args = {};
    const order = [];
    for (const { data } of events.slice(0, -1)) {
      for (const tc of data.choices[0]?.delta?.tool_calls ?? []) {
        args[tc.index] = (args[tc.index] ?? '') + tc.function.arguments;
        order.push(tc.index);
      }
    }
    assert.deepEqual(JSON.parse(args[0]), toolCalls[0].arguments);
    assert.deepEqual(JSON.parse(args[1]), toolCalls[1].arguments);
    assert.ok(order.join('').includes('0101'), 'fragments interleaved by index');
    const finish = events.at(-2).data;
    assert.equal(finish.choices[0].finish_reason, 'tool_calls');
    assert.equal(finish.usage.total_tokens, 18);

    const trailing = openaiChunks({ usage: 'trailing' });
    assert.deepEqual(trailing.at(-2).data.choices, []);
    assert.ok(trailing.at(-2).data.usage);
    const none = openaiChunks({ usage: 'none', reasoning: 'think first' });
    assert.ok(none.every((e) => e.data === '[DONE]' || !e.data.usage));
    assert.ok(none.some((e) => e.data.choices?.[0]?.delta?.reasoning_content));
    const c = openaiCompletion({ toolCalls });
    assert.equal(c.choices[0].finish_reason, 'tool_calls');
    assert.deepEqual(JSON.parse(c.choices[0].message.tool_calls[1].function.arguments), toolCalls[1].arguments);
  });

  test('anthropic events: block order, input_json_delta reassembly', () => {
    const toolUses = [{ name: 'Bash', input: { command: 'ls -la', description: 'list' } }];
    const events = anthropicEvents({ thinking: 'let me see', text: 'Running it.', toolUses });
    const names = events.map((e) => e.event);
    assert.equal(names[0], 'message_start');
    assert.deepEqual(names.slice(-2), ['message_delta', 'message_stop']);
    const starts = events.filter((e) => e.event === 'content_block_start').map((e) => e.data.content_block.type);
    assert.deepEqual(starts, ['thinking', 'text', 'tool_use']);
    const json = events.filter((e) => e.data.delta?.type === 'input_json_delta').map((e) => e.data.delta.partial_json).join('');
    assert.deepEqual(JSON.parse(json), toolUses[0].input);
    assert.equal(events.at(-2).data.delta.stop_reason, 'tool_use');
    const m = anthropicMessage({ toolUses });
    assert.equal(m.content.at(-1).type, 'tool_use');
    assert.equal(m.stop_reason, 'tool_use');
  });
});

describe('stock nginx + mock (harness self-test, no llmproxy module)', () => {
  let dir;
  let nginx;
  let mock;
  let port;
  before(async () => {
    mock = await startMockProvider({ format: 'openai' });
    dir = makeTempDir('harness');
    port = await freePort();
    const conf = `${mainPreamble(dir, { workers: 1, loadModule: false })}
http {
    ${httpPreamble(dir)}
    server {
        listen 127.0.0.1:${port};
        location / {
            proxy_pass http://127.0.0.1:${mock.port};
            proxy_http_version 1.1;
            proxy_buffering off;
        }
    }
}
`;
    nginx = await startNginx({ dir, conf, port });
  });
  after(async () => {
    const bad = await nginx.stop();
    await mock.close();
    assert.deepEqual(bad, [], 'error.log has no alerts or crashes');
    if (!process.env.LLMPROXY_KEEP_TMP) rmSync(dir, { recursive: true, force: true });
  });

  test('JSON passes through stock nginx', async () => {
    const r = await httpRequest(`http://127.0.0.1:${port}/v1/chat/completions`, { method: 'POST', body: { model: 'x', messages: [] } });
    assert.equal(r.status, 200);
    assert.match(r.json().choices[0].message.content, /llmproxy demo provider/);
    assert.equal(mock.requests.at(-1).path, '/v1/chat/completions');
  });

  test('SSE timing is observable through nginx (first event before the upstream finishes)', async () => {
    mock.enqueue({ type: 'sse', events: [{ data: { n: 1 } }, { data: { n: 2 }, delayMs: 600 }, { data: '[DONE]' }] });
    const s = await sseRequest(`http://127.0.0.1:${port}/v1/chat/completions`, { method: 'POST', body: {} });
    assert.equal(s.events.length, 3);
    assert.ok(s.events[0].at < mock.requests.at(-1).responseFinishedAt - 400,
      `first event at ${s.events[0].at - s.startedAt} ms`);
  });

  test('stop() escalates when a graceful shutdown waits on a hung upstream', async () => {
    mock.enqueue({ type: 'hang' });
    const pending = httpRequest(`http://127.0.0.1:${port}/v1/chat/completions`, { method: 'POST', body: {} })
      .then(() => 'answered', () => 'dropped');
    await mock.waitForRequests(mock.requests.length + 1);
    assert.equal(nginx.workerPids().length, 1);
    const t0 = performance.now();
    const bad = await nginx.stop({ timeoutMs: 300 });
    assert.ok(performance.now() - t0 < 5000);
    assert.equal(await pending, 'dropped');
    // A fast shutdown with a request in flight makes nginx log alerts: that is
    // how a test that leaves a request hanging gets noticed.
    assert.ok(bad.length > 0 && bad.every((l) => /open socket .* left in connection|aborting/.test(l)), bad.join('\n'));
    writeFileSync(path.join(dir, 'error.log'), '');  // expected alerts, checked above
  });

  test('badErrorLogLines spots alerts and crashed workers', () => {
    const log = '2026/01/01 [notice] 1#1: start\n2026/01/01 [alert] 1#1: worker process 42 exited on signal 11\n'
      + '2026/01/01 [notice] 1#1: worker process 43 exited on signal 9\n';
    assert.equal(badErrorLogLines(log).length, 2);
    assert.deepEqual(badErrorLogLines('2026/01/01 [error] 1#1: upstream timed out\n'), []);
  });
});

describe('mock-provider.mjs as a standalone demo provider', () => {
  for (const format of ['openai', 'anthropic']) {
    test(`--format ${format} answers with a labelled demo reply`, async () => {
      const port = await freePort();
      const child = spawn(process.execPath, [path.join(REPO, 'scripts', 'mock-provider.mjs'), '--format', format, '--port', String(port)],
        { stdio: ['ignore', 'pipe', 'inherit'] });
      try {
        const banner = await new Promise((resolve) => child.stdout.once('data', (d) => resolve(String(d))));
        assert.match(banner, /llmproxy demo provider/);
        const url = format === 'openai' ? `http://127.0.0.1:${port}/v1/chat/completions` : `http://127.0.0.1:${port}/v1/messages`;
        const r = await httpRequest(url, { method: 'POST', body: { model: 'demo', messages: [{ role: 'user', content: 'hi' }] } });
        assert.equal(r.status, 200);
        assert.match(JSON.stringify(r.json()), /llmproxy demo provider: /);
        const s = await sseRequest(url, { method: 'POST', body: { model: 'demo', stream: true, messages: [] } });
        assert.ok(s.events.length > 3);
      } finally {
        child.kill('SIGTERM');
        await new Promise((resolve) => child.once('exit', resolve));
      }
    });
  }
});

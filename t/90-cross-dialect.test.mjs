// Cross-dialect routes: Anthropic clients (the SDK, Claude Code) on an OpenAI
// provider, and OpenAI clients on an Anthropic provider.
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';

import { REPO, startGateway, PROVIDER_KEYS } from './lib/gateway.mjs';
import { anthropicEvents, anthropicMessage, openaiChunks, openaiCompletion } from '../scripts/mock-provider.mjs';

let gw;

before(async () => {
  gw = await startGateway({ label: 'cross', routes: [
    ['claude-*', 'mockoai/gpt-real'],   // Anthropic clients -> OpenAI provider
    ['gpt-*', 'mockant/claude-real'],   // OpenAI clients -> Anthropic provider
  ] });
});

after(async () => { await gw?.stop(); });

const WEATHER_TOOL_ANTHROPIC = { name: 'get_weather', description: 'Weather for a city',
  input_schema: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] } };
const WEATHER_TOOL_OPENAI = { type: 'function', function: { name: 'get_weather', description: 'Weather for a city',
  parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] } } };

describe('Anthropic client -> OpenAI provider', () => {
  const client = () => new Anthropic({ apiKey: gw.keys.alice.key, baseURL: gw.url, maxRetries: 0 });

  test('non-stream: request and response translated', async () => {
    gw.mocks.openai.enqueue({ type: 'json', body: openaiCompletion({ model: 'gpt-real', text: 'Sunny.',
      usage: { prompt_tokens: 21, completion_tokens: 3 } }) });
    const msg = await client().messages.create({ model: 'claude-sonnet-4-5', max_tokens: 300, system: 'Be brief.',
      messages: [{ role: 'user', content: 'Weather in Paris?' }] });
    assert.equal(msg.type, 'message');
    assert.equal(msg.model, 'claude-sonnet-4-5');
    assert.deepEqual(msg.content, [{ type: 'text', text: 'Sunny.' }]);
    assert.equal(msg.stop_reason, 'end_turn');
    assert.equal(msg.usage.input_tokens, 21);
    assert.equal(msg.usage.output_tokens, 3);

    const rec = gw.mocks.openai.requests.at(-1);
    assert.equal(rec.path, '/v1/chat/completions');
    assert.equal(rec.headers.authorization, `Bearer ${PROVIDER_KEYS.mockoai}`);
    assert.equal(rec.headers['x-api-key'], undefined);
    assert.equal(rec.body.model, 'gpt-real');
    assert.equal(rec.body.messages[0].role, 'system');
    assert.match(JSON.stringify(rec.body.messages[0].content), /Be brief\./);
    assert.deepEqual(rec.body.messages.at(-1).role, 'user');
    assert.match(JSON.stringify(rec.body.messages.at(-1).content), /Weather in Paris\?/);
    assert.equal(rec.body.max_tokens ?? rec.body.max_completion_tokens, 300);
  });

  test('tools: definitions, tool_calls -> tool_use, tool_result -> tool message', async () => {
    gw.mocks.openai.enqueue({ type: 'json', body: openaiCompletion({ model: 'gpt-real', text: null,
      toolCalls: [{ id: 'call_w1', name: 'get_weather', arguments: { city: 'Paris' } }] }) });
    const msg = await client().messages.create({ model: 'claude-sonnet-4-5', max_tokens: 300,
      tools: [WEATHER_TOOL_ANTHROPIC], messages: [{ role: 'user', content: 'Weather in Paris?' }] });
    assert.equal(msg.stop_reason, 'tool_use');
    const use = msg.content.find((b) => b.type === 'tool_use');
    assert.equal(use.name, 'get_weather');
    assert.deepEqual(use.input, { city: 'Paris' });
    const sent = gw.mocks.openai.requests.at(-1).body;
    assert.equal(sent.tools[0].type, 'function');
    assert.equal(sent.tools[0].function.name, 'get_weather');
    assert.deepEqual(sent.tools[0].function.parameters.properties, WEATHER_TOOL_ANTHROPIC.input_schema.properties);

    // The follow-up turn carries the tool result back.
    await client().messages.create({ model: 'claude-sonnet-4-5', max_tokens: 300, tools: [WEATHER_TOOL_ANTHROPIC],
      messages: [{ role: 'user', content: 'Weather in Paris?' }, { role: 'assistant', content: msg.content },
        { role: 'user', content: [{ type: 'tool_result', tool_use_id: use.id, content: '18°C, sunny' }] }] });
    const follow = gw.mocks.openai.requests.at(-1).body.messages;
    const assistant = follow.find((m) => m.role === 'assistant');
    assert.equal(assistant.tool_calls[0].id, use.id);
    assert.deepEqual(JSON.parse(assistant.tool_calls[0].function.arguments), { city: 'Paris' });
    const toolMsg = follow.find((m) => m.role === 'tool');
    assert.equal(toolMsg.tool_call_id, use.id);
    assert.match(JSON.stringify(toolMsg.content), /18°C, sunny/);
  });

  test('stream: text and interleaved tool calls become Anthropic events; text streamed before the provider finishes', async () => {
    const events = openaiChunks({ model: 'gpt-real', text: 'Checking both.', usage: 'trailing',
      toolCalls: [{ id: 'call_a', name: 'get_weather', arguments: { city: 'Paris' } },
        { id: 'call_b', name: 'get_weather', arguments: { city: 'Tōkyō' } }] });
    events[2] = { ...events[2], delayMs: 800 };  // pause after the first text chunk
    gw.mocks.openai.enqueue({ type: 'sse', events });
    const s = await gw.stream('/v1/messages', { model: 'claude-sonnet-4-5', max_tokens: 300, stream: true,
      tools: [WEATHER_TOOL_ANTHROPIC], messages: [{ role: 'user', content: 'Paris and Tokyo?' }] });
    assert.equal(s.status, 200, s.text);
    const names = s.events.map((e) => e.event).filter((n) => n !== 'ping');
    assert.equal(names[0], 'message_start');
    assert.equal(names.at(-1), 'message_stop');
    const firstText = s.events.find((e) => e.json?.delta?.type === 'text_delta');
    assert.ok(firstText.at < gw.mocks.openai.requests.at(-1).responseFinishedAt - 400, 'the first text is streamed, not held');
    const blocks = {};
    for (const e of s.events) {
      if (e.event === 'content_block_start') blocks[e.json.index] = { ...e.json.content_block, json: '' };
      if (e.event === 'content_block_delta' && e.json.delta.type === 'text_delta') blocks[e.json.index].text += e.json.delta.text;
      if (e.event === 'content_block_delta' && e.json.delta.type === 'input_json_delta') blocks[e.json.index].json += e.json.delta.partial_json;
    }
    const list = Object.values(blocks);
    assert.equal(list[0].type, 'text');
    assert.equal(list[0].text, 'Checking both.');
    assert.deepEqual(list.slice(1).map((b) => [b.type, b.name, JSON.parse(b.json)]),
      [['tool_use', 'get_weather', { city: 'Paris' }], ['tool_use', 'get_weather', { city: 'Tōkyō' }]]);
    const delta = s.events.find((e) => e.event === 'message_delta').json;
    assert.equal(delta.delta.stop_reason, 'tool_use');
    assert.equal(delta.usage.output_tokens, 7);
  });

  test('reasoning_content becomes a thinking block before the text (non-stream and stream)', async () => {
    gw.mocks.openai.enqueue({ type: 'json', body: openaiCompletion({ model: 'gpt-real', reasoning: 'Let me think.', text: 'Answer.' }) });
    const msg = await client().messages.create({ model: 'claude-sonnet-4-5', max_tokens: 100,
      messages: [{ role: 'user', content: 'q' }] });
    assert.deepEqual(msg.content.map((b) => [b.type, b.thinking ?? b.text]), [['thinking', 'Let me think.'], ['text', 'Answer.']]);

    gw.mocks.openai.enqueue({ type: 'sse', events: openaiChunks({ model: 'gpt-real', reasoning: 'Think one. Think two.', text: 'Answer.' }) });
    const final = await client().messages.stream({ model: 'claude-sonnet-4-5', max_tokens: 100,
      messages: [{ role: 'user', content: 'q' }] }).finalMessage();
    assert.deepEqual(final.content.map((b) => [b.type, b.thinking ?? b.text]), [['thinking', 'Think one. Think two.'], ['text', 'Answer.']]);
  });

  test('SDK stream helper on an OpenAI provider', async () => {
    gw.mocks.openai.enqueue({ type: 'sse', events: openaiChunks({ model: 'gpt-real', text: 'Hello from far away.', usage: 'finish' }) });
    const stream = client().messages.stream({ model: 'claude-haiku-4-5', max_tokens: 50, messages: [{ role: 'user', content: 'hi' }] });
    const texts = [];
    stream.on('text', (t) => texts.push(t));
    const final = await stream.finalMessage();
    assert.equal(texts.join(''), 'Hello from far away.');
    assert.equal(final.stop_reason, 'end_turn');
    assert.equal(final.model, 'claude-haiku-4-5');
  });

  // Runs `claude -p PROMPT` in a fresh HOME and working directory `cwd`.
  function runClaude(prompt, cwd, extraArgs = []) {
    const home = path.join(gw.dir, `home-${Math.random().toString(36).slice(2)}`);
    mkdirSync(home, { mode: 0o700 });
    return new Promise((resolve) => {
      const child = spawn(path.join(REPO, 't', 'node_modules', '.bin', 'claude'), ['-p', prompt, '--output-format', 'text', ...extraArgs], {
        cwd, env: { PATH: process.env.PATH, HOME: home, ANTHROPIC_BASE_URL: gw.url, ANTHROPIC_API_KEY: gw.keys.alice.key,
          CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: '1', DISABLE_AUTOUPDATER: '1' },
        stdio: ['ignore', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d) => { stdout += d; });
      child.stderr.on('data', (d) => { stderr += d; });
      const timer = setTimeout(() => child.kill('SIGKILL'), 60000);
      child.on('exit', (code) => { clearTimeout(timer); resolve({ code, stdout, stderr }); });
    });
  }

  test('Claude Code on an OpenAI provider', async () => {
    const n = gw.mocks.openai.requests.length;
    const r = await runClaude('Say hello', gw.dir);
    assert.equal(r.code, 0, `stdout: ${r.stdout}\nstderr: ${r.stderr}`);
    assert.match(r.stdout, /llmproxy demo provider: this is an offline openai demo reply/);
    const rec = gw.mocks.openai.requests.slice(n).find((x) => x.body?.stream === true);
    assert.ok(rec, 'a streamed chat completion reached the OpenAI provider');
    assert.equal(rec.body.model, 'gpt-real');
    assert.ok(rec.body.tools?.length > 0, 'Claude Code tools translated');
  });

  test('Claude Code tool loop on an OpenAI provider: a Read call, its result, the answer', async () => {
    const work = path.join(gw.dir, 'work');
    mkdirSync(work, { recursive: true });
    const file = path.join(work, 'note.txt');
    writeFileSync(file, 'the magic word is PAPAYA-42\n');
    const n = gw.mocks.openai.requests.length;
    // First turn: call Read on the file; once a tool result is there: answer with what it said.
    gw.mocks.openai.setDefault((req) => {
      if (!req.body?.stream) return { type: 'demo' };
      const toolMsg = req.body.messages.find((m) => m.role === 'tool');
      if (!toolMsg) {
        return { type: 'sse', events: openaiChunks({ model: 'gpt-real', text: 'Reading it.',
          toolCalls: [{ id: 'call_read1', name: 'Read', arguments: { file_path: file } }] }) };
      }
      const word = JSON.stringify(toolMsg.content).match(/PAPAYA-\d+/)?.[0] ?? 'nothing';
      return { type: 'sse', events: openaiChunks({ model: 'gpt-real', text: `The file says: ${word}` }) };
    });
    try {
      const r = await runClaude('What does note.txt say?', work);
      assert.equal(r.code, 0, `stdout: ${r.stdout}\nstderr: ${r.stderr}`);
      assert.match(r.stdout, /The file says: PAPAYA-42/);
      const turns = gw.mocks.openai.requests.slice(n).filter((x) => x.body?.stream === true);
      const last = turns.at(-1).body.messages;
      const call = last.find((m) => m.role === 'assistant' && m.tool_calls)?.tool_calls[0];
      assert.equal(call.id, 'call_read1');
      assert.equal(call.function.name, 'Read');
      assert.deepEqual(JSON.parse(call.function.arguments), { file_path: file });
      const result = last.find((m) => m.role === 'tool');
      assert.equal(result.tool_call_id, 'call_read1');
    } finally {
      gw.mocks.openai.setDefault({ type: 'demo' });
    }
  });
  test('Claude Code tool loop on an OpenAI provider: a Bash call writes a file, its result, the answer', async () => {
    const work = path.join(gw.dir, 'work-bash');
    mkdirSync(work, { recursive: true });
    const target = path.join(work, 'made-by-claude.txt');
    const n = gw.mocks.openai.requests.length;
    // Turn 1: a Bash tool call (arguments split into small fragments by the
    // mock) that writes a file; turn 2, once the tool result is back: text.
    gw.mocks.openai.setDefault((req) => {
      if (!req.body?.stream) return { type: 'demo' };
      const toolMsg = req.body.messages.find((m) => m.role === 'tool');
      if (!toolMsg) {
        return { type: 'sse', events: openaiChunks({ model: 'gpt-real', text: 'Writing the file.',
          toolCalls: [{ id: 'call_bash1', name: 'Bash',
            arguments: { command: `echo gateway-was-here > ${target}`, description: 'Write the file' } }] }) };
      }
      return { type: 'sse', events: openaiChunks({ model: 'gpt-real', text: 'Done: the file is written.' }) };
    });
    try {
      const r = await runClaude('Create the file made-by-claude.txt', work, ['--allowedTools', 'Bash']);
      assert.equal(r.code, 0, `stdout: ${r.stdout}\nstderr: ${r.stderr}`);
      assert.ok(existsSync(target), 'Claude Code ran the Bash tool call');
      assert.equal(readFileSync(target, 'utf8').trim(), 'gateway-was-here');
      assert.match(r.stdout, /Done: the file is written\./);
      const turns = gw.mocks.openai.requests.slice(n).filter((x) => x.body?.stream === true);
      assert.ok(turns.length >= 2, `two streamed turns reached the provider (${turns.length})`);
      for (const t of turns) {
        const body = t.body;
        assert.equal(body.model, 'gpt-real');
        assert.ok(body.tools.length > 0 && body.tools.every((x) => x.type === 'function' && x.function?.name),
          'tools sent as OpenAI functions');
        assert.ok(body.tools.some((x) => x.function.name === 'Bash'));
        assert.equal(body.messages[0].role, 'system', 'system content present');
        assert.ok(JSON.stringify(body.messages[0].content).length > 100);
        assert.equal(t.headers.authorization, `Bearer ${PROVIDER_KEYS.mockoai}`);
      }
      const last = turns.at(-1).body.messages;
      const call = last.find((m) => m.role === 'assistant' && m.tool_calls)?.tool_calls[0];
      assert.equal(call.id, 'call_bash1');
      assert.equal(call.function.name, 'Bash');
      assert.match(JSON.parse(call.function.arguments).command, /gateway-was-here/);
      const result = last.find((m) => m.role === 'tool');
      assert.equal(result.tool_call_id, 'call_bash1', 'the tool message answers the tool_call id');
    } finally {
      gw.mocks.openai.setDefault({ type: 'demo' });
    }
  });
});

describe('OpenAI client -> Anthropic provider', () => {
  const client = () => new OpenAI({ apiKey: gw.keys.alice.key, baseURL: `${gw.url}/v1`, maxRetries: 0 });

  test('non-stream: request and response translated', async () => {
    gw.mocks.anthropic.enqueue({ type: 'json', body: anthropicMessage({ model: 'claude-real', text: 'Sunny.',
      usage: { input_tokens: 21, output_tokens: 3 } }) });
    const c = await client().chat.completions.create({ model: 'gpt-4o', max_tokens: 200,
      messages: [{ role: 'system', content: 'Be brief.' }, { role: 'user', content: 'Weather in Paris?' }] });
    assert.equal(c.object, 'chat.completion');
    assert.equal(c.model, 'gpt-4o');
    assert.equal(c.choices[0].message.content, 'Sunny.');
    assert.equal(c.choices[0].finish_reason, 'stop');
    assert.equal(c.usage.prompt_tokens, 21);
    assert.equal(c.usage.completion_tokens, 3);

    const rec = gw.mocks.anthropic.requests.at(-1);
    assert.equal(rec.path, '/v1/messages');
    assert.equal(rec.headers['x-api-key'], PROVIDER_KEYS.mockant);
    assert.equal(rec.headers.authorization, undefined);
    assert.equal(rec.headers['anthropic-version'], '2023-06-01');
    assert.equal(rec.body.model, 'claude-real');
    assert.equal(rec.body.max_tokens, 200);
    assert.match(JSON.stringify(rec.body.system), /Be brief\./);
    assert.ok(rec.body.messages.every((m) => m.role !== 'system'));
  });

  test('stream: the first text chunk arrives before the provider finishes', async () => {
    const events = anthropicEvents({ model: 'claude-real', text: 'one two three' });
    const firstDelta = events.findIndex((e) => e.event === 'content_block_delta');
    events[firstDelta + 1] = { ...events[firstDelta + 1], delayMs: 800 };
    gw.mocks.anthropic.enqueue({ type: 'sse', events });
    const s = await gw.stream('/v1/chat/completions', { model: 'gpt-4o', stream: true, messages: [{ role: 'user', content: 'x' }] },
      { auth: 'bearer' });
    assert.equal(s.status, 200, s.text);
    const first = s.events.find((e) => e.json?.choices?.[0]?.delta?.content);
    assert.equal(first.json.choices[0].delta.content, 'one ');
    assert.ok(first.at < gw.mocks.anthropic.requests.at(-1).responseFinishedAt - 400, 'the first text is streamed, not held');
    assert.equal(s.events.at(-1).data, '[DONE]');
  });

  test('thinking blocks become reasoning_content (non-stream and stream)', async () => {
    gw.mocks.anthropic.enqueue({ type: 'json', body: anthropicMessage({ model: 'claude-real', thinking: 'Hmm.', text: 'Answer.' }) });
    const c = await client().chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'q' }] });
    assert.equal(c.choices[0].message.content, 'Answer.');
    assert.equal(c.choices[0].message.reasoning_content, 'Hmm.');

    gw.mocks.anthropic.enqueue({ type: 'sse', events: anthropicEvents({ model: 'claude-real', thinking: 'Hmm hmm.', text: 'Answer.' }) });
    const stream = await client().chat.completions.create({ model: 'gpt-4o', stream: true, messages: [{ role: 'user', content: 'q' }] });
    let reasoning = '';
    let text = '';
    for await (const chunk of stream) {
      const delta = chunk.choices[0]?.delta ?? {};
      reasoning += delta.reasoning_content ?? '';
      if (delta.content) {
        assert.equal(reasoning, 'Hmm hmm.', 'reasoning comes before the text');
        text += delta.content;
      }
    }
    assert.equal(text, 'Answer.');
  });

  test('max_tokens is always sent to Anthropic, even when the client gives none', async () => {
    await client().chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'hi' }] });
    const sent = gw.mocks.anthropic.requests.at(-1).body;
    assert.ok(Number.isInteger(sent.max_tokens) && sent.max_tokens > 0, `max_tokens ${sent.max_tokens}`);
  });

  test('stream: text and tool_use become chunks with tool_calls; usage chunk when asked', async () => {
    gw.mocks.anthropic.enqueue({ type: 'sse', events: anthropicEvents({ model: 'claude-real', text: 'Let me look.',
      toolUses: [{ id: 'toolu_w', name: 'get_weather', input: { city: 'Paris' } }] }) });
    const stream = await client().chat.completions.create({ model: 'gpt-4o', stream: true,
      stream_options: { include_usage: true }, tools: [WEATHER_TOOL_OPENAI],
      messages: [{ role: 'user', content: 'Weather in Paris?' }] });
    let text = '';
    const calls = {};
    let finish;
    let usage;
    for await (const chunk of stream) {
      if (chunk.usage) usage = chunk.usage;
      const ch = chunk.choices[0];
      if (!ch) continue;
      if (ch.delta?.content) text += ch.delta.content;
      for (const tc of ch.delta?.tool_calls ?? []) {
        calls[tc.index] ??= { id: tc.id, name: tc.function?.name, args: '' };
        calls[tc.index].args += tc.function?.arguments ?? '';
      }
      if (ch.finish_reason) finish = ch.finish_reason;
    }
    assert.equal(text, 'Let me look.');
    assert.equal(calls[0].name, 'get_weather');
    assert.equal(calls[0].id, 'toolu_w');
    assert.deepEqual(JSON.parse(calls[0].args), { city: 'Paris' });
    assert.equal(finish, 'tool_calls');
    assert.equal(usage.completion_tokens, 7);
    const sent = gw.mocks.anthropic.requests.at(-1).body;
    assert.equal(sent.stream, true);
    assert.equal(sent.tools[0].name, 'get_weather');
    assert.deepEqual(sent.tools[0].input_schema.properties, WEATHER_TOOL_OPENAI.function.parameters.properties);
  });
});

#!/usr/bin/env node
// Writes the canned mock responses and the client request bodies under
// bench/payloads/. Deterministic: running it twice gives identical files, so
// the committed payloads can be checked with `git diff --exit-code` after a
// regeneration. Usage: node bench/tools/gen-payloads.mjs [outdir]
import { writeFileSync, mkdirSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const outDir = process.argv[2] ?? join(dirname(fileURLToPath(import.meta.url)), '..', 'payloads');
mkdirSync(outDir, { recursive: true });

// Deterministic pseudo-random source (mulberry32) so text varies but never changes.
function rng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const rand = rng(20261122);
const pick = (list) => list[Math.floor(rand() * list.length)];
const hex = (n) => Array.from({ length: n }, () => '0123456789abcdef'[Math.floor(rand() * 16)]).join('');
const uuid = () => `${hex(8)}-${hex(4)}-4${hex(3)}-a${hex(3)}-${hex(12)}`;

// ---------------------------------------------------------------------------
// Prose for system prompts, tool descriptions and file contents. Built from
// fragments so the request has the size and texture of a coding-agent request
// (instructions, headings, code) without copying any real product's prompt.
const subjects = ['When a task spans several files', 'Before changing code', 'If a command fails',
  'When the user asks a question', 'After finishing an edit', 'When tests exist',
  'If the repository has a style guide', 'When output is long', 'Before running a destructive command',
  'When you are unsure about intent', 'If a tool returns an error', 'When searching the codebase'];
const actions = ['read the surrounding code first', 'prefer the smallest change that solves the problem',
  'explain what you are about to do in one sentence', 'run the narrowest test that covers the change',
  'quote exact file paths and line numbers', 'keep the existing naming and formatting conventions',
  'ask one precise question instead of guessing', 'summarise the result in a short list',
  'check the exit status and read stderr', 'avoid adding new dependencies without a reason',
  'search with a specific pattern before opening whole files', 'never print secrets or tokens'];
const reasons = ['because reviewers read diffs, not intentions', 'so that the user can verify the claim quickly',
  'since partial context leads to wrong fixes', 'which keeps the session focused and cheap',
  'because silent failures waste the most time', 'so the next step starts from facts'];
function paragraph(sentences) {
  const out = [];
  for (let i = 0; i < sentences; i++) out.push(`${pick(subjects)}, ${pick(actions)}, ${pick(reasons)}.`);
  return out.join(' ');
}
function systemPrompt() {
  const sections = ['Tone and style', 'Doing tasks', 'Tool usage policy', 'Code references', 'Safety',
    'Task management', 'Git and commits', 'Testing', 'Asking for help', 'Environment'];
  let text = 'You are a coding agent working in a terminal on the user\'s repository. ' +
    'Follow the instructions below and use the available tools to complete software engineering tasks.\n';
  for (const s of sections) text += `\n# ${s}\n${paragraph(5)}\n- ${pick(actions)}.\n- ${pick(actions)}.\n`;
  text += '\n<env>\nWorking directory: /home/dev/llmproxy\nIs directory a git repo: yes\nPlatform: linux\n' +
    'OS Version: Linux 6.1.0-27-amd64\nToday\'s date: 2026-11-22\n</env>\n';
  return text;
}

const toolDefs = [
  ['Bash', 'Executes a shell command in a persistent session with an optional timeout.', {
    command: { type: 'string', description: 'The command to execute' },
    timeout: { type: 'number', description: 'Optional timeout in milliseconds (max 600000)' },
    description: { type: 'string', description: 'Clear, concise description of what this command does in 5-10 words' },
    run_in_background: { type: 'boolean', description: 'Run the command in the background and return at once' },
  }, ['command']],
  ['Read', 'Reads a file from the local filesystem. Returns lines prefixed with their line numbers.', {
    file_path: { type: 'string', description: 'The absolute path to the file to read' },
    offset: { type: 'number', description: 'The line number to start reading from' },
    limit: { type: 'number', description: 'The number of lines to read' },
  }, ['file_path']],
  ['Edit', 'Performs exact string replacements in files. The old string must be unique in the file.', {
    file_path: { type: 'string', description: 'The absolute path to the file to modify' },
    old_string: { type: 'string', description: 'The text to replace' },
    new_string: { type: 'string', description: 'The text to replace it with (must differ from old_string)' },
    replace_all: { type: 'boolean', default: false, description: 'Replace all occurrences of old_string' },
  }, ['file_path', 'old_string', 'new_string']],
  ['Write', 'Writes a file to the local filesystem, overwriting an existing file.', {
    file_path: { type: 'string', description: 'The absolute path to the file to write' },
    content: { type: 'string', description: 'The content to write to the file' },
  }, ['file_path', 'content']],
  ['Glob', 'Fast file pattern matching that works with any codebase size.', {
    pattern: { type: 'string', description: 'The glob pattern to match files against' },
    path: { type: 'string', description: 'The directory to search in' },
  }, ['pattern']],
  ['Grep', 'A search tool built on ripgrep. Supports full regex syntax and file type filters.', {
    pattern: { type: 'string', description: 'The regular expression pattern to search for' },
    path: { type: 'string', description: 'File or directory to search in' },
    glob: { type: 'string', description: 'Glob pattern to filter files' },
    output_mode: { type: 'string', enum: ['content', 'files_with_matches', 'count'], description: 'Output mode' },
    '-n': { type: 'boolean', description: 'Show line numbers in output' },
    head_limit: { type: 'number', description: 'Limit output to the first N lines or entries' },
  }, ['pattern']],
  ['TodoWrite', 'Creates and updates a structured task list for the current session.', {
    todos: { type: 'array', description: 'The updated todo list', items: { type: 'object', properties: {
      content: { type: 'string', minLength: 1 },
      status: { type: 'string', enum: ['pending', 'in_progress', 'completed'] },
      activeForm: { type: 'string', minLength: 1 },
    }, required: ['content', 'status', 'activeForm'], additionalProperties: false } },
  }, ['todos']],
  ['WebFetch', 'Fetches content from a URL and processes it with a prompt.', {
    url: { type: 'string', format: 'uri', description: 'The URL to fetch content from' },
    prompt: { type: 'string', description: 'The prompt to run on the fetched content' },
  }, ['url', 'prompt']],
];
function toolDescription(base) {
  return `${base}\n\nUsage notes:\n- ${paragraph(3)}\n- ${paragraph(2)}\n- ${pick(actions)}.`;
}
const tools = toolDefs.map(([name, desc, properties, required]) => ({
  name, description: toolDescription(desc),
  input_schema: { type: 'object', properties, required, additionalProperties: false,
    $schema: 'http://json-schema.org/draft-07/schema#' },
}));

function sourceFile(lines) {
  const stmts = ['auto doc = parse_json(body, limits);', 'if (!doc) return doc.error();',
    'out.reserve(body.size() + 64);', 'json_append_string(out, name);', 'const auto& v = (*doc)["model"];',
    'if (!v.IsString()) return Error::invalid("model must be a string");', 'return Status::ok();',
    'std::string_view text{v.GetString(), v.GetStringLength()};', 'for (const auto& block : content.GetArray()) {', '}'];
  const out = [];
  for (let i = 1; i <= lines; i++) out.push(`${String(i).padStart(6)}\t    ${pick(stmts)}`);
  return out.join('\n');
}

const grepOutput = Array.from({ length: 14 }, (_, i) =>
  `src/core/${pick(['json', 'translate', 'errors', 'store', 'sse'])}.cpp:${20 + i * 17}:    auto doc = parse_json(body, limits);`).join('\n');

const userId = `user_${hex(64)}_account_${uuid()}_session_${uuid()}`;
const systemReminder = '<system-reminder>\nAs you answer the user\'s questions, you can use the following context:\n' +
  '# important-instruction-reminders\n' + paragraph(4) + '\n</system-reminder>';

// Everything random is drawn once, so all request bodies share the same
// content and differ only in model, stream flag and dialect.
const billingLine = `x-anthropic-billing-header: cc_version=2.1.69.${hex(3)}; cc_entrypoint=cli; cch=${hex(5)};`;
const systemText = systemPrompt();
const grepToolId = 'toolu_01' + hex(20);
const readToolId = 'toolu_01' + hex(20);
const readOutput = sourceFile(80);

function anthropicRequest(model, stream) {
  const lastTools = tools.map((t, i) => (i === tools.length - 1 ? { ...t, cache_control: { type: 'ephemeral' } } : t));
  return {
    model,
    max_tokens: 32000,
    stream,
    metadata: { user_id: userId },
    system: [
      { type: 'text', text: billingLine },
      { type: 'text', text: 'You are a coding agent for the command line.', cache_control: { type: 'ephemeral' } },
      { type: 'text', text: systemText, cache_control: { type: 'ephemeral' } },
    ],
    tools: lastTools,
    messages: [
      { role: 'user', content: [
        { type: 'text', text: systemReminder },
        { type: 'text', text: 'Where do we parse request bodies? I want every parse to go through the size-limited helper.' },
      ] },
      { role: 'assistant', content: [
        { type: 'text', text: 'I will search for JSON parse call sites first.' },
        { type: 'tool_use', id: grepToolId, name: 'Grep', input: { pattern: 'parse_json|Document::Parse', path: 'src', output_mode: 'content', '-n': true } },
      ] },
      { role: 'user', content: [
        { type: 'tool_result', tool_use_id: grepToolId, content: grepOutput },
      ] },
      { role: 'assistant', content: [
        { type: 'text', text: 'The matches are all in src/core. Let me read the translator to check the limits it passes.' },
        { type: 'tool_use', id: readToolId, name: 'Read', input: { file_path: '/home/dev/llmproxy/src/core/translate.cpp', offset: 1, limit: 80 } },
      ] },
      { role: 'user', content: [
        { type: 'tool_result', tool_use_id: readToolId, content: [{ type: 'text', text: readOutput }] },
        { type: 'text', text: 'Also check whether the error path leaks the request body into logs.', cache_control: { type: 'ephemeral' } },
      ] },
    ],
  };
}
// A small background request (Claude Code titles sessions this way): the
// held-streams test runs with it and with the full request, to separate the
// cost of an open stream from the cost of holding a large request body.
function compactAnthropicRequest(model) {
  return {
    model, max_tokens: 512, stream: true, metadata: { user_id: userId },
    system: [{ type: 'text', text: billingLine },
      { type: 'text', text: 'Summarize this coding conversation in under 50 characters. Reply with the title only.' }],
    messages: [{ role: 'user', content: 'Where do we parse request bodies? I want every parse to go through the size-limited helper.' }],
  };
}

function openaiRequest(model, stream) {
  const a = anthropicRequest(model, stream);
  const sys = a.system.slice(1).map((b) => b.text).join('\n\n');
  const callIds = [];
  const messages = [{ role: 'system', content: sys }];
  for (const m of a.messages) {
    if (m.role === 'assistant') {
      const text = m.content.filter((b) => b.type === 'text').map((b) => b.text).join('');
      const calls = m.content.filter((b) => b.type === 'tool_use').map((b) => {
        const id = 'call_' + b.id.slice(-20);
        callIds.push(id);
        return { id, type: 'function', function: { name: b.name, arguments: JSON.stringify(b.input) } };
      });
      messages.push({ role: 'assistant', content: text, tool_calls: calls });
    } else {
      for (const b of m.content) {
        if (b.type === 'tool_result') {
          const content = typeof b.content === 'string' ? b.content : b.content.map((c) => c.text).join('');
          messages.push({ role: 'tool', tool_call_id: callIds.shift(), content });
        } else {
          messages.push({ role: 'user', content: b.text });
        }
      }
    }
  }
  const req = {
    model, messages, max_tokens: 8192, temperature: 1,
    tools: tools.map((t) => ({ type: 'function', function: { name: t.name, description: t.description, parameters: t.input_schema } })),
    tool_choice: 'auto', user: userId,
  };
  if (stream) { req.stream = true; req.stream_options = { include_usage: true }; }
  return req;
}

// ---------------------------------------------------------------------------
// Canned responses. Text is split into token-sized deltas like a real model.
const answerText = 'The request bodies are parsed in three places, all in src/core: the Anthropic and OpenAI ' +
  'translators and the error path. Each call already passes the shared limits object, so the size and depth ' +
  'caps apply everywhere. The error path builds its message from the parse status only and never copies the ' +
  'body, so nothing from the request reaches the logs. One thing worth tightening: the translator reserves ' +
  'output capacity from the input size before validating it. I will check the remaining call site with a ' +
  'search limited to the core directory before suggesting a change.';
const toolArgs = { command: 'grep -rn "parse_json" src/core --include=*.cpp | head -n 40', description: 'List JSON parse call sites in the core' };
function splitTokens(text, count) {
  // Split on word boundaries into exactly `count` pieces (merging words as needed).
  const words = text.match(/\S+\s*/g);
  const pieces = [];
  for (let i = 0; i < count; i++) {
    const from = Math.floor((i * words.length) / count);
    const to = Math.floor(((i + 1) * words.length) / count);
    pieces.push(words.slice(from, to).join(''));
  }
  return pieces;
}
function splitChars(text, count) {
  const size = Math.ceil(text.length / count);
  return Array.from({ length: count }, (_, i) => text.slice(i * size, (i + 1) * size));
}
const created = 1763780000;
const usageOpenAI = { prompt_tokens: 6120, completion_tokens: 212, total_tokens: 6332,
  prompt_tokens_details: { cached_tokens: 4096 }, completion_tokens_details: { reasoning_tokens: 0 } };
const usageAnthropic = { input_tokens: 2024, cache_creation_input_tokens: 0, cache_read_input_tokens: 4096, output_tokens: 212 };

const openaiCompletion = {
  id: 'chatcmpl-bench0000000000000000000001', object: 'chat.completion', created, model: 'gpt-mock',
  system_fingerprint: 'fp_bench01',
  choices: [{ index: 0, message: { role: 'assistant', content: answerText, refusal: null,
    tool_calls: [{ id: 'call_bench000000000000000001', type: 'function', function: { name: 'Bash', arguments: JSON.stringify(toolArgs) } }] },
    logprobs: null, finish_reason: 'tool_calls' }],
  usage: usageOpenAI,
};
const anthropicMessage = {
  id: 'msg_bench000000000000000001', type: 'message', role: 'assistant', model: 'claude-mock',
  content: [{ type: 'text', text: answerText },
    { type: 'tool_use', id: 'toolu_bench000000000000000001', name: 'Bash', input: toolArgs }],
  stop_reason: 'tool_use', stop_sequence: null, usage: usageAnthropic,
};

// OpenAI stream: exactly 100 chat.completion.chunk events with choices, then a
// usage-only chunk and [DONE]: role, 81 text deltas, tool call start, 16
// argument deltas, finish.
const TEXT_DELTAS = 81;
const ARG_DELTAS = 16;
function openaiStream() {
  const base = { id: openaiCompletion.id, object: 'chat.completion.chunk', created, model: 'gpt-mock', system_fingerprint: 'fp_bench01' };
  const ev = [];
  const chunk = (delta, finish = null) => ev.push({ ...base, choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }] });
  chunk({ role: 'assistant', content: '', refusal: null });
  for (const t of splitTokens(answerText, TEXT_DELTAS)) chunk({ content: t });
  chunk({ tool_calls: [{ index: 0, id: 'call_bench000000000000000001', type: 'function', function: { name: 'Bash', arguments: '' } }] });
  for (const a of splitChars(JSON.stringify(toolArgs), ARG_DELTAS)) chunk({ tool_calls: [{ index: 0, function: { arguments: a } }] });
  chunk({}, 'tool_calls');
  if (ev.length !== 100) throw new Error(`openai stream has ${ev.length} chunks`);
  ev.push({ ...base, choices: [], usage: usageOpenAI });
  return ev.map((e) => `data: ${JSON.stringify(e)}\n\n`).join('') + 'data: [DONE]\n\n';
}
// Anthropic stream: exactly 100 content_block_delta events (82 text, 18 tool
// input JSON) framed by the usual start/stop events.
function anthropicStream() {
  const out = [];
  const ev = (type, data) => out.push(`event: ${type}\ndata: ${JSON.stringify({ type, ...data })}\n\n`);
  ev('message_start', { message: { ...anthropicMessage, content: [], stop_reason: null,
    usage: { ...usageAnthropic, output_tokens: 1 } } });
  ev('content_block_start', { index: 0, content_block: { type: 'text', text: '' } });
  ev('ping', {});
  for (const t of splitTokens(answerText, 82)) ev('content_block_delta', { index: 0, delta: { type: 'text_delta', text: t } });
  ev('content_block_stop', { index: 0 });
  ev('content_block_start', { index: 1, content_block: { type: 'tool_use', id: 'toolu_bench000000000000000001', name: 'Bash', input: {} } });
  for (const a of splitChars(JSON.stringify(toolArgs), 18)) ev('content_block_delta', { index: 1, delta: { type: 'input_json_delta', partial_json: a } });
  ev('content_block_stop', { index: 1 });
  ev('message_delta', { delta: { stop_reason: 'tool_use', stop_sequence: null }, usage: { output_tokens: 212 } });
  ev('message_stop', {});
  const deltas = out.filter((e) => e.startsWith('event: content_block_delta')).length;
  if (deltas !== 100) throw new Error(`anthropic stream has ${deltas} deltas`);
  return out.join('');
}

const files = {
  'openai-completion.json': JSON.stringify(openaiCompletion),
  'openai-stream.sse': openaiStream(),
  'anthropic-message.json': JSON.stringify(anthropicMessage),
  'anthropic-stream.sse': anthropicStream(),
  // Client bodies. Model names select the gateway route (see scripts/bench.sh).
  'req-anthropic-to-openai.json': JSON.stringify(anthropicRequest('bench-openai-json', false)),
  'req-anthropic-to-openai-stream.json': JSON.stringify(anthropicRequest('bench-openai-sse', true)),
  'req-anthropic-to-anthropic.json': JSON.stringify(anthropicRequest('claude-bench-json', false)),
  'req-anthropic-to-anthropic-stream.json': JSON.stringify(anthropicRequest('claude-bench-sse', true)),
  'req-openai-to-anthropic-stream.json': JSON.stringify(openaiRequest('claude-bench-sse', true)),
  'req-anthropic-drip-stream.json': JSON.stringify(compactAnthropicRequest('bench-openai-drip')),
  'req-anthropic-drip-stream-large.json': JSON.stringify(anthropicRequest('bench-openai-drip', true)),
};
for (const [name, text] of Object.entries(files)) {
  writeFileSync(join(outDir, name), text);
  console.log(`${name}\t${Buffer.byteLength(text)} bytes`);
}

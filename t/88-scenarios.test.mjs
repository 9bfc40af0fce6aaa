// Claude Code scenario routing: routes stored under scenario:KEY win over the
// model's pattern route when the request fits; precedence long-context >
// web-search > image > think > background; a scenario without a route falls
// through; ctl changes apply at the next request. The chosen key shows in
// x-llmproxy-route and $llmproxy_route.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';

import { startGateway, sleep } from './lib/gateway.mjs';
import { DIALECTS } from './lib/dialects.mjs';

let gw;
const ANT = DIALECTS.anthropic;
const OAI = DIALECTS.openai;
const LOG_FIELDS = ['route', 'provider', 'model', 'status'];

// Scenario routes all point at distinct models, so the model the mock was
// asked for says which route was taken.
const SCENARIO_ROUTES = [
  ['scenario:web-search', 'mockant/claude-search'],
  ['scenario:image', 'mockant/claude-vision'],
  ['scenario:think', 'mockant/claude-think'],
  ['scenario:background', 'mockoai/gpt-bg'],
];

async function setScenarioRoutes() {
  await gw.ctlOk('route', 'set', 'scenario:long-context', 'mockant/claude-long', '--threshold', '2000');
  for (const [key, target] of SCENARIO_ROUTES) await gw.ctlOk('route', 'set', key, target);
}

before(async () => {
  gw = await startGateway({ label: 'scenarios', workers: 2,
    extraHttp: `log_format llmproxy_scn '$llmproxy_route|$llmproxy_provider|$llmproxy_model|$status';`,
    extraServer: 'access_log __DIR__/scenario.log llmproxy_scn;' });
  await setScenarioRoutes();
});

after(async () => { await gw?.stop(); });

function lastLogLine() {
  const lines = readFileSync(path.join(gw.dir, 'scenario.log'), 'utf8').trim().split('\n').filter(Boolean);
  return Object.fromEntries(lines.at(-1).split('|').map((v, i) => [LOG_FIELDS[i], v]));
}

// Sends one request and asserts where it went: exactly one upstream request,
// to `mock` ('anthropic' | 'openai') for `model`, via route key `route`, as
// the response header and the access log both say.
async function expectRoute(dialect, body, { mock, model, route }) {
  const a = gw.mocks.anthropic.requests.length;
  const o = gw.mocks.openai.requests.length;
  const r = await gw.post(dialect.path, body);
  assert.equal(r.status, 200, r.text.slice(0, 500));
  const got = { anthropic: gw.mocks.anthropic.requests.length - a, openai: gw.mocks.openai.requests.length - o };
  assert.deepEqual(got, { anthropic: mock === 'anthropic' ? 1 : 0, openai: mock === 'openai' ? 1 : 0 },
    `one request to the ${mock} mock (route ${r.headers['x-llmproxy-route']})`);
  assert.equal(gw.mocks[mock].requests.at(-1).body.model, model);
  assert.equal(r.headers['x-llmproxy-route'], route);
  assert.equal(r.headers['x-llmproxy-model'], model);
  await sleep(100);  // the log line is written after the response
  const line = lastLogLine();
  assert.equal(line.route, route, 'access log $llmproxy_route');
  assert.equal(line.model, model, 'access log $llmproxy_model');
  assert.equal(line.status, '200');
  return r;
}

// Request pieces, Anthropic dialect.
const WEB_SEARCH_TOOL = { type: 'web_search_20250305', name: 'web_search', max_uses: 3 };
const IMAGE_BLOCK = { type: 'image', source: { type: 'base64', media_type: 'image/png', data: 'iVBORw0KGgoAAAANSUhEUg==' } };
const THINKING = { type: 'enabled', budget_tokens: 1024 };
const longText = (tokens) => 'abc '.repeat(tokens);  // 4 ASCII bytes: about one token each

function antBody({ model = 'claude-sonnet-4-5', long, web, image, think } = {}) {
  const content = [{ type: 'text', text: long ? longText(long) : 'Hello' }];
  if (image) content.push(IMAGE_BLOCK);
  const body = { model, max_tokens: 2048, messages: [{ role: 'user', content }] };
  if (web) body.tools = [WEB_SEARCH_TOOL];
  if (think) body.thinking = THINKING;
  return body;
}

test('a request that fits no scenario takes its model pattern route', async () => {
  await expectRoute(ANT, antBody(), { mock: 'anthropic', model: 'claude-real', route: 'claude-*' });
  await expectRoute(OAI, OAI.body(), { mock: 'openai', model: 'gpt-mock', route: 'default' });
  // A disabled thinking block and reasoning_effort "none" are not think requests.
  await expectRoute(ANT, { ...antBody(), thinking: { type: 'disabled' } },
    { mock: 'anthropic', model: 'claude-real', route: 'claude-*' });
  // A client-defined tool that is not a web search server tool.
  await expectRoute(ANT, { ...antBody(), tools: [{ name: 'web_lookup', description: 'x',
    input_schema: { type: 'object', properties: {} } }] }, { mock: 'anthropic', model: 'claude-real', route: 'claude-*' });
});

test('scenario:long-context: estimated input above the --threshold', async () => {
  await expectRoute(ANT, antBody({ long: 1500 }), { mock: 'anthropic', model: 'claude-real', route: 'claude-*' });
  await expectRoute(ANT, antBody({ long: 2600 }),
    { mock: 'anthropic', model: 'claude-long', route: 'scenario:long-context' });
});

test('scenario:web-search: a tool whose type starts with web_search', async () => {
  await expectRoute(ANT, antBody({ web: true }),
    { mock: 'anthropic', model: 'claude-search', route: 'scenario:web-search' });
  await expectRoute(ANT, { ...antBody(), tools: [{ type: 'web_search_20260101', name: 'web_search' }] },
    { mock: 'anthropic', model: 'claude-search', route: 'scenario:web-search' });
});

test('scenario:image: an image block in a message', async () => {
  await expectRoute(ANT, antBody({ image: true }), { mock: 'anthropic', model: 'claude-vision', route: 'scenario:image' });
});

test('scenario:image: an image inside a tool_result (Read tool on a picture)', async () => {
  const body = {
    model: 'claude-sonnet-4-5', max_tokens: 256,
    tools: [{ name: 'Read', description: 'read a file', input_schema: { type: 'object',
      properties: { file_path: { type: 'string' } }, required: ['file_path'] } }],
    messages: [
      { role: 'user', content: 'What is in /tmp/cat.png?' },
      { role: 'assistant', content: [{ type: 'tool_use', id: 'toolu_01', name: 'Read', input: { file_path: '/tmp/cat.png' } }] },
      { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'toolu_01', content: [IMAGE_BLOCK] }] },
    ],
  };
  await expectRoute(ANT, body, { mock: 'anthropic', model: 'claude-vision', route: 'scenario:image' });
});

test('scenario:image: an OpenAI image_url part', async () => {
  const body = { model: 'gpt-4o-mini', messages: [{ role: 'user', content: [{ type: 'text', text: 'What is this?' },
    { type: 'image_url', image_url: { url: 'data:image/png;base64,iVBORw0KGgoAAAANSUhEUg==' } }] }] };
  await expectRoute(OAI, body, { mock: 'anthropic', model: 'claude-vision', route: 'scenario:image' });
});

test('scenario:think: Anthropic thinking enabled, OpenAI reasoning_effort high', async () => {
  await expectRoute(ANT, antBody({ think: true }), { mock: 'anthropic', model: 'claude-think', route: 'scenario:think' });
  await expectRoute(OAI, OAI.body(OAI.model, { reasoning_effort: 'high' }),
    { mock: 'anthropic', model: 'claude-think', route: 'scenario:think' });
});

test('scenario:background: a haiku model, any case', async () => {
  await expectRoute(ANT, antBody({ model: 'claude-3-5-haiku-20241022' }),
    { mock: 'openai', model: 'gpt-bg', route: 'scenario:background' });
  await expectRoute(ANT, antBody({ model: 'claude-HaiKu-4-5' }),
    { mock: 'openai', model: 'gpt-bg', route: 'scenario:background' });
});

test('precedence: long-context > web-search > image > think > background', async () => {
  const all = { model: 'claude-haiku-4-5', long: 2600, web: true, image: true, think: true };
  await expectRoute(ANT, antBody(all), { mock: 'anthropic', model: 'claude-long', route: 'scenario:long-context' });
  await expectRoute(ANT, antBody({ ...all, long: 0 }),
    { mock: 'anthropic', model: 'claude-search', route: 'scenario:web-search' });
  await expectRoute(ANT, antBody({ ...all, long: 0, web: false }),
    { mock: 'anthropic', model: 'claude-vision', route: 'scenario:image' });
  await expectRoute(ANT, antBody({ ...all, long: 0, web: false, image: false }),
    { mock: 'anthropic', model: 'claude-think', route: 'scenario:think' });
  await expectRoute(ANT, antBody({ model: 'claude-haiku-4-5' }),
    { mock: 'openai', model: 'gpt-bg', route: 'scenario:background' });
});

test('scenario:long-context without --threshold: 60000 tokens', async () => {
  await gw.ctlOk('route', 'set', 'scenario:long-context', 'mockant/claude-long');
  try {
    await expectRoute(ANT, antBody({ long: 55000 }), { mock: 'anthropic', model: 'claude-real', route: 'claude-*' });
    await expectRoute(ANT, antBody({ long: 65000 }),
      { mock: 'anthropic', model: 'claude-long', route: 'scenario:long-context' });
  } finally {
    await gw.ctlOk('route', 'set', 'scenario:long-context', 'mockant/claude-long', '--threshold', '2000');
  }
});

test('a scenario without a route falls through to the next, then to the model pattern; no reload needed', async () => {
  try {
    const thinkingHaiku = antBody({ model: 'claude-haiku-4-5', think: true, image: true });
    await expectRoute(ANT, thinkingHaiku, { mock: 'anthropic', model: 'claude-vision', route: 'scenario:image' });
    await gw.ctlOk('route', 'rm', 'scenario:image');
    await expectRoute(ANT, thinkingHaiku, { mock: 'anthropic', model: 'claude-think', route: 'scenario:think' });
    await gw.ctlOk('route', 'rm', 'scenario:think');
    await expectRoute(ANT, thinkingHaiku, { mock: 'openai', model: 'gpt-bg', route: 'scenario:background' });
    // OpenAI reasoning requests lose their think route as well, in every worker.
    for (let i = 0; i < 4; i++) {
      await expectRoute(OAI, OAI.body(OAI.model, { reasoning_effort: 'high' }),
        { mock: 'openai', model: 'gpt-mock', route: 'default' });
    }
    await gw.ctlOk('route', 'rm', 'scenario:background');
    await expectRoute(ANT, thinkingHaiku, { mock: 'anthropic', model: 'claude-real', route: 'claude-*' });
    // A long request with long-context removed: the web-search route is next.
    await gw.ctlOk('route', 'rm', 'scenario:long-context');
    await expectRoute(ANT, antBody({ long: 2600, web: true }),
      { mock: 'anthropic', model: 'claude-search', route: 'scenario:web-search' });
    await gw.ctlOk('route', 'rm', 'scenario:web-search');
    await expectRoute(ANT, antBody({ long: 2600, web: true }), { mock: 'anthropic', model: 'claude-real', route: 'claude-*' });
  } finally {
    await setScenarioRoutes();
  }
});

test('a scenario route set while running applies at the next request', async () => {
  await gw.ctlOk('route', 'set', 'scenario:think', 'mockoai/gpt-think');
  for (let i = 0; i < 4; i++) {
    await expectRoute(ANT, antBody({ think: true }), { mock: 'openai', model: 'gpt-think', route: 'scenario:think' });
  }
});

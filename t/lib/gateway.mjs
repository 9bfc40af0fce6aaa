// Integration-test harness: runs real nginx with the llmproxy module, a fresh
// LMDB store written by llmproxy-ctl, and mock providers, all on 127.0.0.1.
//
//   const gw = await startGateway();            // 2 workers, mockoai + mockant, key "alice"
//   const r = await gw.post('/v1/chat/completions', {model: 'gpt-x', messages: []});
//   await gw.stop();                             // throws if error.log has alerts/crashes
//
// Environment: LLMPROXY_NGINX (nginx binary, default /usr/sbin/nginx),
// LLMPROXY_BUILD_DIR (default REPO/build), LLMPROXY_KEEP_TMP=1 keeps temp dirs.

import { spawn, execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, chmodSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { startMockProvider } from '../../scripts/mock-provider.mjs';

export const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const BUILD_DIR = process.env.LLMPROXY_BUILD_DIR ?? path.join(REPO, 'build');
export const MODULE_PATH = path.join(BUILD_DIR, 'ngx_http_llmproxy_module.so');
export const CTL_PATH = path.join(BUILD_DIR, 'llmproxy-ctl');
export const NGINX_BIN = process.env.LLMPROXY_NGINX ?? '/usr/sbin/nginx';
export const SERVER_CONF = path.join(REPO, 'conf', 'llmproxy-server.conf');

// Provider secrets registered in every gateway store; tests assert they never
// reach a client or a log.
export const PROVIDER_KEYS = Object.freeze({
  mockoai: 'sk-provider-SECRET-oai-7f3a9c',
  mockant: 'sk-provider-SECRET-ant-2b8e41',
});

export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

const liveMasters = new Set();
process.on('exit', () => {
  // Last resort when a test file dies without stop(): fast shutdown of nginx
  // (its master takes the workers down with it).
  for (const child of liveMasters) {
    try { child.kill('SIGTERM'); } catch { /* already gone */ }
  }
});

// ---------------------------------------------------------------- ports, dirs

export async function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

export function makeTempDir(label) {
  const root = path.join(REPO, 't', 'tmp');
  mkdirSync(root, { recursive: true, mode: 0o755 });
  chmodSync(root, 0o755);
  const dir = mkdtempSync(path.join(root, `${label}-`));
  chmodSync(dir, 0o755);
  return dir;
}

async function waitForPort(port, child, timeoutMs, describeFailure) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`nginx exited during startup (code ${child.exitCode}, signal ${child.signalCode})\n${describeFailure()}`);
    }
    const ok = await new Promise((resolve) => {
      const sock = net.connect({ port, host: '127.0.0.1' });
      sock.once('connect', () => { sock.destroy(); resolve(true); });
      sock.once('error', () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`nginx did not listen on ${port} within ${timeoutMs} ms\n${describeFailure()}`);
    await sleep(50);
  }
}

// ---------------------------------------------------------------- nginx

// Lines of an error.log that always fail a test: alerts, emergencies, crashed workers.
export function badErrorLogLines(text) {
  return text.split('\n').filter((line) => /\[(alert|emerg)\]/.test(line)
    || /worker process \d+ exited on signal/.test(line));
}

function readIfExists(file) {
  return existsSync(file) ? readFileSync(file, 'utf8') : '';
}

// The `http {}` preamble every test config shares (temp paths inside DIR).
export function httpPreamble(dir) {
  return [
    `access_log ${dir}/access.log;`,
    `client_body_temp_path ${dir}/body;`,
    `proxy_temp_path ${dir}/proxy;`,
    `fastcgi_temp_path ${dir}/fcgi;`,
    `uwsgi_temp_path ${dir}/uwsgi;`,
    `scgi_temp_path ${dir}/scgi;`,
  ].join('\n    ');
}

export function mainPreamble(dir, { workers = 2, loadModule = true } = {}) {
  return [
    loadModule ? `load_module ${MODULE_PATH};` : '',
    `worker_processes ${workers};`,
    'daemon off;',
    `pid ${dir}/nginx.pid;`,
    `error_log ${dir}/error.log info;`,
    process.getuid?.() === 0 ? 'user root;' : '',
    'events { worker_connections 1024; }',
  ].filter(Boolean).join('\n');
}

// Pids of a process's direct children (nginx workers of a master).
function childPids(pid) {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

// Starts nginx on `conf` (a complete nginx.conf text) in `dir`, waits until
// `port` accepts connections. Returns {child, stop()}; stop() resolves to the
// list of bad error.log lines (empty when clean).
export async function startNginx({ dir, conf, port, startTimeoutMs = 10000 }) {
  writeFileSync(path.join(dir, 'nginx.conf'), conf);
  let stderr = '';
  const child = spawn(NGINX_BIN, ['-p', `${dir}/`, '-c', path.join(dir, 'nginx.conf'), '-e', path.join(dir, 'error.log')],
    { stdio: ['ignore', 'ignore', 'pipe'] });
  child.stderr.on('data', (d) => { stderr += d; });
  liveMasters.add(child);
  const exited = new Promise((resolve) => child.once('exit', resolve));
  exited.then(() => liveMasters.delete(child));
  const describe = () => `stderr:\n${stderr}\nerror.log:\n${readIfExists(path.join(dir, 'error.log'))}`;
  try {
    await waitForPort(port, child, startTimeoutMs, describe);
  } catch (err) {
    child.kill('SIGTERM');
    await exited;
    throw err;
  }
  return {
    child,
    pid: child.pid,
    workerPids: () => childPids(child.pid),
    errorLog: () => readIfExists(path.join(dir, 'error.log')),
    stderr: () => stderr,
    async stop({ graceful = true, timeoutMs = 10000 } = {}) {
      if (child.exitCode === null && child.signalCode === null) {
        // Graceful (SIGQUIT) waits for open requests; escalate to a fast
        // shutdown, then kill the workers and the master outright.
        const workers = childPids(child.pid);
        child.kill(graceful ? 'SIGQUIT' : 'SIGTERM');
        const fast = setTimeout(() => child.kill('SIGTERM'), timeoutMs);
        const hard = setTimeout(() => {
          for (const pid of workers) { try { process.kill(pid, 'SIGKILL'); } catch { /* gone */ } }
          child.kill('SIGKILL');
        }, timeoutMs + 3000);
        await exited;
        clearTimeout(fast);
        clearTimeout(hard);
      }
      return badErrorLogLines(readIfExists(path.join(dir, 'error.log')));
    },
  };
}

// ---------------------------------------------------------------- HTTP client

function decodeBody(res, buf) {
  const text = buf.toString('utf8');
  return {
    status: res.statusCode,
    headers: res.headers,
    rawHeaders: res.rawHeaders,
    body: buf,
    text,
    json() {
      try { return JSON.parse(text); } catch {
        throw new Error(`response (${res.statusCode}) is not JSON: ${JSON.stringify(text.slice(0, 500))}`);
      }
    },
  };
}

function encodeBody(body) {
  if (body === undefined) return undefined;
  if (typeof body === 'string' || Buffer.isBuffer(body)) return Buffer.from(body);
  return Buffer.from(JSON.stringify(body));
}

function openRequest(url, { method = 'GET', headers = {}, body, timeoutMs = 15000 }) {
  const payload = encodeBody(body);
  const h = { ...headers };
  if (payload !== undefined) {
    h['content-length'] ??= String(payload.length);
    h['content-type'] ??= 'application/json';
  }
  const req = http.request(url, { method, headers: h, agent: false, timeout: timeoutMs });
  req.on('timeout', () => req.destroy(new Error(`${method} ${url}: no data for ${timeoutMs} ms`)));
  req.end(payload);
  return req;
}

// One request, whole body buffered.
export function httpRequest(url, options = {}) {
  return new Promise((resolve, reject) => {
    const req = openRequest(url, options);
    req.on('error', reject);
    req.on('response', (res) => {
      const parts = [];
      res.on('data', (d) => parts.push(d));
      res.on('end', () => resolve(decodeBody(res, Buffer.concat(parts))));
      res.on('error', reject);
    });
  });
}

// Incremental SSE parser: feed() text, get complete events back. Handles LF and
// CRLF line ends, multi-line data and comments.
export class SseParser {
  #buffer = '';
  #carry = '';  // a trailing CR whose LF may come with the next chunk
  comments = [];  // text of comment-only blocks (": ping"), in order

  feed(text) {
    let t = this.#carry + text;
    this.#carry = '';
    if (t.endsWith('\r')) {
      this.#carry = '\r';
      t = t.slice(0, -1);
    }
    this.#buffer += t.replace(/\r\n?/g, '\n');
    const events = [];
    let cut;
    while ((cut = this.#buffer.indexOf('\n\n')) >= 0) {
      const block = this.#buffer.slice(0, cut);
      this.#buffer = this.#buffer.slice(cut + 2);
      let event;
      const data = [];
      for (const line of block.split('\n')) {
        if (line === '' || line.startsWith(':')) continue;
        const colon = line.indexOf(':');
        const field = colon < 0 ? line : line.slice(0, colon);
        let value = colon < 0 ? '' : line.slice(colon + 1);
        if (value.startsWith(' ')) value = value.slice(1);
        if (field === 'event') event = value;
        else if (field === 'data') data.push(value);
      }
      if (event === undefined && data.length === 0) {
        const comment = block.split('\n').filter((line) => line.startsWith(':'));
        if (comment.length) this.comments.push(comment.map((line) => line.slice(1).trimStart()).join('\n'));
        continue;
      }
      events.push({ event, data: data.join('\n') });
    }
    return events;
  }

  get rest() { return this.#buffer; }
}

// A streaming request: every SSE event is timestamped (performance.now(), the
// same clock the mocks use) as it arrives. Resolves when the response ends or
// the connection drops (`aborted` then says so).
export function sseRequest(url, options = {}) {
  return new Promise((resolve, reject) => {
    const startedAt = performance.now();
    const req = openRequest(url, options);
    req.on('error', reject);
    req.on('response', (res) => {
      const parser = new SseParser();
      const decoder = new TextDecoder();
      const events = [];
      const chunks = [];
      let firstByteAt;
      let settled = false;
      const done = (aborted) => {
        if (settled) return;
        settled = true;
        const tail = decoder.decode();
        for (const e of parser.feed(tail)) events.push(e);
        const text = Buffer.concat(chunks).toString('utf8');
        resolve({
          status: res.statusCode, headers: res.headers, rawHeaders: res.rawHeaders, events, text, aborted,
          startedAt, headersAt, firstByteAt, endedAt: performance.now(), rest: parser.rest, comments: parser.comments,
          json() { return JSON.parse(text); },
        });
      };
      const headersAt = performance.now();
      res.on('data', (d) => {
        const at = performance.now();
        firstByteAt ??= at;
        chunks.push(d);
        for (const e of parser.feed(decoder.decode(d, { stream: true }))) {
          let json;
          try { json = JSON.parse(e.data); } catch { json = undefined; }
          events.push({ ...e, json, at });
        }
      });
      res.on('end', () => done(false));
      res.on('aborted', () => done(true));
      res.on('error', () => done(true));
      res.on('close', () => done(!res.complete));
    });
  });
}

// ---------------------------------------------------------------- ctl

export function runCtl(args, { store, masterKey, timeoutMs = 15000, env } = {}) {
  const full = [];
  if (store) full.push('--store', store);
  if (masterKey) full.push('--master-key', masterKey);
  full.push(...args);
  return new Promise((resolve) => {
    execFile(CTL_PATH, full, { timeout: timeoutMs, env: { ...process.env, ...env } }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : -1) : 0;
      resolve({ code, stdout: String(stdout), stderr: String(stderr), args: full });
    });
  });
}

// ---------------------------------------------------------------- gateway

export function requireGatewayBinaries() {
  const missing = [MODULE_PATH, CTL_PATH, SERVER_CONF].filter((f) => !existsSync(f));
  if (missing.length) {
    throw new Error(`gateway not built, missing: ${missing.join(', ')} (run scripts/build.sh first)`);
  }
}

export const DEFAULT_ROUTES = Object.freeze([
  ['claude-*', 'mockant/claude-real'],
  ['default', 'mockoai/gpt-mock'],
]);

// Starts mocks (openai + anthropic), initialises a store, registers the mocks
// as providers mockoai/mockant, sets `routes`, creates `keys`, starts nginx.
//   workers: worker_processes; routes: [[pattern, target], ...]; keys: names
//   extraMain/extraHttp/extraServer: config lines added at those levels
//   (__DIR__ in them becomes the run's temp directory), or functions of
//   {dir, mocks} returning them (to name the mocks' ports).
export async function startGateway({
  workers = 2, routes = DEFAULT_ROUTES, keys = ['alice'], extraMain = '', extraHttp = '',
  extraServer = '', label = 'gw',
} = {}) {
  requireGatewayBinaries();
  const dir = makeTempDir(label);
  const store = path.join(dir, 'store');
  const masterKey = path.join(dir, 'master.key');
  const mocks = {
    openai: await startMockProvider({ format: 'openai' }),
    anthropic: await startMockProvider({ format: 'anthropic' }),
  };
  const ctl = (...args) => runCtl(args, { store, masterKey });
  const ctlOk = async (...args) => {
    const r = await ctl(...args);
    if (r.code !== 0) {
      throw new Error(`llmproxy-ctl ${args.join(' ')} failed (exit ${r.code}): ${r.stderr.trim() || r.stdout.trim()}`);
    }
    return r;
  };
  const issuedKeys = [];  // every client secret seen, for the log leak check
  const createKey = async (name, ...flags) => {
    const r = await ctlOk('key', 'create', name, '--json', ...flags);
    const parsed = JSON.parse(r.stdout);
    if (!/^sk-llmp-/.test(parsed.key) || !parsed.id) throw new Error(`unexpected key create output: ${r.stdout}`);
    issuedKeys.push(parsed.key);
    return { id: parsed.id, key: parsed.key };
  };

  let nginx;
  const gw = {
    dir, store, masterKey, mocks, ctl, ctlOk, createKey, keys: {}, port: undefined, url: undefined,
    secrets: [PROVIDER_KEYS.mockoai, PROVIDER_KEYS.mockant], issuedKeys,
  };
  try {
    await ctlOk('init');
    await ctlOk('provider', 'add', 'mockoai', '--format', 'openai', '--base-url', mocks.openai.baseUrl,
      '--api-key', PROVIDER_KEYS.mockoai);
    await ctlOk('provider', 'add', 'mockant', '--format', 'anthropic', '--base-url', mocks.anthropic.baseUrl,
      '--api-key', PROVIDER_KEYS.mockant);
    for (const [pattern, target] of routes) await ctlOk('route', 'set', pattern, target);
    for (const name of keys) gw.keys[name] = await createKey(name);

    const port = await freePort();
    const inDir = (extra) => (typeof extra === 'function' ? extra({ dir, mocks }) : extra).replaceAll('__DIR__', dir);
    const conf = `${mainPreamble(dir, { workers })}
${inDir(extraMain)}
http {
    ${httpPreamble(dir)}
    llmproxy_store ${store};
    llmproxy_master_key ${masterKey};
    ${inDir(extraHttp)}
    server {
        listen 127.0.0.1:${port};
        ${inDir(extraServer)}
        include ${SERVER_CONF};
    }
}
`;
    nginx = await startNginx({ dir, conf, port });
    gw.port = port;
    gw.url = `http://127.0.0.1:${port}`;
    gw.nginx = nginx;
  } catch (err) {
    await mocks.openai.close();
    await mocks.anthropic.close();
    err.message += `\n(temp dir kept: ${dir})`;
    throw err;
  }

  // Headers for a client key: auth 'x-api-key' (default) | 'bearer' | 'none'.
  const authHeaders = (key, auth = 'x-api-key') => {
    if (auth === 'none' || key === undefined) return {};
    return auth === 'bearer' ? { authorization: `Bearer ${key}` } : { 'x-api-key': key };
  };
  const requestOptions = (method, body, { key = gw.keys.alice?.key, auth, headers = {} } = {}) => ({
    method, body, headers: { ...authHeaders(key, auth), ...headers },
  });
  gw.authHeaders = authHeaders;
  gw.request = (method, urlPath, opts = {}) =>
    httpRequest(gw.url + urlPath, { ...requestOptions(method, opts.body, opts), timeoutMs: opts.timeoutMs });
  gw.post = (urlPath, body, opts = {}) => gw.request('POST', urlPath, { ...opts, body });
  gw.stream = (urlPath, body, opts = {}) =>
    sseRequest(gw.url + urlPath, { ...requestOptions('POST', body, opts), timeoutMs: opts.timeoutMs });
  gw.errorLog = () => nginx.errorLog();
  gw.workerPids = () => nginx.workerPids();
  gw.totalUpstreamRequests = () => mocks.openai.requests.length + mocks.anthropic.requests.length;

  // Stops nginx and the mocks. Throws if error.log shows alerts, emergencies,
  // crashed workers, or any provider/client secret.
  gw.stop = async () => {
    const bad = await nginx.stop();
    await mocks.openai.close();
    await mocks.anthropic.close();
    const log = readIfExists(path.join(dir, 'error.log')) + readIfExists(path.join(dir, 'access.log'));
    const leaked = [...gw.secrets, ...issuedKeys].filter((s) => log.includes(s));
    const problems = [];
    if (bad.length) problems.push(`error.log has alerts/crashes:\n${bad.join('\n')}`);
    if (leaked.length) problems.push(`a secret appears in error.log/access.log (${leaked.length} secret(s))`);
    if (problems.length) throw new Error(`${problems.join('\n')}\n(temp dir kept: ${dir})`);
    if (!process.env.LLMPROXY_KEEP_TMP) rmSync(dir, { recursive: true, force: true });
  };
  return gw;
}

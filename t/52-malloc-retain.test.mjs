// llmproxy_malloc_retain: a worker keeps freed heap for the next requests
// instead of giving it back to the system after every request (which costs
// a brk() pair and a page fault per 4 KB touched on the next one).
import { test, describe, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';

import {
  NGINX_BIN, httpPreamble, mainPreamble, makeTempDir, requireGatewayBinaries, sleep, startGateway,
} from './lib/gateway.mjs';

const RETAIN_LINE = /llmproxy: worker heap keeps up to (\d+) bytes freed/g;

function retainLines(log) {
  return [...log.matchAll(RETAIN_LINE)].map((m) => Number(m[1]));
}

// The lines of a gateway's workers once `count` of them have logged theirs:
// the port listens before every worker has run its init (bounded: 5 s).
async function workerRetainLines(gw, count) {
  for (let waited = 0; waited < 5000; waited += 50) {
    const lines = retainLines(gw.errorLog());
    if (lines.length >= count) return lines;
    await sleep(50);
  }
  return retainLines(gw.errorLog());
}

// Minor page faults of a process so far (/proc/PID/stat field 10).
function minorFaults(pid) {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[7]);
}

// `nginx -t` on an http block with `httpLines`; returns {ok, output}.
function configTest(httpLines) {
  requireGatewayBinaries();
  const dir = makeTempDir('malloc-conf');
  const conf = `${mainPreamble(dir, { workers: 1 })}
http {
    ${httpPreamble(dir)}
    ${httpLines}
}
`;
  writeFileSync(path.join(dir, 'nginx.conf'), conf);
  const r = spawnSync(NGINX_BIN, ['-t', '-p', `${dir}/`, '-c', path.join(dir, 'nginx.conf'), '-e', path.join(dir, 'error.log')],
    { encoding: 'utf8' });
  rmSync(dir, { recursive: true, force: true });
  return { ok: r.status === 0, output: `${r.stdout}${r.stderr}` };
}

describe('llmproxy_malloc_retain configuration', () => {
  test('accepts off and sizes from 128k to 32m', () => {
    for (const v of ['off', '128k', '16m', '32m']) {
      const r = configTest(`llmproxy_malloc_retain ${v};`);
      assert.ok(r.ok, `${v}: ${r.output}`);
    }
  });

  test('rejects other values, a duplicate and server context, naming the directive', () => {
    for (const v of ['64k', '33m', 'lots', 'on']) {
      const r = configTest(`llmproxy_malloc_retain ${v};`);
      assert.equal(r.ok, false, `${v} must be rejected`);
      assert.match(r.output, /llmproxy_malloc_retain/);
    }
    const dup = configTest('llmproxy_malloc_retain 1m; llmproxy_malloc_retain 2m;');
    assert.equal(dup.ok, false);
    assert.match(dup.output, /"llmproxy_malloc_retain" directive is duplicate/);
    const inServer = configTest('server { llmproxy_malloc_retain 1m; }');
    assert.equal(inServer.ok, false);
    assert.match(inServer.output, /"llmproxy_malloc_retain" directive is not allowed here/);
  });
});

describe('llmproxy_malloc_retain in the workers', () => {
  const gateways = [];
  after(async () => { for (const gw of gateways) await gw.stop(); });

  // Translated requests (Anthropic client, OpenAI provider) with 60 KB bodies:
  // each buffer is under glibc's 128 KB mmap threshold, so with its defaults
  // they land at the top of the heap and more than 128 KB is trimmed after
  // every request.
  const big = 'x'.repeat(60 * 1024);
  const body = { model: 'gpt-test', max_tokens: 16, messages: [{ role: 'user', content: big }] };

  async function faultsPerRequests(gw, n) {
    const [worker] = gw.workerPids();
    for (let i = 0; i < 5; i++) assert.equal((await gw.post('/v1/messages', body)).status, 200);  // warm-up
    const before = minorFaults(worker);
    for (let i = 0; i < n; i++) {
      const r = await gw.post('/v1/messages', body);
      assert.equal(r.status, 200, r.text.slice(0, 200));
    }
    return minorFaults(worker) - before;
  }

  test('on by default where a store is configured (16m), and set per http block', async () => {
    const dflt = await startGateway({ label: 'malloc-default', workers: 2 });
    gateways.push(dflt);
    const sized = await startGateway({ label: 'malloc-4m', workers: 1, extraHttp: 'llmproxy_malloc_retain 4m;' });
    gateways.push(sized);
    assert.deepEqual(await workerRetainLines(dflt, 2), [16 * 1024 * 1024, 16 * 1024 * 1024]);
    assert.deepEqual(await workerRetainLines(sized, 1), [4 * 1024 * 1024]);
  });

  test('retained heap: 50 large requests cost the worker a fraction of the page faults of off', async () => {
    const on = await startGateway({ label: 'malloc-on', workers: 1 });
    gateways.push(on);
    const off = await startGateway({ label: 'malloc-off', workers: 1, extraHttp: 'llmproxy_malloc_retain off;' });
    gateways.push(off);
    const n = 50;
    const faultsOff = await faultsPerRequests(off, n);
    // Read once the worker has served requests, so it has surely started.
    assert.deepEqual(retainLines(off.errorLog()), [], 'off leaves malloc alone');
    const faultsOn = await faultsPerRequests(on, n);
    // glibc's defaults give back the heap's top after each request: at
    // least one fault per request. Retained, the same pages serve them all.
    assert.ok(faultsOff >= n, `off: ${faultsOff} faults for ${n} requests`);
    assert.ok(faultsOn * 4 < faultsOff, `retained: ${faultsOn} faults, off: ${faultsOff}`);
  });
});

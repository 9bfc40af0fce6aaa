#!/usr/bin/env node
// Streaming client for scripts/bench.sh. Speaks raw HTTP/1.1 over node:net
// (no http module overhead) and records the arrival time of every SSE event.
//
// Latency mode (default): C persistent connections each send stream requests
// back to back for --duration seconds (or --count streams in total), then print
// one JSON line: streams/s, time to first event (TTFE), inter-event gaps, total
// stream time, all in microseconds. Streams sent in the first --warmup seconds
// are not recorded.
//
// Hold mode (--hold N): open N streams at once (ramped in batches), each on its
// own connection, wait until all finish; report how many completed cleanly and
// the peak number open at the same time. For the slow "drip" mock.
//
// A stream counts as ok when the status is 200 and the body ends with a
// terminal event ("[DONE]" or "message_stop").
import net from 'node:net';
import { readFileSync } from 'node:fs';

function parseArgs(argv) {
  const o = { headers: [], conns: 1, duration: 0, warmup: 0, count: 0, hold: 0, batch: 250, batchMs: 20, timeout: 60, idle: 10 };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const v = () => argv[++i];
    if (a === '--url') o.url = new URL(v());
    else if (a === '--body') o.body = readFileSync(v());
    else if (a === '--header') o.headers.push(v());
    else if (a === '--conns') o.conns = Number(v());
    else if (a === '--duration') o.duration = Number(v());
    else if (a === '--warmup') o.warmup = Number(v());
    else if (a === '--count') o.count = Number(v());
    else if (a === '--hold') o.hold = Number(v());
    else if (a === '--batch') o.batch = Number(v());
    else if (a === '--batch-ms') o.batchMs = Number(v());
    else if (a === '--timeout') o.timeout = Number(v());
    else if (a === '--idle-timeout') o.idle = Number(v());
    else throw new Error(`unknown argument ${a}`);
  }
  if (!o.url || !o.body) throw new Error('--url and --body are required');
  if (!o.hold && !o.duration && !o.count) throw new Error('one of --duration, --count, --hold is required');
  return o;
}

const opts = parseArgs(process.argv.slice(2));
const requestBytes = Buffer.concat([
  Buffer.from(`POST ${opts.url.pathname}${opts.url.search} HTTP/1.1\r\nHost: ${opts.url.host}\r\n` +
    'Content-Type: application/json\r\nAccept: text/event-stream\r\n' +
    opts.headers.map((h) => `${h}\r\n`).join('') + `Content-Length: ${opts.body.length}\r\n\r\n`),
  opts.body,
]);
const now = () => process.hrtime.bigint();
const usSince = (t0, t1) => Number(t1 - t0) / 1000;

// Incremental HTTP/1.1 response parser (status line, headers, then either a
// chunked or a Content-Length body) that reports SSE event boundaries.
class ResponseParser {
  constructor(onEvent) {
    this.onEvent = onEvent;
    this.reset();
  }
  reset() {
    this.state = 'head';
    this.head = Buffer.alloc(0);
    this.status = 0;
    this.keepAlive = true;
    this.remaining = 0;   // bytes left in the body (content-length) or chunk
    this.chunked = false;
    this.line = '';       // partial chunk-size line
    this.carry = Buffer.alloc(0); // last bytes of body, for boundaries split across reads
    this.tail = '';       // last bytes of body, for the terminal event check
    this.events = 0;
    this.done = false;
  }
  // Feeds bytes; returns the number consumed when the response completed
  // within them, or -1 when more bytes are needed.
  feed(buf, t) {
    let i = 0;
    while (i < buf.length) {
      if (this.state === 'head') {
        const joined = Buffer.concat([this.head, buf.subarray(i)]);
        const end = joined.indexOf('\r\n\r\n');
        if (end < 0) { this.head = joined; return -1; }
        const consumedHere = end + 4 - this.head.length;
        this.parseHead(joined.subarray(0, end).toString('latin1'));
        i += consumedHere;
        this.head = Buffer.alloc(0);
        if (!this.chunked && this.remaining === 0) { this.state = 'end'; break; }
        this.state = this.chunked ? 'size' : 'body';
      } else if (this.state === 'body') {
        const n = Math.min(this.remaining, buf.length - i);
        this.body(buf.subarray(i, i + n), t);
        i += n;
        this.remaining -= n;
        if (this.remaining === 0) {
          if (this.chunked) { this.state = 'crlf'; this.line = ''; } else { this.state = 'end'; break; }
        }
      } else if (this.state === 'size' || this.state === 'crlf' || this.state === 'trailer') {
        const nl = buf.indexOf(10, i);
        if (nl < 0) { this.line += buf.toString('latin1', i); return -1; }
        const line = (this.line + buf.toString('latin1', i, nl)).replace(/\r$/, '');
        this.line = '';
        i = nl + 1;
        if (this.state === 'crlf') { this.state = 'size'; continue; }
        if (this.state === 'trailer') { if (line === '') { this.state = 'end'; break; } continue; }
        const size = parseInt(line, 16);
        if (Number.isNaN(size)) throw new Error('bad chunk size');
        if (size === 0) { this.state = 'trailer'; continue; }
        this.remaining = size;
        this.state = 'body';
      }
    }
    if (this.state === 'end') { this.done = true; return i; }
    return -1;
  }
  parseHead(text) {
    const lines = text.split('\r\n');
    this.status = Number(lines[0].split(' ')[1]);
    this.keepAlive = !/^HTTP\/1\.0/.test(lines[0]);
    for (const l of lines.slice(1)) {
      const c = l.indexOf(':');
      const name = l.slice(0, c).trim().toLowerCase();
      const value = l.slice(c + 1).trim().toLowerCase();
      if (name === 'content-length') this.remaining = Number(value);
      else if (name === 'transfer-encoding' && value.includes('chunked')) this.chunked = true;
      else if (name === 'connection') this.keepAlive = value !== 'close';
    }
  }
  body(data, t) {
    // Event boundary = blank line: "\n\n" or "\n\r\n". Count only matches that
    // end inside the new data (the carried bytes were already searched).
    const carryLen = this.carry.length;
    const joined = carryLen ? Buffer.concat([this.carry, data]) : data;
    for (const sep of ['\n\n', '\n\r\n']) {
      let at = joined.indexOf(sep);
      while (at >= 0) {
        if (at + sep.length > carryLen) { this.events++; this.onEvent(t); }
        at = joined.indexOf(sep, at + 1);
      }
    }
    this.carry = joined.subarray(Math.max(0, joined.length - 2));
    this.tail = (this.tail + data.toString('latin1', Math.max(0, data.length - 64))).slice(-64);
  }
  terminal() { return this.tail.includes('[DONE]') || this.tail.includes('message_stop'); }
}

function percentiles(values, ps) {
  if (values.length === 0) return Object.fromEntries(ps.map((p) => [`p${p}`, null]));
  const s = Float64Array.from(values).sort();
  const at = (p) => s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))];
  return Object.fromEntries(ps.map((p) => [`p${String(p).replace('.', '')}`, Math.round(at(p))]));
}

// One connection running streams back to back. Resolves when told to stop.
function runConnection(stats, shouldContinue) {
  return new Promise((resolve) => {
    let socket = null;
    let parser = null;
    let t0 = 0n;
    let firstAt = 0n;
    let lastAt = 0n;
    const connect = () => {
      socket = net.connect({ host: opts.url.hostname, port: Number(opts.url.port || 80) });
      socket.setNoDelay(true);
      // A stalled stream (e.g. a crash-looping server) counts as an error
      // instead of holding the run until the hard timeout.
      socket.setTimeout(opts.idle * 1000, () => {
        stats.errorKinds.idle_timeout = (stats.errorKinds.idle_timeout || 0) + 1;
        if (t0 === 0n) stats.errors++; // still connecting: close() will not count it
        socket.destroy();
      });
      socket.on('connect', send);
      socket.on('data', onData);
      socket.on('error', () => {});
      socket.on('close', () => {
        if (parser && !parser.done && t0 !== 0n) { stats.errors++; stats.errorKinds.closed = (stats.errorKinds.closed || 0) + 1; }
        parser = null;
        if (shouldContinue()) connect(); else resolve();
      });
    };
    // Streams sent during the warm-up are run but not recorded (errors
    // always count).
    const recorded = () => t0 >= stats.recordFrom;
    const onEvent = (t) => {
      if (firstAt === 0n) {
        firstAt = t;
        if (recorded()) stats.ttfe.push(usSince(t0, t));
      } else if (recorded()) {
        stats.gaps.push(usSince(lastAt, t));
      }
      lastAt = t;
    };
    const send = () => {
      parser = new ResponseParser(onEvent);
      firstAt = 0n;
      t0 = now();
      socket.write(requestBytes);
    };
    const onData = (buf) => {
      const t = now();
      let used;
      try { used = parser.feed(buf, t); } catch (e) { stats.errors++; socket.destroy(); return; }
      if (used < 0) return;
      const ok = parser.status === 200 && parser.terminal();
      if (ok) {
        if (recorded()) { stats.ok++; stats.total.push(usSince(t0, t)); stats.eventsMin = Math.min(stats.eventsMin, parser.events); stats.eventsMax = Math.max(stats.eventsMax, parser.events); }
      } else {
        stats.errors++;
        const kind = parser.status === 200 ? 'unterminated' : `status_${parser.status}`;
        stats.errorKinds[kind] = (stats.errorKinds[kind] || 0) + 1;
      }
      t0 = 0n;
      if (!parser.keepAlive) { parser.done = true; socket.end(); return; }
      if (shouldContinue()) send(); else { parser.done = true; socket.end(); }
    };
    connect();
  });
}

async function latencyMode() {
  const begin = now();
  // The first --warmup seconds warm the client's JIT and both ends of the
  // connection; without them most of a short run's p99 tail is its start.
  const start = begin + BigInt(Math.round(opts.warmup * 1e9));
  const stats = { ok: 0, errors: 0, errorKinds: {}, ttfe: [], gaps: [], total: [], eventsMin: Infinity, eventsMax: 0,
    recordFrom: start };
  const deadline = start + BigInt(Math.round((opts.duration || opts.timeout) * 1e9));
  let started = 0;
  const shouldContinue = () => {
    if (now() >= deadline) return false;
    if (opts.count && started >= opts.count) return false;
    started++;
    return true;
  };
  const conns = [];
  for (let c = 0; c < opts.conns; c++) { started++; conns.push(runConnection(stats, shouldContinue)); }
  await Promise.all(conns);
  const secs = usSince(start, now()) / 1e6;
  return {
    mode: 'latency', conns: opts.conns, warmup_s: opts.warmup, streams: stats.ok, errors: stats.errors, error_kinds: stats.errorKinds,
    duration_s: Number(secs.toFixed(3)), streams_per_s: Number((stats.ok / secs).toFixed(1)),
    events_per_stream: { min: stats.ok ? stats.eventsMin : null, max: stats.eventsMax },
    ttfe_us: percentiles(stats.ttfe, [50, 90, 99]),
    gap_us: percentiles(stats.gaps, [50, 99, 99.9]),
    total_us: percentiles(stats.total, [50, 99]),
  };
}

// Hold mode: N concurrent single-stream connections.
async function holdMode() {
  const r = { mode: 'hold', target: opts.hold, ok: 0, errors: 0, error_kinds: {}, peak_open: 0, events: 0 };
  let open = 0;
  const start = now();
  const one = () => new Promise((resolve) => {
    const parser = new ResponseParser(() => { r.events++; });
    let counted = false;
    let finished = false;
    const fail = (kind) => {
      if (finished) return;
      finished = true;
      r.errors++;
      r.error_kinds[kind] = (r.error_kinds[kind] || 0) + 1;
    };
    const socket = net.connect({ host: opts.url.hostname, port: Number(opts.url.port || 80) });
    socket.setTimeout(opts.timeout * 1000, () => { fail('timeout'); socket.destroy(); });
    socket.on('connect', () => { socket.write(requestBytes); });
    socket.on('data', (buf) => {
      if (!counted) { counted = true; open++; r.peak_open = Math.max(r.peak_open, open); }
      let used;
      try { used = parser.feed(buf, 0n); } catch (e) { fail('parse'); socket.destroy(); return; }
      if (used < 0) return;
      if (parser.status === 200 && parser.terminal()) { if (!finished) { finished = true; r.ok++; } } else fail(parser.status === 200 ? 'unterminated' : `status_${parser.status}`);
      socket.end();
    });
    socket.on('error', (e) => fail(e.code || 'socket'));
    socket.on('close', () => {
      if (counted) open--;
      if (!finished) fail('closed');
      resolve();
    });
  });
  const all = [];
  for (let i = 0; i < opts.hold; i += opts.batch) {
    for (let j = i; j < Math.min(opts.hold, i + opts.batch); j++) all.push(one());
    await new Promise((res) => setTimeout(res, opts.batchMs));
  }
  await Promise.all(all);
  r.duration_s = Number((usSince(start, now()) / 1e6).toFixed(3));
  return r;
}

const hardStop = setTimeout(() => { console.error('stream-client: hard timeout'); process.exit(2); },
  (Math.max(opts.duration, 0) + opts.timeout + 30) * 1000);
hardStop.unref();
const result = opts.hold ? await holdMode() : await latencyMode();
process.stdout.write(JSON.stringify(result) + '\n');
process.exit(0);

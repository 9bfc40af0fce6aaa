// What a client of each dialect sends, and the error shape it must get back.
import assert from 'node:assert/strict';

export const DIALECTS = Object.freeze({
  anthropic: {
    name: 'anthropic',
    path: '/v1/messages',
    // A model the default routes send to mockant (claude-* -> mockant/claude-real).
    model: 'claude-sonnet-4-5',
    body: (model = 'claude-sonnet-4-5', extra = {}) => ({
      model, max_tokens: 64, messages: [{ role: 'user', content: 'Hello' }], ...extra }),
  },
  openai: {
    name: 'openai',
    path: '/v1/chat/completions',
    // A model the default routes send to mockoai (default -> mockoai/gpt-mock).
    model: 'gpt-4o-mini',
    body: (model = 'gpt-4o-mini', extra = {}) => ({
      model, messages: [{ role: 'user', content: 'Hello' }], ...extra }),
  },
});

// Asserts `res` is an error of `status` in the dialect's JSON error shape, with
// the given error type. Returns the parsed body.
export function assertDialectError(dialect, res, status, type) {
  const where = `${dialect} error (${res.status}): ${res.text.slice(0, 300)}`;
  assert.equal(res.status, status, where);
  assert.match(String(res.headers['content-type']), /^application\/json/, where);
  const body = res.json();
  if (dialect === 'anthropic') {
    assert.equal(body.type, 'error', where);
    assert.equal(typeof body.error, 'object', where);
    assert.equal(body.error.type, type, where);
    assert.equal(typeof body.error.message, 'string', where);
    assert.ok(body.error.message.length > 0, where);
  } else {
    assert.equal(typeof body.error, 'object', where);
    assert.equal(typeof body.error.message, 'string', where);
    assert.ok(body.error.message.length > 0, where);
    assert.equal(body.error.type, type, where);
    assert.ok('param' in body.error && body.error.param === null, `param: null; ${where}`);
    assert.ok('code' in body.error, `code present; ${where}`);
  }
  return body;
}

// Every header name and value of a response or recorded request, as one string
// (for "this secret appears nowhere" checks).
export function headerText(rawHeaders) {
  return rawHeaders.join('\n');
}

// A fresh, well-formed but never-issued client key.
export function unknownKey() {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
  let s = 'sk-llmp-';
  for (let i = 0; i < 43; i++) s += alphabet[Math.floor(Math.random() * alphabet.length)];
  return s;
}

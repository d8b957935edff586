// Settings -> the server's configuration shape (run: npm test).
const test = require('node:test');
const assert = require('node:assert/strict');
const s = require('../../out/pure/settings.js');

const read = (values) => s.readSettings((key) => values[key]);

test('unset settings send nothing, so reverie.toml keeps its keys', () => {
  assert.deepEqual(s.serverConfig(read({})), {});
  assert.equal(read({}).logLevel, 'info');
});

test('settings map to the server config shape', () => {
  const settings = read({
    'llm.provider': 'openai',
    'llm.model': 'qwen2.5-coder:7b',
    'llm.baseUrl': ' http://localhost:11434/v1 ',
    'llm.apiKeyEnv': 'OPENAI_API_KEY',
    'server.idleAfter': '30s',
    'sleep.tokensPerHour': 1000,
    'sleep.tokensPerDay': 0,
    logLevel: 'debug',
  });
  assert.deepEqual(s.serverConfig(settings), {
    llm: { provider: 'openai', model: 'qwen2.5-coder:7b', base_url: 'http://localhost:11434/v1', api_key_env: 'OPENAI_API_KEY' },
    server: { idle_after: '30s' },
    sleep: { tokens_per_hour: 1000, tokens_per_day: 0 },
  });
  assert.deepEqual(s.didChangeConfigurationParams(s.serverConfig(settings)).settings.reverie.server, { idle_after: '30s' });
  assert.equal(s.serverEnv(settings, { PATH: '/bin' }).REVERIE_LOG, 'debug');
  assert.equal(s.serverEnv(settings, { PATH: '/bin' }).PATH, '/bin');
});

test('bad numbers are treated as unset', () => {
  assert.deepEqual(s.serverConfig(read({ 'sleep.tokensPerHour': -5, 'sleep.tokensPerDay': 'lots' })), {});
});

test('a removed key, the binary or the log level need a restart; other changes do not', () => {
  const a = read({ 'llm.model': 'a', 'llm.provider': 'openai' });
  assert.equal(s.needsRestart(a, read({ 'llm.model': 'b', 'llm.provider': 'openai' })), false);
  assert.equal(s.needsRestart(a, read({ 'llm.provider': 'openai' })), true);
  assert.deepEqual(s.removedKeys(s.serverConfig(a), s.serverConfig(read({ 'llm.provider': 'openai' }))), ['llm.model']);
  assert.equal(s.needsRestart(a, read({ 'llm.model': 'a', 'llm.provider': 'openai', logLevel: 'debug' })), true);
  assert.equal(s.needsRestart(a, read({ 'llm.model': 'a', 'llm.provider': 'openai', serverPath: '/x' })), true);
});

test('a change that does not touch reverie.serverPath keeps the path in use', () => {
  const before = s.readSettings((key) => ({ serverPath: '/opt/reverie/bin/reverie', logLevel: 'info' })[key]);
  // In a remote window the machine-scoped value written in User settings may read as empty after an
  // unrelated change (here the log level): the server keeps its binary.
  const read = s.readSettings((key) => ({ logLevel: 'debug' })[key]);
  const after = s.afterChange(before, read, false);
  assert.equal(after.serverPath, '/opt/reverie/bin/reverie');
  assert.equal(after.logLevel, 'debug');
  assert.equal(s.needsRestart(before, after), true, 'the log level still restarts the server');
  // A change to the path itself is taken as it reads, even to empty (back to PATH).
  assert.equal(s.afterChange(before, read, true).serverPath, '');
});

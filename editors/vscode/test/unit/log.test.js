// The language client's lines in the output channel (run: npm test).
const test = require('node:test');
const assert = require('node:assert/strict');
const l = require('../../out/pure/log.js');

test('a normal exit (code 0) is not logged as an error', () => {
  assert.equal(
    l.clientLogLine('[Error - 10:01:02 AM] Server process exited with code 0.'),
    '[Info - 10:01:02 AM] The server exited normally (code 0).',
  );
});

test('other exits and lines are unchanged', () => {
  for (const line of [
    '[Error - 10:01:02 AM] Server process exited with code 1.',
    '[Error - 10:01:02 AM] Server process exited with signal SIGKILL.',
    'INFO reverie: indexed 2 files',
  ]) {
    assert.equal(l.clientLogLine(line), line);
  }
});

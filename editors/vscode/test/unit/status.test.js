// The status's words: the semantic index and the idle jobs' last runs (run: npm test).
const test = require('node:test');
const assert = require('node:assert/strict');
const s = require('../../out/pure/statusText.js');

const base = { state: 'idle', files: 2, notes: 0, stale: 0, message: 'idle: no model configured' };

test('without jobs the status reads as before, the state said once', () => {
  assert.equal(s.describeStatus(base), 'reverie: idle — 2 files; 0 fresh notes, 0 stale. no model configured');
  assert.equal(s.describeJobs(base), '');
  // Ready after an index says what idle says about answering without a model.
  const ready = { ...base, state: 'ready', message: 'indexed 2 files in 0.1 s; no model configured, answering from facts' };
  assert.equal(s.statusMessage(ready), 'indexed 2 files in 0.1 s; no model configured, answering from facts');
  assert.equal(s.statusMessage({ ...base, message: 'idle: no model configured, answering from facts' }), 'no model configured, answering from facts');
  assert.equal(s.statusMessage({ ...base, message: 'idleness' }), 'idleness');
});

test('each idle job that ran is told in the order they run, with what is left', () => {
  const now = 1_800_000_000_000;
  const run = (minutesAgo, done, pending, outcome) => ({ at_ns: (now - minutesAgo * 60000) * 1e6, seconds: 1, done, pending, outcome });
  const status = {
    ...base,
    semantic: { embedded: 2168, definitions: 2168 },
    jobs: { semantic: run(0, 120, 0, 'done'), history: run(5, 31012, 0, 'done'), adapter: run(180, 3, 5, 'cancelled') },
  };
  assert.equal(
    s.describeJobs(status, now),
    'idle work: history done 5 min ago (31,012); semantic done just now (120); adapter cancelled 3 h ago (3, 5 left)',
  );
  assert.equal(s.describeSemantic(status), 'semantic index: 2,168 of 2,168 definitions');
  assert.match(s.describeStatus(status), /\. no model configured\. idle work: history done/);
});

// Answer rendering: markdown, escaping, citations (run: npm test).
const test = require('node:test');
const assert = require('node:assert/strict');
const r = require('../../out/pure/render.js');

const known = (p) => p === 'shop/config.py' || p === 'shop/cart.py';

test('markdown renders; raw HTML is shown as text', () => {
  const html = r.renderMarkdown('# Title\n\n**bold** <img src=x onerror=alert(1)> <script>x()</script>', known);
  assert.match(html, /<h1>Title<\/h1>/);
  assert.match(html, /<strong>bold<\/strong>/);
  assert.doesNotMatch(html, /<img|<script/);
  assert.match(html, /&lt;script&gt;/);
});

test('code-span and plain-text citations of known files become links', () => {
  const html = r.renderMarkdown('See `shop/config.py:10-15` and shop/cart.py:7, not `other.py:3` or `x`.', known);
  assert.match(html, /<a class="cite" href="#" data-path="shop\/config.py" data-line="10"[^>]*><code>shop\/config.py:10-15<\/code><\/a>/);
  assert.match(html, /<a class="cite" href="#" data-path="shop\/cart.py" data-line="7"[^>]*>shop\/cart.py:7<\/a>/);
  assert.match(html, /<code>other.py:3<\/code>/);
  assert.doesNotMatch(html, /data-path="other.py"/);
});

test('code blocks are escaped and not linked', () => {
  const html = r.renderMarkdown('```\nif a < b: shop/config.py:3\n```', known);
  assert.match(html, /a &lt; b/);
  assert.doesNotMatch(html, /class="cite"/);
});

test('only http(s) and mailto links survive; images become their alt text', () => {
  const html = r.renderMarkdown('[a](javascript:alert(1)) [b](https://example.com) ![alt](http://x/y.png)', known);
  assert.doesNotMatch(html, /javascript:/);
  assert.match(html, /<a href="https:\/\/example.com">b<\/a>/);
  assert.doesNotMatch(html, /<img/);
});

test('context items render as citation links with their reason; stale ones are marked', () => {
  const html = r.renderContext([
    { path: 'shop/config.py', start_line: 10, end_line: 15, kind: 'definition', reason: 'named <here>', stale: false },
    { path: 'shop/cart.py', start_line: 7, end_line: 7, kind: 'note', reason: '', stale: true },
  ]);
  assert.match(html, /data-path="shop\/config.py" data-line="10"[^>]*>shop\/config.py:10-15<\/a>/);
  assert.match(html, /named &lt;here&gt;/);
  assert.match(html, />shop\/cart.py:7<\/a>.*class="stale"/);
});

test('sources are labelled', () => {
  assert.equal(r.sourceLabel('context').label, 'context only');
  assert.equal(r.sourceLabel('anticipated').label, 'anticipated');
  assert.equal(r.sourceLabel('facts').label, 'facts');
  assert.equal(r.sourceLabel('model').label, 'model');
  assert.equal(r.renderUsage({ usage: { llm_calls: 1, test_prompt_tokens: 5, test_completion_tokens: 2 } }), '1 model call · 5 prompt + 2 completion tokens');
  assert.equal(r.renderUsage({ usage: { llm_calls: 0 } }), '');
});

test('reasons in the sources list show code spans, not raw backticks', () => {
  const html = r.renderContext([
    { path: 'shop/cart.py', start_line: 12, end_line: 12, kind: 'error-site', reason: 'this error message is produced here, in `add_line_item`' },
  ]);
  assert.match(html, /in <code>add_line_item<\/code>/);
  assert.doesNotMatch(html, /`/);
  assert.equal(r.inlineCode('a <b> `c`'), 'a &lt;b&gt; <code>c</code>');
});

test('a context-only answer is not repeated as its sources', () => {
  const item = { path: 'shop/cart.py', start_line: 1, end_line: 3, kind: 'definition' };
  assert.deepEqual(r.sourcesOf({ answer: '1. `shop/cart.py:1-3` …', source: 'context', context: [item] }), []);
  assert.deepEqual(r.sourcesOf({ answer: 'It is…', source: 'model', context: [item] }), [item]);
});

test('names the server marked as not found keep their mark, and a marked citation is no link', () => {
  const answer =
    'The `FlaskContext`⚠ class; see shop/cart.py:900⚠ and shop/cart.py:7.\n\n⚠ Not found in this workspace: `FlaskContext`, `shop/cart.py:900` (the file has 12 lines)\n';
  const html = r.renderMarkdown(answer, known);
  assert.match(html, /<code>FlaskContext<\/code>⚠ class/);
  assert.match(html, /shop\/cart.py:900⚠/);
  assert.doesNotMatch(html, /data-line="900"/);
  assert.match(html, /data-path="shop\/cart.py" data-line="7"/);
  assert.match(html, /⚠ Not found in this workspace: <code>FlaskContext<\/code>/);
});

test('a long list of places shows its first 8 items and the rest behind "N more"', () => {
  const places = Array.from({ length: 12 }, (_, i) => `${i + 1}. \`shop/cart.py:${i + 1}\` — caller ${i + 1}`).join('\n');
  const html = r.renderMarkdown(`load_config is referenced from:\n\n${places}\n`, known, { foldLists: true });
  assert.equal((html.match(/<li>/g) || []).length, 8, html);
  assert.equal((html.match(/<li hidden>/g) || []).length, 4, html);
  // The first items are the shown ones, in the server's order.
  assert.ok(html.indexOf('caller 8<') < html.indexOf('<li hidden>') && html.indexOf('<li hidden>') < html.indexOf('caller 9<'), html);
  assert.match(html, /<\/ol>\n<button type="button" class="more" title="Show the other 4 items">4 more<\/button>/);
  // A model's prose (no folding asked) and a short list are left whole.
  assert.doesNotMatch(r.renderMarkdown(places, known), /hidden|class="more"/);
  assert.doesNotMatch(r.renderMarkdown('1. a\n2. b\n', known, { foldLists: true }), /hidden|class="more"/);
  // A list that starts elsewhere keeps its start.
  assert.match(r.renderMarkdown(places.replace(/^1\./, '3.'), known, { foldLists: true }), /<ol start="3">/);
});

test('the sources list shows its first 8 items and the rest behind "N more"', () => {
  const items = Array.from({ length: 10 }, (_, i) => ({ path: 'shop/cart.py', start_line: i + 1, end_line: i + 1, kind: 'definition', reason: `r${i + 1}` }));
  const html = r.renderContext(items);
  assert.equal((html.match(/<li>/g) || []).length, 8);
  assert.equal((html.match(/<li hidden>/g) || []).length, 2);
  assert.match(html, /<\/ol><button type="button" class="more"[^>]*>2 more<\/button>$/);
  assert.doesNotMatch(r.renderContext(items.slice(0, 8)), /hidden|class="more"/);
});

test('a no-model answer of many items with code (as the server writes it) folds as one list', () => {
  const items = Array.from({ length: 12 }, (_, i) => {
    const marker = `${i + 1}. `;
    const indent = ' '.repeat(marker.length);
    return `${marker}\`shop/cart.py:${i + 1}\` — item ${i + 1}\n${indent}\`\`\`\n${indent}def f${i + 1}()\n${indent}\`\`\``;
  });
  const html = r.renderMarkdown(`No model is configured, so this is the context:\n\n${items.join('\n')}\n`, known, { foldLists: true });
  assert.equal((html.match(/<ol/g) || []).length, 1, html);
  assert.equal((html.match(/<li>/g) || []).length, 8);
  assert.equal((html.match(/<li hidden>/g) || []).length, 4);
  assert.match(html, /def f12\(\)[\s\S]*<\/ol>\n<button type="button" class="more"[^>]*>4 more<\/button>/);
});

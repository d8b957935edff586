// Drives real VS Code (code-server) in headless Chromium with the reverie extension installed.
// Run by test/e2e.sh, which provides REVERIE_BIN, VSIX, CODE_SERVER and CHROMIUM.
//
// Sets up: a fixture workspace (two Python files), a fake OpenAI-compatible model on loopback (so
// answers stream and cite files; it checks the API key came from the env var named in the settings),
// a fresh code-server profile with the extension and the reverie.* settings. Then asserts, on the DOM:
//   1. the status bar item reaches `ready` with the fixture's 2 files;
//   2. "reverie: Ask" from the command palette (F1) opens an input box; the question's answer streams
//      into the answer (chat) view — partial text is visible while the model still holds the stream —
//      and is labelled with its source;
//   3. a follow-up typed in the chat view is answered in the same conversation (the model receives the
//      first turn), and a structural follow-up is answered from facts (labelled `facts`); an answer
//      reads top-down: its start in view, its first 8 places shown and the rest behind "N more";
//   4. clicking a citation in an answer and one in its sources list opens the right file at the right
//      line (active tab, window title, cursor position in the status bar); an answer document (the
//      markdown file `reverie.ask` opens where the server shows documents, made here by a second
//      server) opened in the markdown preview: clicking its citation opens the real file at the line;
//   5. "Explain symbol" asks about the symbol at the cursor, and the model's context starts from its
//      definition and caller; "Show status" and "Think now" answer;
//   6. a change in the Settings UI reaches the server (workspace/didChangeConfiguration): the next
//      question goes to the newly configured model;
//   6b. a settings change that restarts the server (a cleared setting) keeps reverie.serverPath, set as a
//      user of a remote window often has it (in User settings.json, though it is machine-scoped); the
//      server's log lines carry no ANSI colour codes and the restart is not logged as an error;
//   6c. "New chat" starts a new conversation whose first question is logged as turn 1; its answer,
//      taller than the view, is shown from its start; the log names the client in words (no Rust
//      debug value);
//   7. a missing binary (reverie.serverPath pointing nowhere) gives an error with the install steps,
//      the status bar says "not installed", and "Open Remote Settings" leads to the Remote tab where
//      the machine-scoped setting lives in this remote window.
// Every wait is on a condition with a timeout; a failure leaves a screenshot and the logs.

const { chromium } = require('playwright-core');
const { spawn, spawnSync } = require('child_process');
const fs = require('fs');
const http = require('http');
const net = require('net');
const os = require('os');
const path = require('path');
const { fileURLToPath, pathToFileURL } = require('url');

const env = (name) => {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set; run test/e2e.sh`);
  return value;
};
const REVERIE_BIN = env('REVERIE_BIN');
const VSIX = env('VSIX');
const CODE_SERVER = env('CODE_SERVER');
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const KEEP = process.env.REVERIE_E2E_KEEP === '1';
const SCREENSHOT = '/tmp/reverie-vscode-e2e.png';
const FAIL_SCREENSHOT = '/tmp/reverie-vscode-e2e-fail.png';
const MISSING_SCREENSHOT = '/tmp/reverie-vscode-e2e-missing-server.png';
const API_KEY = 'e2e-secret-key';

const t0 = Date.now();
const ts = () => `${((Date.now() - t0) / 1000).toFixed(1)}s`.padStart(7);
const say = (...args) => console.log(ts(), ...args);

// ---------- fixture ----------

const WORK = fs.mkdtempSync(path.join(os.tmpdir(), 'reverie-vscode-e2e-'));
const WS = path.join(WORK, 'shop-app');
const USER = path.join(WORK, 'user');
const EXTS = path.join(WORK, 'extensions');
const CS_LOG = path.join(WORK, 'code-server.log');
const SETTINGS = path.join(USER, 'User', 'settings.json');

function writeFixture() {
  fs.mkdirSync(path.join(WS, 'shop'), { recursive: true });
  fs.writeFileSync(
    path.join(WS, 'shop', 'config.py'),
    [
      '"""Loading the shop\'s settings."""',
      'import json',
      'import os',
      '',
      '',
      'class ConfigError(Exception):',
      '    """Raised when the settings cannot be read."""',
      '',
      '',
      'def load_config(path):',
      '    """Reads the JSON settings file at `path` and returns a dict."""',
      '    if not os.path.exists(path):',
      '        raise ConfigError("missing config file: " + path)',
      '    with open(path) as f:',
      '        return json.load(f)',
      '',
    ].join('\n'),
  );
  fs.writeFileSync(
    path.join(WS, 'shop', 'cart.py'),
    [
      '"""The shopping cart."""',
      'from shop.config import load_config',
      '',
      '',
      'class Cart:',
      '    def __init__(self, settings_path):',
      '        self.settings = load_config(settings_path)',
      '        self.items = []',
      '',
      '    def add(self, name, price):',
      '        self.items.append((name, price))',
      '',
      '    def total(self):',
      '        tax = self.settings.get("tax", 0.0)',
      '        return sum(price for _, price in self.items) * (1 + tax)',
      '',
      // Ten more callers of load_config: "where is it used?" lists twelve places, more than the chat
      // shows before "N more".
      ...['prices', 'taxes', 'currency', 'discounts', 'shipping', 'coupons', 'stock', 'suppliers', 'returns', 'gifts'].flatMap(
        (what) => ['', '', `def ${what}_settings(path):`, `    return load_config(path).get("${what}", {})`],
      ),
      '',
    ].join('\n'),
  );
}

function writeSettings(settings) {
  fs.mkdirSync(path.dirname(SETTINGS), { recursive: true });
  fs.writeFileSync(SETTINGS, JSON.stringify(settings, null, 2));
}

// ---------- a fake OpenAI-compatible model ----------

/** Answers `POST /v1/chat/completions` with a streamed answer; records every request. */
function startFakeModel() {
  const requests = [];
  let releaseFirst;
  const firstReleased = new Promise((resolve) => (releaseFirst = resolve));
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (d) => (body += d));
    req.on('end', async () => {
      let json = {};
      try {
        json = JSON.parse(body || '{}');
      } catch {
        /* recorded as is */
      }
      const record = { url: req.url, auth: req.headers.authorization || '', body: json };
      requests.push(record);
      if (req.method !== 'POST' || !req.url.endsWith('/chat/completions')) {
        res.writeHead(404).end();
        return;
      }
      if (record.auth !== `Bearer ${API_KEY}`) {
        res.writeHead(401, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ error: { message: `bad key: ${record.auth}` } }));
        return;
      }
      const messages = json.messages || [];
      const last = String(messages.filter((m) => m.role === 'user').pop()?.content || '');
      let parts;
      let hold = false;
      if (/where is the config loaded/i.test(last) && requests.filter((r) => r.first).length === 0) {
        record.first = true;
        hold = true;
        parts = [
          'The settings are loaded by `load_config` (`shop/config.py:10`), ',
          'which raises `ConfigError` when the file is missing. ',
          '`Cart.__init__` calls it at shop/cart.py:7.',
        ];
      } else if (/walk me through/i.test(last)) {
        // An answer taller than the chat view: the view must show its start, not its end.
        parts = Array.from({ length: 40 }, (_, i) => `Step ${i + 1}: \`load_config\` reads the settings (\`shop/config.py:${10 + (i % 6)}\`).\n\n`);
      } else {
        parts = ['It raises so that a missing file is reported ', 'instead of silently using defaults; see `shop/config.py:13`.'];
      }
      const chunk = (content) =>
        `data: ${JSON.stringify({ id: 'x', object: 'chat.completion.chunk', model: json.model, choices: [{ index: 0, delta: { content }, finish_reason: null }] })}\n\n`;
      res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
      res.write(chunk(parts[0]));
      // The first answer stops after its first chunk until the test has seen it on screen.
      if (hold) await Promise.race([firstReleased, new Promise((r) => setTimeout(r, 45000))]);
      for (const part of parts.slice(1)) res.write(chunk(part));
      res.write(
        `data: ${JSON.stringify({ id: 'x', object: 'chat.completion.chunk', model: json.model, choices: [{ index: 0, delta: {}, finish_reason: 'stop' }] })}\n\n`,
      );
      res.write(
        `data: ${JSON.stringify({ id: 'x', object: 'chat.completion.chunk', model: json.model, choices: [], usage: { prompt_tokens: 321, completion_tokens: 42 } })}\n\n`,
      );
      res.end('data: [DONE]\n\n');
    });
  });
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () => resolve({ server, port: server.address().port, requests, releaseFirst })),
  );
}

// ---------- code-server ----------

/** Asks a second `reverie serve` (its own cache, no model) `question` with `reverie.ask`, as a client
 * that shows documents; returns the path of the answer document it opens. */
function answerDocument(question) {
  return new Promise((resolve, reject) => {
    const child = spawn(REVERIE_BIN, ['serve'], {
      env: { ...process.env, REVERIE_CACHE_DIR: path.join(WORK, 'answer-cache'), REVERIE_LOG: 'warn' },
      stdio: ['pipe', 'pipe', 'ignore'],
    });
    const send = (message) => {
      const body = Buffer.from(JSON.stringify({ jsonrpc: '2.0', ...message }));
      child.stdin.write(`Content-Length: ${body.length}\r\n\r\n`);
      child.stdin.write(body);
    };
    const timer = setTimeout(() => {
      child.kill();
      reject(new Error(`no answer document for ${JSON.stringify(question)} within 30 s`));
    }, 30000);
    const on = (m) => {
      if (m.id === 1 && !m.method) send({ method: 'initialized', params: {} });
      else if (m.method === '$/progress' && m.params.value.kind === 'end' && /^indexed/.test(m.params.value.message || '')) {
        send({ id: 2, method: 'workspace/executeCommand', params: { command: 'reverie.ask', arguments: [{ question }] } });
      } else if (m.method === 'window/showDocument') {
        send({ id: m.id, result: { success: true } });
        clearTimeout(timer);
        child.kill();
        resolve(fileURLToPath(m.params.uri));
      } else if (m.method && m.id !== undefined) send({ id: m.id, result: null });
    };
    let buffer = Buffer.alloc(0);
    child.stdout.on('data', (chunk) => {
      buffer = Buffer.concat([buffer, chunk]);
      for (;;) {
        const head = buffer.indexOf('\r\n\r\n');
        if (head < 0) return;
        const length = Number(/Content-Length: (\d+)/i.exec(buffer.subarray(0, head).toString())[1]);
        if (buffer.length < head + 4 + length) return;
        const message = JSON.parse(buffer.subarray(head + 4, head + 4 + length).toString());
        buffer = buffer.subarray(head + 4 + length);
        on(message);
      }
    });
    send({
      id: 1,
      method: 'initialize',
      params: {
        processId: null,
        rootUri: pathToFileURL(WS).href,
        capabilities: { window: { workDoneProgress: true, showDocument: { support: true } } },
      },
    });
  });
}

function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

async function waitFor(what, check, ms = 30000, every = 200) {
  const end = Date.now() + ms;
  let last;
  while (Date.now() < end) {
    try {
      if (await check()) return;
    } catch (err) {
      last = err;
    }
    await new Promise((r) => setTimeout(r, every));
  }
  throw new Error(`timed out after ${ms / 1000}s waiting for ${what}${last ? ` (${last.message})` : ''}`);
}

function startCodeServer(port, childEnv) {
  const out = fs.openSync(CS_LOG, 'a');
  const child = spawn(
    CODE_SERVER,
    [
      '--auth', 'none',
      '--bind-addr', `127.0.0.1:${port}`,
      '--disable-telemetry',
      '--disable-update-check',
      '--disable-workspace-trust',
      '--disable-getting-started-override',
      '--user-data-dir', USER,
      '--extensions-dir', EXTS,
      '--config', '/dev/null',
      WS,
    ],
    { detached: true, stdio: ['ignore', out, out], env: childEnv },
  );
  return child;
}

function stopProcessGroup(child) {
  if (!child || child.exitCode !== null) return;
  try {
    process.kill(-child.pid, 'SIGTERM'); // detached => its own process group (code-server, its helpers, reverie)
  } catch {
    /* already gone */
  }
}

// ---------- the drive ----------

async function main() {
  writeFixture();
  const model = await startFakeModel();
  say(`fake model on 127.0.0.1:${model.port}; work dir ${WORK}`);
  writeSettings({
    'security.workspace.trust.enabled': false,
    'telemetry.telemetryLevel': 'off',
    'workbench.startupEditor': 'none',
    'workbench.tips.enabled': false,
    'extensions.autoUpdate': false,
    'extensions.autoCheckUpdates': false,
    'extensions.ignoreRecommendations': true,
    'update.mode': 'none',
    'chat.disableAIFeatures': true,
    'workbench.secondarySideBar.defaultVisibility': 'hidden',
    'reverie.serverPath': REVERIE_BIN,
    'reverie.llm.provider': 'openai',
    'reverie.llm.model': 'fake-model',
    'reverie.llm.baseUrl': `http://127.0.0.1:${model.port}/v1`,
    'reverie.llm.apiKeyEnv': 'REVERIE_E2E_API_KEY',
    // Nobody goes idle during the test, and sleep-time thinking has no budget: every model call is ours.
    'reverie.server.idleAfter': '10m',
    'reverie.sleep.tokensPerHour': 0,
    'reverie.sleep.tokensPerDay': 0,
    'reverie.logLevel': 'debug',
  });
  // reverie.serverPath is machine-overridable, and code-server is a remote window: its Remote tab is
  // where the setting belongs, but users write it in User settings.json (as here) and VS Code reads it
  // there at start-up. Step 6b checks a restart keeps it.

  const install = spawnSync(
    CODE_SERVER,
    ['--user-data-dir', USER, '--extensions-dir', EXTS, '--install-extension', VSIX],
    { encoding: 'utf8' },
  );
  if (install.status !== 0) throw new Error(`installing the extension failed:\n${install.stdout}\n${install.stderr}`);
  say('extension installed:', install.stdout.trim().split('\n').pop());

  const port = await freePort();
  const childEnv = {
    ...process.env,
    REVERIE_E2E_API_KEY: API_KEY,
    REVERIE_CACHE_DIR: path.join(WORK, 'cache'),
    XDG_CONFIG_HOME: path.join(WORK, 'config'), // no user-level reverie config.toml
  };
  const cs = startCodeServer(port, childEnv);
  // Killed (e.g. by e2e.sh's timeout): take code-server and everything it started along.
  for (const signal of ['SIGTERM', 'SIGINT']) {
    process.on(signal, () => {
      console.error(`${ts()} FAIL: ${signal}; stopping code-server`);
      stopProcessGroup(cs);
      dumpLogs();
      process.exit(1);
    });
  }
  let browser;
  try {
    await waitFor(
      'code-server /healthz',
      () =>
        new Promise((resolve) => {
          http.get(`http://127.0.0.1:${port}/healthz`, (res) => resolve(res.statusCode === 200)).on('error', () => resolve(false));
        }),
      60000,
      100,
    );
    say('code-server is up');

    browser = await chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
    });
    const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
    page.on('console', (m) => {
      if (m.type() === 'error' && !/vsda|Failed to load resource|Canceled/.test(m.text())) console.log('[browser]', m.text().slice(0, 300));
    });
    try {
      await drive(page, model, port);
    } catch (err) {
      await page.screenshot({ path: FAIL_SCREENSHOT }).catch(() => {});
      console.error(`screenshot of the failure: ${FAIL_SCREENSHOT}`);
      throw err;
    }
  } finally {
    await browser?.close().catch(() => {});
    stopProcessGroup(cs);
    model.server.close();
  }
}

async function drive(page, model, port) {
  await page.goto(`http://127.0.0.1:${port}/?folder=${encodeURIComponent(WS)}`);
  await page.waitForSelector('.monaco-workbench', { timeout: 60000 });
  await page.waitForSelector('.explorer-folders-view .monaco-list-row', { timeout: 60000 });
  say('workbench loaded');

  // 1. The status bar follows reverie/status to `ready` (2 files indexed).
  const status = page.locator('.statusbar-item', { hasText: 'reverie:' }).first();
  await status.waitFor({ timeout: 60000 });
  await waitFor('the status bar to show reverie: ready', async () => /reverie: ready · 2 files/.test(await status.innerText()), 60000);
  say('status bar:', JSON.stringify((await status.innerText()).trim()));

  // Open a file so questions have a focus (and the cursor is somewhere known).
  await quickOpen(page, 'cart.py');
  await expectEditor(page, 'cart.py', 1);

  // 2. "reverie: Ask" from the command palette -> input box -> streamed answer in the answer view.
  await runCommand(page, 'reverie: Ask');
  await page.waitForSelector('.quick-input-widget .quick-input-title:has-text("reverie: Ask")', { timeout: 15000 });
  await page.keyboard.type('Where is the config loaded?');
  await page.keyboard.press('Enter');
  const chat = page.frameLocator('iframe.webview.ready').frameLocator('#active-frame');
  const turn1 = chat.locator('#turn-1');
  await turn1.locator('.question .text', { hasText: 'Where is the config loaded?' }).waitFor({ timeout: 30000 });
  say('the question is in the answer view');
  await turn1.locator('.answer', { hasText: 'The settings are loaded by' }).waitFor({ timeout: 30000 });
  const midStream = await turn1.getAttribute('data-state');
  if (midStream !== 'streaming') throw new Error(`expected the answer to be streaming while the model holds it, got ${midStream}`);
  if (await turn1.locator('.answer', { hasText: 'calls it at' }).count()) throw new Error('the held part of the answer arrived early');
  say('partial answer visible while streaming');
  model.releaseFirst();
  await chat.locator('#turn-1[data-state="done"]').waitFor({ timeout: 30000 });
  const source1 = (await turn1.locator('.meta .source').innerText()).trim();
  if (source1 !== 'model') throw new Error(`turn 1 source label is ${JSON.stringify(source1)}, expected "model"`);
  const answer1 = (await turn1.locator('.answer').innerText()).trim();
  say('answer 1 [' + source1 + ']:', JSON.stringify(answer1));
  if (!/Cart\.__init__.*calls it at shop\/cart\.py:7/s.test(answer1)) throw new Error('turn 1 answer is incomplete');
  const first = model.requests.find((r) => r.first);
  if (!first || first.body.model !== 'fake-model' || first.body.stream !== true) {
    throw new Error(`the model request did not use the settings: ${JSON.stringify(first && { model: first.body.model, stream: first.body.stream })}`);
  }
  say(`model got the question (model=${first.body.model}, key from $REVERIE_E2E_API_KEY)`);

  // 3. A follow-up typed in the chat view, in the same conversation.
  const input = chat.locator('#question');
  await input.fill('Why does it raise instead of returning defaults?');
  await input.press('Enter');
  const turn2 = chat.locator('#turn-2');
  await chat.locator('#turn-2[data-state="done"]').waitFor({ timeout: 30000 });
  const answer2 = (await turn2.locator('.answer').innerText()).trim();
  say('answer 2 [' + (await turn2.locator('.meta .source').innerText()).trim() + ']:', JSON.stringify(answer2));
  if (!/instead of silently using defaults/.test(answer2)) throw new Error('turn 2 answer is wrong');
  const second = requestAsking(model, 'Why does it raise instead of returning defaults?');
  const secondText = JSON.stringify(second.body.messages);
  if (!secondText.includes('Where is the config loaded?') || !secondText.includes('The settings are loaded by')) {
    throw new Error('the follow-up did not carry the first turn: the conversation was lost');
  }
  say('the follow-up reached the model with the first turn (same conversation)');

  await input.fill('Where is `load_config` used?');
  await input.press('Enter');
  const turn3 = chat.locator('#turn-3');
  await chat.locator('#turn-3[data-state="done"]').waitFor({ timeout: 30000 });
  const source3 = (await turn3.locator('.meta .source').innerText()).trim();
  say('answer 3 [' + source3 + ']:', JSON.stringify((await turn3.locator('.answer').innerText()).trim().slice(0, 160)));
  if (source3 !== 'facts') throw new Error(`a structural question should be answered from facts, got ${source3}`);

  // The answer reads top-down: its start is in view (not scrolled to its last item), its first 8
  // places are shown and the rest wait behind "N more".
  const places = turn3.locator('.answer > ul > li');
  const total3 = await places.count();
  if (total3 < 11) throw new Error(`expected the twelve places load_config is used, got ${total3}`);
  const visible3 = await turn3.locator('.answer > ul > li:visible').count();
  if (visible3 !== 8) throw new Error(`expected 8 places shown before "more", got ${visible3} of ${total3}`);
  const more3 = turn3.locator('.answer > button.more');
  if ((await turn3.locator('.sources button.more').count()) !== 1) throw new Error('the sources list is not cut to 8 with "more" too');
  const moreText = (await more3.innerText()).trim();
  if (moreText !== `${total3 - 8} more`) throw new Error(`the "more" button says ${JSON.stringify(moreText)}, expected "${total3 - 8} more"`);
  const view = await chat.locator('#log').evaluate((log) => {
    const turn = log.querySelector('#turn-3');
    const box = log.getBoundingClientRect();
    const question = turn.querySelector('.question').getBoundingClientRect();
    const firstPlace = turn.querySelector('.answer > ul > li').getBoundingClientRect();
    return { top: box.top, bottom: box.bottom, question: question.top, first: firstPlace.bottom, scrollTop: log.scrollTop, max: log.scrollHeight - log.clientHeight };
  });
  if (!(view.question >= view.top - 1 && view.first <= view.bottom + 1)) {
    throw new Error(`the start of the answer is not in view: ${JSON.stringify(view)}`);
  }
  say(`answer 3 reads top-down: ${visible3} of ${total3} places shown, "${moreText}", start in view ${JSON.stringify(view)}`);
  await more3.click();
  await waitFor('every place to show after "more"', async () => (await turn3.locator('.answer > ul > li:visible').count()) === total3, 5000);
  if (await more3.count()) throw new Error('the "more" button stays after showing everything');
  say(`"${moreText}" shows all ${total3} places`);

  // 4. Citations open the file at the line: one in the answer text, one in the sources list.
  await turn1.locator('.answer a.cite[data-path="shop/cart.py"][data-line="7"]').click();
  await expectEditor(page, 'cart.py', 7);
  say('clicked shop/cart.py:7 in the answer -> cart.py, line 7');
  const sourceLink = turn1.locator('.sources a.cite[data-path="shop/config.py"]').first();
  const sourceLine = Number(await sourceLink.getAttribute('data-line'));
  await sourceLink.click();
  await expectEditor(page, 'config.py', sourceLine);
  say(`clicked shop/config.py:${sourceLine} in the sources -> config.py, line ${sourceLine}`);

  // 4b. An answer document in the markdown preview: its citation is a link to the real file and line.
  const doc = await answerDocument('where is load_config defined?');
  const docText = fs.readFileSync(doc, 'utf8');
  const configPy = fs.realpathSync(path.join(WS, 'shop', 'config.py'));
  const wantedLink = `[${configPy}:10](${path.relative(path.dirname(doc), configPy)}#L10)`;
  if (!docText.includes(wantedLink)) throw new Error(`the answer document does not link config.py:10: ${docText}`);
  await runCommand(page, 'File: Open File...');
  await page.waitForSelector('.quick-input-widget input', { state: 'visible', timeout: 15000 });
  // The path is set in one step: typed key by key, the simple file dialog completes folder names as
  // they are typed (a busy /tmp turns "/tmp/reverie-…" into another folder's name). It lists the folder
  // asynchronously and refuses a path ("Please enter a path that exists") until it has: accept once
  // the document is listed.
  // The dialog also sets its starting folder (the active file's, ending in "/") asynchronously: set
  // the path after it has, and again if it was replaced before Enter took it (seen 1 run in 5).
  const pathBox = page.locator('.quick-input-widget input').first();
  await waitFor('the file dialog to show its starting folder', async () => (await pathBox.inputValue()).endsWith('/'), 15000);
  const docOpen = async () => ((await page.locator('.tabs-container .tab.active').first().getAttribute('aria-label')) || '').startsWith(path.basename(doc));
  for (let attempt = 1; ; attempt++) {
    await pathBox.fill(doc);
    await page
      .locator('.quick-input-list .monaco-list-row .label-name', { hasText: path.basename(doc) })
      .first()
      .waitFor({ timeout: 15000 });
    if ((await pathBox.inputValue()) === doc) await page.keyboard.press('Enter');
    try {
      await waitFor('the answer document to open', docOpen, 5000);
      break;
    } catch (err) {
      if (attempt === 3 || !(await pathBox.isVisible())) throw err;
      say(`the file dialog did not take ${doc} (attempt ${attempt}): setting it again`);
    }
  }
  // The preview command is offered only while a markdown editor has focus (`editorLangId == markdown`):
  // wait until the editor says Markdown, and put the focus in its text.
  await waitFor('the answer document to be a markdown editor', async () => /^Markdown$/.test((await page.locator('[id="status.editor.mode"]').innerText().catch(() => '')).trim()), 15000);
  await page.locator('.editor-group-container.active .monaco-editor .view-lines').first().click();
  await runCommand(page, 'Markdown: Open Preview');
  let previewLink;
  await waitFor('the preview to show the citation link', async () => {
    for (const frame of page.frames()) {
      const link = frame.locator('a[href*="config.py"], a[data-href*="config.py"]');
      if (await link.count().catch(() => 0)) {
        previewLink = link.first();
        return true;
      }
    }
    return false;
  }, 30000);
  await previewLink.click();
  await expectEditor(page, 'config.py', 10);
  say('clicked config.py:10 in an answer document\'s markdown preview -> config.py, line 10');

  // 5. Explain symbol at the cursor (config.py, on `load_config` at line 10).
  await page.keyboard.press('Control+G');
  await page.waitForSelector('.quick-input-widget input', { state: 'visible' });
  await page.keyboard.type('10:6');
  await page.keyboard.press('Enter');
  await expectEditor(page, 'config.py', 10);
  await runCommand(page, 'reverie: Explain symbol');
  const turn4 = chat.locator('#turn-4');
  await turn4.locator('.question .text', { hasText: 'Explain `load_config`' }).waitFor({ timeout: 30000 });
  await chat.locator('#turn-4[data-state="done"]').waitFor({ timeout: 30000 });
  say('explain symbol:', JSON.stringify((await turn4.locator('.question').innerText()).replace(/\s+/g, ' ').trim()));
  // The command names its symbol, so the model's context starts from it: the definition, then its
  // nearest caller.
  const explained = JSON.stringify(requestAsking(model, 'Explain `load_config`').body.messages);
  if (!/\[1\] shop\/config\.py:10-15.*\[2\] shop\/cart\.py:6-8/.test(explained)) {
    throw new Error(`the explain context does not start from load_config and its caller: ${explained.slice(0, 600)}`);
  }
  say('explain symbol: the context starts at shop/config.py:10-15, then its caller shop/cart.py:6-8');

  // The server's code action "reverie: How to debug `load_config`" (it runs reverie.ask) is answered
  // in the chat view too, not in a separate document.
  await page.keyboard.press('Control+G');
  await page.waitForSelector('.quick-input-widget input', { state: 'visible' });
  await page.keyboard.type('10:6');
  await page.keyboard.press('Enter');
  await expectEditor(page, 'config.py', 10);
  await page.keyboard.press('Control+.');
  const wanted = 'reverie: How to debug load_config'; // plain text: no backticks in a title
  await page.locator(`.action-widget .monaco-list-row[aria-label="${wanted}"]`).waitFor({ timeout: 15000 });
  const focused = page.locator('.action-widget .monaco-list-row.focused');
  for (let i = 0; (await focused.getAttribute('aria-label').catch(() => null)) !== wanted; i++) {
    if (i === 8) throw new Error(`could not select the code action ${wanted}`);
    await page.keyboard.press('ArrowDown');
  }
  await page.keyboard.press('Enter');
  const turn5 = chat.locator('#turn-5');
  await turn5.locator('.question .text', { hasText: 'How do I debug `load_config`?' }).waitFor({ timeout: 30000 });
  await chat.locator('#turn-5[data-state="done"]').waitFor({ timeout: 30000 });
  say('code action:', JSON.stringify((await turn5.locator('.question').innerText()).replace(/\s+/g, ' ').trim().slice(0, 80) + '…'));

  await runCommand(page, 'reverie: Show status');
  const statusToast = page.locator('.notification-toast', { hasText: 'reverie: ready — 2 files' });
  await statusToast.waitFor({ timeout: 15000 });
  say('show status:', JSON.stringify((await statusToast.locator('.notification-list-item-message').innerText()).trim()));
  await clearNotifications(page);

  // Think now: a server that advertises `reverie.think` runs it and says so; an older one gets the
  // extension's explanation of when thinking happens.
  await runCommand(page, 'reverie: Think now');
  const thinkToast = page.locator('.notification-toast', { hasText: /reverie: thinking now|reverie thinks on its own/ });
  await thinkToast.waitFor({ timeout: 15000 });
  say('think now:', JSON.stringify((await thinkToast.locator('.notification-list-item-message').innerText()).trim().slice(0, 140)));
  await clearNotifications(page);

  // 6. A settings change made in the Settings UI reaches the server (workspace/didChangeConfiguration):
  //    the next question goes to the newly configured model.
  await runCommand(page, 'Preferences: Open User Settings');
  await page.waitForSelector('.settings-editor .settings-header', { timeout: 15000 });
  await page.keyboard.type('@id:reverie.llm.model');
  const modelInput = page.locator('.settings-editor .setting-item-contents:has(.setting-item-title:has-text("Model")) input').first();
  await modelInput.waitFor({ timeout: 15000 });
  await modelInput.fill('fake-model-2'); // the Settings UI writes it after a short debounce
  await waitFor('the extension to send workspace/didChangeConfiguration', () => /sending workspace\/didChangeConfiguration .*fake-model-2/.test(extensionLog()), 15000);
  say('settings UI: reverie.llm.model = fake-model-2 -> workspace/didChangeConfiguration sent');
  await input.fill('And what happens when the file is missing?');
  await input.press('Enter');
  await chat.locator('#turn-6[data-state="done"]').waitFor({ timeout: 30000 });
  const sixth = requestAsking(model, 'And what happens when the file is missing?');
  if (sixth.body.model !== 'fake-model-2') throw new Error(`after the settings change the server asked model ${sixth.body.model}, not fake-model-2`);
  say('the next question went to fake-model-2: the server applied the changed setting');

  // Show the chat for the screenshot.

  // 6b. A settings change that restarts the server keeps reverie.serverPath (read once, carried over
  //     changes that do not touch it): clearing a setting in the Settings UI removes a key, which the
  //     server can only drop by restarting with fresh initializationOptions.
  const startsBefore = (extensionLog().match(/starting \S+ serve/g) || []).length;
  await runCommand(page, 'Preferences: Open User Settings');
  await page.waitForSelector('.settings-editor .settings-header', { timeout: 15000 });
  await page.keyboard.press('Control+A');
  await page.keyboard.type('@id:reverie.server.idleAfter');
  const idleInput = page.locator('.settings-editor .setting-item-contents:has(.setting-item-title:has-text("Idle After")) input').first();
  await idleInput.waitFor({ timeout: 15000 });
  await idleInput.fill('');
  await waitFor('the extension to restart the server', () => /settings changed .*: restarting the server/.test(extensionLog()), 30000);
  await waitFor('the server to start again', () => (extensionLog().match(/starting \S+ serve/g) || []).length > startsBefore, 30000);
  const starts = [...extensionLog().matchAll(/starting (\S+) serve/g)].map((m) => m[1]);
  const restartedWith = starts[starts.length - 1];
  if (restartedWith !== REVERIE_BIN) throw new Error(`the restart did not use reverie.serverPath: ${restartedWith}`);
  await waitFor('the status bar to show ready after the restart', async () => /reverie: ready · 2 files/.test(await status.innerText()), 60000);
  say(`settings change (idleAfter cleared) restarted the server with ${restartedWith}`);
  const log = extensionLog();
  if (/\x1b\[/.test(log)) throw new Error('the server log carries ANSI colour codes');
  if (/\[Error\][^\n]*exited with code 0/.test(log)) throw new Error('a normal restart was logged as an error');
  say('output channel: no ANSI codes, the restart is not an error');

  // The screenshot: the chat beside the file a citation opened.
  await closeSettings(page);
  await chat.locator('#turn-6 .answer a.cite[data-path="shop/config.py"][data-line="13"]').click();
  await expectEditor(page, 'config.py', 13);
  await page.screenshot({ path: SCREENSHOT });
  say(`screenshot: ${SCREENSHOT}`);

  // 6c. "New chat" starts the turn count again: its first question is turn 1 of a new conversation.
  //     The server's log names the client in words, not as a Rust debug value.
  const asked = () => [...extensionLog().matchAll(/asking \(conversation (\S+), turn (\d+)\): (.*)/g)];
  const before = asked();
  const oldConversation = before[before.length - 1][1];
  await chat.locator('#new-chat').click();
  await chat.locator('.turn').first().waitFor({ state: 'detached', timeout: 15000 });
  await input.fill('Walk me through how `load_config` is used, step by step.');
  await input.press('Enter');
  const longTurn = chat.locator('.turn').first();
  await chat.locator('.turn[data-state="done"]').first().waitFor({ timeout: 30000 });
  await waitFor('the new chat\'s question in the log', () => asked().length > before.length, 15000);
  const [, conversation, turnNumber, question] = asked()[before.length];
  if (conversation === oldConversation || turnNumber !== '1' || !question.includes('Walk me through')) {
    throw new Error(`after New chat the question was logged as conversation ${conversation}, turn ${turnNumber} (before: ${oldConversation}, turn ${before[before.length - 1][2]})`);
  }
  say(`new chat: "${question}" is turn 1 of a new conversation (the last one ended at turn ${before[before.length - 1][2]})`);
  // An answer taller than the view reads top-down: the view starts at its question, not at its end.
  const tall = await chat.locator('#log').evaluate((log) => {
    const turn = log.querySelector('.turn');
    const box = log.getBoundingClientRect();
    return { top: box.top, question: turn.querySelector('.question').getBoundingClientRect().top, height: turn.getBoundingClientRect().height, view: log.clientHeight, scrollTop: log.scrollTop, max: log.scrollHeight - log.clientHeight };
  });
  if (!(tall.height > tall.view && tall.scrollTop < tall.max && Math.abs(tall.question - tall.top) <= 24)) {
    throw new Error(`a tall answer does not show its start: ${JSON.stringify(tall)}`);
  }
  if (!/Step 40:/.test(await longTurn.locator('.answer').innerText())) throw new Error('the tall answer is incomplete');
  say(`a tall answer (${Math.round(tall.height)} px in a ${tall.view} px view) shows its start: ${JSON.stringify(tall)}`);
  const clientLine = (extensionLog().match(/client code-server[^\n]*/) || [''])[0];
  if (!/^client code-server \S+ \(VS Code\): answers /.test(clientLine) || /ClientSupport|Some\(/.test(extensionLog())) {
    throw new Error(`the client is not described in words in the log: ${JSON.stringify(clientLine)}`);
  }
  say('output channel:', JSON.stringify(clientLine));

  // 7. A missing binary: a clear error with the install steps, and the status bar says so.
  //    (reverie.serverPath is machine-overridable: in this remote window it is set on the Remote tab.)
  await runCommand(page, 'Preferences: Open User Settings');
  await page.waitForSelector('.settings-editor .settings-header', { timeout: 15000 });
  await page.keyboard.type('@id:reverie.serverPath');
  await page.locator('.settings-editor .settings-tabs-widget .action-label', { hasText: /^Remote/ }).click();
  await page.locator('.settings-editor .settings-tabs-widget .action-label.checked', { hasText: /^Remote/ }).waitFor({ timeout: 15000 });
  const pathInput = page.locator('.settings-editor .setting-item-contents:has(.setting-item-title:has-text("Server Path")) input').first();
  await pathInput.waitFor({ timeout: 15000 });
  await pathInput.fill(path.join(WORK, 'no-such-reverie'));
  const missingToast = page.locator('.notification-toast', { hasText: 'cargo install --path .' }); // the install steps
  await missingToast.waitFor({ timeout: 30000 });
  const missingText = (await missingToast.locator('.notification-list-item-message').innerText()).trim();
  say('missing binary:', JSON.stringify(missingText));
  if (!missingText.includes('no-such-reverie, which does not exist')) throw new Error('the error does not name the missing path');
  await waitFor('the status bar to say reverie is not installed', async () => /reverie: not installed/.test(await status.innerText()), 15000);
  say('status bar:', JSON.stringify((await status.innerText()).trim()));
  await page.screenshot({ path: MISSING_SCREENSHOT });
  // "Open Remote Settings" (a remote window) leads to the Remote tab, where the setting is.
  await closeSettings(page);
  await missingToast.locator('.monaco-button', { hasText: 'Open Remote Settings' }).click();
  await page.locator('.settings-editor .settings-tabs-widget .action-label.checked', { hasText: /^Remote/ }).waitFor({ timeout: 15000 });
  await page.locator('.settings-editor .setting-item-contents .setting-item-title', { hasText: 'Server Path' }).first().waitFor({ timeout: 15000 });
  say('"Open Remote Settings" opened the Remote tab at reverie.serverPath');
  say('PASS');
}

/** The model request whose last user message asks `question`. */
function requestAsking(model, question) {
  const found = model.requests.filter((r) => {
    const users = (r.body.messages || []).filter((m) => m.role === 'user');
    return users.length && String(users[users.length - 1].content).includes(question);
  });
  if (!found.length) throw new Error(`the model was never asked ${JSON.stringify(question)}`);
  return found[found.length - 1];
}

async function focusWorkbench(page) {
  await page.keyboard.press('Escape');
}

/** Opens the command palette (F1), retrying from the explorer when the focused part swallows F1. */
async function openPalette(page) {
  for (let attempt = 1; ; attempt++) {
    await focusWorkbench(page);
    await page.keyboard.press('F1');
    try {
      await page.waitForSelector('.quick-input-widget input', { state: 'visible', timeout: 5000 });
      return;
    } catch (err) {
      if (attempt === 3) throw err;
      await page.locator('.part.sidebar').click({ position: { x: 100, y: 500 } });
    }
  }
}

/** Runs a command from the palette: types its label and clicks the row with exactly that label. */
async function runCommand(page, label) {
  const exact = new RegExp(`^${label.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`);
  const row = page
    .locator('.quick-input-list .monaco-list-row')
    .filter({ has: page.locator('.label-name', { hasText: exact }) })
    .first();
  // A command whose `when` clause became true while the palette was open is not listed until it is
  // opened again: retry a few times before failing.
  for (let attempt = 1; ; attempt++) {
    await openPalette(page);
    await page.keyboard.type(label);
    try {
      await row.waitFor({ timeout: 5000 });
      break;
    } catch (err) {
      if (attempt === 3) throw err;
      await page.keyboard.press('Escape');
    }
  }
  await row.click();
  await page.locator('.quick-input-widget').waitFor({ state: 'hidden', timeout: 15000 }).catch(() => {});
}

async function quickOpen(page, file) {
  await focusWorkbench(page);
  await page.keyboard.press('Control+P');
  await page.waitForSelector('.quick-input-widget input', { state: 'visible' });
  await page.keyboard.type(file);
  await page.locator('.quick-input-list .monaco-list-row', { hasText: file }).first().waitFor({ timeout: 15000 });
  await page.keyboard.press('Enter');
}

/** The active editor tab is `file`, the window title names it and the cursor is on `line`. */
async function expectEditor(page, file, line) {
  const tab = page.locator('.tabs-container .tab.active');
  const cursor = page.locator('[id="status.editor.selection"]');
  await waitFor(`the editor to show ${file} at line ${line}`, async () => {
    const label = (await tab.first().getAttribute('aria-label')) || '';
    const title = await page.title();
    const where = (await cursor.innerText()).trim();
    return label.startsWith(file) && title.includes(file) && new RegExp(`^Ln ${line}, Col \\d+`).test(where);
  }, 15000);
}

/** Closes every Settings editor tab. */
async function closeSettings(page) {
  const tabs = page.locator('.tabs-container .tab', { hasText: 'Settings' });
  for (let open = await tabs.count(); open > 0; open = await tabs.count()) {
    const tab = tabs.first();
    await tab.hover();
    await tab.locator('.tab-actions .action-label').click();
    await waitFor('a Settings tab to close', async () => (await tabs.count()) < open, 15000);
  }
  await page.locator('.settings-editor').waitFor({ state: 'detached', timeout: 15000 });
}

async function clearNotifications(page) {
  const toasts = page.locator('.notification-toast');
  await runCommand(page, 'Notifications: Clear All Notifications');
  await waitFor('notifications to clear', async () => (await toasts.count()) === 0, 10000);
}


/** The extension's output channel, as VS Code logs it under the profile. */
function extensionLog() {
  const logs = path.join(USER, 'logs');
  const found = [];
  const walk = (dir) => {
    for (const e of fs.existsSync(dir) ? fs.readdirSync(dir, { withFileTypes: true }) : []) {
      const p = path.join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (/-reverie\.log$/.test(e.name)) found.push(p);
    }
  };
  walk(logs);
  return found.map((f) => fs.readFileSync(f, 'utf8')).join('\n');
}

function dumpLogs() {
  const show = (name, text) => {
    const lines = text.trim().split('\n');
    console.error(`\n--- last lines of the ${name} ---\n${lines.slice(-40).join('\n')}`);
  };
  show('reverie output channel (extension + server stderr)', extensionLog());
  if (fs.existsSync(CS_LOG)) show(`code-server log (${CS_LOG})`, fs.readFileSync(CS_LOG, 'utf8'));
}

(async () => {
  let code = 0;
  try {
    await main();
  } catch (err) {
    code = 1;
    console.error(`${ts()} FAIL: ${err && err.stack ? err.stack : err}`);
    dumpLogs();
  } finally {
    if (KEEP || code) console.log(`kept: ${WORK}`);
    else fs.rmSync(WORK, { recursive: true, force: true });
    process.exit(code);
  }
})();

// The chat view: a webview panel holding one conversation with reverie. Every question asked from a
// command (Ask, Explain symbol, ...) or typed in the view joins the panel's conversation (one
// `conversation` id per chat session; "New chat" starts another), answers stream in as they are
// written (`reverie/answerChunk`), and citations open the file at the cited line.

import * as crypto from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import * as vscode from 'vscode';
import { type Answer, renderContext, renderMarkdown, renderUsage, sourceLabel, sourcesOf } from './render';

/** The `reverie/ask` params (without `conversation` and `token`, which the chat adds). */
export interface Question {
  question: string;
  textDocument?: { uri: string };
  position?: { line: number; character: number };
  budget?: number;
  /** Show the model's answer even when it names code not in the workspace (marked, not set aside). */
  showUnverified?: boolean;
  /** The symbol a code action or command asks about: the server centres the context on it. */
  subject?: { name: string; intent: 'explain' | 'debug' | 'usages' };
  /** Shown under the question, e.g. "at shop/cart.py:7". */
  where?: string;
}

export type AskFn = (
  params: Question & { conversation: string; token: string },
  onChunk: (text: string) => void,
) => Promise<Answer>;

type ToWebview =
  | { type: 'reset'; conversation: string }
  | { type: 'question'; id: number; question: string; where?: string }
  | { type: 'partial'; id: number; html: string }
  | {
      type: 'answer';
      id: number;
      html: string;
      source: string;
      label: string;
      detail: string;
      context: string;
      usage: string;
      contextCount: number;
      /** The model's answer was set aside: the view offers to ask again showing it. */
      setAside: boolean;
    }
  | { type: 'error'; id: number; message: string }
  | { type: 'busy'; busy: boolean };

type FromWebview =
  | { type: 'ready' }
  | { type: 'ask'; question: string }
  | { type: 'open'; path: string; line: number }
  | { type: 'showUnverified'; id: number }
  | { type: 'newChat' };

function newConversationId(): string {
  return `vscode-${Date.now().toString(36)}-${crypto.randomBytes(4).toString('hex')}`;
}

export class ChatPanel implements vscode.Disposable {
  private panel: vscode.WebviewPanel | undefined;
  private ready = false;
  private queue: ToWebview[] = [];
  /** Everything posted since the last reset, replayed if the webview reloads. */
  private transcript: ToWebview[] = [];
  private conversation = newConversationId();
  /** Identifies a question's place in the view and its stream, across conversations. */
  private nextId = 1;
  /** The question's number in the current conversation (for the log): 1 again after "New chat". */
  private turn = 0;
  private pending: Promise<unknown> = Promise.resolve();
  private busyCount = 0;
  /** Each turn's question, to ask again showing a set-aside answer. */
  private questions = new Map<number, Question>();

  constructor(
    private readonly extensionUri: vscode.Uri,
    private readonly ask: AskFn,
    private readonly log: (line: string) => void,
  ) {}

  /** Shows the panel (creating it if needed). */
  show(preserveFocus = false): void {
    if (this.panel) {
      this.panel.reveal(undefined, preserveFocus);
      return;
    }
    const column = vscode.window.activeTextEditor ? vscode.ViewColumn.Beside : vscode.ViewColumn.Active;
    const panel = vscode.window.createWebviewPanel(
      'reverie.chat',
      'reverie',
      { viewColumn: column, preserveFocus },
      {
        enableScripts: true,
        retainContextWhenHidden: true,
        localResourceRoots: [vscode.Uri.joinPath(this.extensionUri, 'media')],
      },
    );
    panel.iconPath = vscode.Uri.joinPath(this.extensionUri, 'media', 'reverie.svg');
    this.panel = panel;
    this.ready = false;
    this.queue = [...this.transcript];
    panel.webview.html = this.html(panel.webview);
    panel.webview.onDidReceiveMessage((m: FromWebview) => this.receive(m));
    panel.onDidDispose(() => {
      this.panel = undefined;
      this.ready = false;
    });
  }

  /** Starts a new conversation (clears the view). */
  newChat(): void {
    this.conversation = newConversationId();
    this.turn = 0;
    this.transcript = [];
    this.questions.clear();
    this.post({ type: 'reset', conversation: this.conversation });
  }

  /** Asks a question in the current conversation; resolves when the answer is complete. */
  submit(question: Question): Promise<void> {
    this.show(true);
    const id = this.nextId++;
    this.questions.set(id, question);
    this.post({ type: 'question', id, question: question.question, where: question.where });
    const conversation = this.conversation;
    this.turn += 1;
    this.log(`asking (conversation ${conversation}, turn ${this.turn}): ${question.question}`);
    this.setBusy(+1);
    // One question at a time per conversation: a follow-up must see the previous turn.
    const run = this.pending.then(() => this.run(id, conversation, question));
    this.pending = run.catch(() => undefined);
    return run.finally(() => this.setBusy(-1));
  }

  private async run(id: number, conversation: string, question: Question): Promise<void> {
    const token = `${conversation}#${id}`;
    let streamed = '';
    let timer: NodeJS.Timeout | undefined;
    const flush = () => {
      timer = undefined;
      this.post({ type: 'partial', id, html: renderMarkdown(streamed, (p) => this.exists(p)) });
    };
    const { where: _where, ...params } = question;
    try {
      const answer = await this.ask({ ...params, conversation, token }, (text) => {
        streamed += text;
        timer ??= setTimeout(flush, 40);
      });
      if (timer) clearTimeout(timer);
      const known = new Set(answer.context.map((c) => c.path));
      const isKnown = (p: string) => known.has(p) || this.exists(p);
      const { label, detail } = sourceLabel(answer.source);
      this.post({
        type: 'answer',
        id,
        // An answer that is a list of places (no model: the context; facts: the callers) shows its
        // first items; a model's prose is left whole.
        html: renderMarkdown(answer.answer, isKnown, { foldLists: answer.source === 'context' || answer.source === 'facts' }),
        source: answer.source,
        label,
        detail,
        context: renderContext(sourcesOf(answer)),
        usage: renderUsage(answer),
        contextCount: sourcesOf(answer).length,
        setAside: answer.set_aside === true,
      });
    } catch (err) {
      if (timer) clearTimeout(timer);
      const message = err instanceof Error ? err.message : String(err);
      this.log(`ask failed: ${message}`);
      this.post({ type: 'error', id, message });
    }
  }

  private setBusy(delta: number): void {
    this.busyCount += delta;
    this.post({ type: 'busy', busy: this.busyCount > 0 });
  }

  private receive(m: FromWebview): void {
    switch (m.type) {
      case 'ready':
        this.ready = true;
        for (const queued of this.queue.splice(0)) void this.panel?.webview.postMessage(queued);
        void this.panel?.webview.postMessage({ type: 'busy', busy: this.busyCount > 0 });
        break;
      case 'ask':
        this.log(`chat view: ask ${JSON.stringify(m.question)}`);
        if (m.question.trim()) void this.submit({ question: m.question.trim() });
        break;
      case 'open':
        void this.openCitation(m.path, m.line);
        break;
      case 'showUnverified': {
        // Asks the same question again, keeping the model's answer (its unverified names marked).
        const question = this.questions.get(m.id);
        this.log(`chat view: show the set-aside answer of turn ${m.id}`);
        if (question) void this.submit({ ...question, showUnverified: true, where: 'the model\'s answer, shown anyway' });
        break;
      }
      case 'newChat':
        this.newChat();
        break;
    }
  }

  private post(message: ToWebview): void {
    if (message.type === 'reset') this.transcript = [];
    else if (message.type !== 'busy' && message.type !== 'partial') this.transcript.push(message);
    if (!this.panel) return;
    if (this.ready) void this.panel.webview.postMessage(message);
    else if (message.type === 'reset') this.queue = [message];
    else this.queue.push(message);
  }

  /** The file a cited path names: absolute, or relative to a workspace folder. */
  resolve(cited: string): vscode.Uri | undefined {
    if (path.isAbsolute(cited)) return fs.existsSync(cited) ? vscode.Uri.file(cited) : undefined;
    for (const folder of vscode.workspace.workspaceFolders ?? []) {
      if (folder.uri.scheme !== 'file') continue;
      const file = path.join(folder.uri.fsPath, cited);
      if (fs.existsSync(file)) return vscode.Uri.file(file);
    }
    return undefined;
  }

  private exists(cited: string): boolean {
    return this.resolve(cited) !== undefined;
  }

  async openCitation(cited: string, line: number): Promise<void> {
    const uri = this.resolve(cited);
    if (!uri) {
      void vscode.window.showWarningMessage(`reverie: ${cited} is not in the workspace.`);
      return;
    }
    const position = new vscode.Position(Math.max(0, line - 1), 0);
    const column =
      this.panel?.viewColumn === vscode.ViewColumn.One ? vscode.ViewColumn.Two : vscode.ViewColumn.One;
    const editor = await vscode.window.showTextDocument(uri, {
      viewColumn: column,
      selection: new vscode.Range(position, position),
      preserveFocus: false,
    });
    editor.revealRange(new vscode.Range(position, position), vscode.TextEditorRevealType.InCenterIfOutsideViewport);
  }

  private html(webview: vscode.Webview): string {
    const nonce = crypto.randomBytes(16).toString('base64');
    const media = (file: string) => webview.asWebviewUri(vscode.Uri.joinPath(this.extensionUri, 'media', file));
    const csp = [
      "default-src 'none'",
      `style-src ${webview.cspSource}`,
      `font-src ${webview.cspSource}`,
      `img-src ${webview.cspSource} data:`,
      `script-src 'nonce-${nonce}'`,
    ].join('; ');
    return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="UTF-8">
<meta http-equiv="Content-Security-Policy" content="${csp}">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<link rel="stylesheet" href="${media('chat.css')}">
<title>reverie</title>
</head>
<body>
<header>
  <span class="title">reverie</span>
  <span class="spacer"></span>
  <button id="new-chat" type="button" title="Start a new conversation">New chat</button>
</header>
<main id="log" aria-live="polite">
  <p class="empty" id="empty">Ask about this codebase. Answers cite <code>file:line</code>; click a citation to open it.</p>
</main>
<form id="ask-form">
  <textarea id="question" rows="2" placeholder="Ask a follow-up… (Enter to send, Shift+Enter for a new line)" aria-label="Question"></textarea>
  <button id="ask-button" type="submit">Ask</button>
</form>
<script nonce="${nonce}" src="${media('chat.js')}"></script>
</body>
</html>`;
  }

  dispose(): void {
    this.panel?.dispose();
  }
}

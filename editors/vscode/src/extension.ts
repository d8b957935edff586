// The reverie extension: starts `reverie serve` (vscode-languageclient), passes the settings as the
// server's configuration, follows `reverie/status` in the status bar, and runs questions in the chat
// view (`reverie/ask` with a conversation id and streamed `reverie/answerChunk`s).

import * as vscode from 'vscode';
import {
  DidChangeConfigurationNotification,
  ExecuteCommandRequest,
  LanguageClient,
  type LanguageClientOptions,
  RevealOutputChannelOn,
  type ServerOptions,
  State,
} from 'vscode-languageclient/node';
import { INSTALL_STEPS, resolveServer } from './binary';
import { clientLogLine } from './log';
import { ChatPanel, type Question } from './chat';
import type { Answer } from './render';
import {
  afterChange,
  didChangeConfigurationParams,
  needsRestart,
  readSettings,
  type ReverieSettings,
  serverConfig,
  serverEnv,
} from './settings';
import { describeStatus, type ServerStatus, StatusBar } from './status';

/** Languages reverie indexes; their open buffers are synced to the server. */
const LANGUAGES = [
  'rust',
  'python',
  'javascript',
  'javascriptreact',
  'typescript',
  'typescriptreact',
  'go',
  'java',
  'c',
  'cpp',
  'ruby',
  'php',
  'csharp',
  'lua',
  'shellscript',
  'kotlin',
  'swift',
  'scala',
  'elixir',
  'haskell',
  'ocaml',
  'zig',
  'markdown',
  'ocaml.interface',
  'restructuredtext',
];

const ARCHITECTURE_QUESTION = 'Give me the architecture overview of this codebase';

class Reverie implements vscode.Disposable {
  private client: LanguageClient | undefined;
  private starting: Promise<LanguageClient | undefined> | undefined;
  private settings: ReverieSettings;
  private readonly output: vscode.OutputChannel;
  private readonly status: StatusBar;
  readonly chat: ChatPanel;
  private readonly chunkHandlers = new Map<string, (text: string) => void>();
  private missingProblem: string | undefined;

  constructor(private readonly context: vscode.ExtensionContext) {
    this.settings = this.readSettings();
    this.output = vscode.window.createOutputChannel('reverie');
    this.status = new StatusBar('reverie.showStatus');
    this.chat = new ChatPanel(context.extensionUri, (params, onChunk) => this.ask(params, onChunk), (line) =>
      this.log(line),
    );
  }

  private readSettings(): ReverieSettings {
    const config = vscode.workspace.getConfiguration('reverie');
    return readSettings((key) => config.get(key));
  }

  log(line: string): void {
    this.output.appendLine(`[extension ${new Date().toISOString()}] ${line}`);
  }

  /** Starts the server (once; concurrent callers share the start). */
  start(): Promise<LanguageClient | undefined> {
    this.starting ??= this.doStart().finally(() => {
      this.starting = undefined;
    });
    return this.starting;
  }

  private async doStart(): Promise<LanguageClient | undefined> {
    if (this.client) return this.client;
    // `this.settings` is read once at activation and then only through `configurationChanged`: a
    // restart uses the same server path as the start did.
    const resolved = resolveServer(this.settings.serverPath);
    if (!resolved.ok) {
      this.missingProblem = resolved.problem;
      this.status.local('missing', `${resolved.problem} ${INSTALL_STEPS}`);
      this.log(`${resolved.problem} ${INSTALL_STEPS}`);
      void this.showMissing();
      return undefined;
    }
    this.missingProblem = undefined;
    this.status.local('starting', `starting ${resolved.path} serve`);
    this.log(`starting ${resolved.path} serve (REVERIE_LOG=${this.settings.logLevel})`);

    const serverOptions: ServerOptions = {
      command: resolved.path,
      args: ['serve'],
      options: { env: serverEnv(this.settings, process.env) },
    };
    const clientOptions: LanguageClientOptions = {
      documentSelector: LANGUAGES.map((language) => ({ scheme: 'file', language })),
      initializationOptions: serverConfig(this.settings),
      outputChannel: clientChannel(this.output),
      revealOutputChannelOn: RevealOutputChannelOn.Never,
      middleware: {
        // The server's code actions ("Explain …", "How to debug …") run `reverie.ask`: answer them in
        // the chat view instead of the server's markdown document.
        executeCommand: async (command, args, next) => {
          const first = args[0] as Partial<Question> | undefined;
          if (command === 'reverie.ask' && first && typeof first.question === 'string') {
            await this.chat.submit({
              question: first.question,
              textDocument: first.textDocument,
              position: first.position,
              budget: first.budget,
              subject: first.subject,
              where: this.whereOf(first),
            });
            return undefined;
          }
          return next(command, args);
        },
      },
    };
    const client = new LanguageClient('reverie', 'reverie', serverOptions, clientOptions);
    // The server sends `reverie/status` notifications only to clients that say they handle them.
    client.registerFeature({
      fillClientCapabilities: (capabilities) => {
        capabilities.experimental = { ...(capabilities.experimental ?? {}), reverie: { statusNotification: true } };
      },
      initialize: () => undefined,
      getState: () => ({ kind: 'static' }),
      clear: () => undefined,
    });
    client.onNotification('reverie/status', (s: ServerStatus) => this.status.update(s));
    client.onNotification('reverie/answerChunk', (p: { token: string; text: string }) =>
      this.chunkHandlers.get(p.token)?.(p.text),
    );
    client.onDidChangeState((e) => {
      if (e.newState === State.Stopped && this.client === client) {
        this.status.local('stopped', 'the reverie server stopped; run "reverie: Restart server"');
      }
    });
    this.client = client;
    try {
      await client.start();
    } catch (err) {
      this.client = undefined;
      const message = err instanceof Error ? err.message : String(err);
      this.log(`the server did not start: ${message}`);
      this.status.local('stopped', `the reverie server did not start: ${message}`);
      void vscode.window
        .showErrorMessage(`reverie: the server did not start (${message}).`, 'Show log')
        .then((pick) => pick && this.output.show());
      return undefined;
    }
    try {
      this.status.update(await client.sendRequest<ServerStatus>('reverie/status'));
    } catch (err) {
      this.log(`reverie/status failed: ${String(err)}`);
    }
    return client;
  }

  async stop(): Promise<void> {
    const client = this.client;
    this.client = undefined;
    if (!client) return;
    try {
      await client.stop(5000);
      this.log('the server stopped (shutdown and exit, exit code 0)');
    } catch (err) {
      this.log(`stopping the server: ${String(err)}`);
    }
  }

  async restart(): Promise<void> {
    await this.starting?.catch(() => undefined);
    await this.stop();
    await this.start();
  }

  private async showMissing(): Promise<void> {
    // In a remote window (code-server, Remote-SSH, WSL, containers) reverie.serverPath, a
    // machine-scoped setting, is set on the Remote tab of the Settings: lead there.
    const remote = vscode.env.remoteName;
    const where = remote ? ` In this remote window (${remote}), set reverie.serverPath on the Remote tab of the Settings.` : '';
    const pick = await vscode.window.showErrorMessage(
      `reverie: ${this.missingProblem} ${INSTALL_STEPS}${where}`,
      remote ? 'Open Remote Settings' : 'Open Settings',
      'Install steps',
      'Retry',
    );
    if (pick === 'Open Remote Settings') {
      await this.openRemoteSettings();
    } else if (pick === 'Open Settings') {
      await vscode.commands.executeCommand('workbench.action.openSettings', 'reverie.serverPath');
    } else if (pick === 'Install steps') {
      const readme = vscode.Uri.joinPath(this.context.extensionUri, 'README.md');
      await vscode.commands.executeCommand('markdown.showPreview', readme);
    } else if (pick === 'Retry') {
      await this.start();
    }
  }

  /** The Remote tab of the Settings, searching for reverie.serverPath. */
  private async openRemoteSettings(): Promise<void> {
    try {
      await vscode.commands.executeCommand('workbench.action.openRemoteSettings', { query: '@id:reverie.serverPath' });
    } catch (err) {
      this.log(`opening the remote settings failed (${String(err)}); opening the settings`);
      await vscode.commands.executeCommand('workbench.action.openSettings', 'reverie.serverPath');
    }
  }

  /** The running client, starting it if needed; throws a readable error when there is none. */
  private async running(): Promise<LanguageClient> {
    const client = this.client?.isRunning() ? this.client : await this.start();
    if (!client) {
      throw new Error(this.missingProblem ? `${this.missingProblem} ${INSTALL_STEPS}` : 'the reverie server is not running');
    }
    return client;
  }

  async ask(
    params: Omit<Question, 'where'> & { conversation: string; token: string },
    onChunk: (text: string) => void,
  ): Promise<Answer> {
    const client = await this.running();
    this.chunkHandlers.set(params.token, onChunk);
    try {
      return await client.sendRequest<Answer>('reverie/ask', params);
    } finally {
      this.chunkHandlers.delete(params.token);
    }
  }

  /** A configuration change: re-send it, or restart when the process itself must change. */
  async configurationChanged(serverPathChanged: boolean): Promise<void> {
    const before = this.settings;
    const after = afterChange(before, this.readSettings(), serverPathChanged);
    this.settings = after;
    if (!this.client) {
      if (this.missingProblem && before.serverPath !== after.serverPath) await this.start();
      return;
    }
    if (needsRestart(before, after)) {
      this.log('settings changed (server path, log level or a removed key): restarting the server');
      await this.restart();
      return;
    }
    const config = serverConfig(after);
    if (JSON.stringify(config) !== JSON.stringify(serverConfig(before))) {
      this.log(`sending workspace/didChangeConfiguration ${JSON.stringify(config)}`);
      await this.client.sendNotification(DidChangeConfigurationNotification.type, didChangeConfigurationParams(config));
    }
  }

  // ---- commands ----

  /** The focus of a question: the active file and cursor, if any. */
  private focus(): Pick<Question, 'textDocument' | 'position' | 'where'> {
    const editor = vscode.window.activeTextEditor;
    if (!editor || editor.document.uri.scheme !== 'file') return {};
    const position = editor.selection.active;
    return {
      textDocument: { uri: editor.document.uri.toString() },
      position: { line: position.line, character: position.character },
      where: `from ${vscode.workspace.asRelativePath(editor.document.uri)}:${position.line + 1}`,
    };
  }

  private whereOf(q: Partial<Question>): string | undefined {
    if (!q.textDocument) return undefined;
    const file = vscode.workspace.asRelativePath(vscode.Uri.parse(q.textDocument.uri));
    return q.position ? `at ${file}:${q.position.line + 1}` : `in ${file}`;
  }

  async askQuestion(question?: string): Promise<void> {
    const text =
      typeof question === 'string' && question.trim()
        ? question
        : await vscode.window.showInputBox({
            title: 'reverie: Ask',
            prompt: 'Ask about this codebase (answers cite file:line)',
            placeHolder: 'e.g. where is the config loaded?',
            ignoreFocusOut: true,
          });
    if (!text?.trim()) return;
    await this.chat.submit({ question: text.trim(), ...this.focus() });
  }

  /** The symbol at the cursor (or the selected text). */
  private subject():
    | { subject: string; symbol?: string; focus: Pick<Question, 'textDocument' | 'position' | 'where'> }
    | undefined {
    const editor = vscode.window.activeTextEditor;
    if (!editor) {
      void vscode.window.showInformationMessage('reverie: open a file and put the cursor on a symbol first.');
      return undefined;
    }
    const doc = editor.document;
    let subject = editor.selection.isEmpty ? '' : doc.getText(editor.selection).trim();
    if (!subject || subject.length > 200) {
      const range = doc.getWordRangeAtPosition(editor.selection.active);
      subject = range ? doc.getText(range) : '';
    }
    if (!subject) {
      void vscode.window.showInformationMessage('reverie: put the cursor on a symbol (or select it) first.');
      return undefined;
    }
    const start = editor.selection.isEmpty ? editor.selection.active : editor.selection.start;
    const relative = vscode.workspace.asRelativePath(doc.uri);
    return {
      subject: subject.split(/\s+/).join(' '),
      // An identifier (not a selected expression): the server centres the context on its definition.
      symbol: /^[A-Za-z_$][\w$]*$/.test(subject) ? subject : undefined,
      focus: {
        textDocument: doc.uri.scheme === 'file' ? { uri: doc.uri.toString() } : undefined,
        position: { line: start.line, character: start.character },
        where: `at ${relative}:${start.line + 1}`,
      },
    };
  }

  async explainSymbol(): Promise<void> {
    const s = this.subject();
    if (!s) return;
    await this.chat.submit({
      question: `Explain \`${s.subject}\`: what it does, how it is used and why it exists.`,
      subject: s.symbol ? { name: s.symbol, intent: 'explain' } : undefined,
      ...s.focus,
    });
  }

  async debugPlaybook(): Promise<void> {
    const s = this.subject();
    if (!s) return;
    await this.chat.submit({
      question: `How do I debug \`${s.subject}\`? Likely failure modes, error messages, where to put a breakpoint and which tests cover it.`,
      subject: s.symbol ? { name: s.symbol, intent: 'debug' } : undefined,
      ...s.focus,
    });
  }

  async architectureOverview(): Promise<void> {
    await this.chat.submit({ question: ARCHITECTURE_QUESTION });
  }

  async thinkNow(): Promise<void> {
    const client = await this.running().catch((err: Error) => {
      void vscode.window.showErrorMessage(`reverie: ${err.message}`);
      return undefined;
    });
    if (!client) return;
    const commands = client.initializeResult?.capabilities.executeCommandProvider?.commands ?? [];
    if (commands.includes('reverie.think')) {
      // The server reports the outcome itself (window/showMessage): thinking, or why it cannot.
      await client.sendRequest(ExecuteCommandRequest.type, { command: 'reverie.think', arguments: [] });
      return;
    }
    const idle = this.settings.idleAfter || 'server.idle_after (default 20s)';
    const folder = vscode.workspace.workspaceFolders?.[0]?.uri.fsPath;
    const terminal = folder ? `reverie think ${quote(folder)}` : 'reverie think PATH';
    void vscode.window.showInformationMessage(
      `reverie thinks on its own: once the editor has been idle for ${idle}, with a model configured, it writes ` +
        `notes until you come back. This server has no "think now" command; to think right away, run ` +
        `\`${terminal}\` in a terminal.`,
    );
  }

  async showStatus(): Promise<void> {
    if (this.missingProblem && !this.client) {
      await this.showMissing();
      return;
    }
    let client: LanguageClient;
    try {
      client = await this.running();
    } catch (err) {
      void vscode.window.showErrorMessage(`reverie: ${(err as Error).message}`, 'Show log').then(
        (pick) => pick && this.output.show(),
      );
      return;
    }
    const s = await client.sendRequest<ServerStatus>('reverie/status');
    this.status.update(s);
    const show = s.state === 'error' ? vscode.window.showErrorMessage : vscode.window.showInformationMessage;
    const pick = await show(describeStatus(s), 'Re-index', 'Show log');
    if (pick === 'Re-index') await this.reindex();
    else if (pick === 'Show log') this.output.show();
  }

  async reindex(): Promise<void> {
    const client = await this.running();
    await client.sendRequest(ExecuteCommandRequest.type, { command: 'reverie.reindex', arguments: [] });
  }

  showLog(): void {
    this.output.show();
  }

  dispose(): void {
    this.chat.dispose();
    this.status.dispose();
    this.output.dispose();
  }
}

/** The output channel as the language client sees it: its lines pass through `clientLogLine`. */
function clientChannel(output: vscode.OutputChannel): vscode.OutputChannel {
  return new Proxy(output, {
    get(target, property) {
      if (property === 'appendLine') return (line: string) => target.appendLine(clientLogLine(line));
      const value = Reflect.get(target, property, target);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
}

function quote(p: string): string {
  return /^[\w@%+=:,./-]+$/.test(p) ? p : `'${p.replace(/'/g, `'\\''`)}'`;
}

let reverie: Reverie | undefined;

export function activate(context: vscode.ExtensionContext): void {
  const r = new Reverie(context);
  reverie = r;
  context.subscriptions.push(r);
  const command = (id: string, run: (...args: unknown[]) => unknown) =>
    context.subscriptions.push(
      vscode.commands.registerCommand(id, async (...args: unknown[]) => {
        try {
          await run(...args);
        } catch (err) {
          const message = err instanceof Error ? err.message : String(err);
          r.log(`${id} failed: ${message}`);
          void vscode.window.showErrorMessage(`reverie: ${message}`);
        }
      }),
    );
  command('reverie.askQuestion', (q) => r.askQuestion(typeof q === 'string' ? q : undefined));
  command('reverie.explainSymbol', () => r.explainSymbol());
  command('reverie.debugPlaybook', () => r.debugPlaybook());
  command('reverie.architectureOverview', () => r.architectureOverview());
  command('reverie.thinkNow', () => r.thinkNow());
  command('reverie.showStatus', () => r.showStatus());
  command('reverie.openChat', () => r.chat.show());
  command('reverie.newChat', () => {
    r.chat.newChat();
    r.chat.show();
  });
  command('reverie.reindexWorkspace', () => r.reindex());
  command('reverie.restartServer', () => r.restart());
  command('reverie.showLog', () => r.showLog());
  context.subscriptions.push(
    vscode.workspace.onDidChangeConfiguration((e) => {
      if (e.affectsConfiguration('reverie')) void r.configurationChanged(e.affectsConfiguration('reverie.serverPath'));
    }),
  );
  void r.start();
}

export async function deactivate(): Promise<void> {
  await reverie?.stop();
  reverie = undefined;
}

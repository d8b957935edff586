// The status bar item: follows `reverie/status` notifications; a click shows the full status.

import * as vscode from 'vscode';
import { describeSemantic, describeStatus, statusMessage, type ServerStatus } from './statusText';

export { describeStatus, type ServerStatus } from './statusText';

const ICONS: Record<string, string> = {
  indexing: '$(sync~spin)',
  idle: '$(clock)',
  thinking: '$(loading~spin)',
  ready: '$(check)',
  error: '$(error)',
  starting: '$(loading~spin)',
  stopped: '$(debug-disconnect)',
  missing: '$(warning)',
};

export class StatusBar implements vscode.Disposable {
  private readonly item: vscode.StatusBarItem;

  constructor(command: string) {
    this.item = vscode.window.createStatusBarItem('reverie.status', vscode.StatusBarAlignment.Left, 10);
    this.item.name = 'reverie';
    this.item.command = command;
    this.local('starting', 'starting the reverie language server');
    this.item.show();
  }

  /** A state of the extension itself (before or without a server). */
  local(state: 'starting' | 'stopped' | 'missing', message: string): void {
    this.item.text = `${ICONS[state]} reverie: ${state === 'missing' ? 'not installed' : state}`;
    this.item.tooltip = message;
    this.item.accessibilityInformation = { label: `reverie ${state}: ${message}` };
    this.item.backgroundColor =
      state === 'starting' ? undefined : new vscode.ThemeColor('statusBarItem.warningBackground');
  }

  update(s: ServerStatus): void {
    const fresh = Math.max(0, s.notes - s.stale);
    const counts = s.state === 'indexing' && !s.files ? '' : ` · ${s.files} files`;
    const notes = s.notes ? ` · ${fresh}/${s.notes} notes` : '';
    this.item.text = `${ICONS[s.state] ?? '$(question)'} reverie: ${s.state}${counts}${notes}`;
    const tooltip = new vscode.MarkdownString(undefined, true);
    tooltip.appendMarkdown(`**reverie: ${s.state}**\n\n`);
    tooltip.appendMarkdown(`- ${s.files} indexed files\n`);
    tooltip.appendMarkdown(`- ${fresh} fresh notes, ${s.stale} stale\n`);
    const semantic = describeSemantic(s);
    if (semantic) tooltip.appendMarkdown(`- ${semantic}\n`);
    const message = statusMessage(s);
    if (message) tooltip.appendMarkdown(`\n${escapeMarkdown(message)}\n`);
    tooltip.appendMarkdown('\n_Click for the status._');
    this.item.tooltip = tooltip;
    this.item.accessibilityInformation = { label: describeStatus(s) };
    this.item.backgroundColor =
      s.state === 'error' ? new vscode.ThemeColor('statusBarItem.errorBackground') : undefined;
  }

  dispose(): void {
    this.item.dispose();
  }
}

function escapeMarkdown(text: string): string {
  return text.replace(/[\\`*_{}[\]()#+\-.!<>|]/g, '\\$&');
}

// Answers -> HTML for the chat view. Pure (no `vscode` import) so it is unit-tested.
//
// Markdown is rendered with `marked` (bundled; no CDN). Answers quote the user's code and a model's
// words, so nothing in them may become markup: raw HTML is shown as text, links keep only http(s)
// and mailto targets, images become their alt text. `path:line` and `path:start-end` citations of
// files reverie knows become links that open the file at that line (the webview's click handler
// posts them to the extension).

import { Marked, type Tokens } from 'marked';

/** One item of an answer's context, as `reverie/ask` returns it. */
export interface ContextItem {
  path: string;
  start_line: number;
  end_line: number;
  kind: string;
  score?: number;
  tokens?: number;
  reason?: string;
  text?: string;
  stale?: boolean;
}

/** The `reverie/ask` result. */
export interface Answer {
  answer: string;
  source: string;
  context: ContextItem[];
  usage?: { test_prompt_tokens?: number; test_completion_tokens?: number; llm_calls?: number };
  /** Names the model's answer wrote that are not in the workspace (marked ⚠ in `answer`). */
  unverified?: string[];
  /** The model's answer named mostly such code and was replaced by the context (`source: context`). */
  set_aside?: boolean;
}

export function escapeHtml(text: string): string {
  return text
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&#39;');
}

/** A citation: `path:line` or `path:start-end`. The path is relative to the workspace (or absolute). */
const CITATION = /^(?<path>[^\s:`'"()<>]+\.[A-Za-z0-9_+-]+|[^\s:`'"()<>]*\/[^\s:`'"()<>]+):(?<start>\d+)(?:-(?<end>\d+))?$/;
const CITATION_IN_TEXT =
  /(?<![\w/.-])(?<path>(?:\/|\.{1,2}\/)?[\w.-]+(?:\/[\w.-]+)*\.[A-Za-z0-9_+-]+):(?<start>\d+)(?:-(?<end>\d+))?(?![\w⚠])/g; // ⚠: marked as not found

export interface Citation {
  path: string;
  line: number;
  endLine?: number;
}

export function parseCitation(text: string): Citation | undefined {
  const m = CITATION.exec(text.trim());
  if (!m?.groups) return undefined;
  const line = Number(m.groups.start);
  if (!(line >= 1)) return undefined;
  const end = m.groups.end ? Number(m.groups.end) : undefined;
  return { path: m.groups.path, line, endLine: end };
}

/** The anchor for a citation; `inner` is already HTML. */
export function citationLink(c: Citation, inner: string): string {
  const title = `Open ${c.path} at line ${c.line}`;
  return (
    `<a class="cite" href="#" data-path="${escapeHtml(c.path)}" data-line="${c.line}"` +
    ` title="${escapeHtml(title)}">${inner}</a>`
  );
}

/** Items of a long list of places shown before its "N more" button: an answer reads top-down, from
 * its best items. */
export const SHOWN_ITEMS = 8;

/** The button after a list cut to its first items (the chat view's script shows the rest on a click). */
function moreButton(rest: number): string {
  return `<button type="button" class="more" title="Show the other ${rest} items">${rest} more</button>`;
}

/** A list's items, those after the first `SHOWN_ITEMS` hidden, and the button that shows them. */
function foldItems(items: string[]): { body: string; after: string } {
  if (items.length <= SHOWN_ITEMS) return { body: items.join(''), after: '' };
  const hidden = items.slice(SHOWN_ITEMS).map((li) => li.replace(/^<li\b/, '<li hidden'));
  return { body: [...items.slice(0, SHOWN_ITEMS), ...hidden].join(''), after: moreButton(items.length - SHOWN_ITEMS) };
}

export interface RenderOptions {
  /** Lists of more than `SHOWN_ITEMS` items show their first ones and "N more" (an answer that is a
   * list of places: the context without a model, the callers from facts). */
  foldLists?: boolean;
}

/** Renders markdown to safe HTML; `isKnownPath` says which cited paths become links. */
export function renderMarkdown(markdown: string, isKnownPath: (path: string) => boolean, options: RenderOptions = {}): string {
  const linkText = (escaped: string, raw: string): string => {
    // Link `path:line` in plain text, working on the raw text and escaping the pieces.
    let out = '';
    let last = 0;
    let any = false;
    for (const m of raw.matchAll(CITATION_IN_TEXT)) {
      const path = m.groups!.path;
      if (!isKnownPath(path)) continue;
      any = true;
      out += escapeHtml(raw.slice(last, m.index));
      const c: Citation = { path, line: Number(m.groups!.start) };
      out += citationLink(c, escapeHtml(m[0]));
      last = m.index! + m[0].length;
    }
    return any ? out + escapeHtml(raw.slice(last)) : escaped;
  };
  const marked = new Marked({
    gfm: true,
    breaks: false,
    renderer: {
      html(token: Tokens.HTML | Tokens.Tag): string {
        return escapeHtml(token.text);
      },
      codespan(token: Tokens.Codespan): string {
        // marked keeps the code span's text raw (entities are not decoded) and escapes here.
        const code = `<code>${escapeHtml(token.text)}</code>`;
        const c = parseCitation(token.text);
        return c && isKnownPath(c.path) ? citationLink(c, code) : code;
      },
      text(token: Tokens.Text | Tokens.Escape): string {
        if ('tokens' in token && token.tokens) return this.parser.parseInline(token.tokens);
        if (token.type === 'escape') return escapeHtml(token.text);
        return linkText(escapeHtml(token.text), token.text);
      },
      link(token: Tokens.Link): string {
        const inner = this.parser.parseInline(token.tokens);
        if (!/^(https?:|mailto:)/i.test(token.href)) return inner;
        const title = token.title ? ` title="${escapeHtml(token.title)}"` : '';
        return `<a href="${escapeHtml(token.href)}"${title}>${inner}</a>`;
      },
      image(token: Tokens.Image): string {
        return escapeHtml(token.text);
      },
      list(token: Tokens.List): string | false {
        if (!options.foldLists || token.items.length <= SHOWN_ITEMS) return false; // marked's own
        const tag = token.ordered ? 'ol' : 'ul';
        const start = token.ordered && token.start !== 1 && token.start !== '' ? ` start="${Number(token.start)}"` : '';
        const { body, after } = foldItems(token.items.map((item) => this.listitem(item)));
        return `<${tag}${start}>\n${body}</${tag}>\n${after}`;
      },
    },
  });
  return unlinkUnverified(marked.parse(markdown, { async: false }) as string);
}

/** The server marks a name it did not find in the workspace with ⚠ after it, and lists them in a
 * paragraph of their own: a citation so marked (a missing file, a line past the end) stays text. */
function unlinkUnverified(html: string): string {
  const link = /<a class="cite"[^>]*>(.*?)<\/a>/g;
  return html
    .replace(/<a class="cite"[^>]*>(<code>[^<]*<\/code>)<\/a>⚠/g, '$1⚠')
    .replace(/<p>⚠ (?:N|n)ot found in this workspace:.*?<\/p>/gs, (p) => p.replace(link, '$1'));
}

/** How the chat labels an answer's source. */
export function sourceLabel(source: string): { label: string; detail: string } {
  switch (source) {
    case 'anticipated':
      return { label: 'anticipated', detail: 'prepared while you were away; no model call' };
    case 'facts':
      return { label: 'facts', detail: 'answered from the index; no model call' };
    case 'model':
      return { label: 'model', detail: 'written by the configured model from the cited context' };
    case 'context':
      return { label: 'context only', detail: 'no model answer: the ranked context is what to read' };
    default:
      return { label: source || 'unknown', detail: '' };
  }
}

/** Plain text with `code spans` (as reverie writes reasons) as HTML: escaped, spans as <code>. */
export function inlineCode(text: string): string {
  return escapeHtml(text).replace(/`([^`]+)`/g, '<code>$1</code>');
}

/** The items listed under an answer as its sources: none for a context-only answer, whose text
 * already is that list (with the code), so it is not repeated. */
export function sourcesOf(answer: Answer): ContextItem[] {
  return answer.source === 'context' ? [] : answer.context;
}

/** The "sources" list under an answer: one citation link per context item, the first `SHOWN_ITEMS`
 * shown and the rest behind "N more". */
export function renderContext(items: ContextItem[]): string {
  if (!items.length) return '';
  const rows = items.map((item) => {
    const lines = item.end_line > item.start_line ? `${item.start_line}-${item.end_line}` : `${item.start_line}`;
    const label = `${item.path}:${lines}`;
    const link = citationLink({ path: item.path, line: Math.max(1, item.start_line) }, escapeHtml(label));
    const stale = item.stale ? ' <span class="stale" title="from a note whose inputs changed since it was written">stale</span>' : '';
    const why = item.reason ? ` — ${inlineCode(item.reason)}` : '';
    return `<li>${link} <span class="kind">${escapeHtml(item.kind)}</span>${stale}${why}</li>`;
  });
  const { body, after } = foldItems(rows);
  return `<ol class="context">${body}</ol>${after}`;
}

/** A one-line usage summary, or '' when no model was called. */
export function renderUsage(answer: Answer): string {
  const u = answer.usage;
  if (!u || !u.llm_calls) return '';
  const prompt = u.test_prompt_tokens ?? 0;
  const completion = u.test_completion_tokens ?? 0;
  return `${u.llm_calls} model call${u.llm_calls === 1 ? '' : 's'} · ${prompt} prompt + ${completion} completion tokens`;
}

// The chat view's script (runs in the webview). The extension renders the markdown (escaped, with
// citation links) and posts HTML; this script places it, sends questions, and turns citation clicks
// into `open` messages for the extension.
(function () {
  const vscode = acquireVsCodeApi();
  const log = document.getElementById('log');
  const empty = document.getElementById('empty');
  const form = document.getElementById('ask-form');
  const input = document.getElementById('question');
  const button = document.getElementById('ask-button');
  let busy = false;

  function turn(id) {
    return document.getElementById('turn-' + id);
  }

  function el(tag, cls, text) {
    const e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined) e.textContent = text;
    return e;
  }

  // A turn reads top-down: its start (the question, then the best item) is what the view shows.
  function showStart(t) {
    log.scrollTop = t.offsetTop - log.offsetTop;
  }

  function addQuestion(m) {
    empty.hidden = true;
    const section = el('section', 'turn pending');
    section.id = 'turn-' + m.id;
    section.dataset.state = 'pending';
    const q = el('div', 'question');
    q.appendChild(el('span', 'who', 'You'));
    q.appendChild(el('div', 'text', m.question));
    if (m.where) q.appendChild(el('div', 'where', m.where));
    section.appendChild(q);
    const a = el('div', 'answer markdown');
    a.appendChild(el('span', 'thinking', 'reverie is answering…'));
    section.appendChild(a);
    log.appendChild(section);
    showStart(section);
  }

  window.addEventListener('message', (event) => {
    const m = event.data;
    switch (m.type) {
      case 'reset':
        for (const t of Array.from(log.querySelectorAll('.turn'))) t.remove();
        empty.hidden = false;
        break;
      case 'question':
        addQuestion(m);
        break;
      case 'partial': {
        const t = turn(m.id);
        if (!t || t.dataset.state !== 'pending') break;
        t.dataset.state = 'streaming';
        t.classList.add('streaming');
        t.querySelector('.answer').innerHTML = m.html;
        break;
      }
      case 'answer': {
        const t = turn(m.id);
        if (!t) break;
        t.dataset.state = 'done';
        t.dataset.source = m.source;
        t.classList.remove('pending', 'streaming');
        const answer = t.querySelector('.answer');
        // A long list of places comes with its first items shown and the rest behind "N more"
        // (render.ts decides; the click below shows them).
        answer.innerHTML = m.html;
        const meta = el('div', 'meta');
        const badge = el('span', 'source source-' + m.source, m.label);
        badge.title = m.detail;
        meta.appendChild(badge);
        if (m.detail) meta.appendChild(el('span', 'detail', m.detail));
        if (m.usage) meta.appendChild(el('span', 'usage', m.usage));
        t.appendChild(meta);
        if (m.setAside) {
          // The model's answer named code that is not in the workspace: offer it anyway, marked.
          const again = el('button', 'show-unverified', "Show the model's answer anyway");
          again.type = 'button';
          again.dataset.turn = String(m.id);
          t.appendChild(again);
        }
        if (m.context) {
          const details = el('details', 'sources');
          details.open = true;
          details.appendChild(el('summary', '', 'Sources (' + m.contextCount + ')'));
          const body = el('div');
          body.innerHTML = m.context;
          details.appendChild(body);
          t.appendChild(details);
        }
        showStart(t);
        break;
      }
      case 'error': {
        const t = turn(m.id);
        if (!t) break;
        t.dataset.state = 'error';
        t.classList.remove('pending', 'streaming');
        t.classList.add('failed');
        const a = t.querySelector('.answer');
        a.textContent = '';
        a.appendChild(el('div', 'error', 'reverie could not answer: ' + m.message));
        break;
      }
      case 'busy':
        busy = m.busy;
        button.disabled = busy;
        button.textContent = busy ? 'Answering…' : 'Ask';
        break;
    }
  });

  document.addEventListener('click', (event) => {
    const more = event.target.closest('button.more');
    if (more) {
      const list = more.previousElementSibling;
      if (list) for (const li of list.querySelectorAll(':scope > li[hidden]')) li.hidden = false;
      more.remove();
      return;
    }
    const again = event.target.closest('button.show-unverified');
    if (again) {
      again.disabled = true;
      vscode.postMessage({ type: 'showUnverified', id: Number(again.dataset.turn) });
      return;
    }
    const a = event.target.closest('a.cite');
    if (a) {
      event.preventDefault();
      vscode.postMessage({ type: 'open', path: a.dataset.path, line: Number(a.dataset.line) });
    }
  });

  function send() {
    const question = input.value.trim();
    if (!question || busy) return;
    input.value = '';
    vscode.postMessage({ type: 'ask', question });
  }

  form.addEventListener('submit', (event) => {
    event.preventDefault();
    send();
  });
  input.addEventListener('keydown', (event) => {
    if (event.key === 'Enter' && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      send();
    }
  });
  document.getElementById('new-chat').addEventListener('click', () => vscode.postMessage({ type: 'newChat' }));

  vscode.postMessage({ type: 'ready' });
  input.focus();
})();

// The alice console: plain JS, no framework, no build step. Every call goes
// to the supervisor (same origin) with the session cookie; state-changing
// calls carry the CSRF token. Text from the server is only ever set with
// textContent, never parsed as HTML.
'use strict';

const S = { csrf: null, timers: [], results: {}, chat: {} };
const $ = (sel, root) => (root || document).querySelector(sel);

function el(tag, attrs, ...kids) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k === 'on') for (const [ev, f] of Object.entries(v)) e.addEventListener(ev, f);
    else if (k === 'text') e.textContent = v;
    else if (v === true) e.setAttribute(k, '');
    else if (v !== null && v !== undefined && v !== false) e.setAttribute(k, v);
  }
  for (const kid of kids.flat()) {
    if (kid === null || kid === undefined) continue;
    e.append(kid instanceof Node ? kid : document.createTextNode(String(kid)));
  }
  return e;
}

function showError(text) {
  const box = $('#error');
  box.textContent = text || '';
  box.hidden = !text;
}

// One call to the supervisor: JSON in and out; a refusal becomes an Error
// whose message is the server's own `error` text.
async function api(method, path, body, headers) {
  const opts = { method, credentials: 'same-origin', headers: Object.assign({}, headers) };
  if (method !== 'GET') opts.headers['X-CSRF-Token'] = S.csrf || '';
  if (body !== undefined) {
    opts.headers['Content-Type'] = 'application/json';
    opts.body = JSON.stringify(body);
  }
  const res = await fetch(path, opts);
  const text = await res.text();
  let data = null;
  try { data = text ? JSON.parse(text) : null; } catch (_) { data = text; }
  if (res.status === 401 && path !== '/console/login') {
    showLogin('Your session ended; log in again.');
  }
  if (!res.ok) {
    const reason = data && data.error ? data.error : (text || res.statusText);
    const err = new Error(res.status + ': ' + reason);
    err.status = res.status;
    throw err;
  }
  return { status: res.status, data, headers: res.headers };
}

function every(ms, f) {
  f();
  S.timers.push(setInterval(f, ms));
}

function clearTimers() {
  S.timers.forEach(clearInterval);
  S.timers = [];
  if (S.source) { S.source.close(); S.source = null; }
}

// ---- login ----

function showLogin(message) {
  clearTimers();
  S.csrf = null;
  $('#nav').hidden = true;
  $('#view').replaceChildren();
  $('#login-view').hidden = false;
  showError(message || '');
}

async function login(event) {
  event.preventDefault();
  try {
    const res = await api('POST', '/console/login', { token: $('#token').value });
    S.csrf = res.data.csrf_token;
    $('#token').value = '';
    showError('');
    enter();
  } catch (e) {
    showError(e.status === 401 ? 'Wrong admin token.' : e.message);
  }
}

async function logout() {
  try { await api('POST', '/console/logout'); } catch (e) { /* ended anyway */ }
  showLogin('Logged out.');
}

function enter() {
  $('#login-view').hidden = true;
  $('#nav').hidden = false;
  if (!location.hash || location.hash === '#/') location.hash = '#/bots';
  else route();
}

// ---- pages ----

function route() {
  if (!S.csrf) return;
  clearTimers();
  showError('');
  const parts = location.hash.replace(/^#\/?/, '').split('/').map(decodeURIComponent);
  const view = $('#view');
  view.replaceChildren();
  const page = { bots: botsPage, bot: botPage, runs: runsPage, run: runPage, chat: chatPage, start: startPage }[parts[0]] || botsPage;
  page(view, parts[1]).catch((e) => showError(e.message));
}

function fmtSecs(s) {
  if (s === null || s === undefined) return '—';
  if (s < 120) return s + ' s';
  if (s < 7200) return Math.floor(s / 60) + ' min';
  return Math.floor(s / 3600) + ' h';
}

function resultSpan(key) {
  const r = S.results[key];
  return el('span', { class: 'result' + (r && r.bad ? ' bad' : ''), 'data-result': key, text: r ? r.text : '' });
}

// Runs `call`, then shows its outcome in the result span of `key`.
async function act(key, label, call, after) {
  S.results[key] = { text: label + '…' };
  paintResult(key);
  try {
    const res = await call();
    S.results[key] = { text: label + ': ' + describe(res) };
  } catch (e) {
    S.results[key] = { text: label + ' failed: ' + e.message, bad: true };
  }
  paintResult(key);
  if (after) after();
}

function describe(res) {
  const d = res && res.data;
  if (d && d.state) return d.state;
  if (d && d.status) return d.status;
  return 'done (' + res.status + ')';
}

function paintResult(key) {
  const span = document.querySelector('[data-result="' + CSS.escape(key) + '"]');
  if (span) span.replaceWith(resultSpan(key));
}

async function botsPage(view) {
  const tbody = el('tbody', { id: 'bots-body' });
  view.append(
    el('h1', { text: 'Bots' }),
    el('p', {},
      el('button', { id: 'reload', on: { click: () => act('reload', 'Reload', () => api('POST', '/api/reload'), refresh) } }, 'Reload bots.toml'),
      resultSpan('reload')),
    el('div', { class: 'scroll' }, el('table', { id: 'bots' },
      el('thead', {}, el('tr', {}, ['Bot', 'State', 'Health', 'Uptime', 'Restarts', 'Port', 'Connector', 'Last error', ''].map((h) => el('th', { text: h })))),
      tbody)));
  let probes = null;
  async function refresh() {
    const bots = (await api('GET', '/api/bots')).data;
    // Health comes from the supervisor's probe; without it the column says "n/a".
    try { probes = (await api('GET', '/api/probes')).data; } catch (_) { probes = null; }
    tbody.replaceChildren(...bots.map((b) => botRow(b, probes, refresh)));
  }
  every(3000, () => refresh().catch((e) => showError(e.message)));
}

function health(probes, id) {
  if (!probes) return 'n/a';
  const p = (probes.bots || []).find((x) => x.id === id);
  return p ? p.health : '—';
}

function botRow(b, probes, refresh) {
  const id = b.id;
  const button = (verb) => el('button', {
    'data-action': verb,
    on: { click: () => act(id, verb, () => api('POST', '/api/bots/' + encodeURIComponent(id) + '/' + verb), refresh) },
  }, verb);
  // `127.0.0.1:7331`, `unix:/path`, or both: the TCP port when there is one.
  const tcp = /:(\d+)(?:\s|$)/.exec(b.address || '');
  const port = tcp ? tcp[1] : b.address;
  return el('tr', { 'data-bot': id },
    el('td', {}, el('a', { href: '#/bot/' + encodeURIComponent(id) }, b.name + ' (' + id + ')'),
      el('div', {}, el('a', { href: '#/chat/' + encodeURIComponent(id), class: 'chat-link' }, b.connector === 'local' ? 'chat' : 'history'))),
    el('td', { class: 'state state-' + b.state, text: b.state }),
    el('td', { class: 'health', text: health(probes, id) }),
    el('td', { class: 'uptime', 'data-secs': b.uptime_secs === null ? '' : String(b.uptime_secs), text: fmtSecs(b.uptime_secs) }),
    el('td', { class: 'restarts', text: String(b.restarts) }),
    el('td', { class: 'port', text: port }),
    el('td', { class: 'connector', text: b.connector }),
    el('td', { class: 'last-error', text: b.last_error || '' }),
    el('td', {}, button('start'), button('stop'), button('restart'), resultSpan(id)));
}

// The bot's Runtime API, through the supervisor (which holds the token).
function rt(id, path) {
  return '/console/api/bots/' + encodeURIComponent(id) + '/rt/' + path;
}

async function botPage(view, id) {
  const bot = (await api('GET', '/api/bots/' + encodeURIComponent(id))).data;
  view.append(el('h1', { text: bot.name + ' (' + id + ') — ' + bot.state }));
  view.append(el('p', {}, el('a', { href: '#/chat/' + encodeURIComponent(id) }, bot.connector === 'local' ? 'Open the chat' : 'Read the chat history')));

  const config = el('pre', { id: 'config', text: 'loading…' });
  view.append(el('h2', { text: 'Config (secrets masked)' }), config);
  fetch('/console/api/bots/' + encodeURIComponent(id) + '/config', { credentials: 'same-origin' })
    .then((r) => r.text()).then((t) => { config.textContent = t; });

  view.append(el('h2', { text: 'Tasks' }));
  tasksSection(view, id);
  view.append(el('h2', { text: 'Goals' }));
  goalSection(view, id);
  view.append(el('h2', { text: 'Skills' }));
  const skills = el('ul', { id: 'skills' });
  view.append(skills);
  api('GET', rt(id, 'api/v1/skills'))
    .then((r) => skills.replaceChildren(...(r.data || []).map((s) => el('li', {}, el('strong', { text: s.name }), ' — ', s.description || ''))))
    .catch((e) => skills.replaceChildren(el('li', { class: 'result bad', text: e.message })));
}

function tasksSection(view, id) {
  const filter = el('select', { id: 'task-filter' }, ['all', 'active', 'paused', 'completed', 'cancelled'].map((s) => el('option', { value: s, text: s })));
  const tbody = el('tbody', { id: 'tasks-body' });
  async function refresh() {
    const res = await api('GET', rt(id, 'api/v1/automation/tasks?limit=200&status=' + filter.value));
    tbody.replaceChildren(...res.data.map((t) => taskRow(id, t, refresh)));
  }
  filter.addEventListener('change', () => refresh().catch((e) => showError(e.message)));
  view.append(el('label', {}, 'Status ', filter),
    el('div', { class: 'scroll' }, el('table', { id: 'tasks' },
      el('thead', {}, el('tr', {}, ['Task', 'Status', 'Action', 'When', 'Next run', 'Runs', ''].map((h) => el('th', { text: h })))),
      tbody)),
    newTaskForm(id, refresh));
  every(5000, () => refresh().catch((e) => showError(e.message)));
}

function taskRow(id, t, refresh) {
  const path = rt(id, 'api/v1/automation/tasks/' + encodeURIComponent(t.id));
  const key = 'task-' + t.id;
  const history = el('div', { class: 'history' });
  const set = (status) => el('button', {
    'data-action': status,
    on: { click: () => act(key, status, () => api('PATCH', path, { status }), refresh) },
  }, { paused: 'pause', active: 'resume', cancelled: 'cancel' }[status]);
  const when = t.cron ? 'cron ' + t.cron : t.run_at ? 'at ' + t.run_at : 'every ' + t.every_seconds + ' s';
  return el('tr', { 'data-task': t.id, 'data-title': t.title || '' },
    el('td', {}, el('strong', { text: t.title || t.id }), el('div', { class: 'result', text: t.id })),
    el('td', { class: 'task-status', text: t.status }),
    el('td', { text: t.action + ' → ' + t.scope_type + ':' + t.scope_id }),
    el('td', { text: when }),
    el('td', { text: t.next_run_at || '—' }),
    el('td', { text: String(t.run_count) }),
    el('td', {}, set('paused'), set('active'), set('cancelled'),
      el('button', { 'data-action': 'delete', on: { click: () => act(key, 'delete', () => api('DELETE', path), refresh) } }, 'delete'),
      el('button', { 'data-action': 'history', on: { click: () => showHistory(path, history) } }, 'run history'),
      resultSpan(key), history));
}

async function showHistory(path, box) {
  try {
    const runs = (await api('GET', path + '/runs')).data;
    box.replaceChildren(runs.length
      ? el('ul', {}, runs.map((r) => el('li', { text: (r.started_at || r.due_at) + ' ' + r.outcome + (r.error ? ' — ' + r.error : '') })))
      : el('span', { class: 'result', text: 'no runs yet' }));
  } catch (e) {
    box.replaceChildren(el('span', { class: 'result bad', text: e.message }));
  }
}

function newTaskForm(id, refresh) {
  const f = {
    title: el('input', { name: 'title', placeholder: 'Morning report' }),
    scope_type: el('select', { name: 'scope_type' }, el('option', { value: 'chat', text: 'chat (chat_id)' }), el('option', { value: 'user', text: 'user (open_id)' })),
    scope_id: el('input', { name: 'scope_id', required: true, placeholder: 'oc_…' }),
    action: el('select', { name: 'action' }, el('option', { value: 'send_text', text: 'send text' }), el('option', { value: 'run_llm', text: 'ask the agent' })),
    body: el('textarea', { name: 'body', required: true, placeholder: 'What to send, or the prompt' }),
    when: el('select', { name: 'when' }, el('option', { value: 'every_seconds', text: 'every N seconds' }), el('option', { value: 'cron', text: 'cron' }), el('option', { value: 'run_at', text: 'once at (RFC 3339)' })),
    value: el('input', { name: 'when_value', required: true, value: '3600' }),
  };
  const form = el('form', { id: 'new-task', class: 'stack' },
    el('h3', { text: 'New task' }),
    el('label', {}, 'Title ', f.title), el('label', {}, 'Send to ', f.scope_type, ' ', f.scope_id),
    el('label', {}, 'Action ', f.action), el('label', {}, 'Text or prompt ', f.body),
    el('label', {}, 'When ', f.when, ' ', f.value),
    el('button', { type: 'submit', id: 'create-task' }, 'Create'), resultSpan('new-task'));
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const body = { title: f.title.value || null, scope_type: f.scope_type.value, scope_id: f.scope_id.value, action: f.action.value };
    body[f.action.value === 'send_text' ? 'text' : 'prompt'] = f.body.value;
    body[f.when.value] = f.when.value === 'every_seconds' ? Number(f.value.value) : f.value.value;
    act('new-task', 'create', () => api('POST', rt(id, 'api/v1/automation/tasks'), body), refresh);
  });
  return form;
}

function goalSection(view, id) {
  const conv = el('input', { id: 'goal-conversation', placeholder: 'receive id (chat_id), e.g. oc_…' });
  const out = el('pre', { id: 'goal', text: 'Name a conversation to see its goal.' });
  const past = el('tbody');
  const show = async () => {
    const headers = { 'X-Alice-Receive-Id': conv.value, 'X-Alice-Receive-Id-Type': 'chat_id' };
    try {
      const res = await api('GET', rt(id, 'api/v1/goal'), undefined, headers);
      out.textContent = res.status === 204 ? 'No unfinished goal in this conversation.' : JSON.stringify(res.data, null, 2);
      // Every goal of the conversation, newest first, with its iterations.
      const all = await api('GET', rt(id, 'api/v1/goals?limit=50'), undefined, headers);
      past.replaceChildren(...(all.data || []).map((g) => el('tr', { 'data-goal': g.id },
        el('td', { text: g.description }),
        el('td', { class: 'goal-status', text: g.status }),
        el('td', { text: String(g.iterations ?? 0) }),
        el('td', { text: g.last_iteration_at || '—' }),
        el('td', { text: g.next_run_at || '—' }),
        el('td', { text: g.deadline_at || '—' }),
        el('td', { text: g.status_reason || (g.last_delay ? g.last_delay.duration + ': ' + g.last_delay.reason : '') }))));
    } catch (e) { out.textContent = e.message; }
  };
  view.append(el('p', {}, conv, el('button', { on: { click: show } }, 'Show goals')),
    out,
    el('div', { class: 'scroll' }, el('table', { id: 'goals' },
      el('thead', {}, el('tr', {}, ['Goal', 'Status', 'Iterations', 'Last iteration', 'Next', 'Deadline', 'Why'].map((h) => el('th', { text: h })))),
      past)));
}

async function runsPage(view) {
  const tbody = el('tbody', { id: 'runs-body' });
  view.append(el('h1', { text: 'Recent runs' }),
    el('div', { class: 'scroll' }, el('table', { id: 'runs' },
      el('thead', {}, el('tr', {}, ['Run', 'Bot', 'Status', 'Origin', 'Started', 'Prompt'].map((h) => el('th', { text: h })))),
      tbody)));
  every(3000, async () => {
    try {
      const runs = (await api('GET', '/api/headless?limit=50')).data;
      tbody.replaceChildren(...runs.map((r) => el('tr', { 'data-run': r.taskId },
        el('td', {}, el('a', { href: '#/run/' + encodeURIComponent(r.taskId), text: r.taskId })),
        el('td', { text: r.bot }), el('td', { text: r.status }), el('td', { text: r.origin }),
        el('td', { text: r.started_at }), el('td', { text: (r.prompt || '').slice(0, 80) }))));
    } catch (e) { showError(e.message); }
  });
}

async function runPage(view, runId) {
  const base = '/api/headless/' + encodeURIComponent(runId);
  const record = (await api('GET', base)).data;
  const status = el('strong', { id: 'run-status', text: record.status });
  const output = el('pre', { id: 'run-output' });
  view.append(el('h1', { text: 'Run ' + runId }),
    el('p', {}, 'Bot ', record.bot, ' · status ', status, ' ',
      el('button', { id: 'cancel-run', on: { click: () => act('cancel-run', 'cancel', () => api('POST', base + '/cancel')) } }, 'Cancel'),
      resultSpan('cancel-run')),
    el('h2', { text: 'Prompt' }), el('pre', { text: record.prompt }),
    el('h2', { text: 'Output (live)' }), output);
  // Live events over SSE; the cookie goes along (same origin, GET).
  const source = new EventSource(base + '/events');
  S.source = source;
  source.addEventListener('stdout', (m) => { output.append(JSON.parse(m.data).data.line + '\n'); });
  source.addEventListener('finished', (m) => {
    const rec = JSON.parse(m.data).data;
    status.textContent = rec.status || 'finished';
    if (rec.error) output.append('\n[' + rec.error + ']');
    source.close();
  });
  source.addEventListener('error', () => { if (source.readyState === EventSource.CLOSED) status.textContent += ' (stream closed)'; });
}

async function startPage(view) {
  const bots = (await api('GET', '/api/bots')).data;
  const bot = el('select', { id: 'run-bot' }, bots.map((b) => el('option', { value: b.id, text: b.name + ' (' + b.id + ')' })));
  const prompt = el('textarea', { id: 'run-prompt', required: true });
  const timeout = el('input', { id: 'run-timeout', type: 'number', min: '1', placeholder: 'default' });
  const wait = el('input', { id: 'run-wait', type: 'checkbox' });
  const form = el('form', { id: 'start-run', class: 'stack' },
    el('h1', { text: 'Start a run' }),
    el('label', {}, 'Bot ', bot), el('label', {}, 'Prompt ', prompt),
    el('label', {}, 'Timeout (seconds) ', timeout), el('label', {}, wait, ' wait for the end'),
    el('button', { type: 'submit', id: 'start-run-button' }, 'Start'), resultSpan('start-run'));
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const body = { prompt: prompt.value, wait: wait.checked };
    if (timeout.value) body.timeoutMs = Number(timeout.value) * 1000;
    act('start-run', 'start', async () => {
      const res = await api('POST', '/api/workspaces/' + encodeURIComponent(bot.value) + '/headless', body);
      location.hash = '#/run/' + encodeURIComponent(res.data.taskId);
      return res;
    });
  });
  view.append(form);
}

// ---- chat (local connector: the same route `alice chat` uses) ----

async function chatPage(view, id) {
  const bot = (await api('GET', '/api/bots/' + encodeURIComponent(id))).data;
  view.append(el('h1', { text: 'Chat with ' + bot.name }));
  if (bot.connector !== 'local') {
    view.append(el('p', { text: 'This bot talks on Feishu: the console only reads what it received and answered (its chat history, read only).' }));
    const box = el('div', { id: 'history' });
    view.append(box);
    every(5000, async () => {
      try {
        const sessions = (await api('GET', '/console/api/bots/' + encodeURIComponent(id) + '/history')).data;
        box.replaceChildren(...(sessions.length ? sessions : [null]).map((s) => (s
          ? el('section', {}, el('h2', { text: s.session }), el('div', { class: 'messages' },
            s.turns.map((t) => el('div', { class: 'msg ' + (t.role === 'user' ? 'in' : 'out') }, el('span', { class: 'text', text: t.text })))))
          : el('p', { text: 'No conversation yet.' }))));
      } catch (e) { showError(e.message); }
    });
    return;
  }
  const st = S.chat[id] || (S.chat[id] = { current: 'oc_console_' + Math.random().toString(36).slice(2, 8) });
  const list = el('div', { class: 'conversations', id: 'conversations' });
  const messages = el('div', { class: 'messages', id: 'messages' });
  const input = el('input', { id: 'chat-input', autocomplete: 'off', placeholder: 'Say something (try /image)' });
  const title = el('h2', { id: 'conversation-title' });
  const send = el('form', { class: 'send', id: 'chat-form' }, input, el('button', { type: 'submit', id: 'chat-send' }, 'Send'));
  const newConv = el('button', {
    id: 'new-conversation',
    on: { click: () => { st.current = 'oc_console_' + Math.random().toString(36).slice(2, 8); st.shown = null; refresh(); } },
  }, 'New conversation');
  view.append(el('div', { class: 'chat' }, el('div', { class: 'conversations' }, newConv, list),
    el('div', { class: 'thread' }, title, messages, send, resultSpan('chat'))));
  const convPath = '/api/bots/' + encodeURIComponent(id) + '/conversations';
  send.addEventListener('submit', (event) => {
    event.preventDefault();
    const text = input.value;
    if (!text.trim()) return;
    input.value = '';
    act('chat', 'send', () => api('POST', convPath + '/' + encodeURIComponent(st.current) + '/messages', { text }), refresh);
  });
  async function refresh() {
    const convs = (await api('GET', convPath)).data;
    list.replaceChildren(...convs.map((c) => el('button', {
      class: c.receive_id === st.current ? 'current' : null,
      on: { click: () => { st.current = c.receive_id; st.shown = null; refresh(); } },
    }, c.receive_id + ' (' + c.messages + ')')));
    title.textContent = 'Conversation ' + st.current;
    const conv = convs.find((c) => c.receive_id === st.current);
    const total = conv ? conv.messages : 0;
    const offset = Math.max(0, total - 100);
    const items = total ? (await api('GET', convPath + '/' + encodeURIComponent(st.current) + '/messages?limit=100&offset=' + offset)).data : [];
    const key = st.current + ':' + items.map((m) => m.message_id).join(',');
    if (key === st.shown) return;
    st.shown = key;
    messages.replaceChildren(...items.map((m) => message(id, m)));
    messages.scrollTop = messages.scrollHeight;
  }
  every(1500, () => refresh().catch((e) => showError(e.message)));
}

function message(id, m) {
  const file = '/console/api/bots/' + encodeURIComponent(id) + '/conversations/' + encodeURIComponent(m.receive_id) +
    '/messages/' + encodeURIComponent(m.message_id) + '/file';
  let body;
  if (m.msg_type === 'image') body = el('img', { src: file, alt: m.file_name || 'image', class: 'chat-image' });
  else if (m.msg_type === 'file') body = el('a', { href: file, download: m.file_name || 'file' }, '📎 ' + (m.file_name || 'file'));
  else body = el('span', { class: 'text', text: m.text || '' });
  return el('div', { class: 'msg ' + m.direction, 'data-direction': m.direction }, body);
}

// ---- start ----

$('#login-form').addEventListener('submit', login);
$('#logout').addEventListener('click', logout);
window.addEventListener('hashchange', route);
// A page reload keeps the session: ask for its CSRF token.
fetch('/console/session', { credentials: 'same-origin' })
  .then((r) => (r.ok ? r.json() : null))
  .then((s) => { if (s) { S.csrf = s.csrf_token; enter(); } else showLogin(''); })
  .catch(() => showLogin(''));

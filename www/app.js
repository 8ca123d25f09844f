// The supernode's status page: polls the REST API every 1.5 s and redraws. Plain DOM
// (textContent only: nothing from the API is parsed as HTML), a hand-drawn SVG chart.
'use strict';

const REFRESH_MS = 1500;
const HISTORY_MS = 10 * 60 * 1000;
let samples = []; // [time, source, supernode, peers]
let lastSample = 0;

const $ = (id) => document.getElementById(id);

function fmtBytes(n) {
  if (n === undefined || n === null || n < 0) return '–';
  const u = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  while (n >= 1024 && i < u.length - 1) { n /= 1024; i++; }
  return (i === 0 ? n.toFixed(0) : n.toFixed(n < 10 ? 2 : 1)) + ' ' + u[i];
}

function fmtSecs(s) {
  if (!s) return '–';
  if (s < 60) return s.toFixed(s < 10 ? 2 : 1) + ' s';
  return Math.floor(s / 60) + ' min ' + Math.round(s % 60) + ' s';
}

function ago(iso) {
  if (!iso) return '–';
  const s = Math.max(0, (Date.now() - Date.parse(iso)) / 1000);
  return s < 60 ? Math.round(s) + ' s ago' : Math.round(s / 60) + ' min ago';
}

function el(tag, text, cls) {
  const e = document.createElement(tag);
  if (text !== undefined && text !== null) e.textContent = String(text);
  if (cls) e.className = cls;
  return e;
}

function setNum(id, value, text) {
  const e = $(id);
  e.dataset.value = String(value);
  e.textContent = text === undefined ? String(value) : text;
}

async function getJSON(path) {
  const r = await fetch(path, { cache: 'no-store' });
  if (!r.ok) throw new Error(path + ': HTTP ' + r.status);
  return r.json();
}

function renderSummary(s) {
  $('version').textContent = 'v' + s.version;
  $('uptime').textContent = '· up ' + fmtSecs(s.uptimeSeconds);
  setNum('peer-count', s.peers.total);
  $('peers-healthy').textContent = s.peers.healthy;
  $('peers-down').textContent = s.peers.down;
  $('peers-isolated').textContent = s.peers.isolated;
  setNum('task-count', s.tasks.total);
  $('tasks-running').textContent = s.tasks.WAITING + s.tasks.RUNNING;
  $('tasks-success').textContent = s.tasks.SUCCESS;
  $('tasks-failed').textContent = s.tasks.FAILED + s.tasks.SOURCE_ERROR;
  const b = s.bytes;
  const delivered = b.supernode + b.peers;
  setNum('bytes-source', b.source, fmtBytes(b.source));
  setNum('bytes-delivered', delivered, fmtBytes(delivered));
  $('spared').textContent = delivered > 0
    ? Math.max(0, Math.round(100 * (delivered - b.source) / delivered)) + ' %' : '–';
  const c = s.cdn;
  setNum('cache-bytes', c.cacheBytes, fmtBytes(c.cacheBytes));
  const cap = c.cacheLimit > 0 ? c.cacheLimit : c.cacheBytes + Math.max(0, c.freeBytes - c.freeMin);
  $('cache-use').max = Math.max(1, cap);
  $('cache-use').value = c.cacheBytes;
  $('cache-detail').textContent = c.cacheFiles + ' files · ' +
    (c.cacheLimit > 0 ? 'limit ' + fmtBytes(c.cacheLimit) : 'no size limit') +
    ' · ' + fmtBytes(c.freeBytes) + ' free · hits ' + c.hits + ' / misses ' + c.misses;
  $('uploads').textContent = s.uploads.inFlight + ' / ' + s.uploads.slots;
  $('uploads-use').max = Math.max(1, s.uploads.slots);
  $('uploads-use').value = s.uploads.inFlight;
  const rate = s.clientRate.bytesPerSecond;
  $('client-rate').textContent = rate > 0 ? fmtBytes(rate) + '/s, from the ' + s.clientRate.from
    : 'unknown yet';
}

function badge(text, cls) {
  const b = el('span', text, 'badge ' + cls);
  return b;
}

function renderPeers(peers) {
  const body = $('peer-rows');
  body.replaceChildren();
  // Isolated and down peers first: they are what an operator looks for.
  const rank = { isolated: 0, down: 1, healthy: 2 };
  peers.sort((a, b) => (rank[a.health] - rank[b.health]) || a.ID.localeCompare(b.ID));
  for (const p of peers) {
    const tr = el('tr');
    tr.dataset.peerId = p.ID;
    tr.dataset.health = p.health;
    if (p.health !== 'healthy') tr.className = 'warn';
    tr.append(el('td', p.ID, 'mono'), el('td', p.hostName || '–', 'opt'));
    const h = el('td');
    h.append(badge(p.health, p.health));
    tr.append(h, el('td', p.activity, 'opt'));
    const load = el('td', p.load, 'num');
    load.dataset.value = p.load;
    tr.append(load, el('td', p.tasks, 'num opt'), el('td', p.pieces, 'num opt'),
      el('td', ago(p.lastSeen), 'opt'));
    body.append(tr);
  }
  $('no-peers').hidden = peers.length > 0;
}

function bar(value, max, label) {
  const wrap = el('div', null, 'bar');
  const pr = el('progress');
  pr.max = Math.max(1, max);
  pr.value = Math.min(value, max);
  wrap.append(pr, el('span', label, 'small'));
  return wrap;
}

function renderTasks(tasks) {
  const body = $('task-rows');
  body.replaceChildren();
  for (const t of tasks) {
    const tr = el('tr');
    tr.dataset.taskId = t.ID;
    tr.dataset.status = t.cdnStatus;
    const name = el('td');
    name.append(el('span', t.ID.slice(0, 12), 'mono'), el('br'),
      el('span', t.taskURL, 'url small'));
    tr.append(name);
    const st = el('td');
    st.append(badge(t.cdnStatus, t.cdnStatus.toLowerCase()));
    if (t.failMessage) st.append(el('div', t.failMessage, 'small err'));
    tr.append(st);
    const size = el('td', t.fileLength >= 0 ? fmtBytes(t.fileLength) : '?', 'num');
    size.dataset.value = t.fileLength;
    tr.append(size);
    const cached = el('td');
    cached.dataset.value = t.piecesCached;
    cached.append(bar(t.piecesCached, t.pieceTotal,
      t.piecesCached + '/' + t.pieceTotal + ' pieces'));
    tr.append(cached);
    const cl = el('td');
    cl.dataset.value = t.clients.finished;
    cl.append(bar(t.clients.progress, 1, t.clients.finished + '/' + t.clients.total + ' done'));
    tr.append(cl);
    const by = el('td', fmtBytes(t.bytes.source) + ' / ' + fmtBytes(t.bytes.supernode) +
      ' / ' + fmtBytes(t.bytes.peers), 'num opt');
    by.dataset.value = [t.bytes.source, t.bytes.supernode, t.bytes.peers].join(',');
    tr.append(by);
    const d = t.downloads;
    const tm = el('td', null, 'num');
    if (d.succeeded > 0 && d.minimumSeconds > 0) {
      tm.dataset.value = String(d.medianVsMinimum);
      tm.append(el('b', d.medianVsMinimum.toFixed(2) + '×'), el('br'),
        el('span', fmtSecs(d.medianSeconds) + ' / ' + fmtSecs(d.minimumSeconds) + ' · ' +
          d.succeeded + ' downloads', 'small'));
    } else {
      tm.textContent = d.succeeded > 0 ? fmtSecs(d.medianSeconds) : '–';
    }
    tr.append(tm);
    body.append(tr);
  }
  $('no-tasks').hidden = tasks.length > 0;
}

function ns(tag) {
  return document.createElementNS('http://www.w3.org/2000/svg', tag);
}

function renderChart() {
  const W = 600, H = 200, PAD = 4;
  const now = Date.now();
  samples = samples.filter((s) => s[0] >= now - HISTORY_MS);
  const t0 = samples.length ? samples[0][0] : now;
  const t1 = Math.max(t0 + 1000, samples.length ? samples[samples.length - 1][0] : now);
  let max = 1;
  for (const s of samples) max = Math.max(max, s[1], s[2], s[3]);
  const x = (t) => PAD + (W - 2 * PAD) * (t - t0) / (t1 - t0);
  const y = (v) => H - PAD - (H - 2 * PAD) * v / max;
  const ids = ['line-source', 'line-supernode', 'line-peers'];
  ids.forEach((id, k) => {
    $(id).setAttribute('points',
      samples.map((s) => x(s[0]).toFixed(1) + ',' + y(s[k + 1]).toFixed(1)).join(' '));
  });
  const grid = $('chart-grid');
  grid.replaceChildren();
  for (let i = 1; i < 4; i++) {
    const l = ns('line');
    l.setAttribute('x1', 0); l.setAttribute('x2', W);
    l.setAttribute('y1', (H * i / 4).toFixed(0)); l.setAttribute('y2', (H * i / 4).toFixed(0));
    l.setAttribute('class', 'grid');
    grid.append(l);
  }
  $('chart').dataset.samples = samples.length;
  $('chart-scale').textContent = '· top = ' + fmtBytes(max) + ', last ' +
    Math.round((t1 - t0) / 1000) + ' s';
}

async function refresh() {
  try {
    const [summary, peers, tasks, hist] = await Promise.all([
      getJSON('api/v1/summary'),
      getJSON('api/v1/peers?sortKey=id'),
      getJSON('api/v1/tasks'),
      getJSON('api/v1/history?since=' + lastSample),
    ]);
    for (const s of hist.samples) samples.push(s);
    if (hist.samples.length) lastSample = hist.samples[hist.samples.length - 1][0];
    renderSummary(summary);
    renderPeers(peers);
    renderTasks(tasks);
    renderChart();
    $('live').textContent = 'live';
    $('live').className = 'badge healthy';
    $('updated').textContent = 'updated ' + new Date().toLocaleTimeString();
    document.body.dataset.refreshes = String(Number(document.body.dataset.refreshes || 0) + 1);
  } catch (e) {
    $('live').textContent = 'unreachable';
    $('live').className = 'badge down';
    $('updated').textContent = String(e.message || e);
  }
}

refresh();
setInterval(refresh, REFRESH_MS);

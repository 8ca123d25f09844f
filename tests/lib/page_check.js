// tests/lib/page_check.js -- load the supernode's status page in a real headless Chromium
// (Debian's /usr/bin/chromium driven by playwright-core) and check it against the REST API.
//
//   node page_check.js NODE_DIR SN_URL OUT_DIR
//
// NODE_DIR holds node_modules/playwright-core; OUT_DIR gets page-desktop.png and
// page-phone.png. Waits (bounded) until the page refreshed itself twice and its chart has
// samples, then compares the peers (ids and health), the tasks (ids, status, pieces cached,
// clients done, bytes) and the summary numbers with what the API answers at that moment.
// Fails on any page error, console error (a CSP violation shows there) or mismatch, and on
// a phone-sized viewport that needs horizontal scrolling. Prints "page: ok" at the end.
'use strict';
const path = require('path');
const fs = require('fs');
const os = require('os');

const [nodeDir, snUrl, outDir] = process.argv.slice(2);
const { chromium } = require(path.join(nodeDir, 'node_modules', 'playwright-core'));

function fail(msg) {
  console.error('FAIL: ' + msg);
  process.exit(1);
}

async function api(p) {
  const r = await fetch(snUrl + p);
  if (!r.ok) fail(p + ': HTTP ' + r.status);
  return r.json();
}

function same(what, got, want) {
  const g = JSON.stringify(got), w = JSON.stringify(want);
  if (g !== w) fail(what + ': the page shows ' + g + ', the API says ' + w);
  console.log('ok: ' + what);
}

async function readPage(page) {
  return page.evaluate(() => {
    const rows = (id) => Array.from(document.querySelectorAll('#' + id + ' tr'));
    return {
      refreshes: Number(document.body.dataset.refreshes || 0),
      samples: Number(document.getElementById('chart').dataset.samples || 0),
      points: document.getElementById('line-peers').getAttribute('points').trim().split(/\s+/).length,
      peerCount: document.getElementById('peer-count').dataset.value,
      taskCount: document.getElementById('task-count').dataset.value,
      bytesSource: document.getElementById('bytes-source').dataset.value,
      peers: rows('peer-rows').map((r) => [r.dataset.peerId, r.dataset.health]).sort(),
      tasks: rows('task-rows').map((r) => [r.dataset.taskId, r.dataset.status,
        Number(r.children[3].dataset.value), Number(r.children[4].dataset.value),
        r.children[5].dataset.value]).sort(),
      live: document.getElementById('live').textContent,
    };
  });
}

async function waitFor(page, pred, what, ms) {
  const until = Date.now() + ms;
  for (;;) {
    const s = await readPage(page);
    if (pred(s)) return s;
    if (Date.now() > until) fail('timed out waiting for ' + what + ': ' + JSON.stringify(s));
    await page.waitForTimeout(200);
  }
}

(async () => {
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'sn-page-chromium-'));
  const ctx = await chromium.launchPersistentContext(profile, {
    executablePath: '/usr/bin/chromium',
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    viewport: { width: 1280, height: 900 },
  });
  const errors = [];
  const page = ctx.pages()[0] || await ctx.newPage();
  page.on('pageerror', (e) => errors.push('page error: ' + e.message));
  page.on('console', (m) => { if (m.type() === 'error') errors.push('console: ' + m.text()); });
  const resp = await page.goto(snUrl + '/', { waitUntil: 'load' });
  if (!resp || resp.status() !== 200) fail('GET / answered ' + (resp && resp.status()));
  const csp = resp.headers()['content-security-policy'] || '';
  if (!csp.includes("script-src 'self'")) fail('no Content-Security-Policy: ' + csp);
  const start = await waitFor(page, (s) => s.refreshes >= 1, 'a first refresh', 15000);
  // Refreshes by itself: the count grows without any action of ours.
  const later = await waitFor(page, (s) => s.refreshes >= start.refreshes + 2 && s.samples >= 2,
    'two more refreshes and two chart samples', 15000);
  console.log('ok: the page refreshed itself (' + later.refreshes + ' times), chart has ' +
    later.samples + ' samples, ' + later.points + ' points');
  if (later.live !== 'live') fail('the page says ' + later.live);

  // Compare with the API (the fleet is idle now: the numbers are stable).
  const s = await waitFor(page, (x) => x.refreshes > later.refreshes, 'a fresh refresh', 10000);
  const [summary, peers, tasks] = await Promise.all([api('/api/v1/summary'),
    api('/api/v1/peers'), api('/api/v1/tasks')]);
  same('peer count', Number(s.peerCount), summary.peers.total);
  same('task count', Number(s.taskCount), summary.tasks.total);
  same('bytes from the source', Number(s.bytesSource), summary.bytes.source);
  same('peers and their health', s.peers, peers.map((p) => [p.ID, p.health]).sort());
  same('tasks: status, pieces cached, clients done, bytes', s.tasks, tasks.map((t) => [t.ID,
    t.cdnStatus, t.piecesCached, t.clients.finished,
    [t.bytes.source, t.bytes.supernode, t.bytes.peers].join(',')]).sort());
  const isolated = peers.filter((p) => p.health === 'isolated').map((p) => p.ID);
  const shown = await page.$$eval('#peer-rows tr.warn', (rs) => rs.map((r) => r.dataset.peerId));
  same('isolated peers are highlighted', shown.filter((id) => isolated.includes(id)).sort(),
    isolated.sort());
  const ratio = await page.$$eval('#task-rows tr td:nth-child(7)', (ts) =>
    ts.map((t) => t.dataset.value).filter((v) => v));
  if (ratio.length === 0) fail('no task shows its time against the minimum');
  console.log('ok: time vs minimum shown: ' + ratio.join(', '));

  fs.mkdirSync(outDir, { recursive: true });
  await page.screenshot({ path: path.join(outDir, 'page-desktop.png'), fullPage: true });
  // A phone: no horizontal scrolling of the page itself.
  await page.setViewportSize({ width: 390, height: 844 });
  await page.waitForTimeout(300);
  const overflow = await page.evaluate(() =>
    document.documentElement.scrollWidth - document.documentElement.clientWidth);
  if (overflow > 1) fail('on a 390 px wide screen the page scrolls sideways by ' + overflow + ' px');
  console.log('ok: fits a phone (390 px)');
  await page.screenshot({ path: path.join(outDir, 'page-phone.png'), fullPage: true });
  if (errors.length) fail(errors.join('; '));
  await ctx.close();
  fs.rmSync(profile, { recursive: true, force: true });
  console.log('page: ok (screenshots in ' + outDir + ')');
})().catch((e) => fail(String(e && e.stack || e)));

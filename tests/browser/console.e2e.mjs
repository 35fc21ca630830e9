// The supervisor's whole review job in a real browser (PRODUCT.md §12.4):
// Playwright (npm playwright-core) drives Debian's Chromium against the
// real fieldcheck-server, started here on 127.0.0.1 port 0 with a store
// fed by a real device's push. Sign in, find the late day in the queue,
// open its timeline, reject it with a note, approve three others at once,
// download the CSV and compare it with the CLI's report, sign out; then
// the device's `sync pull` shows the decisions. Every page is checked by
// axe-core (no serious or critical violation) and the queue and a timeline
// are screenshot at 412 and 1280 px and checked for horizontal overflow.
//
// Run by scripts/test-console-browser.sh, which installs the packages and
// sets FIELDCHECK_CLI, FIELDCHECK_SERVER, CHROMIUM and NODE_PATH.

import { mkdtempSync, readFileSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import assert from 'node:assert/strict';

import {
  axe, chromium, CHROMIUM, fieldcheck, fits, serverStore, showFailure, startServer,
} from './support.mjs';

const work = mkdtempSync(join(tmpdir(), 'fieldcheck-console-'));
const serverDb = serverStore(work, 'console');
const deviceDb = join(work, 'device.db');

const SITES = JSON.stringify({
  type: 'FeatureCollection',
  features: [{
    type: 'Feature',
    geometry: { type: 'Point', coordinates: [106.8229, -6.2146] },
    properties: { id: 'jkt-hq', name: 'Jakarta HQ <b>"main"</b>', radius_m: 150 },
  }],
});

function checkAt(kind, at, mock = false) {
  fieldcheck(deviceDb, [kind, '--agent', 'a1', '--lat', '-6.2146', '--lon', '106.8229',
    '--accuracy', '10', '--at', at, '--now', at, ...(mock ? ['--mock'] : [])]);
}

let server;
let browser;
let page;
try {
  // A server with a supervisor of team a1, the agent's shift at 08:00 in
  // Jakarta, and a device that pushed a week: Monday, Wednesday-Friday on
  // time with a mocked attempt each, Tuesday 30 minutes late (20 past the grace).
  server = await startServer(serverDb);
  fieldcheck(serverDb, ['user', 'add', '--id', 'sup-1', '--user-role', 'supervisor',
    '--team', 'a1', '--password-stdin'], 'correct horse battery\n');
  fieldcheck(serverDb, ['shift', 'set', '--agent', 'a1', '--start', '08:00', '--end', '17:00',
    '--weekdays', 'mon-fri', '--tz', 'Asia/Jakarta']);
  writeFileSync(join(work, 'sites.geojson'), SITES);
  fieldcheck(deviceDb, ['site', 'import', join(work, 'sites.geojson')]);
  fieldcheck(serverDb, ['site', 'import', join(work, 'sites.geojson')]);
  fieldcheck(deviceDb, ['consent', 'grant', '--agent', 'a1', '--permission', 'location']);
  for (const day of [5, 6, 7, 8, 9]) {
    const d = `2026-01-0${day}`;
    if (day === 6) {
      checkAt('check-in', `${d}T01:30:00Z`);
    } else {
      checkAt('check-in', `${d}T00:58:00Z`, true);
      checkAt('check-in', `${d}T01:00:00Z`);
    }
    checkAt('check-out', `${d}T10:00:00Z`);
  }
  const code = JSON.parse(fieldcheck(serverDb, ['--json', 'device', 'enrol-code', '--agent', 'a1'])).code;
  fieldcheck(deviceDb, ['device', 'enrol', '--server', server.url, '--code', code]);
  fieldcheck(deviceDb, ['sync', 'push']);

  browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
  const context = await browser.newContext({ acceptDownloads: true, bypassCSP: true, viewport: { width: 1280, height: 900 } });
  page = await context.newPage();

  // Sign in.
  await page.goto(server.url + '/');
  await axe(page, 'sign-in');
  await page.getByLabel('User').fill('sup-1');
  await page.getByLabel('Password').fill('wrong password');
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('alert').filter({ hasText: 'Wrong user or password' }).waitFor();
  await page.getByLabel('Password').fill('correct horse battery');
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('heading', { name: 'Today', exact: true }).waitFor();
  const cookies = await context.cookies();
  const session = cookies.find((c) => c.name === 'fieldcheck_session');
  assert.ok(session && session.httpOnly && session.sameSite === 'Strict', JSON.stringify(cookies));

  // The queue for January, filtered by the form.
  await page.getByRole('link', { name: 'Review queue' }).click();
  await page.getByRole('heading', { name: 'Review queue' }).waitFor();
  await page.getByLabel('From').fill('2026-01-01');
  await page.getByLabel('To').fill('2026-01-31');
  await page.getByRole('button', { name: 'Filter' }).click();
  // Five days with something to decide, and the 17 other weekdays of
  // January the agent never came (absences reach the queue too).
  await page.getByRole('heading', { name: 'Needing a decision: 22', exact: true }).waitFor();
  await axe(page, 'queue');
  await fits(page, 'queue');
  const rows = page.locator('#queue tbody tr');
  assert.equal(await rows.count(), 22);
  assert.match(await rows.first().innerText(), /2026-01-30/, 'newest first');
  assert.equal(await rows.filter({ hasText: 'absent' }).count(), 17);

  // Find the late day and open its timeline.
  const late = rows.filter({ hasText: 'late 20 min' });
  assert.equal(await late.count(), 1);
  await late.getByRole('link', { name: '2026-01-06' }).click();
  await page.getByRole('heading', { name: 'Day 2026-01-06 · a1' }).waitFor();
  assert.match(await page.locator('#timeline').innerText(), /08:30:00/);
  await axe(page, 'timeline');
  await fits(page, 'timeline');

  // Reject it with a note (markup in it stays text).
  const note = '<script>alert(1)</script> late again';
  const dayForm = page.getByRole('form', { name: 'Decide the whole day' });
  await dayForm.getByLabel('Note').fill(note);
  await dayForm.getByRole('button', { name: 'Reject' }).click();
  await page.getByText('Decision recorded.').waitFor();
  await page.locator('li').filter({ hasText: 'rejected · whole day · by sup-1' }).waitFor();
  assert.ok((await page.locator('li').filter({ hasText: note }).count()) === 1, 'the note shown as text');

  // Back in the queue: approve three others at once.
  await page.getByRole('link', { name: 'Review queue' }).click();
  await page.goto(server.url + '/queue?from=2026-01-01&to=2026-01-31');
  await page.getByRole('heading', { name: 'Needing a decision: 21', exact: true }).waitFor();
  for (const d of ['2026-01-07', '2026-01-08', '2026-01-09']) {
    await page.getByLabel(`Select a1 ${d}`).check();
  }
  await page.getByLabel('Note', { exact: true }).fill('checked with the branch');
  await page.getByRole('button', { name: 'Approve selected' }).click();
  await page.getByText('Recorded 3 decisions.').waitFor();
  await page.goto(server.url + '/queue?from=2026-01-01&to=2026-01-31');
  await page.getByRole('heading', { name: 'Needing a decision: 18', exact: true }).waitFor();

  // Reports: download the CSV and compare it with the CLI's.
  await page.goto(server.url + '/reports?from=2026-01-01&to=2026-01-31');
  await axe(page, 'reports');
  await fits(page, 'reports');
  const [download] = await Promise.all([
    page.waitForEvent('download'),
    page.locator('a[href^="/reports/attendance/csv"]').click(),
  ]);
  const csv = readFileSync(await download.path(), 'utf8');
  const fromCli = fieldcheck(serverDb, ['report', 'attendance', '--from', '2026-01-01',
    '--to', '2026-01-31', '--format', 'csv']);
  assert.equal(csv, fromCli);
  assert.match(csv, /a1,,2026-01-06,/);

  // The other pages pass the same checks.
  for (const path of ['/devices', '/flags', '/sites']) {
    await page.goto(server.url + path);
    const name = path.slice(1);
    await axe(page, name);
    await fits(page, name);
  }
  assert.match(await page.locator('#sites').innerText(), /Jakarta HQ <b>"main"<\/b>/, 'a site name shown as text');

  // Sign out: the session is over on the server too.
  await page.getByRole('button', { name: 'Sign out' }).click();
  await page.getByRole('button', { name: 'Sign in' }).waitFor();
  await context.addCookies([session]);
  await page.goto(server.url + '/');
  await page.getByRole('button', { name: 'Sign in' }).waitFor();

  // An admin runs the full check from the devices page: the server's own
  // chain, the phone's imported chain, every row derived from it, the feeds.
  fieldcheck(serverDb, ['user', 'add', '--id', 'adm-1', '--user-role', 'admin', '--password-stdin'],
    'correct horse battery\n');
  await page.getByLabel('User').fill('adm-1');
  await page.getByLabel('Password').fill('correct horse battery');
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('heading', { name: 'Today', exact: true }).waitFor();
  await page.goto(server.url + '/devices');
  await page.getByText('No full check has run on this store yet.').waitFor();
  await page.getByRole('button', { name: 'Verify now' }).click();
  await page.getByRole('status').filter({ hasText: /Last full check .*: intact/ }).waitFor();
  assert.match(await page.locator('#devices').innerText(), /verified through event \d+/);
  await axe(page, 'devices-admin');
  await fits(page, 'devices-admin');
  await page.getByRole('button', { name: 'Sign out' }).click();

  // The agent's phone pulls the four decisions.
  const pulled = JSON.parse(fieldcheck(deviceDb, ['--json', 'sync', 'pull']));
  assert.equal(pulled.decisions, 4);
  const reviews = fieldcheck(deviceDb, ['--json', 'reviews', '--agent', 'a1'])
    .trim().split('\n').map((l) => JSON.parse(l));
  const late6 = reviews.find((r) => r.date === '2026-01-06');
  assert.equal(late6.decision, 'rejected');
  assert.equal(late6.note, note);
  console.log('console e2e: sign-in, queue, timeline, reject, bulk approve, CSV, sign-out, verify now, pull: ok');
} catch (e) {
  await showFailure(page);
  throw e;
} finally {
  if (browser) await browser.close();
  if (server) server.child.kill('SIGTERM');
  rmSync(work, { recursive: true, force: true });
}

// The supervisor's day (issue 23, PRODUCT.md §12.4) in a real browser, on a
// server store seeded with a realistic month for ten agents in two zones
// (Jakarta and Makassar): some on time, some late, some absent with no
// attempt at all, some outside the fence, some mocked, one with no shift
// on Wednesdays and one whose shift has not started yet. The server's
// clock is a file: Wednesday 2026-12-02, 14:00 in Jakarta (15:00 in
// Makassar).
//
// Today's counts equal `report attendance --json` for each agent's date;
// an absent agent is on Today and in the queue under "absent"; the oldest
// of more than 120 undecided items is reached by paging; a bulk reject
// with a note; an agent found by part of the name; a day approved and then
// one of its events rejected, on the console and in the CLI's report, and
// the console's CSV and JSON byte for byte the CLI's, the XLSX the CSV's
// rows (read back with openpyxl); an enrolment code minted on the page
// (with its QR code) enrols a CLI device, and a shift set on the console
// from a date reaches it with its next pull; no raw code in any page's
// text in either language; every page passes axe-core and fits 412 and
// 1280 px with no badge cut off.
//
// Run by scripts/test-console-browser.sh (FIELDCHECK_CLI, FIELDCHECK_SERVER,
// CHROMIUM, NODE_PATH, XLSX_PYTHON).

import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import assert from 'node:assert/strict';

import { check, chromium, CHROMIUM, fieldcheck, showFailure, startServer } from './support.mjs';

const PYTHON = process.env.XLSX_PYTHON;
assert.ok(PYTHON, 'XLSX_PYTHON (a python with openpyxl) must be set');

const work = mkdtempSync(join(tmpdir(), 'fieldcheck-supervisor-'));
const serverDb = join(work, 'server.db');
const deviceDb = join(work, 'device.db');
const clockFile = join(work, 'clock');
const NOW = '2026-12-02T07:00:00Z';
const TODAY = '2026-12-02';
const PASSWORD = 'correct horse battery';

const SITES = {
  type: 'FeatureCollection',
  features: [
    ['jkt-hq', 'Jakarta HQ', 106.8229, -6.2146],
    ['jkt-selatan', 'Jakarta Selatan', 106.8106, -6.2615],
    ['mks-pusat', 'Makassar Pusat', 119.4327, -5.1477],
  ].map(([id, name, lon, lat]) => ({
    type: 'Feature',
    geometry: { type: 'Point', coordinates: [lon, lat] },
    properties: { id, name, radius_m: 150 },
  })),
};
const PLACE = Object.fromEntries(SITES.features.map((f) =>
  [f.properties.id, [f.geometry.coordinates[1], f.geometry.coordinates[0]]]));

const JAKARTA = 'Asia/Jakarta';
const MAKASSAR = 'Asia/Makassar';
const AGENTS = [
  { id: 'a01', name: 'Rudi Hartono', tz: JAKARTA, site: 'jkt-hq', how: 'on-time', mondayMock: true },
  { id: 'a02', name: 'Siti Rahayu', tz: JAKARTA, site: 'jkt-hq', how: 'late' },
  { id: 'a03', name: 'Budi Santoso', tz: JAKARTA, site: 'jkt-selatan', how: 'absent' },
  { id: 'a04', name: 'Dewi Lestari', tz: JAKARTA, site: 'jkt-selatan', how: 'outside-first' },
  { id: 'a05', name: 'Agus Salim', tz: JAKARTA, site: 'jkt-hq', how: 'on-time', days: 'mon,tue,thu,fri' },
  { id: 'a06', name: 'Made Wirawan', tz: MAKASSAR, site: 'mks-pusat', how: 'on-time' },
  { id: 'a07', name: 'Nyoman Sari', tz: MAKASSAR, site: 'mks-pusat', how: 'absent' },
  { id: 'a08', name: 'Andi Pratama', tz: MAKASSAR, site: 'mks-pusat', how: 'mocked' },
  { id: 'a09', name: 'Wayan Putra', tz: MAKASSAR, site: 'mks-pusat', how: 'forgets-check-out' },
  { id: 'a10', name: 'Komang Ayu', tz: MAKASSAR, site: 'mks-pusat', how: 'absent', start: '16:00', end: '23:00' },
];
const OFFSET = { [JAKARTA]: 7, [MAKASSAR]: 8 };
const WEEKDAYS = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'];

/** UTC instant of a local time on a date in a zone (no DST in either). */
function at(date, hhmm, tz) {
  const [h, m] = hhmm.split(':').map(Number);
  const t = Date.parse(`${date}T00:00:00Z`) + ((h - OFFSET[tz]) * 60 + m) * 60000;
  return new Date(t).toISOString().replace('.000Z', 'Z');
}

/** The server's own check-in or check-out, captured at `when`. */
function fix(agent, kind, when, place, extra = []) {
  const [lat, lon] = place;
  fieldcheck(serverDb, ['--now', when, '--actor', agent, '--role', 'agent', kind, '--agent', agent,
    '--lat', String(lat), '--lon', String(lon), '--accuracy', '12', '--at', when, ...extra]);
}

/** Weekdays from Monday 2026-11-02 to today. */
function workdays() {
  const out = [];
  for (let t = Date.parse('2026-11-02T00:00:00Z'); t <= Date.parse(`${TODAY}T00:00:00Z`); t += 86400000) {
    const d = new Date(t);
    if (d.getUTCDay() !== 0 && d.getUTCDay() !== 6) out.push(d.toISOString().slice(0, 10));
  }
  return out;
}

function seed() {
  const setup = '2026-11-01T00:00:00Z';
  writeFileSync(join(work, 'sites.geojson'), JSON.stringify(SITES));
  fieldcheck(serverDb, ['--now', setup, 'site', 'import', join(work, 'sites.geojson')]);
  fieldcheck(serverDb, ['user', 'add', '--id', 'sup-1', '--user-role', 'supervisor', '--team',
    AGENTS.map((a) => a.id).join(','), '--password-stdin'], `${PASSWORD}\n`);
  fieldcheck(serverDb, ['user', 'add', '--id', 'boss', '--user-role', 'admin', '--password-stdin'],
    `${PASSWORD}\n`);
  for (const a of AGENTS) {
    fieldcheck(serverDb, ['--now', setup, 'consent', 'grant', '--agent', a.id, '--permission', 'location']);
    fieldcheck(serverDb, ['--now', setup, 'agent', 'name', '--agent', a.id, '--name', a.name]);
    fieldcheck(serverDb, ['--now', setup, 'shift', 'set', '--agent', a.id, '--start', a.start ?? '08:00',
      '--end', a.end ?? '17:00', '--weekdays', a.days ?? 'mon-fri', '--tz', a.tz]);
  }
  const north = (place) => [place[0] + 0.01, place[1]];
  for (const date of workdays()) {
    const today = date === TODAY;
    const weekday = WEEKDAYS[new Date(`${date}T00:00:00Z`).getUTCDay()];
    for (const a of AGENTS) {
      if (a.days && !a.days.split(',').includes(weekday)) continue;
      const place = PLACE[a.site];
      const tz = a.tz;
      switch (a.how) {
        case 'on-time':
          if (a.mondayMock && weekday === 'mon') fix(a.id, 'check-in', at(date, '07:50', tz), place, ['--mock']);
          fix(a.id, 'check-in', at(date, '07:55', tz), place);
          if (!today) fix(a.id, 'check-out', at(date, '17:02', tz), place);
          break;
        case 'late':
          fix(a.id, 'check-in', at(date, '08:25', tz), place);
          if (!today) fix(a.id, 'check-out', at(date, '17:00', tz), place);
          break;
        case 'outside-first':
          fix(a.id, 'check-in', at(date, '07:45', tz), north(place));
          fix(a.id, 'check-in', at(date, '07:58', tz), place);
          if (!today) fix(a.id, 'check-out', at(date, '17:05', tz), place);
          break;
        case 'mocked':
          fix(a.id, 'check-in', at(date, '08:01', tz), place, ['--mock']);
          break;
        case 'forgets-check-out':
          fix(a.id, 'check-in', at(date, '07:59', tz), place);
          if (!today && Number(date.slice(8)) % 2 === 0) {
            fix(a.id, 'check-out', at(date, '17:00', tz), place);
          }
          break;
        default: // absent: no attempt at all
      }
    }
  }
}

/** `report attendance` on the server's store, as the CLI prints it. */
function cliReport(from, to, format, extra = []) {
  return fieldcheck(serverDb, ['--now', NOW, 'report', 'attendance', '--from', from, '--to', to,
    '--format', format, ...extra]);
}

/** The tiles of Today as { label: count }. */
async function tiles(page) {
  const items = await page.locator('ul.tiles li').allInnerTexts();
  return Object.fromEntries(items.map((text) => {
    const [count, ...label] = text.trim().split('\n');
    return [label.join(' ').trim(), Number(count)];
  }));
}

/** No code of the core shown as it is in the page's text. */
async function readable(page, name) {
  const text = await page.innerText('body');
  const raw = text.match(/\b(check_in|check_out|mock_location|outside_geofence|low_accuracy|stale_fix|future_fix|consent_required|uncertain_position|impossible_travel|no_sites|le10|le25|le50|le100|gt100|on_time|not_yet_due|not_scheduled|missing_check_out|clock_skew|still_checked_in|needing_decision)\b|rejected:\w/);
  assert.equal(raw, null, `${name}: a raw code in the page: ${raw && raw[0]}`);
}

async function signIn(page, url, user) {
  await page.goto(`${url}/`);
  await page.getByLabel('User').fill(user);
  await page.getByLabel('Password').fill(PASSWORD);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('heading', { name: 'Today', exact: true }).waitFor();
}

let server;
let browser;
let page;
try {
  const seeded = Date.now();
  seed();
  console.log(`seeded a month for ten agents in ${((Date.now() - seeded) / 1000).toFixed(1)} s`);
  writeFileSync(clockFile, NOW);
  server = await startServer(serverDb, ['--clock-file', clockFile]);
  const { url } = server;

  browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
  const context = await browser.newContext({ acceptDownloads: true, bypassCSP: true, viewport: { width: 1280, height: 900 } });
  page = await context.newPage();

  // Today, as the supervisor of all ten.
  await page.goto(`${url}/`);
  await check(page, 'sign-in');
  await signIn(page, url, 'sup-1');
  await check(page, 'today');
  await readable(page, 'today');
  const shown = await tiles(page);
  const report = JSON.parse(cliReport(TODAY, TODAY, 'json'));
  const totals = report.totals[0];
  const withRows = new Set(report.days.map((d) => d.agent));
  const stillIn = AGENTS.filter((a) => {
    const events = fieldcheck(serverDb, ['--json', 'events', '--agent', a.id]).trim().split('\n')
      .filter(Boolean).map((l) => JSON.parse(l)).filter((e) => e.accepted);
    const last = events[events.length - 1];
    return last && last.kind === 'check_in';
  }).length;
  assert.deepEqual({
    present: shown.Present, late: shown.Late, absent: shown.Absent,
    notYetDue: shown['Not yet due'], notScheduled: shown['Not scheduled'],
    stillIn: shown['Still checked in'], agents: shown['All agents'],
  }, {
    present: totals.on_time + totals.late, late: totals.late, absent: totals.absent,
    notYetDue: totals.pending, notScheduled: totals.unscheduled + (AGENTS.length - withRows.size),
    stillIn, agents: AGENTS.length,
  }, 'Today counts equal the report totals of each agent\'s date');
  assert.deepEqual([shown.Absent, shown['Not yet due'], shown['Not scheduled']], [3, 1, 1],
    'Budi, Nyoman and Andi absent; Komang not yet due; Agus off on Wednesdays');
  // Budi (no attempt at all) is absent on Today, and in the queue under
  // "absent" for each earlier day.
  const budi = page.locator('#today tbody tr').filter({ hasText: 'Budi Santoso' });
  assert.match(await budi.innerText(), /absent/);
  assert.match(await budi.innerText(), /Asia\/Jakarta/, 'the zone named');
  await page.locator('ul.tiles a').filter({ hasText: 'Absent' }).click();
  assert.equal(await page.locator('#today tbody tr').count(), 3);
  await check(page, 'today-absent');

  // The queue: more than 120 undecided items, the oldest reached by paging.
  await page.getByRole('link', { name: 'Review queue' }).click();
  const heading = await page.getByRole('heading', { name: /^Needing a decision: \d+$/ }).innerText();
  const total = Number(heading.match(/\d+/)[0]);
  assert.ok(total > 120, `${total} items`);
  await check(page, 'queue');
  await readable(page, 'queue');
  const seen = [];
  for (let pages = 0; ; pages += 1) {
    assert.ok(pages < 10, 'paging ends');
    const rows = await page.locator('#queue tbody tr input[name="day"]').evaluateAll(
      (inputs) => inputs.map((i) => i.value));
    assert.ok(rows.length <= 50);
    seen.push(...rows);
    const older = page.getByRole('link', { name: 'Older →' }).first();
    if (await older.count() === 0) break;
    await older.click();
  }
  assert.equal(seen.length, total, 'every item once');
  assert.equal(new Set(seen).size, total);
  assert.ok(seen[seen.length - 1].endsWith('/2026-11-02'), `the oldest last: ${seen[seen.length - 1]}`);
  await check(page, 'queue-oldest');
  await page.getByRole('link', { name: '← Newer' }).first().click();
  await page.getByRole('link', { name: 'Older →' }).first().waitFor();

  // Absences are a reason like the others.
  await page.goto(`${url}/queue`);
  await page.getByLabel('Reason', { exact: true }).selectOption('absent');
  await page.getByRole('button', { name: 'Filter' }).click();
  assert.ok(await page.locator('#queue tbody tr').filter({ hasText: 'Budi Santoso' }).count() > 0);
  await check(page, 'queue-absent');

  // Bulk reject with a note: every absence of Nyoman, found by part of her
  // name, selected with "Select all".
  await page.goto(`${url}/queue`);
  await page.getByLabel('Agent (id or part of a name)').fill('nyoman');
  await page.getByRole('button', { name: 'Filter' }).click();
  const nyoman = Number((await page.getByRole('heading', { name: /^Needing a decision: \d+$/ }).innerText()).match(/\d+/)[0]);
  assert.ok(nyoman >= 20, `${nyoman}`);
  await page.getByRole('link', { name: 'Select all' }).click();
  const boxes = page.locator('#queue tbody input[name="day"]');
  assert.equal(await boxes.count(), nyoman);
  assert.equal(await page.locator('#queue tbody input[name="day"]:checked').count(), nyoman);
  await page.getByLabel('Note', { exact: true }).fill('No word from her: absent');
  await page.getByRole('button', { name: 'Reject selected' }).click();
  await page.getByText(`Recorded ${nyoman} decisions.`).waitFor();
  await page.getByRole('heading', { name: 'Needing a decision: 0', exact: true }).waitFor();
  assert.equal(await page.getByLabel('Agent (id or part of a name)').inputValue(), 'nyoman',
    'back where it was');
  await page.goto(`${url}/agents/a07/days/2026-11-03`);
  await page.locator('li').filter({ hasText: 'No word from her: absent' }).waitFor();

  // An agent found by part of the name.
  await page.getByRole('link', { name: 'Agents' }).click();
  await check(page, 'agents');
  await page.getByLabel('Agent (id or part of a name)').fill('harto');
  await page.getByRole('button', { name: 'Find' }).click();
  const found = await page.locator('#agents tbody tr').allInnerTexts();
  assert.equal(found.length, 1);
  assert.match(found[0], /Rudi Hartono/);
  await page.getByRole('link', { name: 'Rudi Hartono' }).click();
  await page.getByRole('heading', { name: /December 2026/ }).waitFor();
  await check(page, 'agent-month');
  await readable(page, 'agent-month');

  // A day approved, then one of its events rejected: the day keeps its own
  // decision, the event has its own, on the page and in the CLI's report.
  await page.goto(`${url}/agents/a02/days/2026-12-01`);
  const dayForm = page.getByRole('form', { name: 'Decide the whole day' });
  await dayForm.getByLabel('Note').fill('Traffic on the toll road, agreed');
  await dayForm.getByRole('button', { name: 'Approve' }).click();
  await page.getByText('Decision recorded.').waitFor();
  await page.locator('summary').filter({ hasText: 'Decide the check-in at 08:25:00' }).click();
  const eventForm = page.getByRole('form', { name: 'Decide this event' }).first();
  await eventForm.getByLabel('Note').fill('Check-in from the car park');
  await eventForm.getByRole('button', { name: 'Reject' }).click();
  await page.getByText('Decision recorded.').waitFor();
  const onDay = await page.locator('section[aria-labelledby="day-decision"]').innerText();
  assert.match(onDay, /approved/);
  assert.match(await page.locator('#timeline tbody tr').first().innerText(), /rejected/);
  await check(page, 'agent-day');
  await readable(page, 'agent-day');
  const decided = JSON.parse(cliReport('2026-12-01', '2026-12-01', 'json', ['--agent', 'a02'])).days[0];
  assert.equal(decided.name, 'Siti Rahayu');
  assert.equal(decided.review.decision, 'approved');
  assert.equal(decided.review.event_id, null);
  assert.deepEqual(decided.event_reviews.map((r) => r.decision), ['rejected']);

  // Downloads: CSV and JSON byte for byte the CLI's; XLSX the CSV's rows.
  const period = 'from=2026-11-30&to=2026-12-02';
  await page.goto(`${url}/reports?${period}`);
  await check(page, 'reports');
  await readable(page, 'reports');
  const download = async (format) => {
    const [file] = await Promise.all([
      page.waitForEvent('download'),
      page.locator(`a[href^="/reports/attendance/${format}?"]`).click(),
    ]);
    return file.path();
  };
  const csv = readFileSync(await download('csv'), 'utf8');
  assert.equal(csv, cliReport('2026-11-30', TODAY, 'csv'), 'CSV byte for byte');
  assert.equal(readFileSync(await download('json'), 'utf8'), cliReport('2026-11-30', TODAY, 'json'),
    'JSON byte for byte');
  // openpyxl goes by the file's extension.
  const xlsx = join(work, 'attendance.xlsx');
  writeFileSync(xlsx, readFileSync(await download('xlsx')));
  const csvPath = join(work, 'attendance.csv');
  writeFileSync(csvPath, csv);
  const sameRows = execFileSync(PYTHON, ['-c', `
import csv, sys, openpyxl
book = openpyxl.load_workbook(sys.argv[1], read_only=True)
cells = lambda v: "" if v is None else (str(int(v)) if isinstance(v, float) and v.is_integer() else str(v))
rows = []
for i, sheet in enumerate(book.worksheets):
    for j, row in enumerate(sheet.iter_rows(values_only=True)):
        if j == 0 and i > 0:
            continue  # each later sheet repeats the header
        rows.append([cells(v) for v in row])
with open(sys.argv[2], newline="", encoding="utf-8") as f:
    expected = list(csv.reader(f))
width = len(expected[0])
rows = [r + [""] * (width - len(r)) for r in rows]
assert rows == expected, (len(rows), len(expected), next((a, b) for a, b in zip(rows, expected) if a != b))
print(len(rows) - 1, "rows in", len(book.worksheets), "sheet(s)")
`, xlsx, csvPath], { encoding: 'utf8' });
  console.log(`xlsx: ${sameRows.trim()}, the CSV's`);

  // The admin: People, an enrolment code for Rudi shown once with its QR
  // code, and a CLI device enrolled with it.
  const admin = await browser.newContext({ bypassCSP: true, viewport: { width: 1280, height: 900 } });
  const adminPage = await admin.newPage();
  await signIn(adminPage, url, 'boss');
  await adminPage.getByRole('link', { name: 'People' }).click();
  await check(adminPage, 'people');
  await readable(adminPage, 'people');
  const mintForm = adminPage.getByRole('form', { name: 'Create a code' });
  await mintForm.getByLabel('Agent').fill('a01');
  const [minted] = await Promise.all([
    adminPage.waitForResponse((r) => r.url().endsWith('/people/codes')),
    mintForm.getByRole('button', { name: 'Create a code' }).click(),
  ]);
  assert.equal(minted.headers()['cache-control'], 'no-store');
  await adminPage.getByRole('heading', { name: 'Enrolment code' }).waitFor();
  assert.ok(await adminPage.locator('figure.qr svg').count() === 1, 'a QR code');
  const code = (await adminPage.locator('p.code').innerText()).trim();
  const link = await adminPage.locator('p code').innerText();
  assert.ok(link.startsWith(`fieldcheck://enrol?server=${encodeURIComponent(url)}&code=`), link);
  await check(adminPage, 'enrolment-code');
  fieldcheck(deviceDb, ['--now', NOW, 'device', 'enrol', '--server', url, '--code', code]);
  const first = JSON.parse(fieldcheck(deviceDb, ['--now', NOW, '--json', 'sync', 'pull']));
  assert.ok(first.config > 0, JSON.stringify(first));
  for (const path of ['/devices', '/flags', '/sites', '/requests']) {
    await adminPage.goto(url + path);
    await check(adminPage, `admin-${path.slice(1)}`);
    await readable(adminPage, path);
  }

  // The supervisor sets Rudi's shift from Monday 7 December on the
  // console; the phone's next pull brings it.
  await page.goto(`${url}/agents/a01`);
  const shiftForm = page.getByRole('form', { name: 'A new shift from a date' });
  await shiftForm.getByLabel('From').fill('2026-12-07');
  await shiftForm.getByLabel('Start').fill('09:00');
  await shiftForm.getByLabel('End').fill('18:00');
  await shiftForm.getByRole('button', { name: 'Save the shift' }).click();
  await page.getByText(/Shift saved from 2026-12-07/).waitFor();
  const pulled = JSON.parse(fieldcheck(deviceDb, ['--now', NOW, '--json', 'sync', 'pull']));
  assert.ok(pulled.config >= 1, JSON.stringify(pulled));
  const versions = fieldcheck(deviceDb, ['--json', 'shift', 'list', '--agent', 'a01'])
    .trim().split('\n').map((l) => JSON.parse(l));
  const fromMonday = versions.find((v) => v.from === '2026-12-07');
  assert.ok(fromMonday, JSON.stringify(versions));
  assert.equal(fromMonday.shift.start, '09:00');
  assert.equal(fromMonday.shift.end, '18:00');

  // Bahasa Indonesia: the same pages in words, no code shown.
  await page.goto(`${url}/`);
  await page.getByRole('link', { name: 'Bahasa Indonesia' }).click();
  await page.getByRole('heading', { name: 'Hari ini', exact: true }).waitFor();
  for (const path of ['/', '/queue', '/agents/a02/days/2026-12-01', '/agents', '/agents/a04', '/reports']) {
    await page.goto(url + path);
    await readable(page, `id ${path}`);
  }
  await check(page, 'reports-id');
  await page.goto(`${url}/agents/a04/days/2026-12-01`);
  assert.match(await page.innerText('#timeline'), /di luar lokasi · \d+ m dari lokasi/, 'the distance to the fence');
  await check(page, 'agent-day-id');
  await page.goto(`${url}/`);
  await check(page, 'today-id');
  console.log('supervisor day e2e: today, absences, paging, bulk reject, names, day and event decisions, downloads, enrolment, shift to the phone, words: ok');
} catch (e) {
  await showFailure(page);
  throw e;
} finally {
  if (browser) await browser.close();
  if (server) server.child.kill('SIGTERM');
  rmSync(work, { recursive: true, force: true });
}

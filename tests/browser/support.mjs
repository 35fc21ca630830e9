// What the console's browser tests share: the real server started on
// 127.0.0.1 port 0, axe-core, and the layout checks at 412 and 1280 px.

import { spawn, execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createRequire } from 'node:module';
import assert from 'node:assert/strict';

const require = createRequire(import.meta.url);
export const { chromium } = require('playwright-core');
const axeSource = readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');

export const CLI = process.env.FIELDCHECK_CLI;
export const SERVER = process.env.FIELDCHECK_SERVER;
export const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
export const SHOTS = process.env.FIELDCHECK_SCREENSHOTS;
assert.ok(CLI && SERVER, 'FIELDCHECK_CLI and FIELDCHECK_SERVER must be set');

/**
 * Where a test's server keeps its store: `server.db` in `work`, or, with
 * FIELDCHECK_TEST_PG set (scripts/with-postgres.sh), a new PostgreSQL
 * database.
 */
export function serverStore(work, name) {
  const template = process.env.FIELDCHECK_TEST_PG;
  if (!template) return join(work, 'server.db');
  const db = `fc_${name}_${process.pid}`;
  execFileSync('psql', ['-q', template.replace('{db}', 'postgres'), '-c', `CREATE DATABASE ${db}`]);
  return template.replace('{db}', db);
}

/** The CLI on `db`; throws on a non-zero exit. */
export const fieldcheck = (db, args, input) =>
  execFileSync(CLI, ['--db', db, ...args], { input: input ?? '', encoding: 'utf8' });

/** The server on `db`, listening on 127.0.0.1 port 0; `extra` arguments. */
export async function startServer(db, extra = []) {
  const child = spawn(SERVER, ['--db', db, '--listen', '127.0.0.1:0', ...extra],
    { stdio: ['ignore', 'pipe', 'pipe'] });
  child.stderr.resume();
  const url = await new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error('the server did not start')), 20000);
    child.stdout.on('data', (chunk) => {
      out += chunk;
      const m = out.match(/^listening on (http:\/\/\S+)/m);
      if (m) { clearTimeout(timer); resolve(m[1]); }
    });
    child.on('exit', (code) => reject(new Error(`the server exited: ${code}`)));
  });
  return { child, url };
}

/** axe-core on the page: no serious or critical violation. */
export async function axe(page, name) {
  // The console's CSP forbids every script; the test context bypasses it
  // (bypassCSP) for axe-core alone.
  await page.addScriptTag({ content: axeSource });
  const result = await page.evaluate(async () =>
    // eslint-disable-next-line no-undef
    (await axe.run(document, { resultTypes: ['violations'] })).violations
      .map((v) => ({ id: v.id, impact: v.impact, nodes: v.nodes.length })));
  const bad = result.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  assert.deepEqual(bad, [], `${name}: axe-core found ${JSON.stringify(bad)}`);
  const rules = await page.evaluate(() => axe.getRules().length); // eslint-disable-line no-undef
  console.log(`${name}: axe-core ran ${rules} rules, no serious or critical violation` +
    (result.length ? `; minor: ${JSON.stringify(result)}` : ''));
  return result;
}

/**
 * At 412 and 1280 px: no horizontal overflow, and every badge's box
 * inside its container's (nothing cut off); a screenshot of each width
 * when FIELDCHECK_SCREENSHOTS names a directory.
 */
export async function fits(page, name) {
  for (const width of [412, 1280]) {
    await page.setViewportSize({ width, height: 900 });
    const { scroll, inner, clipped } = await page.evaluate(() => {
      const clipped = [];
      for (const badge of document.querySelectorAll('.badge')) {
        const r = badge.getBoundingClientRect();
        if (r.width === 0 && r.height === 0) continue; // not shown (a closed <details>)
        const box = badge.parentElement.closest('td, li, p, div, section, figure, main');
        const c = box.getBoundingClientRect();
        if (r.left < c.left - 1 || r.right > c.right + 1 || r.top < c.top - 1 ||
            r.bottom > c.bottom + 1 || r.right > window.innerWidth) {
          clipped.push(`${badge.textContent.trim()} [${Math.round(r.left)}–${Math.round(r.right)}]` +
            ` in ${box.tagName} [${Math.round(c.left)}–${Math.round(c.right)}]`);
        }
      }
      return { scroll: document.documentElement.scrollWidth, inner: window.innerWidth, clipped };
    });
    assert.ok(scroll <= inner, `${name} at ${width} px: ${scroll} px wide in ${inner}`);
    assert.deepEqual(clipped, [], `${name} at ${width} px: badges cut off`);
    if (SHOTS) await page.screenshot({ path: join(SHOTS, `${name}-${width}.png`), fullPage: true });
  }
  await page.setViewportSize({ width: 1280, height: 900 });
}

/** axe-core and the layout checks, together. */
export async function check(page, name) {
  await axe(page, name);
  await fits(page, name);
}

/** On failure: what the browser showed, for whoever reads the log. */
export async function showFailure(page) {
  if (!page) return;
  if (SHOTS) await page.screenshot({ path: join(SHOTS, 'failure.png'), fullPage: true }).catch(() => {});
  const text = await page.innerText('body').catch(() => '');
  console.error(`failed on ${page.url()}:\n${text.slice(0, 3000)}`);
}

// The console in a real browser (Debian chromium through playwright-core),
// against a real kura serve: log in with the API token, create a pool and an
// LD, map it to a host, take a snapshot, watch a pair's copy reach 100%, see a
// controller-down alert appear without a reload, look at every page (a
// screenshot each, kept in test-artifacts/console), and log out. It also
// measures the first load's JavaScript and the dashboard's render time and
// prints them (no timed assertion), and checks that names are shown as text.
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { after, before, test } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { NbdClient } from '../../src/nbd/client.js';
import { startServer } from '../helpers/server.js';
import type { TestServer } from '../helpers/server.js';
import { artefactDir, launchBrowser, login, shot } from './browser.js';

let srv: TestServer;
let browser: Browser;
const MiB = 1024 * 1024;

before(async () => {
  srv = await startServer();
  browser = await launchBrowser();
  // Licences are set-up, not the subject: snapshots and pairs need theirs, the VVOL screens need VirtualVolume.
  for (const l of ['DynamicSnapVolume', 'DynamicDataReplication', 'VirtualVolume']) await srv.api('POST', `/licenses/${l}/unlock`);
});

after(async () => {
  await browser?.close();
  await srv?.cleanup();
});

/** A link of the console's navigation. */
const navLink = (page: Page, name: string) => page.getByRole('navigation').getByRole('link', { name, exact: true });

/** The form of the given name (aria-label) on the page. */
const form = (page: Page, name: string) => page.getByRole('form', { name });

async function submitted(page: Page, name: string, text: RegExp): Promise<void> {
  const f = form(page, name);
  await f.getByRole('button').last().click();
  await f.getByRole('status').filter({ hasText: text }).waitFor({ timeout: 30_000 });
}

test('console: log in, pool, LD, LUN map, snapshot, pair to 100%, controller-down alert live, every page, log out', { timeout: 240_000 }, async () => {
  const context = await browser.newContext({ viewport: { width: 1400, height: 900 } });
  const page = await context.newPage();
  const problems: string[] = [];
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  page.on('console', (m) => {
    if (m.type() === 'error') problems.push(`console error: ${m.text()}`);
  });
  page.on('dialog', (d) => {
    // Confirmations are the console's; an alert() would be injected script.
    if (d.type() !== 'confirm') problems.push(`unexpected ${d.type()} dialog: ${d.message()}`);
    void d.accept();
  });
  let jsBytes = 0;
  const scripts: string[] = [];
  page.on('response', async (r) => {
    if (r.request().resourceType() === 'script') {
      const body = await r.body().catch(() => Buffer.alloc(0));
      jsBytes += body.length;
      scripts.push(`${new URL(r.url()).pathname} ${body.length} B`);
    }
  });

  // Without a session, / is the login form; the token logs in.
  await page.goto(srv.url + '/');
  await page.getByLabel('API token').waitFor();
  await shot(page, '00-login');
  await page.getByLabel('API token').fill('not-the-token-at-all');
  await page.getByRole('button', { name: 'Log in' }).click();
  await page.getByRole('alert').filter({ hasText: 'KURA-E8203' }).waitFor();
  // The browser logs the refused login's 401 as a console error: that one is expected.
  problems.length = 0;
  await login(page, srv.url, srv.token);
  const cookies = await context.cookies();
  const session = cookies.find((c) => c.name === 'kura_session');
  assert.ok(session, 'a session cookie is set');
  assert.equal(session.httpOnly, true);
  assert.equal(session.sameSite, 'Strict');

  // First load and render time of the dashboard, measured in the browser (printed, not asserted on time).
  await page.getByRole('heading', { name: 'Controllers and host ports' }).waitFor();
  const renderMs = await page.evaluate(() => performance.getEntriesByName('kura-dashboard-rendered')[0]?.startTime ?? -1);
  assert.ok(jsBytes > 0, 'the console loaded its script');
  assert.ok(jsBytes < 300 * 1024, `first-load JavaScript is ${jsBytes} bytes, over 300 KB`);
  console.log(
    `console first-load JavaScript: ${jsBytes} bytes (${scripts.join(', ')}); dashboard rendered with data ${renderMs.toFixed(0)} ms after navigation start`,
  );
  await shot(page, '01-dashboard');

  // A pool, then an LD in it.
  await navLink(page, 'Pools').click();
  const pf = form(page, 'Create a pool');
  await pf.getByLabel('Name').fill('webpool');
  await pf.getByLabel('Usable capacity').fill('8GiB');
  await pf.getByLabel('RAID').selectOption('RAID0');
  await pf.getByLabel('PDs').fill('1');
  await submitted(page, 'Create a pool', /Pool webpool created/);
  await page.locator('tr[data-pool="webpool"]').waitFor();
  await shot(page, '02-pools');
  // The snapshot reserve (SSV) is set-up through the API: the console has no form for it.
  await srv.api('POST', '/lds', { name: 'webssv', pool: 'webpool', attr: 'ssv' });

  await navLink(page, 'Logical disks').click();
  for (const name of ['webld', 'webrv']) {
    const lf = form(page, 'Create a logical disk');
    await lf.getByLabel('Name').fill(name);
    await lf.getByLabel('Pool').selectOption('webpool');
    await lf.getByLabel('Virtual capacity').fill('256MiB');
    await submitted(page, 'Create a logical disk', new RegExp(`LD ${name} \\(`));
  }
  await page.locator('tr[data-ld="webld"]').waitFor();
  await page.locator('tr[data-ld="webld"]').getByRole('button', { name: 'webld', exact: true }).click();
  await page.getByRole('heading', { name: 'LD webld' }).waitFor();
  await shot(page, '03-lds');
  const lds = await srv.api<Array<{ name: string; pool: string; capacity: number }>>('GET', '/lds');
  assert.deepEqual(
    lds.filter((l) => l.name === 'webld').map((l) => [l.pool, l.capacity]),
    [['webpool', 256 * MiB]],
  );

  // Data on the MV, so that the pair's copy has something to copy (plain NBD, before access control starts).
  const data = crypto.randomBytes(48 * MiB);
  const c = await NbdClient.connect({ host: srv.nbdHost, port: srv.nbdPort, exportName: 'webld' });
  for (let off = 0; off < data.length; off += 4 * MiB) await c.write(off, data.subarray(off, off + 4 * MiB));
  await c.flush();
  await c.disconnect();

  // A host entry, and the LD mapped to it.
  await navLink(page, 'Hosts and LUNs').click();
  const hf = form(page, 'Create a host entry');
  await hf.getByLabel('Name').fill('webhost');
  await hf.getByLabel('Initiator IQNs').fill('iqn.2026-12.test:webhost');
  await submitted(page, 'Create a host entry', /Host webhost created/);
  const mf = form(page, 'Map an LD to a host');
  await mf.getByLabel('Host').selectOption('webhost');
  await mf.getByLabel('LD').selectOption('webld');
  await submitted(page, 'Map an LD to a host', /Mapped to webhost as LUN 0/);
  await page.locator('tr[data-host="webhost"]').getByText('LUN 0 → webld').waitFor();
  await shot(page, '04-hosts');
  const hosts = await srv.api<Array<{ name: string; luns: Array<{ lun: number; ld: string }> }>>('GET', '/hosts');
  assert.deepEqual(hosts.find((h) => h.name === 'webhost')?.luns, [
    { lun: 0, ld: 'webld', ldNumber: (await srv.api<{ number: number }>('GET', '/lds/webld')).number },
  ]);

  // A snapshot of the LD.
  await navLink(page, 'Snapshots and pairs').click();
  await page.getByLabel('LD', { exact: true }).selectOption('webld');
  const sf = form(page, 'Take a snapshot of webld');
  await sf.getByLabel('Snapshot name').fill('websnap');
  await submitted(page, 'Take a snapshot of webld', /Snapshot websnap of webld taken/);
  await page.locator('tr[data-snapshot="websnap"]').waitFor();
  const snaps = await srv.api<Array<{ name: string }>>('GET', '/lds/webld/snapshots');
  assert.deepEqual(
    snaps.map((s) => s.name),
    ['websnap'],
  );

  // A pair, replicated; its progress shown live until 100%.
  const prf = form(page, 'Pair two LDs');
  await prf.getByLabel('Master volume (MV)').selectOption('webld');
  await prf.getByLabel('Replication volume (RV)').selectOption('webrv');
  await submitted(page, 'Pair two LDs', /Pair webld → webrv created/);
  const row = page.locator('tr[data-pair="webld/webrv"]');
  await row.waitFor();
  await row.getByRole('button', { name: 'Replicate' }).click();
  const seen: number[] = [];
  const deadline = Date.now() + 120_000;
  while (Date.now() < deadline) {
    const pct = Number((await row.locator('.progress-text').textContent())?.replace('%', ''));
    if (seen[seen.length - 1] !== pct) seen.push(pct);
    if (pct === 100 && (await row.getByText('rpl/sync').count()) > 0) break;
    await page.waitForTimeout(100);
  }
  console.log(`pair copy progress seen in the console: ${seen.join(', ')}`);
  assert.equal(seen[seen.length - 1], 100, `the pair's progress reached 100% in the console (seen ${seen.join(', ')})`);
  await row.getByText('rpl/sync').waitFor();
  assert.equal(await row.locator('progress').getAttribute('value'), '100');
  await shot(page, '05-replication');
  const pair = await srv.api<{ sync: string; progress: number }>('GET', '/pairs/webld/webrv');
  assert.deepEqual([pair.sync, pair.progress], ['rpl/sync', 100]);

  // A controller goes down (fault injection through the API, as another operator would): the dashboard shows it without a reload.
  await navLink(page, 'Dashboard').click();
  await page.getByRole('heading', { name: 'Alerts' }).waitFor();
  await page.getByText('No open alerts').waitFor();
  await page.evaluate(() => ((window as unknown as { kuraNoReload: boolean }).kuraNoReload = true));
  await srv.api('POST', '/faults', { action: 'controller-down', target: '1' });
  await page.getByRole('alert', { name: 'Open alerts' }).getByText('Controller 1 is down.').waitFor({ timeout: 30_000 });
  await page.locator('tr[data-controller="1"] td').nth(1).getByText('down').waitFor();
  assert.equal(await page.evaluate(() => (window as unknown as { kuraNoReload?: boolean }).kuraNoReload), true, 'the page was not reloaded');
  await shot(page, '06-dashboard-controller-down');
  await srv.api('POST', '/faults', { action: 'controller-up', target: '1' });
  await page.getByText('No open alerts').waitFor({ timeout: 30_000 });

  // Names and texts are shown as text: markup in an event (reported by a "host agent") is not run.
  const evil = '<img src=x onerror="window.kuraXss=1"><script>window.kuraXss=2</script>';
  await srv.api('POST', '/events', { id: 'KURA-W7999', severity: 'warning', host: '<b>evil</b>', text: evil });
  await navLink(page, 'Events').click();
  await page.getByRole('cell', { name: evil, exact: true }).waitFor();
  assert.equal(await page.evaluate(() => (window as unknown as { kuraXss?: number }).kuraXss), undefined, 'markup in an event text ran');
  await page.getByLabel('Severity').selectOption('warning');
  await page.getByLabel('Id, source or text contains').fill('KURA-W7999');
  await page.getByRole('cell', { name: 'host:<b>evil</b>' }).waitFor();
  await shot(page, '07-events');

  // VVOLs of a VM for the three VVOL screens, with a backup policy and its backup pool (set-up through the API).
  await srv.api('POST', '/pools', { name: 'vvc', size: '4GiB', raid: 'RAID0', pds: 1, container: true });
  await srv.api('POST', '/pools', { name: 'vvolbackup1', size: '4GiB', raid: 'RAID0', pds: 1, container: true });
  await srv.api('POST', '/vasa/policies', { name: 'webbackup', backup: true, generations: 2 });
  for (const type of ['config', 'data']) await srv.api('POST', '/vasa/vvols', { container: 'vvc', type, size: '64MiB', vm: 'web-vm', policy: 'webbackup' });

  const pages: Array<[string, string, string]> = [
    ['Paths', 'Paths', '08-paths'],
    ['Performance', 'Performance', '09-perf'],
    ['VVOL: VM list', 'Virtual Volume VM list', '10-vvol-vm-list'],
    ['VVOL: information', 'Virtual Volume information', '12-vvol-information'],
  ];
  // A host's path states, as its pathd reports them (a real pathd does it in test/pathmgr/pathd-serve.test.ts).
  const report = (state: string) =>
    srv.api('POST', '/path-states', {
      host: 'web-host/iqn.2026-11.io.kura:web',
      intervalSeconds: 600,
      paths: [
        {
          device: 'mpatha',
          deviceId: 'naa.6000',
          path: '0:0:0:0',
          portal: '10.0.0.1:3260',
          target: 'iqn.t',
          controller: 0,
          alua: 'active/optimized',
          state: 'in-use',
          since: new Date().toISOString(),
        },
        {
          device: 'mpatha',
          deviceId: 'naa.6000',
          path: '1:0:0:1',
          portal: '10.0.0.2:3260',
          target: 'iqn.t',
          controller: 1,
          alua: 'active/non-optimized',
          state,
          since: new Date().toISOString(),
        },
      ],
    });
  await report('failed');
  for (const [link, heading, file] of pages) {
    await navLink(page, link).click();
    await page.getByRole('heading', { name: heading, exact: true }).waitFor();
    if (file === '08-paths') {
      const hostTable = page.getByRole('table', { name: 'Paths of web-host/iqn.2026-11.io.kura:web' });
      await hostTable.locator('tr[data-portal="10.0.0.2:3260"] .path-state').getByText('failed').waitFor();
      await shot(page, file);
      // The path recovers on the host: the page follows without a reload (the stream's "paths" signal).
      await report('active');
      await hostTable.locator('tr[data-portal="10.0.0.2:3260"] .path-state').getByText('active').waitFor({ timeout: 30_000 });
      continue;
    }
    if (file === '10-vvol-vm-list') {
      const vmRow = page.locator('tr[data-vm="web-vm"]');
      await vmRow.waitFor();
      assert.equal(await page.getByRole('button', { name: /Back up selected/ }).isDisabled(), true, 'batch backup waits for a selection');
      // The seed's batch backup (at most 4 VMs): select the VM, back it up, watch its state reach "Backup completed".
      await vmRow.getByLabel('Select web-vm for backup').check();
      await page.getByRole('button', { name: 'Back up selected (1)' }).click();
      await page.getByRole('status').filter({ hasText: 'Backup started: web-vm.' }).waitFor({ timeout: 30_000 });
      await vmRow.locator('.backup-state').getByText('Backup completed', { exact: true }).waitFor({ timeout: 60_000 });
      await shot(page, file);
      await page.getByRole('link', { name: 'web-vm' }).click();
      await page.getByRole('heading', { name: 'VM backup information: web-vm' }).waitFor();
      await page.getByRole('cell', { name: 'config' }).waitFor();
      const status = page.getByRole('status', { name: 'Backup status' });
      await status.getByText('Backup state: Backup completed').waitFor();
      assert.equal(await page.getByRole('button', { name: 'Cancel backup' }).isDisabled(), true, 'nothing to cancel');
      await page.getByRole('button', { name: 'Generate script' }).click();
      assert.match((await page.getByLabel('Backup script').textContent()) ?? '', /web-vm/);
      // A second backup from this page, then a restore from the last one (the confirmation is accepted).
      await page.getByRole('button', { name: 'Back up', exact: true }).click();
      // Its first backup becomes the previous one.
      await status.getByText(/previous backup: [^–]/).waitFor({ timeout: 60_000 });
      await page.getByRole('button', { name: 'Restore' }).click();
      await status.getByText(/Backup state: Restore completed/).waitFor({ timeout: 60_000 });
      const vmState = (await srv.api<Array<{ vm: string; state: string; previousBackupTime: string | null }>>('GET', '/vasa/backups')).find(
        (b) => b.vm === 'web-vm',
      )!;
      assert.match(vmState.state, /^Restore completed/);
      assert.notEqual(vmState.previousBackupTime, null, 'two backups taken: a previous one exists');
      await shot(page, '11-vvol-vm-backup');
      continue;
    }
    await page.waitForTimeout(300);
    await shot(page, file);
  }

  // Keyboard basics: the navigation is reachable by Tab and a link followed with Enter.
  await navLink(page, 'Pools').focus();
  await page.keyboard.press('Enter');
  await page.getByRole('heading', { name: 'Pools', exact: true }).waitFor();

  // Log out: back to the login form, and the old cookie no longer works.
  await page.getByRole('button', { name: 'Log out' }).click();
  await page.getByLabel('API token').waitFor();
  const r = await fetch(`${srv.url}/api/v1/pools`, { headers: { cookie: `kura_session=${session.value}` } });
  assert.equal(r.status, 401);
  assert.equal(((await r.json()) as { error: { id: string } }).error.id, 'KURA-E8200');
  await shot(page, '13-logged-out');

  assert.deepEqual(problems, []);
  console.log(`console screenshots: ${artefactDir()}`);
  await context.close();
});

// What the console's browser tests share: Debian's chromium driven by
// playwright-core (a missing chromium fails the test with the way to install
// it, never skips it), the artefact directory the screenshots go to, and a
// login through the real form.
import fs from 'node:fs';
import path from 'node:path';
import { chromium } from 'playwright-core';
import type { Browser, Page } from 'playwright-core';

export const CHROMIUM = '/usr/bin/chromium';

/** Screenshots and measurements of the console tests (gitignored). */
export const ARTEFACTS = path.resolve('test-artifacts', 'console');

export async function launchBrowser(): Promise<Browser> {
  if (!fs.existsSync(CHROMIUM)) {
    throw new Error(`${CHROMIUM} is missing: the console's browser tests need Debian's chromium; run "bash scripts/ensure-tools.sh" (npm test runs it).`);
  }
  // --no-sandbox: the tests may run as root, where chromium's sandbox refuses to start.
  return chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-dev-shm-usage'], timeout: 60_000 });
}

export function artefactDir(): string {
  fs.mkdirSync(ARTEFACTS, { recursive: true });
  return ARTEFACTS;
}

/** Saves a full-page screenshot as NAME.png in the artefact directory and says where. */
export async function shot(page: Page, name: string): Promise<string> {
  const file = path.join(artefactDir(), `${name}.png`);
  await page.screenshot({ path: file, fullPage: true });
  return file;
}

/** Logs in through the login form with the API token; ends on the dashboard. */
export async function login(page: Page, baseUrl: string, token: string): Promise<void> {
  await page.goto(baseUrl + '/');
  await page.getByLabel('API token').fill(token);
  await page.getByRole('button', { name: 'Log in' }).click();
  await page.getByRole('heading', { name: 'Dashboard' }).waitFor();
}

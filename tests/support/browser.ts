// A real headless Chromium for the web console's tests (ADR 0028): the Debian package
// `chromium` (.ci/run installs it), driven by puppeteer-core; nothing is downloaded. The
// browser is killed when the test process exits, also when a test fails.
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import puppeteer, { type Browser, type Page } from 'puppeteer-core';

/**
 * The few DOM members the tests use inside the page. The project compiles without the DOM
 * library (nothing in src/ may use it), so test files declare `document` with this type.
 */
export interface PageElement {
  readonly textContent: string | null;
  readonly name?: string;
  getAttribute(name: string): string | null;
  querySelector(selector: string): PageElement | null;
  querySelectorAll(selector: string): ArrayLike<PageElement> & Iterable<PageElement>;
}
export interface PageDocument {
  readonly activeElement: PageElement | null;
  readonly body: PageElement;
  querySelector(selector: string): PageElement | null;
  querySelectorAll(selector: string): ArrayLike<PageElement> & Iterable<PageElement>;
}
declare const document: PageDocument;

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const root = fileURLToPath(new URL('../..', import.meta.url));

export async function launchBrowser(): Promise<Browser> {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`no Chromium at ${CHROMIUM}: install the Debian package (apt-get install -y chromium; .ci/run does) or set CHROMIUM_PATH`);
  }
  const browser = await puppeteer.launch({
    executablePath: CHROMIUM,
    headless: true,
    // The tests run as root in containers, where Chromium's sandbox cannot start; /dev/shm is small there.
    args: ['--no-sandbox', '--disable-dev-shm-usage', '--disable-gpu', '--no-first-run'],
  });
  const pid = browser.process()?.pid;
  process.on('exit', () => {
    if (pid === undefined) return;
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  });
  return browser;
}

/**
 * Where tests keep what they produce for people to look at (screenshots): `.tmp/test-output/<name>/`
 * in the checkout (ignored by git), or under $TEST_OUTPUT_DIR. Kept after the run.
 */
export function testOutputDir(name: string): string {
  const dir = join(process.env.TEST_OUTPUT_DIR ?? join(root, '.tmp', 'test-output'), name);
  mkdirSync(dir, { recursive: true });
  return dir;
}

/** Presses Tab until the focused element satisfies `test` (keyboard only); throws after `max` presses. */
export async function tabUntil(page: Page, test: (el: PageElement) => boolean, what: string, max = 30): Promise<void> {
  for (let i = 0; i < max; i++) {
    await page.keyboard.press('Tab');
    const focused = await page.evaluateHandle(() => document.activeElement ?? document.body);
    const hit = await focused.evaluate(test);
    await focused.dispose();
    if (hit) return;
  }
  throw new Error(`${what}: not reached within ${max} Tab presses`);
}

/**
 * The name of the field a freshly loaded page put the focus on (autofocus). Chromium moves the
 * focus when it next renders, which can come after the load event that goto() and
 * waitForNavigation() wait for: this waits (the page's default timeout) for the focus to leave
 * the body, then reads it; undefined when it never did.
 */
export async function autofocusedName(page: Page): Promise<string | undefined> {
  await page.waitForFunction(() => document.activeElement !== null && document.activeElement !== document.body).catch(() => undefined);
  return page.evaluate(() => document.activeElement?.name);
}

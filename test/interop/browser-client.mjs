// Opens the browser interop page (browser.html, served by the test's server) in Debian's headless Chromium through
// playwright-core, waits for the page to publish window.results, and prints one JSON line:
//   { ok, results, console, timings (ms since start), error? }
// Exit code 0 only if the page reported success. The browser is always closed.
// Usage: node browser-client.mjs <page-url> [timeoutMs]
// Playwright never downloads a browser here: it runs the executable Debian installs (override with CHROMIUM).
import { chromium } from 'playwright-core';

const [url, timeoutArgument] = process.argv.slice(2);
const timeoutMs = Number(timeoutArgument ?? 30000);
const summary = { ok: false, results: null, console: [], timings: {} };
const started = performance.now();
const mark = (name) => { summary.timings[name] = Math.round(performance.now() - started); };

function finish(error) {
  if (error) summary.error = String(error?.stack ?? error);
  console.log(JSON.stringify(summary));
  process.exit(summary.ok ? 0 : 1);
}

if (!url) finish(new Error('usage: node browser-client.mjs <page-url> [timeoutMs]'));

// The backstop for a launch or close that hangs; exiting takes the browser down with this process.
setTimeout(() => finish(new Error(`timed out after ${timeoutMs + 30000} ms`)), timeoutMs + 30000).unref();

let browser;
let failure;
try {
  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
    headless: true,
    timeout: 30000,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--disable-dev-shm-usage',
    ],
  });
  mark('launched');
  const page = await browser.newPage();
  page.on('console', (message) => summary.console.push(`${message.type()}: ${message.text()}`));
  page.on('pageerror', (error) => summary.console.push(`pageerror: ${error.message}`));
  const response = await page.goto(url, { timeout: 15000 });
  if (!response || !response.ok()) throw new Error(`GET ${url} answered ${response?.status()}`);
  await page.waitForFunction(() => window.results !== undefined, null, { timeout: timeoutMs, polling: 100 });
  summary.results = await page.evaluate(() => window.results);
  mark('results');
  summary.ok = summary.results?.ok === true;
  if (!summary.ok) failure = new Error(`the page reported a failure: ${summary.results?.error ?? 'see results'}`);
} catch (error) {
  failure = error;
} finally {
  if (browser) {
    let timer;
    const closeTimeout = new Promise((_, reject) => {
      timer = setTimeout(() => reject(new Error('the browser did not close within 10 s')), 10000);
    });
    try {
      await Promise.race([browser.close(), closeTimeout]);
    } catch (error) {
      summary.ok = false;
      failure ??= error;
    } finally {
      clearTimeout(timer);
    }
    mark('closed');
  }
}

finish(failure);

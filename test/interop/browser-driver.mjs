// Drives Debian's headless Chromium through playwright-core for tests written in C#: one JSON command per line on
// stdin, one JSON answer per line on stdout ({ id, ok, value } or { id, ok: false, error }). Contexts (separate
// cookie jars, i.e. separate users) and pages are named by the caller. The browser closes when stdin ends.
// Usage: node browser-driver.mjs   (CHROMIUM overrides /usr/bin/chromium; Playwright never downloads a browser)
import { chromium } from 'playwright-core';
import { createInterface } from 'node:readline';

const contexts = new Map();
const pages = new Map();
const logs = new Map(); // page name -> console lines, page errors, and the browser's own network log entries

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
  headless: true,
  timeout: 30000,
  args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
    '--disable-component-update', '--disable-sync', '--disable-dev-shm-usage'],
});

function page(name) {
  const found = pages.get(name);
  if (!found) throw new Error(`no page '${name}'`);
  return found;
}

const operations = {
  async newContext({ context }) {
    contexts.set(context, await browser.newContext({ viewport: { width: 1000, height: 640 } }));
  },
  async newPage({ context, page: name }) {
    const owner = contexts.get(context);
    if (!owner) throw new Error(`no context '${context}'`);
    const created = await owner.newPage();
    const lines = [];
    logs.set(name, lines);
    created.on('console', (message) => lines.push(`console.${message.type()}: ${message.text()}`));
    created.on('pageerror', (error) => lines.push(`pageerror: ${error.message}`));
    // The browser's own log (a refused WebSocket handshake is reported there, not to the page).
    const cdp = await owner.newCDPSession(created);
    cdp.on('Log.entryAdded', ({ entry }) => lines.push(`log.${entry.source}.${entry.level}: ${entry.text}`));
    await cdp.send('Log.enable');
    pages.set(name, created);
  },
  async goto({ page: name, url }) {
    const response = await page(name).goto(url, { timeout: 15000 });
    return response?.status() ?? 0;
  },
  async fill({ page: name, selector, value }) {
    await page(name).fill(selector, value, { timeout: 10000 });
  },
  async click({ page: name, selector }) {
    await page(name).click(selector, { timeout: 10000 });
  },
  async press({ page: name, selector, key }) {
    await page(name).press(selector, key, { timeout: 10000 });
  },
  // Waits until the function body returns a truthy value; answers that value.
  async waitFor({ page: name, body, arg, timeoutMs }) {
    const handle = await page(name).waitForFunction(new Function('arg', body), arg ?? null, { timeout: timeoutMs ?? 15000, polling: 50 });
    return await handle.jsonValue();
  },
  async evaluate({ page: name, body, arg }) {
    return await page(name).evaluate(({ body, arg }) => new Function('arg', body)(arg), { body, arg: arg ?? null });
  },
  async screenshot({ page: name, path }) {
    await page(name).screenshot({ path, fullPage: false });
  },
  async log({ page: name }) {
    return logs.get(name) ?? [];
  },
  async closeContext({ context }) {
    await contexts.get(context)?.close();
    contexts.delete(context);
  },
};

const reply = (answer) => process.stdout.write(JSON.stringify(answer) + '\n');
reply({ id: 0, ok: true, value: browser.version() });

let queue = Promise.resolve();
const input = createInterface({ input: process.stdin });
input.on('line', (line) => {
  if (!line.trim()) return;
  // Commands run one at a time, in order; the caller waits for each answer anyway.
  queue = queue.then(async () => {
    let command;
    try {
      command = JSON.parse(line);
      const operation = operations[command.op];
      if (!operation) throw new Error(`unknown op '${command.op}'`);
      reply({ id: command.id, ok: true, value: (await operation(command)) ?? null });
    } catch (error) {
      reply({ id: command?.id ?? -1, ok: false, error: String(error?.stack ?? error) });
    }
  });
});
input.on('close', async () => {
  await queue;
  await Promise.race([browser.close(), new Promise((resolve) => setTimeout(resolve, 10000))]);
  process.exit(0);
});

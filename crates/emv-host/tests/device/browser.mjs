// Drives Debian's chromium, headless, over the DevTools protocol on a pipe
// (--remote-debugging-pipe: no port, no WebSocket, no npm package). Reads
// {"chromium": PATH, "steps": [...]} as JSON on stdin and prints {"ok", "results", "log"}.
// Steps: {"op":"goto","url"} | {"op":"wait","origin","expr","timeoutMs"} (polls until the
// expression is truthy in the newest frame of that origin) | {"op":"eval","origin","expr"}
// | {"op":"screenshot","path"}. Every result has `ms` since the start.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

let input = '';
for await (const chunk of process.stdin) input += chunk;
const cfg = JSON.parse(input);
const started = Date.now();
const ms = () => Date.now() - started;
const log = [];
const profile = mkdtempSync(join(tmpdir(), 'emvbench-chromium-'));
// without the networking flags chromium keeps trying to reach the internet
const args = ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking',
  '--disable-component-update', '--disable-sync', `--user-data-dir=${profile}`, '--no-default-browser-check',
  '--disable-dev-shm-usage', '--remote-debugging-pipe',
  // cross-origin iframes in the page's process, so one session sees every frame
  '--disable-site-isolation-trials', '--disable-features=IsolateOrigins,site-per-process', 'about:blank'];
const proc = spawn(cfg.chromium, args, { stdio: ['ignore', 'ignore', 'pipe', 'pipe', 'pipe'] });
let stderr = '';
proc.stderr.setEncoding('utf8');
proc.stderr.on('data', (d) => { stderr = (stderr + d).slice(-4000); });

let nextId = 1;
const pending = new Map();
const contexts = new Map();
let seq = 0;
let buffer = '';
const toBrowser = proc.stdio[3];
const fromBrowser = proc.stdio[4];
fromBrowser.setEncoding('utf8');
fromBrowser.on('data', (chunk) => {
  buffer += chunk;
  let i;
  while ((i = buffer.indexOf('\0')) >= 0) {
    const msg = JSON.parse(buffer.slice(0, i));
    buffer = buffer.slice(i + 1);
    if (msg.id !== undefined) {
      const p = pending.get(msg.id);
      pending.delete(msg.id);
      if (p) { if (msg.error) p.reject(new Error(`${p.method}: ${msg.error.message}`)); else p.resolve(msg.result); }
    } else if (msg.method === 'Runtime.executionContextCreated') {
      const c = msg.params.context;
      contexts.set(c.id, { origin: c.origin, isDefault: !!(c.auxData && c.auxData.isDefault), seq: seq++ });
    } else if (msg.method === 'Runtime.executionContextDestroyed') {
      contexts.delete(msg.params.executionContextId);
    } else if (msg.method === 'Runtime.executionContextsCleared') {
      contexts.clear();
    } else if (msg.method === 'Log.entryAdded') {
      log.push(`${msg.params.entry.level}: ${msg.params.entry.text}`);
    } else if (msg.method === 'Runtime.consoleAPICalled') {
      log.push(`console.${msg.params.type}: ${msg.params.args.map((a) => a.value ?? a.description).join(' ')}`);
    }
  }
});
function send(method, params = {}, sessionId) {
  const id = nextId++;
  const msg = { id, method, params };
  if (sessionId) msg.sessionId = sessionId;
  toBrowser.write(JSON.stringify(msg) + '\0');
  return new Promise((resolve, reject) => pending.set(id, { resolve, reject, method }));
}
const sleep = (t) => new Promise((r) => setTimeout(r, t));

const results = [];
let ok = true;
let error = null;
const watchdog = setTimeout(() => finish(false, 'browser driver timed out after 90 s'), 90000);
function finish(success, err) {
  clearTimeout(watchdog);
  try { proc.kill('SIGKILL'); } catch (e) { /* already gone */ }
  try { rmSync(profile, { recursive: true, force: true }); } catch (e) { /* best effort */ }
  console.log(JSON.stringify({ ok: success, error: err, results, log, stderr: success ? '' : stderr }));
  process.exit(0);
}

try {
  let page = null;
  for (let i = 0; i < 50 && !page; i++) {
    const { targetInfos } = await send('Target.getTargets');
    page = targetInfos.find((t) => t.type === 'page');
    if (!page) await sleep(100);
  }
  if (!page) page = { targetId: (await send('Target.createTarget', { url: 'about:blank' })).targetId };
  const { sessionId } = await send('Target.attachToTarget', { targetId: page.targetId, flatten: true });
  await send('Page.enable', {}, sessionId);
  await send('Log.enable', {}, sessionId);
  await send('Runtime.enable', {}, sessionId);

  const evalIn = async (origin, expr) => {
    let best = null;
    for (const [id, c] of contexts) if (c.origin === origin && c.isDefault && (!best || c.seq > best.seq)) best = { id, ...c };
    if (!best) return { missing: true };
    try {
      const r = await send('Runtime.evaluate', { expression: expr, contextId: best.id, returnByValue: true, awaitPromise: true }, sessionId);
      if (r.exceptionDetails) return { error: (r.exceptionDetails.exception && r.exceptionDetails.exception.description) || r.exceptionDetails.text };
      return { value: r.result.value };
    } catch (e) {
      return { error: String(e) };
    }
  };

  for (const step of cfg.steps) {
    if (step.op === 'goto') {
      await send('Page.navigate', { url: step.url }, sessionId);
      results.push({ op: 'goto', ms: ms() });
    } else if (step.op === 'wait') {
      const deadline = Date.now() + (step.timeoutMs || 15000);
      let last = null;
      for (;;) {
        last = await evalIn(step.origin, step.expr);
        if (last.value) break;
        if (Date.now() > deadline) throw new Error(`wait timed out: ${step.expr} in ${step.origin}: ${JSON.stringify(last)}`);
        await sleep(50);
      }
      results.push({ op: 'wait', ms: ms(), value: last.value });
    } else if (step.op === 'eval') {
      const r = await evalIn(step.origin, step.expr);
      if (r.error || r.missing) throw new Error(`eval failed: ${step.expr}: ${JSON.stringify(r)}`);
      results.push({ op: 'eval', ms: ms(), value: r.value });
    } else if (step.op === 'screenshot') {
      const { data } = await send('Page.captureScreenshot', { format: 'png' }, sessionId);
      writeFileSync(step.path, Buffer.from(data, 'base64'));
      results.push({ op: 'screenshot', ms: ms() });
    } else {
      throw new Error(`unknown step ${step.op}`);
    }
  }
} catch (e) {
  ok = false;
  error = String(e && e.stack || e);
}
finish(ok, error);

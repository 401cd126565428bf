// Headless Chromium drives the web console (tests/e2e/test_console.cpp).
//   node console.mjs flow <base url> <source rtsp url> <screenshot dir>
//     The acceptance flow: an invalid source shows the API's error next to the field; a stream added from
//     the form goes ready without a reload; its page plays it with WebRTC and then HLS (frames decoded); its WebRTC
//     session is kicked (gone from the list and the API); it is stopped and deleted. Then the page of the source
//     stream shows its RTSP publisher and an RTSP reader (started by the test), and the reader's Kick button ends it.
//     Screenshots of every page at 1280x800 and 390x844.
//   node console.mjs scale <base url> <stream to change> <screenshot dir>
//     With many configured streams: the first render time measured in the page, then how many rows an update of
//     one stream touches (a MutationObserver on the table body).
// Prints one JSON line with what it saw; exit code 0 when it ran to the end.
import { chromium } from 'playwright-core';

const [mode, base, arg, shots] = process.argv.slice(2);
const browser = await chromium.launch({
  executablePath: '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
         '--disable-component-update', '--disable-sync', '--autoplay-policy=no-user-gesture-required'],
});
const out = { steps: [] };
const step = (name, extra = {}) => { out.steps.push(name); Object.assign(out, extra); };
const sizes = [[1280, 800], [390, 844]];

async function screenshots(page, name) {
  for (const [w, h] of sizes) {
    await page.setViewportSize({ width: w, height: h });
    await page.waitForTimeout(300);  // layout settles (no animation in the console)
    await page.screenshot({ path: `${shots}/${name}-${w}x${h}.png` });
  }
  await page.setViewportSize({ width: 1280, height: 800 });
}

// Polls the page's decoded-frame count until `min` (waitForFunction would take an async predicate's promise as true).
async function waitFrames(page, min, timeout) {
  const deadline = Date.now() + timeout;
  let n = 0;
  while ((n = await page.evaluate(() => window.playerFrames())) < min) {
    if (Date.now() > deadline) throw new Error(`only ${n} frames decoded in ${timeout} ms: ` + await page.textContent('#status'));
    await page.waitForTimeout(500);
  }
  return n;
}

let code = 1;
try {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  const page = await context.newPage();
  page.on('dialog', (d) => d.accept());
  page.on('pageerror', (e) => { (out.pageErrors ||= []).push(String(e)); });
  if (mode === 'flow') {
    await page.goto(`${base}/`);
    await page.waitForSelector('#count:not(:empty)');
    await page.evaluate(() => { window.noReload = true; });
    // An invalid source: the API's error, next to the source field.
    await page.click('#add');
    await page.fill('#f-id', 'cam');
    await page.fill('#f-source', 'ftp://camera.example/stream');
    await page.click('#f-submit');
    await page.waitForSelector('#e-source:not(:empty)', { timeout: 10000 });
    step('invalid source refused', { sourceError: await page.textContent('#e-source'),
                                     formError: await page.textContent('#e-form') });
    await screenshots(page, 'add-stream-error');
    // A valid one: the row appears and goes ready through the event stream.
    await page.fill('#f-source', arg);
    await page.click('#f-submit');
    await page.waitForSelector('tr[data-id="cam"] .chip.ready', { timeout: 30000 });
    step('ready without reload', { noReload: await page.evaluate(() => window.noReload === true),
                                   row: await page.textContent('tr[data-id="cam"]') });
    await page.waitForFunction(() => /H264 \d+×\d+/.test(document.querySelector('tr[data-id="cam"]').textContent),
                               null, { timeout: 15000 });
    await page.waitForFunction(() => /[kM]b\/s/.test(document.querySelector('tr[data-id="cam"] td[data-label="Ingest"]').textContent),
                               null, { timeout: 15000 });
    step('codecs, resolution and bitrate shown', { row: await page.textContent('tr[data-id="cam"]') });
    await screenshots(page, 'streams');
    // The stream page: WebRTC first.
    await page.click('tr[data-id="cam"] a');
    await page.waitForURL(`${base}/cam/`);
    out.webrtcFrames = await waitFrames(page, 30, 30000);
    await page.waitForFunction(() => /playing with WebRTC · latency/.test(document.getElementById('status').textContent),
                               null, { timeout: 15000 });
    out.webrtcStatus = await page.textContent('#status');
    out.urls = await page.$$eval('#urls code', (els) => els.map((e) => e.textContent));
    // Its session in the list, then kicked.
    await page.waitForFunction(() => [...document.querySelectorAll('#session-rows tr')].some((r) => r.textContent.includes('(this page)')),
                               null, { timeout: 15000 });
    const session = await page.$$eval('#session-rows tr', (rows) => rows.find((r) => r.textContent.includes('(this page)')).dataset.session);
    await page.waitForFunction(() => document.getElementById('chart-now').textContent.includes('b/s'), null, { timeout: 15000 });
    await screenshots(page, 'stream-webrtc');
    out.kicked = session;
    await page.click(`#session-rows tr[data-session="${session}"] button`);
    await page.waitForFunction((id) => !document.querySelector(`#session-rows tr[data-session="${id}"]`), session, { timeout: 15000 });
    out.kickedApiStatus = await page.evaluate(async (id) => (await fetch('/api/v1/webrtc/sessions/' + id)).status, session);
    step('webrtc session kicked');
    // HLS.
    await page.click('#mode-hls');
    await page.waitForFunction(() => window.playerState.mode === 'hls' && !window.playerPc(), null, { timeout: 5000 });
    out.hlsFrames = await waitFrames(page, 30, 60000);
    out.hlsStatus = await page.textContent('#status');
    out.hlsPressed = await page.getAttribute('#mode-hls', 'aria-pressed');
    await screenshots(page, 'stream-hls');
    step('hls played');
    // Back to the list: stop, then delete.
    await page.goto(`${base}/`);
    await page.waitForSelector('tr[data-id="cam"] .chip.ready', { timeout: 15000 });
    await page.click('tr[data-id="cam"] td.actions button:has-text("Stop")');
    await page.waitForSelector('tr[data-id="cam"] .chip.idle', { timeout: 15000 });
    out.stoppedApiState = await page.evaluate(async () => (await (await fetch('/api/v1/streams/cam')).json()).state);
    step('stopped');
    await page.click('tr[data-id="cam"] td.actions button:has-text("Delete")');
    await page.waitForSelector('tr[data-id="cam"]', { state: 'detached', timeout: 15000 });
    out.deletedApiStatus = await page.evaluate(async () => (await fetch('/api/v1/streams/cam')).status);
    step('deleted');
    // The server page.
    await page.goto(`${base}/#server`);
    await page.waitForFunction(() => /CPU/.test(document.getElementById('server-kv').textContent) &&
                               document.getElementById('config').textContent.length > 0, null, { timeout: 10000 });
    await page.waitForFunction(() => /%/.test(document.getElementById('server-kv').textContent), null, { timeout: 10000 });
    out.server = await page.textContent('#server-kv');
    out.config = await page.textContent('#config');
    await screenshots(page, 'server');
    step('server page');
    // The source stream's page: its RTSP publisher (ffmpeg) and reader sessions; kick the reader.
    const upstream = new URL(arg).pathname.replace(/^\/+/, '');
    await page.goto(`${base}/${upstream}/`);
    await page.waitForFunction(() => document.querySelector('#rtsp-session-rows tr[data-role="publish"]') &&
                               document.querySelector('#rtsp-session-rows tr[data-role="read"]'), null, { timeout: 15000 });
    out.rtspPublisherRow = await page.textContent('#rtsp-session-rows tr[data-role="publish"]');
    const rtspReader = await page.$eval('#rtsp-session-rows tr[data-role="read"]', (r) => r.dataset.session);
    out.rtspReaderRow = await page.textContent(`#rtsp-session-rows tr[data-session="${rtspReader}"]`);
    await screenshots(page, 'stream-rtsp');
    await page.click(`#rtsp-session-rows tr[data-session="${rtspReader}"] button`);
    await page.waitForFunction((id) => !document.querySelector(`#rtsp-session-rows tr[data-session="${id}"]`), rtspReader,
                               { timeout: 15000 });
    out.rtspKickedApiStatus = await page.evaluate(async (id) => (await fetch('/api/v1/rtsp/sessions/' + id)).status, rtspReader);
    out.rtspPublishersAfter = await page.$$eval('#rtsp-session-rows tr[data-role="publish"]', (r) => r.length);
    step('rtsp reader kicked');
  } else if (mode === 'scale') {
    await page.goto(`${base}/`);
    await page.waitForFunction(() => window.consoleStats.firstRenderMs !== null, null, { timeout: 30000 });
    out.rows = await page.$$eval('#rows tr', (r) => r.length);
    out.firstRenderMs = await page.evaluate(() => window.consoleStats.firstRenderMs);
    await screenshots(page, 'streams-500');
    // Count the rows any DOM change lands in while one stream changes.
    await page.evaluate(() => {
      window.touched = new Set();
      new MutationObserver((list) => {
        for (const m of list) {
          const node = m.target.nodeType === 1 ? m.target : m.target.parentElement;
          const tr = node && node.closest('tr');
          window.touched.add(tr ? tr.dataset.id : '(tbody)');
        }
      }).observe(document.getElementById('rows'), { subtree: true, childList: true, characterData: true, attributes: true });
    });
    const before = await page.$eval(`tr[data-id="${arg}"] .chip`, (e) => e.textContent);
    const started = await page.evaluate(async (id) => (await fetch(`/api/v1/streams/${id}/start`, { method: 'POST' })).status, arg);
    await page.waitForFunction((id) => document.querySelector(`tr[data-id="${id}"] .chip`).textContent !== 'idle', arg,
                               { timeout: 10000 });
    await page.waitForTimeout(2000);  // four more event intervals: any stray update would show
    out.stateBefore = before;
    out.startStatus = started;
    out.stateAfter = await page.$eval(`tr[data-id="${arg}"] .chip`, (e) => e.textContent);
    out.touched = await page.evaluate(() => [...window.touched]);
    // Filter by name.
    await page.fill('#filter', arg);
    out.visibleAfterFilter = await page.$$eval('#rows tr', (r) => r.filter((x) => !x.hidden).map((x) => x.dataset.id));
  } else {
    throw new Error('unknown mode ' + mode);
  }
  code = 0;
} catch (e) {
  out.error = String(e && e.stack || e);
}
await browser.close();
console.log(JSON.stringify(out));
process.exit(code);

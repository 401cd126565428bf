// Headless Chromium publishes its fake camera and microphone to streamgate through the publish page
// (/{stream}/publish: getUserMedia + WHIP), and optionally measures what a WebRTC (WHEP) reader decodes of it.
//   node whip_publish.mjs <base url> <stream> <seconds> [--candidate-port FROM:TO] [--measure SECONDS]
// Publishes for <seconds> (or until killed), then prints one JSON line:
//   {"ok":bool, "state":..., "error":..., "framesSent":n, "nacksReceived":n, "retransmitted":n, "measure":{...}}
// ok: the page reached "publishing" and video frames went out.
// --candidate-port FROM:TO rewrites the port of the answer's candidates (a loss shim in front of the server's UDP
// port: the browser then sends everything through it).
// --measure S: once publishing, a second page in the same browser plays the stream over WHEP; when it decodes,
// both counters are sampled together, again S seconds later, and "measure" holds the differences: framesSent
// (publisher's outbound-rtp) and framesDecoded (reader's inbound-rtp) over the same interval. The reader's latency
// shifts both samples alike, so the ratio is what the server delivered of what the browser sent.
import { chromium } from 'playwright-core';

const args = process.argv.slice(2);
const [base, stream, seconds = '20'] = args;
const opt = (name) => { const i = args.indexOf(name); return i >= 0 ? args[i + 1] : undefined; };
const portRewrite = opt('--candidate-port');
const measureSeconds = Number(opt('--measure') || 0);

const browser = await chromium.launch({
  executablePath: '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
         '--disable-component-update', '--disable-sync', '--autoplay-policy=no-user-gesture-required',
         '--use-fake-device-for-media-stream', '--use-fake-ui-for-media-stream'],
});
let result = { ok: false, state: 'none', framesSent: 0 };
let done = false;
const finish = async () => {
  if (done) return;
  done = true;
  console.log(JSON.stringify(result));
  await browser.close().catch(() => {});
  process.exit(result.ok ? 0 : 1);
};
process.on('SIGTERM', finish);
process.on('SIGINT', finish);

async function publisherStats(page) {
  return page.evaluate(async () => {
    const out = { framesSent: 0, nacksReceived: 0, retransmitted: 0, width: 0, height: 0, state: window.publishState };
    if (!window.pc) return out;
    (await window.pc.getStats()).forEach((r) => {
      if (r.type === 'outbound-rtp' && r.kind === 'video') {
        out.framesSent = r.framesSent || 0;
        out.nacksReceived = r.nackCount || 0;
        out.retransmitted = r.retransmittedPacketsSent || 0;
        out.width = r.frameWidth || 0;
        out.height = r.frameHeight || 0;
        out.bitrateTarget = r.targetBitrate || 0;
      }
    });
    return out;
  });
}

async function readerFrames(page) {
  return page.evaluate(async () => {
    let n = 0;
    if (window.pc) (await window.pc.getStats()).forEach((r) => {
      if (r.type === 'inbound-rtp' && r.kind === 'video') n = r.framesDecoded || 0;
    });
    return n;
  });
}

try {
  const page = await browser.newPage();
  if (portRewrite) {
    const [from, to] = portRewrite.split(':');
    await page.route('**/whip', async (route) => {
      const response = await route.fetch();
      let body = await response.text();
      body = body.split(` ${from} typ host`).join(` ${to} typ host`);
      await route.fulfill({ response, body });
    });
  }
  await page.goto(`${base}/${stream}/publish`);
  const deadline = Date.now() + 30000;
  for (;;) {
    const s = await page.evaluate(() => window.publishState);
    result.state = s.state;
    result.error = s.error;
    if (s.state === 'publishing' || s.state === 'error' || Date.now() > deadline) break;
    await page.waitForTimeout(200);
  }
  if (result.state !== 'publishing') throw new Error('publish page: ' + result.state + ' ' + (result.error || ''));
  const end = Date.now() + Number(seconds) * 1000;
  if (measureSeconds > 0) {
    const reader = await browser.newPage();
    await reader.goto(`${base}/api/v1/streams`);
    await reader.evaluate(async ({ base, stream }) => {
      const pc = new RTCPeerConnection();
      window.pc = pc;
      const v = document.createElement('video');
      v.autoplay = true; v.muted = true; v.playsInline = true;
      document.body.appendChild(v);
      const ms = new MediaStream();
      v.srcObject = ms;
      pc.ontrack = (e) => ms.addTrack(e.track);
      pc.addTransceiver('video', { direction: 'recvonly' });
      pc.addTransceiver('audio', { direction: 'recvonly' });
      await pc.setLocalDescription(await pc.createOffer());
      const res = await fetch(`${base}/${stream}/whep`, { method: 'POST', headers: { 'Content-Type': 'application/sdp' },
                                                          body: pc.localDescription.sdp });
      if (res.status !== 201) throw new Error('WHEP ' + res.status + ' ' + await res.text());
      await pc.setRemoteDescription({ type: 'answer', sdp: await res.text() });
    }, { base, stream });
    const playing = Date.now() + 30000;
    while ((await readerFrames(reader)) < 30 && Date.now() < playing) await page.waitForTimeout(250);
    const [p1, r1] = await Promise.all([publisherStats(page), readerFrames(reader)]);
    await page.waitForTimeout(measureSeconds * 1000);
    const [p2, r2] = await Promise.all([publisherStats(page), readerFrames(reader)]);
    result.measure = { framesSent: p2.framesSent - p1.framesSent, framesDecoded: r2 - r1,
                       nacksReceived: p2.nacksReceived - p1.nacksReceived,
                       retransmitted: p2.retransmitted - p1.retransmitted, readerFramesBefore: r1 };
  }
  while (Date.now() < end) {
    Object.assign(result, await publisherStats(page));
    result.state = result.state && result.state.state;
    result.ok = result.state === 'publishing' && result.framesSent > 0;
    await page.waitForTimeout(500);
  }
  Object.assign(result, await publisherStats(page));
  result.state = result.state && result.state.state;
  result.ok = result.state === 'publishing' && result.framesSent > 0;
} catch (e) {
  result.error = String(e && e.message || e);
}
await finish();

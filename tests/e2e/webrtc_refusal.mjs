// Headless Chromium asks for a stream it may not be able to decode, through the three ways the server offers:
//   node webrtc_refusal.mjs <base url> <stream>
// Prints one JSON line: {"offerHasH265":bool, "whep":{"status":n,"contentType":...,"body":...},
// "ws":{"type":...,"status":n,"message":...}, "player":{"text":...,"error":bool}, "error":...}.
// The player entry is the player page's status line once it shows an error or plays (at most 20 s).
import { chromium } from 'playwright-core';

const [base, stream] = process.argv.slice(2);
const browser = await chromium.launch({
  executablePath: '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
         '--disable-component-update', '--disable-sync'],
});
const result = {};
try {
  const page = await browser.newPage();
  await page.goto(`${base}/api/v1/streams`);  // same origin for fetch / WebSocket
  Object.assign(result, await page.evaluate(async ({ base, stream }) => {
    const offer = async () => {
      const pc = new RTCPeerConnection();
      pc.addTransceiver('video', { direction: 'recvonly' });
      pc.addTransceiver('audio', { direction: 'recvonly' });
      await pc.setLocalDescription(await pc.createOffer());
      return pc;
    };
    const out = {};
    let pc = await offer();
    out.offerHasH265 = /^a=rtpmap:\d+ H265\/90000/m.test(pc.localDescription.sdp);
    const res = await fetch(`${base}/${stream}/whep`, { method: 'POST', headers: { 'Content-Type': 'application/sdp' },
                                                      body: pc.localDescription.sdp });
    out.whep = { status: res.status, contentType: res.headers.get('Content-Type'), body: await res.text() };
    if (res.status === 201) await fetch(base + res.headers.get('Location'), { method: 'DELETE' });
    pc.close();
    pc = await offer();
    out.ws = await new Promise((resolve) => {
      const ws = new WebSocket(base.replace(/^http/, 'ws') + '/ws/' + stream);
      const timer = setTimeout(() => resolve({ type: 'timeout' }), 10000);
      ws.onopen = () => ws.send(JSON.stringify({ type: 'offer', sdp: pc.localDescription.sdp }));
      ws.onerror = () => { clearTimeout(timer); resolve({ type: 'websocket error' }); };
      ws.onmessage = (e) => { clearTimeout(timer); const m = JSON.parse(e.data); ws.close(); resolve(m.type === 'answer' ? { type: 'answer' } : m); };
    });
    pc.close();
    return out;
  }, { base, stream }));
  await page.goto(`${base}/${stream}/`, { waitUntil: 'commit' });
  const status = page.locator('#status');
  const deadline = Date.now() + 20000;
  let text = '';
  while (Date.now() < deadline) {
    // Text and class in one read: two reads could see the old text with the new error class.
    const seen = await status.evaluate((el) => ({ text: el.textContent, error: el.className === 'error' }));
    text = seen.text;
    const error = seen.error;
    result.player = { text, error };
    if (error || text.startsWith('playing')) break;
    await page.waitForTimeout(250);
  }
} catch (e) {
  result.error = String(e && e.message || e);
}
console.log(JSON.stringify(result));
await browser.close();

// Headless Chromium plays a stream from streamgate over WebRTC and reports what getStats() saw.
//   node webrtc_play.mjs <base url> <stream> <mode: player|whep|ws> [seconds]
// player: opens the player page /{stream}/ (WHEP inside); whep / ws: a bare page signaling itself.
// Prints one JSON line: {"ok":bool, "framesDecoded":n, "audioPackets":n, "audioSamples":n, "width":w, "height":h,
// "error":...}. ok: at least 30 video frames decoded and audio samples (totalSamplesReceived) increasing between
// two polls, i.e. the browser decodes and plays out both tracks.
import { chromium } from 'playwright-core';

const [base, stream, mode = 'player', seconds = '10'] = process.argv.slice(2);
const browser = await chromium.launch({
  executablePath: '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
         '--disable-component-update', '--disable-sync', '--autoplay-policy=no-user-gesture-required'],
});
let result = { ok: false, framesDecoded: 0, audioPackets: 0, audioSamples: 0 };
let firstAudioSamples = 0;
try {
  const page = await browser.newPage();
  if (mode === 'player') {
    await page.goto(`${base}/${stream}/`);
  } else {
    await page.goto(`${base}/api/v1/streams`);  // same origin for fetch / WebSocket
    await page.evaluate(async ({ base, stream, mode }) => {
      const pc = new RTCPeerConnection();
      window.pc = pc;
      // Remote audio is decoded and played out only when a media element renders it.
      const el = document.createElement('video');
      el.autoplay = true; el.muted = true; el.playsInline = true;
      document.body.appendChild(el);
      const ms = new MediaStream();
      el.srcObject = ms;
      pc.ontrack = (e) => ms.addTrack(e.track);
      pc.addTransceiver('video', { direction: 'recvonly' });
      pc.addTransceiver('audio', { direction: 'recvonly' });
      await pc.setLocalDescription(await pc.createOffer());
      if (mode === 'whep') {
        const res = await fetch(`${base}/${stream}/whep`, { method: 'POST', headers: { 'Content-Type': 'application/sdp' },
                                                          body: pc.localDescription.sdp });
        if (res.status !== 201) throw new Error('WHEP ' + res.status + ' ' + await res.text());
        await pc.setRemoteDescription({ type: 'answer', sdp: await res.text() });
      } else {
        const ws = new WebSocket(base.replace(/^http/, 'ws') + '/ws/' + stream);
        window.ws = ws;
        await new Promise((resolve, reject) => {
          ws.onopen = () => ws.send(JSON.stringify({ type: 'offer', sdp: pc.localDescription.sdp }));
          ws.onerror = () => reject(new Error('websocket error'));
          ws.onmessage = async (e) => {
            const m = JSON.parse(e.data);
            if (m.type === 'answer') { await pc.setRemoteDescription({ type: 'answer', sdp: m.sdp }); resolve(); }
            else if (m.type === 'ice') { await pc.addIceCandidate(m.candidate).catch(() => {}); }
            else if (m.type === 'error') reject(new Error(m.message));
          };
        });
      }
    }, { base, stream, mode });
  }
  const deadline = Date.now() + Number(seconds) * 1000;
  while (Date.now() < deadline) {
    await page.waitForTimeout(500);
    const s = await page.evaluate(async () => {
      const pc = window.pc || (window.playerPc && window.playerPc());
      const out = { framesDecoded: 0, audioPackets: 0, audioSamples: 0 };
      const pcs = pc ? [pc] : [];
      if (!pc) {
        // The player page keeps its connection private; read the video element instead.
        const v = document.querySelector('video');
        if (v && v.getVideoPlaybackQuality) out.framesDecoded = v.getVideoPlaybackQuality().totalVideoFrames;
        if (v) { out.width = v.videoWidth; out.height = v.videoHeight; }
      }
      for (const p of pcs) {
        (await p.getStats()).forEach((r) => {
          if (r.type === 'inbound-rtp' && r.kind === 'video') {
            out.framesDecoded = r.framesDecoded || 0; out.width = r.frameWidth; out.height = r.frameHeight;
          }
          if (r.type === 'inbound-rtp' && r.kind === 'audio') {
            out.audioPackets = r.packetsReceived || 0;
            out.audioSamples = r.totalSamplesReceived || 0;
            out.audioCodec = r.codecId;
          }
        });
      }
      out.playerErrors = window.playerState ? window.playerState.errors : undefined;
      return out;
    });
    result = { ...result, ...s };
    if (!firstAudioSamples && result.audioSamples > 0) firstAudioSamples = result.audioSamples;
    result.ok = result.framesDecoded >= 30 && firstAudioSamples > 0 && result.audioSamples > firstAudioSamples;
    if (result.ok) break;
  }
} catch (e) {
  result.error = String(e && e.message || e);
}
console.log(JSON.stringify(result));
await browser.close();
process.exit(result.ok ? 0 : 1);

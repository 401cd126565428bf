// Plays a streamgate HLS player page (/<stream>/hls, hls.js) in headless Chromium and reports whether the video
// advances: prints one JSON line {playing, currentTimeAdvance, framesAdvance, errors}. Usage: node hls_play.mjs URL
import { chromium } from 'playwright-core';

const url = process.argv[2];
if (!url) { console.error('usage: node hls_play.mjs URL'); process.exit(2); }
const browser = await chromium.launch({ executablePath: '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
         '--disable-component-update', '--disable-sync', '--autoplay-policy=no-user-gesture-required'] });
let result = { playing: false, currentTimeAdvance: 0, framesAdvance: 0, errors: [] };
try {
  const page = await browser.newPage();
  page.on('console', (m) => { if (m.type() === 'error') result.errors.push('console: ' + m.text()); });
  await page.goto(url);
  const sample = () => page.evaluate(() => {
    const v = document.querySelector('video');
    const q = v.getVideoPlaybackQuality ? v.getVideoPlaybackQuality() : { totalVideoFrames: 0 };
    return { t: v.currentTime, frames: q.totalVideoFrames, errors: (window.player && window.player.errors) || [] };
  });
  // Wait (10 s at most) for playback to start, then watch it for 4 s.
  await page.waitForFunction(() => { const v = document.querySelector('video'); return v && v.currentTime > 0; },
                             null, { timeout: 10000 }).catch(() => {});
  const a = await sample();
  await page.waitForTimeout(4000);
  const b = await sample();
  result = { playing: b.t > a.t, currentTimeAdvance: b.t - a.t, framesAdvance: b.frames - a.frames,
             currentTime: b.t, frames: b.frames, errors: result.errors.concat(b.errors) };
} finally {
  await browser.close();
}
console.log(JSON.stringify(result));

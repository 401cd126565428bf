// Load helper: N LL-HLS viewers polling a media playlist with blocking reload (_HLS_msn/_HLS_part for the next
// part) and fetching each new part, for D seconds. Prints one JSON line with request counts and latencies.
// Usage: node hls_viewers.mjs http://127.0.0.1:8080/live/stream.m3u8 [viewers=200] [seconds=20]
import http from 'node:http';

const [url, viewersArg, secondsArg] = process.argv.slice(2);
const viewers = Number(viewersArg || 200), seconds = Number(secondsArg || 20);
const agent = new http.Agent({ keepAlive: true, maxSockets: viewers * 2 });
const get = (u) => new Promise((resolve, reject) => {
  http.get(u, { agent }, (res) => {
    const chunks = [];
    res.on('data', (c) => chunks.push(c));
    res.on('end', () => resolve({ status: res.statusCode, body: Buffer.concat(chunks) }));
  }).on('error', reject);
});
const base = url.slice(0, url.lastIndexOf('/') + 1);
const stats = { playlists: 0, parts: 0, errors: 0, bytes: 0, waitMs: [] };
const end = Date.now() + seconds * 1000;

async function viewer() {
  let target = url;
  while (Date.now() < end) {
    const t0 = Date.now();
    let r;
    try { r = await get(target); } catch { stats.errors++; continue; }
    if (r.status !== 200) { stats.errors++; await new Promise((s) => setTimeout(s, 200)); target = url; continue; }
    stats.playlists++;
    if (target !== url) stats.waitMs.push(Date.now() - t0);
    const text = r.body.toString();
    const seq = Number((text.match(/#EXT-X-MEDIA-SEQUENCE:(\d+)/) || [])[1] || 0);
    const segs = (text.match(/#EXTINF/g) || []).length;
    const afterLast = text.slice(text.lastIndexOf('#EXTINF') >= 0 ? text.indexOf('\n', text.lastIndexOf('#EXTINF') + 1) : 0);
    const parts = [...afterLast.matchAll(/#EXT-X-PART:[^\n]*URI="([^"]+)"/g)].map((m) => m[1]);
    if (parts.length) {
      const p = await get(base + parts[parts.length - 1]).catch(() => null);
      if (p && p.status === 200) { stats.parts++; stats.bytes += p.body.length; } else stats.errors++;
    }
    target = `${url}?_HLS_msn=${seq + segs}&_HLS_part=${parts.length}`;
  }
}
await Promise.all(Array.from({ length: viewers }, viewer));
const w = stats.waitMs.sort((a, b) => a - b);
console.log(JSON.stringify({ viewers, seconds, playlists: stats.playlists, parts: stats.parts, errors: stats.errors,
  mbytes: +(stats.bytes / 1e6).toFixed(1), wait_ms_p50: w[Math.floor(w.length / 2)] || 0,
  wait_ms_p99: w[Math.floor(w.length * 0.99)] || 0 }));
agent.destroy();

// streamgate web console: helpers shared by the streams page (/) and the stream page (/{stream}/).
'use strict';
const sg = (() => {
  // The API's JSON (or its {"error": "..."}); throws an Error carrying status and message.
  async function api(method, path, body) {
    const init = { method, headers: {} };
    if (body !== undefined) { init.headers['Content-Type'] = 'application/json'; init.body = JSON.stringify(body); }
    const res = await fetch(path, init);
    let data = null;
    const text = await res.text();
    if (text) { try { data = JSON.parse(text); } catch (_) { data = { error: text }; } }
    if (!res.ok) {
      const e = new Error((data && data.error) || (res.status + ' ' + res.statusText));
      e.status = res.status;
      throw e;
    }
    return data;
  }
  function bitrate(bps) {
    if (!bps) return '—';
    if (bps >= 1e6) return (bps / 1e6).toFixed(2) + ' Mb/s';
    return Math.round(bps / 1e3) + ' kb/s';
  }
  function bytes(n) {
    if (n >= 1 << 30) return (n / (1 << 30)).toFixed(2) + ' GiB';
    if (n >= 1 << 20) return (n / (1 << 20)).toFixed(1) + ' MiB';
    if (n >= 1 << 10) return (n / (1 << 10)).toFixed(0) + ' KiB';
    return n + ' B';
  }
  function duration(s) {
    s = Math.floor(s || 0);
    if (!s) return '—';
    const d = Math.floor(s / 86400), h = Math.floor(s / 3600) % 24, m = Math.floor(s / 60) % 60, sec = s % 60;
    if (d) return d + 'd ' + h + 'h';
    if (h) return h + 'h ' + m + 'm';
    if (m) return m + 'm ' + sec + 's';
    return sec + 's';
  }
  // "H264 1280×720 · AAC"
  function codecs(s) {
    return (s.tracks || []).map((t) => t.codec + (t.width ? ' ' + t.width + '×' + t.height : '')).join(' · ') || '—';
  }
  function readers(s) {
    const r = s.readers_by_protocol || {};
    return 'RTSP ' + (r.rtsp || 0) + ' · WebRTC ' + (r.webrtc || 0) + ' · HLS ' + (r.hls || 0);
  }
  // A stream's last_error in words for people.
  function why(s) {
    if (s.state !== 'error' || !s.last_error) return '';
    return s.last_error;
  }
  // The live stream list (GET /api/v1/events): onList(items) once per (re)connection, onUpdate(changed, removed)
  // for each change.
  function events(onList, onUpdate, onState) {
    const es = new EventSource('/api/v1/events');
    es.addEventListener('streams', (e) => onList(JSON.parse(e.data).items));
    es.addEventListener('update', (e) => { const d = JSON.parse(e.data); onUpdate(d.changed, d.removed); });
    es.onopen = () => onState && onState(true);
    es.onerror = () => onState && onState(false);
    return es;
  }
  // Sets text only when it differs: an unchanged cell is not touched (no DOM mutation, no layout work).
  function setText(el, text) { if (el.textContent !== text) el.textContent = text; }
  async function copy(text, button) {
    try {
      await navigator.clipboard.writeText(text);
    } catch (_) {
      const ta = document.createElement('textarea');
      ta.value = text; document.body.appendChild(ta); ta.select();
      try { document.execCommand('copy'); } catch (_) {}
      ta.remove();
    }
    const old = button.textContent;
    button.textContent = 'Copied';
    setTimeout(() => { button.textContent = old; }, 1200);
  }
  return { api, bitrate, bytes, duration, codecs, readers, why, events, setText, copy };
})();

#!/usr/bin/python3
"""A WHEP viewer made of GStreamer's webrtcbin, for the interop tests.

usage: whep_webrtcbin.py URL [--expect-video h264|h265] [--expect-audio opus | --offer-audio opus]
                         [--bundle max-bundle|max-compat|none]
                         [--frames N] [--audio-buffers N] [--timeout SECONDS] [--local-address IP] [--print-offer]

URL is the WHEP endpoint (http://host:port/{stream}/whep). The viewer adds one recvonly transceiver per expected
medium (video first), creates the offer with the given bundle policy, POSTs it once ICE gathering is complete
(no trickle), applies the answer and decodes what arrives with decodebin. It exits 0 once it has decoded N video
frames and N audio buffers before the timeout, 1 otherwise; it prints the offer, the answer and one JSON line with
what it saw. With --print-offer it only prints the offer and exits.
Run it with Debian's /usr/bin/python3 (the GObject bindings are installed for that interpreter).
"""
import argparse
import json
import sys
import urllib.error
import urllib.request

import gi

gi.require_version("Gst", "1.0")
gi.require_version("GstSdp", "1.0")
gi.require_version("GstWebRTC", "1.0")
from gi.repository import GLib, Gst, GstSdp, GstWebRTC  # noqa: E402

VIDEO_CAPS = {
    "h264": "application/x-rtp,media=video,encoding-name=H264,payload=96,clock-rate=90000,"
            "packetization-mode=(string)1,profile-level-id=(string)42e01f",
    "h265": "application/x-rtp,media=video,encoding-name=H265,payload=98,clock-rate=90000",
}
AUDIO_CAPS = {
    "opus": "application/x-rtp,media=audio,encoding-name=OPUS,payload=111,clock-rate=48000,encoding-params=(string)2",
}
BUNDLE = {
    "none": GstWebRTC.WebRTCBundlePolicy.NONE,
    "max-compat": GstWebRTC.WebRTCBundlePolicy.MAX_COMPAT,
    "max-bundle": GstWebRTC.WebRTCBundlePolicy.MAX_BUNDLE,
}


class Viewer:
    def __init__(self, args):
        self.args = args
        self.loop = GLib.MainLoop()
        self.pipeline = Gst.Pipeline.new("viewer")
        self.webrtc = Gst.ElementFactory.make("webrtcbin", "webrtc")
        self.webrtc.set_property("bundle-policy", BUNDLE[args.bundle])
        self.pipeline.add(self.webrtc)
        # libnice leaves loopback out of its host candidates unless it is given the addresses to gather on.
        # (Keep the agent referenced: PyGObject drops one reference too many when its wrapper dies.)
        self.ice = self.webrtc.get_property("ice-agent")
        for address in args.local_address:
            self.ice.emit("add-local-ip-address", address)
        self.seen = {"video_frames": 0, "audio_buffers": 0, "video_caps": "", "audio_caps": "", "rtp_pads": [],
                     "errors": []}
        self.result = 1
        self.posted = False
        self.webrtc.connect("on-negotiation-needed", lambda *_: None)
        self.webrtc.connect("pad-added", self.on_webrtc_pad)
        self.webrtc.connect("notify::ice-gathering-state", self.on_gathering)
        self.webrtc.connect("notify::ice-connection-state", self.on_ice_state)
        bus = self.pipeline.get_bus()
        bus.add_signal_watch()
        bus.connect("message::error", self.on_error)
        recvonly = GstWebRTC.WebRTCRTPTransceiverDirection.RECVONLY
        if args.expect_video:
            self.webrtc.emit("add-transceiver", recvonly, Gst.Caps.from_string(VIDEO_CAPS[args.expect_video]))
        audio = args.expect_audio or args.offer_audio
        if audio:
            self.webrtc.emit("add-transceiver", recvonly, Gst.Caps.from_string(AUDIO_CAPS[audio]))

    def run(self):
        self.pipeline.set_state(Gst.State.PLAYING)
        promise = Gst.Promise.new_with_change_func(self.on_offer, None)
        self.webrtc.emit("create-offer", None, promise)
        GLib.timeout_add_seconds(self.args.timeout, self.on_timeout)
        self.loop.run()
        self.pipeline.set_state(Gst.State.NULL)
        print(json.dumps(self.seen), flush=True)
        return self.result

    def fail(self, why):
        self.seen["errors"].append(why)
        self.result = 1
        self.loop.quit()

    def on_error(self, _bus, message):
        err, debug = message.parse_error()
        self.fail(f"{message.src.get_name()}: {err.message} ({debug})")

    def on_timeout(self):
        self.fail("timeout")
        return False

    def on_offer(self, promise, _data):
        reply = promise.get_reply()
        offer = reply.get_value("offer") if reply else None
        if offer is None:
            GLib.idle_add(self.fail, "create-offer failed")
            return
        if self.args.print_offer:
            print(offer.sdp.as_text(), flush=True)
            GLib.idle_add(self.loop.quit)
            self.result = 0
            return
        self.webrtc.emit("set-local-description", offer, None)

    def on_gathering(self, element, _pspec):
        if element.get_property("ice-gathering-state") == GstWebRTC.WebRTCICEGatheringState.COMPLETE:
            GLib.idle_add(self.post_offer)

    def on_ice_state(self, element, _pspec):
        state = element.get_property("ice-connection-state")
        if state == GstWebRTC.WebRTCICEConnectionState.FAILED:
            GLib.idle_add(self.fail, "ICE failed")

    def post_offer(self):
        if self.posted:
            return False
        self.posted = True
        offer = self.webrtc.get_property("local-description").sdp.as_text()
        print("--- offer\n" + offer, flush=True)
        request = urllib.request.Request(self.args.url, data=offer.encode(), method="POST",
                                         headers={"Content-Type": "application/sdp"})
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                answer = response.read().decode()
        except urllib.error.HTTPError as e:
            self.fail(f"WHEP POST: HTTP {e.code} {e.read().decode(errors='replace')}")
            return False
        except OSError as e:
            self.fail(f"WHEP POST: {e}")
            return False
        print("--- answer\n" + answer, flush=True)
        ok, sdp = GstSdp.SDPMessage.new_from_text(answer)
        if ok != GstSdp.SDPResult.OK:
            self.fail("answer does not parse")
            return False
        description = GstWebRTC.WebRTCSessionDescription.new(GstWebRTC.WebRTCSDPType.ANSWER, sdp)
        promise = Gst.Promise.new_with_change_func(self.on_answer_set, None)
        self.webrtc.emit("set-remote-description", description, promise)
        return False

    def on_answer_set(self, promise, _data):
        promise.wait()
        reply = promise.get_reply()
        if reply is not None and reply.has_field("error"):
            err = reply.get_value("error")
            GLib.idle_add(self.fail, f"set-remote-description: {err.message if err else 'error'}")

    def on_webrtc_pad(self, _element, pad):
        if pad.get_direction() != Gst.PadDirection.SRC:
            return
        caps = pad.get_current_caps() or pad.query_caps(None)
        self.seen["rtp_pads"].append(caps.to_string() if caps else "")
        decodebin = Gst.ElementFactory.make("decodebin")
        decodebin.connect("pad-added", self.on_decoded_pad)
        self.pipeline.add(decodebin)
        decodebin.sync_state_with_parent()
        pad.link(decodebin.get_static_pad("sink"))

    def on_decoded_pad(self, _decodebin, pad):
        caps = pad.get_current_caps() or pad.query_caps(None)
        name = caps.get_structure(0).get_name() if caps and caps.get_size() else ""
        kind = "video" if name.startswith("video/") else "audio" if name.startswith("audio/") else None
        if kind is None:
            return
        self.seen[f"{kind}_caps"] = caps.to_string()
        queue = Gst.ElementFactory.make("queue")
        sink = Gst.ElementFactory.make("fakesink")
        sink.set_property("sync", False)
        self.pipeline.add(queue)
        self.pipeline.add(sink)
        queue.link(sink)
        queue.sync_state_with_parent()
        sink.sync_state_with_parent()
        pad.link(queue.get_static_pad("sink"))
        pad.add_probe(Gst.PadProbeType.BUFFER, self.on_buffer, kind)

    def on_buffer(self, _pad, _info, kind):
        self.seen["video_frames" if kind == "video" else "audio_buffers"] += 1
        if self.done():
            self.result = 0
            GLib.idle_add(self.loop.quit)
        return Gst.PadProbeReturn.OK

    def done(self):
        video_ok = not self.args.expect_video or self.seen["video_frames"] >= self.args.frames
        audio_ok = not self.args.expect_audio or self.seen["audio_buffers"] >= self.args.audio_buffers
        return video_ok and audio_ok


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("url")
    parser.add_argument("--expect-video", choices=sorted(VIDEO_CAPS))
    parser.add_argument("--expect-audio", choices=sorted(AUDIO_CAPS))
    parser.add_argument("--offer-audio", choices=sorted(AUDIO_CAPS),
                        help="offer to receive audio without expecting any (a stream without audio)")
    parser.add_argument("--bundle", choices=sorted(BUNDLE), default="max-bundle")
    parser.add_argument("--frames", type=int, default=30)
    parser.add_argument("--audio-buffers", type=int, default=30)
    parser.add_argument("--timeout", type=int, default=30)
    parser.add_argument("--print-offer", action="store_true")
    parser.add_argument("--local-address", action="append", default=[],
                        help="address to gather ICE candidates on (repeatable; default 127.0.0.1)")
    args = parser.parse_args()
    if not args.expect_video and not args.expect_audio:
        parser.error("expect at least one of --expect-video, --expect-audio")
    args.local_address = args.local_address or ["127.0.0.1"]
    Gst.init(None)
    sys.exit(Viewer(args).run())


if __name__ == "__main__":
    main()

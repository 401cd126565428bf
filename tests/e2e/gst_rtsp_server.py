#!/usr/bin/python3
"""Third-party RTSP server for the pull tests (GStreamer gst-rtsp-server), listening on 127.0.0.1 (or on the
address in $GST_RTSP_ADDRESS, e.g. inside a network namespace).

usage: gst_rtsp_server.py PORT [USER PASS]

Mounts: /h264 (H.264 640x360 + AAC) and /h265 (H.265 640x360 + Opus), live test patterns, TCP and UDP;
/h264-2m (H.264 640x360 only, a noise pattern at 2 Mb/s CBR: a camera stream of known bitrate for load tests).
Keyframe requests: /longgop (H.264 30 fps, a keyframe every 10 s unless asked: rtpsession turns a client's RTCP
PLI/FIR into a force-key-unit event that x264enc honours) and /longgop-deaf (the same, but the event is dropped
before the encoder: a camera that ignores PLI). For these two it prints, when they change, the RTCP it received:
"rtcp MOUNT reports=N highest=SEQ lsr=LSR plis=P firs=F" (N: clients whose receiver reports carried a report block
about the camera's stream; SEQ/LSR: the latest such block; P/F: PLIs/FIRs received for its stream).
With USER and PASS every request needs Digest authentication. Prints "ready" once it listens, and "clients N" whenever
the number of connected RTSP clients (TCP connections) changes.
Run it with Debian's /usr/bin/python3 (the GObject bindings are installed for that interpreter).
"""
import os
import sys

import gi

gi.require_version("Gst", "1.0")
gi.require_version("GstRtsp", "1.0")
gi.require_version("GstRtspServer", "1.0")
from gi.repository import GLib, Gst, GstRtsp, GstRtspServer  # noqa: E402

SOURCE_VIDEO = ("videotestsrc is-live=true pattern=smpte "
                "! video/x-raw,width=640,height=360,framerate=25/1")
SOURCE_AUDIO = "audiotestsrc is-live=true wave=sine ! audioconvert ! audioresample"

LONG_GOP = ("( videotestsrc is-live=true pattern=ball ! video/x-raw,width=320,height=240,framerate=30/1 "
            "! x264enc tune=zerolatency speed-preset=ultrafast key-int-max=300 name=enc "
            "! rtph264pay name=pay0 pt=96 config-interval=-1 )")

LAUNCH = {
    "/h264": (f"( {SOURCE_VIDEO} ! x264enc tune=zerolatency speed-preset=ultrafast key-int-max=25 "
              f"! rtph264pay name=pay0 pt=96 config-interval=1 "
              f"{SOURCE_AUDIO} ! avenc_aac ! rtpmp4gpay name=pay1 pt=97 )"),
    "/h265": (f"( {SOURCE_VIDEO} ! x265enc tune=zerolatency speed-preset=ultrafast key-int-max=25 "
              f"! rtph265pay name=pay0 pt=96 config-interval=1 "
              f"{SOURCE_AUDIO} ! opusenc ! rtpopuspay name=pay1 pt=97 )"),
    "/h264-2m": ("( videotestsrc is-live=true pattern=snow ! video/x-raw,width=640,height=360,framerate=25/1 "
                 "! x264enc tune=zerolatency speed-preset=ultrafast key-int-max=25 bitrate=2000 vbv-buf-capacity=1000 "
                 "! rtph264pay name=pay0 pt=96 config-interval=1 )"),
    "/longgop": LONG_GOP,
    "/longgop-deaf": LONG_GOP,
}


def drop_key_unit_requests(_pad, info):
    event = info.get_event()
    if event.get_structure() is not None and event.get_structure().get_name() == "GstForceKeyUnit":
        return Gst.PadProbeReturn.DROP
    return Gst.PadProbeReturn.OK


class RtcpWatch:
    """Prints what rtpsession received from clients for the long-GOP mounts."""

    def __init__(self):
        self.medias = []  # (mount, media)
        self.last = {}

    def configure(self, mount, media):
        if mount == "/longgop-deaf":
            # Upstream events from the payloader towards the encoder: a force-key-unit never reaches x264enc.
            encoder = media.get_element().get_by_name("enc")
            encoder.get_static_pad("src").add_probe(Gst.PadProbeType.EVENT_UPSTREAM, drop_key_unit_requests)
        self.medias.append((mount, media))

    def poll(self):
        for mount, media in list(self.medias):
            stream = media.get_stream(0) if media.n_streams() > 0 else None
            session = stream.get_rtpsession() if stream else None
            if session is None:
                continue
            reports, highest, lsr, plis, firs = 0, 0, 0, 0, 0
            stats = session.get_property("stats")  # keep it referenced: the list below points into it
            for source in stats.get_value("source-stats"):
                if not isinstance(source, Gst.Structure):
                    continue
                if source.get_boolean("internal")[1]:
                    plis += source.get_uint("recv-pli-count")[1]
                    firs += source.get_uint("recv-fir-count")[1]
                elif source.get_boolean("have-rb")[1]:
                    reports += 1
                    highest = source.get_uint("rb-exthighestseq")[1]
                    lsr = source.get_uint("rb-lsr")[1]
            line = f"rtcp {mount} reports={reports} highest={highest} lsr={lsr} plis={plis} firs={firs}"
            if self.last.get(mount) != line:
                self.last[mount] = line
                print(line, flush=True)
        return True


class ClientCount:
    """Prints "clients N" when the number of connected RTSP clients changes."""

    def __init__(self):
        self.clients = 0

    def connected(self, _server, client):
        self.clients += 1
        client.connect("closed", self.closed)
        print(f"clients {self.clients}", flush=True)

    def closed(self, _client):
        self.clients -= 1
        print(f"clients {self.clients}", flush=True)


def main():
    if len(sys.argv) not in (2, 4):
        sys.exit(__doc__)
    port = sys.argv[1]
    credentials = sys.argv[2:4] if len(sys.argv) == 4 else None
    address = os.environ.get("GST_RTSP_ADDRESS", "127.0.0.1")
    Gst.init(None)

    server = GstRtspServer.RTSPServer()
    server.set_address(address)
    server.set_service(port)

    watch = RtcpWatch()
    count = ClientCount()
    server.connect("client-connected", count.connected)
    for mount, launch in LAUNCH.items():
        factory = GstRtspServer.RTSPMediaFactory()
        factory.set_launch(launch)
        factory.set_shared(True)
        if launch is LONG_GOP:
            factory.connect("media-configure", lambda _f, media, m=mount: watch.configure(m, media))
        if credentials:
            permissions = GstRtspServer.RTSPPermissions()
            for what in ("media.factory.access", "media.factory.construct"):
                permissions.add_permission_for_role("viewer", what, True)
            factory.set_permissions(permissions)
        server.get_mount_points().add_factory(mount, factory)

    if credentials:
        token = GstRtspServer.RTSPToken()
        token.set_string("media.factory.role", "viewer")
        auth = GstRtspServer.RTSPAuth()
        auth.add_digest(credentials[0], credentials[1], token)
        auth.set_supported_methods(GstRtsp.RTSPAuthMethod.DIGEST)
        server.set_auth(auth)

    if server.attach(None) == 0:
        sys.exit(f"cannot listen on {address}:{port}")
    GLib.timeout_add(200, watch.poll)
    print(f"ready rtsp://{address}:{port}/h264 /h265 /h264-2m /longgop /longgop-deaf", flush=True)
    GLib.MainLoop().run()


if __name__ == "__main__":
    main()

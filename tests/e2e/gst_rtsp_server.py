#!/usr/bin/python3
"""Third-party RTSP server for the pull tests (GStreamer gst-rtsp-server), listening on 127.0.0.1 (or on the
address in $GST_RTSP_ADDRESS, e.g. inside a network namespace).

usage: gst_rtsp_server.py PORT [USER PASS]

Mounts: /h264 (H.264 640x360 + AAC) and /h265 (H.265 640x360 + Opus), live test patterns, TCP and UDP.
With USER and PASS every request needs Digest authentication. Prints "ready" once it listens.
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

LAUNCH = {
    "/h264": (f"( {SOURCE_VIDEO} ! x264enc tune=zerolatency speed-preset=ultrafast key-int-max=25 "
              f"! rtph264pay name=pay0 pt=96 config-interval=1 "
              f"{SOURCE_AUDIO} ! avenc_aac ! rtpmp4gpay name=pay1 pt=97 )"),
    "/h265": (f"( {SOURCE_VIDEO} ! x265enc tune=zerolatency speed-preset=ultrafast key-int-max=25 "
              f"! rtph265pay name=pay0 pt=96 config-interval=1 "
              f"{SOURCE_AUDIO} ! opusenc ! rtpopuspay name=pay1 pt=97 )"),
}


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

    for mount, launch in LAUNCH.items():
        factory = GstRtspServer.RTSPMediaFactory()
        factory.set_launch(launch)
        factory.set_shared(True)
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
    print(f"ready rtsp://{address}:{port}/h264 /h265", flush=True)
    GLib.MainLoop().run()


if __name__ == "__main__":
    main()

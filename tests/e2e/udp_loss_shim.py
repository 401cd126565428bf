#!/usr/bin/python3
# A userspace loss shim for UDP (this kernel has no netem): relays datagrams between one client (the first address
# that sends to <listen port>) and <server port> on 127.0.0.1, dropping <percent> % of the client's RTP packets
# (RFC 7983: first byte 128-191; RTCP, payload types 64-95 per RFC 5761, STUN and DTLS always pass), chosen by a
# seeded random generator. Prints one JSON line with its counts when it gets SIGTERM.
#   udp_loss_shim.py <listen port> <server port> <percent> [seed]
import json
import random
import select
import signal
import socket
import sys

listen_port, server_port, percent = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3])
rng = random.Random(int(sys.argv[4]) if len(sys.argv) > 4 else 1)
down = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
down.bind(("127.0.0.1", listen_port))
up = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
up.bind(("127.0.0.1", 0))
server = ("127.0.0.1", server_port)
client = None
counts = {"to_server": 0, "to_client": 0, "rtp": 0, "dropped": 0}


def done(*_):
    print(json.dumps(counts), flush=True)
    sys.exit(0)


signal.signal(signal.SIGTERM, done)
signal.signal(signal.SIGINT, done)
print("listening", flush=True)
while True:
    ready, _, _ = select.select([down, up], [], [])
    for s in ready:
        data, addr = s.recvfrom(65536)
        if s is down:
            client = addr
            if len(data) >= 2 and 128 <= data[0] <= 191 and not 64 <= (data[1] & 0x7F) <= 95:
                counts["rtp"] += 1
                if rng.random() * 100 < percent:
                    counts["dropped"] += 1
                    continue
            up.sendto(data, server)
            counts["to_server"] += 1
        elif client is not None:
            down.sendto(data, client)
            counts["to_client"] += 1

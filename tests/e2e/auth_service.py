#!/usr/bin/env python3
"""Test peer for streamgate's auth: serves the files of DIR over GET (the JWKS) and answers the HTTP auth callout
(POST /auth) from DIR/rules.json: [{"user","pass","action","path"}]. 200 when a rule matches the request; 403 when
the user and password are right but no rule covers the action and path; 401 otherwise. Every callout body is
appended to DIR/callouts.log. Usage: auth_service.py PORT DIR"""
import http.server
import json
import os
import sys

PORT = int(sys.argv[1])
DIR = sys.argv[2]


class Handler(http.server.BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def reply(self, status, body=b"", ctype="text/plain"):
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        path = os.path.join(DIR, os.path.basename(self.path))
        if not os.path.isfile(path):
            return self.reply(404)
        with open(path, "rb") as f:
            self.reply(200, f.read(), "application/json")

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        with open(os.path.join(DIR, "callouts.log"), "ab") as f:
            f.write(body + b"\n")
        try:
            req = json.loads(body)
            with open(os.path.join(DIR, "rules.json")) as f:
                rules = json.load(f)
        except Exception:
            return self.reply(400)
        known = False
        for r in rules:
            if r["user"] == req.get("user") and r["pass"] == req.get("password"):
                known = True
                if r["action"] == req.get("action") and r.get("path", "") in ("", req.get("path")):
                    return self.reply(200)
        self.reply(403 if known else 401)


http.server.ThreadingHTTPServer(("127.0.0.1", PORT), Handler).serve_forever()

#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""A tiny HTTP reverse proxy that injects faults, for registry client tests.

    faultproxy.py --listen PORT --upstream HOST:PORT [--fail-first K]
                  [--status 503] [--fail-every N] [--fail-match REGEX]
                  [--log FILE] [--ready FILE]

Requests are counted from 1.  Request number n is answered by the proxy
itself with STATUS (and a registry-style JSON error body) when n <= K, or
when N > 0 and n % N == 0; only requests whose "METHOD PATH" matches
--fail-match (default: all) are counted.  Every other request goes to the
upstream unchanged (the Host header too, so the registry's absolute
Location headers point back at the proxy).  One line per request goes to
--log: "n METHOD PATH STATUS injected|forwarded".  --ready is written
once the socket listens.  Loopback only; stdlib only.
"""
import argparse
import http.client
import http.server
import json
import re
import sys
import threading

HOP = {"connection", "keep-alive", "proxy-connection", "transfer-encoding",
       "te", "trailer", "upgrade", "content-length"}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--listen", type=int, required=True)
    ap.add_argument("--upstream", required=True)
    ap.add_argument("--fail-first", type=int, default=0)
    ap.add_argument("--fail-every", type=int, default=0)
    ap.add_argument("--fail-match", default="")
    ap.add_argument("--status", type=int, default=503)
    ap.add_argument("--log")
    ap.add_argument("--ready")
    a = ap.parse_args()
    match = re.compile(a.fail_match) if a.fail_match else None
    lock = threading.Lock()
    state = {"n": 0}
    logf = open(a.log, "a", buffering=1) if a.log else None

    def log(line):
        if logf:
            with lock:
                logf.write(line + "\n")

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args):
            pass

        def read_body(self):
            if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
                out = bytearray()
                while True:
                    size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                    if size == 0:
                        while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                            pass
                        return bytes(out)
                    out += self.rfile.read(size)
                    self.rfile.readline()
            n = int(self.headers.get("Content-Length") or 0)
            return self.rfile.read(n) if n else b""

        def handle_any(self):
            body = self.read_body()
            what = "%s %s" % (self.command, self.path)
            n = None
            if match is None or match.search(what):
                with lock:
                    state["n"] += 1
                    n = state["n"]
            inject = n is not None and (n <= a.fail_first or
                                        (a.fail_every > 0 and n % a.fail_every == 0))
            if inject:
                err = json.dumps({"errors": [{"code": "UNAVAILABLE",
                                              "message": "injected fault %d" % n,
                                              "detail": None}]}).encode()
                self.send_response(a.status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(err)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(err)
                log("%s %s %d injected" % (n, what, a.status))
                return
            host, port = a.upstream.rsplit(":", 1)
            conn = http.client.HTTPConnection(host, int(port), timeout=120)
            try:
                conn.putrequest(self.command, self.path, skip_host=True,
                                skip_accept_encoding=True)
                for k, v in self.headers.items():
                    if k.lower() not in HOP:
                        conn.putheader(k, v)
                if body or self.command in ("POST", "PUT", "PATCH"):
                    conn.putheader("Content-Length", str(len(body)))
                conn.endheaders(body if body else None)
                resp = conn.getresponse()
                data = resp.read() if self.command != "HEAD" else b""
            except OSError as e:
                self.send_error(502, "upstream: %s" % e)
                log("%s %s 502 upstream-error" % (n, what))
                return
            finally:
                conn.close()
            self.send_response_only(resp.status, resp.reason)
            for k, v in resp.getheaders():
                lk = k.lower()
                if lk in HOP and not (lk == "content-length" and self.command == "HEAD"):
                    continue
                self.send_header(k, v)
            if self.command != "HEAD":
                self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            if data:
                self.wfile.write(data)
            log("%s %s %d forwarded" % (n, what, resp.status))

        do_GET = do_HEAD = do_POST = do_PUT = do_PATCH = do_DELETE = handle_any

    srv = http.server.ThreadingHTTPServer(("127.0.0.1", a.listen), Handler)
    srv.daemon_threads = True
    if a.ready:
        with open(a.ready, "w") as f:
            f.write("ready\n")
    try:
        srv.serve_forever()
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""An HTTPS/1.1 server on loopback that counts its TLS handshakes.

usage: tls-server.py --cert CERT --key KEY --port-file F --log LOG

Answers every GET with 200 and "ok\\n", keeping the connection open
(HTTP/1.1 keep-alive). Appends to LOG one line "handshake PEER-PORT" for
each TLS handshake it completes and "GET PATH PEER-PORT" for each
request, so a test can tell how many connections a client opened and
which requests shared one. Listens on 127.0.0.1, port 0; writes the port
to F. Standard library only.
"""
import argparse
import http.server
import ssl
import threading

ap = argparse.ArgumentParser()
ap.add_argument("--cert", required=True)
ap.add_argument("--key", required=True)
ap.add_argument("--port-file", required=True)
ap.add_argument("--log", required=True)
args = ap.parse_args()

ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(args.cert, args.key)
lock = threading.Lock()


def log(line):
    with lock:
        with open(args.log, "a") as f:
            f.write(line + "\n")


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def setup(self):
        self.request.settimeout(30)
        self.request.do_handshake()
        log("handshake %d" % self.client_address[1])
        super().setup()

    def do_GET(self):
        log("GET %s %d" % (self.path, self.client_address[1]))
        body = b"ok\n"
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *a):
        pass


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def get_request(self):
        sock, addr = self.socket.accept()
        return ctx.wrap_socket(sock, server_side=True,
                               do_handshake_on_connect=False), addr

    def handle_error(self, request, client_address):
        pass  # a client that closes at once is not the test's business


srv = Server(("127.0.0.1", 0), Handler)
with open(args.port_file + ".tmp", "w") as f:
    f.write(str(srv.server_address[1]))
import os
os.rename(args.port_file + ".tmp", args.port_file)
srv.serve_forever()

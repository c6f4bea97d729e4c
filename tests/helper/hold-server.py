#!/usr/bin/env python3
"""An HTTP/1.1 file server on loopback that holds its answers.

usage: hold-server.py --dir DIR --bind ADDR --port-file F --log LOG
                      [--hold FILE] [--delay SECONDS]

Serves the files of DIR to GET. Before each answer it waits:

  --delay S   S seconds (a slow server, for benchmarks);
  --hold F    until what F says is true, read when the request arrives:
              lines "LOG N" (the file LOG holds at least N lines with
              "Accepted publickey", i.e. sshd has let N logins in) and one
              line "timeout S" (default 30). Past the timeout the answer is
              503 and LOG gets "held too long: PATH"; released in time, LOG
              gets "released: PATH". No F, or an empty one: no hold.

Appends "GET PATH" to LOG for each request. Listens on ADDR, port 0;
writes the port to F. Standard library only.
"""
import argparse
import http.server
import os
import threading
import time

ap = argparse.ArgumentParser()
ap.add_argument("--dir", required=True)
ap.add_argument("--bind", required=True)
ap.add_argument("--port-file", required=True)
ap.add_argument("--log", required=True)
ap.add_argument("--hold")
ap.add_argument("--delay", type=float, default=0.0)
args = ap.parse_args()
lock = threading.Lock()


def log(line):
    with lock:
        with open(args.log, "a") as f:
            f.write(line + "\n")


def logins(path):
    try:
        with open(path, errors="replace") as f:
            return sum("Accepted publickey" in line for line in f)
    except OSError:
        return 0


def hold_rule():
    want, timeout = [], 30.0
    if not args.hold or not os.path.exists(args.hold):
        return want, timeout
    with open(args.hold) as f:
        for line in f:
            parts = line.split()
            if len(parts) != 2:
                continue
            if parts[0] == "timeout":
                timeout = float(parts[1])
            else:
                want.append((parts[0], int(parts[1])))
    return want, timeout


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def answer(self, status, body):
        self.send_response(status)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        log("GET %s" % self.path)
        want, timeout = hold_rule()
        if args.delay:
            time.sleep(args.delay)
        if want:
            end = time.monotonic() + timeout
            while not all(logins(p) >= n for p, n in want):
                if time.monotonic() > end:
                    log("held too long: %s" % self.path)
                    self.answer(503, b"held too long\n")
                    return
                time.sleep(0.05)
            log("released: %s" % self.path)
        path = os.path.join(args.dir, os.path.basename(self.path))
        try:
            with open(path, "rb") as f:
                body = f.read()
        except OSError:
            self.answer(404, b"not found\n")
            return
        self.answer(200, body)

    def log_message(self, *a):
        pass


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True


srv = Server((args.bind, 0), Handler)
with open(args.port_file + ".tmp", "w") as f:
    f.write("%d\n" % srv.server_address[1])
os.rename(args.port_file + ".tmp", args.port_file)
srv.serve_forever()

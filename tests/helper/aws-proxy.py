#!/usr/bin/env python3
"""A small HTTP proxy in front of moto_server for the AWS tests.

It forwards every request unchanged (the Host header and body too, so
moto checks the signature the client made), and:
  --log FILE          appends "ACTION STATUS" for each request (the
                      Action= of the form body) so tests can assert which
                      calls were made, mutating or not;
  --throttle N        answers the first N requests of --throttle-action
                      (or any action; with --throttle-param, only those
                      carrying that parameter) with HTTP 503 and EC2's
                      RequestLimitExceeded error (or --error-status and
                      --error-code), without forwarding them;
  --dump FILE         appends each request (line, headers, body);
  S3 requests (GET, PUT, DELETE, HEAD) are forwarded the same way and
                      logged as "S3 METHOD PATH STATUS";
  --hook-before-put SUFFIX --hook CMD
                      runs CMD (a shell command) once, before forwarding
                      the first PUT whose path ends with SUFFIX: a test
                      writes behind the client's back between its read
                      and its write;
  --s3-fail-put SUFFIX [--s3-fail-when TEXT] [--s3-fail-count N]
  [--s3-fail-status S]
                      PUTs whose path ends with SUFFIX, from the first
                      whose body holds TEXT on (default: from the first),
                      N of them (default: every one), are not forwarded
                      but answered with HTTP S (default 500) and S3's
                      error for it (InternalError, AccessDenied ...); S 0
                      closes the connection without an answer; S -1
                      forwards the PUT (moto takes it) and then closes
                      the connection without the answer. Logged as "S3 PUT
                      PATH S" ("dropped" for 0, "taken-dropped" for -1);
  --kill-after ACTION --kill-pid-file F
                      once ACTION has been forwarded and answered by moto,
                      SIGKILLs the PID in F before the answer goes back:
                      the client dies after the cloud made the resource
                      and before it could record its id.
  --token-uses N      a session token (X-Amz-Security-Token) is good for
                      N EC2 requests: later ones, and requests without
                      a token, are answered 400 ExpiredToken without
                      being forwarded (logged "ACTION expired"): a
                      credential that expires mid-run;
Listens on 127.0.0.1, port 0; writes the port to --port-file.
Standard library only.
"""
import argparse
import http.client
import http.server
import os
import signal
import subprocess
import sys
import threading
import urllib.parse

ERROR = ("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
         "<Response><Errors><Error><Code>{code}</Code>"
         "<Message>{message}</Message></Error></Errors>"
         "<RequestID>proxy-throttle-{n}</RequestID></Response>")
MESSAGES = {
    "RequestLimitExceeded": "Request limit exceeded.",
    "InvalidInstanceID.NotFound": "The instance ID does not exist",
}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--upstream", required=True)  # host:port
    ap.add_argument("--port-file", required=True)
    ap.add_argument("--log", required=True)
    ap.add_argument("--throttle", type=int, default=0)
    ap.add_argument("--throttle-action", default=None)
    ap.add_argument("--throttle-param", default=None)  # only with it
    ap.add_argument("--error-code", default="RequestLimitExceeded")
    ap.add_argument("--error-status", type=int, default=503)
    ap.add_argument("--kill-after", default=None)
    ap.add_argument("--kill-pid-file", default=None)
    ap.add_argument("--token-uses", type=int, default=0)
    ap.add_argument("--dump", default=None)  # append each request here
    ap.add_argument("--hook-before-put", default=None)
    ap.add_argument("--hook", default=None)
    ap.add_argument("--s3-fail-put", default=None)
    ap.add_argument("--s3-fail-when", default=None)
    ap.add_argument("--s3-fail-count", type=int, default=-1)
    ap.add_argument("--s3-fail-status", type=int, default=500)
    args = ap.parse_args()
    lock = threading.Lock()
    state = {"throttled": 0, "killed": False, "hooked": False,
             "failing": False, "failed": 0, "uses": {}}
    S3_ERRORS = {
        500: ("InternalError", "We encountered an internal error. "
              "Please try again."),
        503: ("SlowDown", "Please reduce your request rate."),
        403: ("AccessDenied", "Access Denied"),
    }

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, fmt, *a):
            pass

        def record(self, action, status):
            with lock, open(args.log, "a") as f:
                f.write("%s %s\n" % (action, status))

        def answer(self, status, headers, body):
            self.send_response(status)
            for k, v in headers:
                if k.lower() in ("transfer-encoding", "connection",
                                 "content-length"):
                    continue
                self.send_header(k, v)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def forward_s3(self):
            n = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(n) if n else b""
            path = urllib.parse.urlsplit(self.path).path
            if (self.command == "PUT" and args.hook_before_put and
                    path.endswith(args.hook_before_put)):
                with lock:
                    run = not state["hooked"]
                    state["hooked"] = True
                if run:
                    subprocess.run(args.hook, shell=True, check=False)
            fail = False
            if (self.command == "PUT" and args.s3_fail_put and
                    path.endswith(args.s3_fail_put)):
                with lock:
                    if (not state["failing"] and
                            (args.s3_fail_when is None or
                             args.s3_fail_when.encode() in body)):
                        state["failing"] = True
                    fail = state["failing"] and (
                        args.s3_fail_count < 0 or
                        state["failed"] < args.s3_fail_count)
                    if fail:
                        state["failed"] += 1
            if fail and args.s3_fail_status >= 0:
                st = args.s3_fail_status
                self.record("S3 %s %s" % (self.command, path),
                            st if st else "dropped")
                if not st:
                    self.close_connection = True
                    self.connection.shutdown(2)
                    return
                code, msg = S3_ERRORS.get(st, ("InternalError", "error"))
                self.answer(st, [("Content-Type", "application/xml")],
                            ("<?xml version=\"1.0\" encoding=\"UTF-8\"?>"
                             "\n<Error><Code>%s</Code><Message>%s</Message>"
                             "<RequestId>proxy</RequestId></Error>" %
                             (code, msg)).encode())
                return
            conn = http.client.HTTPConnection(args.upstream, timeout=60)
            headers = {k: v for k, v in self.headers.items()}
            conn.request(self.command, self.path, body=body or None,
                         headers=headers)
            resp = conn.getresponse()
            data = resp.read()
            conn.close()
            if fail:  # taken, then the answer lost
                self.record("S3 %s %s" % (self.command, path),
                            "taken-dropped")
                self.close_connection = True
                self.connection.shutdown(2)
                return
            self.record("S3 %s %s" % (self.command, path), resp.status)
            if self.command == "HEAD":
                self.send_response(resp.status)
                for k, v in resp.getheaders():
                    if k.lower() not in ("transfer-encoding", "connection"):
                        self.send_header(k, v)
                self.end_headers()
                return
            self.answer(resp.status, resp.getheaders(), data)

        do_GET = forward_s3
        do_PUT = forward_s3
        do_DELETE = forward_s3
        do_HEAD = forward_s3

        def do_POST(self):
            n = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(n)
            form = urllib.parse.parse_qs(body.decode("utf-8", "replace"))
            action = form.get("Action", ["?"])[0]
            if args.dump:
                with lock, open(args.dump, "ab") as f:
                    f.write(("POST %s\n" % self.path).encode())
                    for k, v in self.headers.items():
                        f.write(("%s: %s\n" % (k, v)).encode())
                    f.write(b"\n" + body + b"\n\n")
            with lock:
                throttle = (state["throttled"] < args.throttle and
                            (args.throttle_action in (None, action)) and
                            (args.throttle_param is None or
                             args.throttle_param in form))
                if throttle:
                    state["throttled"] += 1
                    k = state["throttled"]
            if args.token_uses:
                tok = self.headers.get("X-Amz-Security-Token")
                with lock:
                    used = state["uses"].get(tok, 0) + 1
                    state["uses"][tok] = used
                if tok is None or used > args.token_uses:
                    self.record(action, "expired")
                    self.answer(400, [("Content-Type", "text/xml")],
                                ERROR.format(n=0, code="ExpiredToken",
                                             message="The security token "
                                             "included in the request is "
                                             "expired").encode())
                    return
            if throttle:
                self.record(action, args.error_status)
                self.answer(args.error_status, [("Content-Type", "text/xml")],
                            ERROR.format(n=k, code=args.error_code,
                                         message=MESSAGES.get(
                                             args.error_code, "error")
                                         ).encode())
                return
            conn = http.client.HTTPConnection(args.upstream, timeout=60)
            headers = {k: v for k, v in self.headers.items()}
            conn.request("POST", self.path, body=body, headers=headers)
            resp = conn.getresponse()
            data = resp.read()
            conn.close()
            self.record(action + (" NextToken" if "NextToken" in form
                                  else ""), resp.status)
            if (args.kill_after == action and resp.status == 200 and
                    args.kill_pid_file):
                # Logged before the kill, once, under the lock: the
                # client's requests run at once, and the test reads the
                # log as soon as the client is dead.
                with lock:
                    first = not state["killed"]
                    state["killed"] = True
                    if first:
                        with open(args.kill_pid_file) as f:
                            pid = int(f.read().strip())
                        with open(args.log, "a") as f:
                            f.write("KILLED %d\n" % pid)
                        os.kill(pid, signal.SIGKILL)
                if first:
                    return
            self.answer(resp.status, resp.getheaders(), data)

    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    with open(args.port_file + ".tmp", "w") as f:
        f.write(str(srv.server_address[1]))
    os.rename(args.port_file + ".tmp", args.port_file)
    signal.signal(signal.SIGTERM, lambda *a: sys.exit(0))
    srv.serve_forever()


if __name__ == "__main__":
    main()

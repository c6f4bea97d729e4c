#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""A small EC2 instance metadata service (IMDSv2 only) for the tests.

Follows the IMDS documentation ("Use the Instance Metadata Service to access
instance metadata", IMDSv2 with http-tokens required):

  PUT /latest/api/token
      needs X-aws-ec2-metadata-token-ttl-seconds, 1 to 21600, else 400;
      a PUT carrying X-Forwarded-For is refused with 403; the answer is the
      token, with its TTL in X-aws-ec2-metadata-token-ttl-seconds
  GET anything else
      needs X-aws-ec2-metadata-token with a token it gave that has not
      expired, else 401
  GET /latest/meta-data/iam/security-credentials/       the role's name
  GET /latest/meta-data/iam/security-credentials/ROLE   its credentials

It listens on 127.0.0.1, on a free port written to --port-file once it
listens, and logs one line per request to --log (no token or secret in it):

  PUT /latest/api/token ttl=21600 xff=no -> 200
  GET /latest/meta-data/iam/security-credentials/ token=valid -> 200

Options for the negative tests: --delay S answers every request S seconds
late; --fail N answers 500 to the first N requests (-1: to all); --no-role
answers 404 to the role listing, as an instance without a role does;
--code C sets the credentials document's Code.

For credentials that expire mid-run: --expires-in S gives each answer an
Expiration S seconds from now (instead of --expiration), and --rotate
hands out a new session token on each fetch (the --session-token, "-N").
With --rotate each credentials document served is logged with "creds=N".

Stdlib only.
"""

import argparse
import json
import os
import secrets
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

TOKEN_PATH = "/latest/api/token"
CREDS_PATH = "/latest/meta-data/iam/security-credentials/"


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--port-file", required=True)
    p.add_argument("--log", required=True)
    p.add_argument("--role", default="deploy-test-role")
    p.add_argument("--access-key", default="ASIAIMDSTEST0000001")
    p.add_argument("--secret", default="imds/Secret+Key/0123456789abcdefghij")
    p.add_argument("--session-token", default="IQoJb3JpZ2luX2VjImdsToken")
    p.add_argument("--expiration", default="2026-11-21T20:00:00Z")
    p.add_argument("--expires-in", type=int, default=None)
    p.add_argument("--rotate", action="store_true")
    p.add_argument("--sts", default=None)
    p.add_argument("--role-arn",
                   default="arn:aws:iam::123456789012:role/deploy-test-role")
    p.add_argument("--code", default="Success")
    p.add_argument("--delay", type=float, default=0.0)
    p.add_argument("--fail", type=int, default=0)
    p.add_argument("--no-role", action="store_true")
    return p.parse_args()


class State:
    def __init__(self, args):
        self.args = args
        self.tokens = {}  # token -> expiry (monotonic seconds)
        self.requests = 0
        self.served = 0  # credentials documents
        self.lock = threading.Lock()
        self.log = open(args.log, "a", buffering=1)


class Handler(BaseHTTPRequestHandler):
    server_version = "imds-test"
    sys_version = ""

    def log_message(self, fmt, *args):
        pass  # the request log below is the one the tests read

    def record(self, what, status):
        st = self.server.state
        with st.lock:
            st.log.write(f"{self.command} {self.path} {what} -> {status}\n")

    def answer(self, status, body=b"", headers=None, what=""):
        self.record(what, status)
        self.send_response(status)
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def failing(self):
        st = self.server.state
        if st.args.delay:
            time.sleep(st.args.delay)
        with st.lock:
            st.requests += 1
            n = st.requests
        return st.args.fail < 0 or n <= st.args.fail

    def drain(self):
        n = int(self.headers.get("Content-Length") or 0)
        if n:
            self.rfile.read(n)

    def do_PUT(self):
        self.drain()
        ttl = self.headers.get("X-aws-ec2-metadata-token-ttl-seconds")
        xff = "yes" if "X-Forwarded-For" in self.headers else "no"
        what = f"ttl={ttl if ttl is not None else '-'} xff={xff}"
        if self.failing():
            return self.answer(500, b"Internal Server Error", what=what)
        if self.path != TOKEN_PATH:
            return self.answer(404, b"Not Found", what=what)
        if xff == "yes":
            return self.answer(403, b"Forbidden", what=what)
        try:
            seconds = int(ttl)
        except (TypeError, ValueError):
            seconds = 0
        if not 1 <= seconds <= 21600:
            return self.answer(400, b"Bad Request", what=what)
        token = secrets.token_urlsafe(40)
        st = self.server.state
        with st.lock:
            st.tokens[token] = time.monotonic() + seconds
        self.answer(200, token.encode(),
                    {"X-aws-ec2-metadata-token-ttl-seconds": str(seconds),
                     "Content-Type": "text/plain"}, what)

    def token_state(self):
        token = self.headers.get("X-aws-ec2-metadata-token")
        if token is None:
            return "none"
        st = self.server.state
        with st.lock:
            expiry = st.tokens.get(token)
        if expiry is None or expiry < time.monotonic():
            return "invalid"
        return "valid"

    def do_GET(self):
        tok = self.token_state()
        what = f"token={tok}"
        if self.failing():
            return self.answer(500, b"Internal Server Error", what=what)
        if self.path == TOKEN_PATH:
            return self.answer(405, b"Method Not Allowed", what=what)
        if tok != "valid":
            return self.answer(401, b"Unauthorized", what=what)
        args = self.server.state.args
        if self.path == CREDS_PATH:
            if args.no_role:
                return self.answer(404, b"Not Found", what=what)
            return self.answer(200, args.role.encode(),
                               {"Content-Type": "text/plain"}, what)
        if self.path == CREDS_PATH + args.role and not args.no_role:
            st = self.server.state
            with st.lock:
                st.served += 1
                n = st.served
            token = args.session_token
            if args.rotate:
                token = f"{token}-{n}"
            expiration = args.expiration
            if args.expires_in is not None:
                expiration = time.strftime(
                    "%Y-%m-%dT%H:%M:%SZ",
                    time.gmtime(time.time() + args.expires_in))
            key, secret = args.access_key, args.secret
            if args.sts:
                import boto3
                sts = boto3.client("sts", endpoint_url=args.sts,
                                   region_name="us-east-1",
                                   aws_access_key_id=args.access_key,
                                   aws_secret_access_key=args.secret)
                c = sts.assume_role(RoleArn=args.role_arn,
                                    RoleSessionName=f"imds-{n}")
                c = c["Credentials"]
                key, secret = c["AccessKeyId"], c["SecretAccessKey"]
                token = c["SessionToken"]
            doc = {
                "Code": args.code,
                "LastUpdated": "2026-11-21T14:00:00Z",
                "Type": "AWS-HMAC",
                "AccessKeyId": key,
                "SecretAccessKey": secret,
                "Token": token,
                "Expiration": expiration,
            }
            return self.answer(200, json.dumps(doc, indent=2).encode(),
                               {"Content-Type": "text/plain"},
                               f"{what} creds={n}" if args.rotate else what)
        self.answer(404, b"Not Found", what=what)


def main():
    args = parse_args()
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    server.state = State(args)
    tmp = args.port_file + ".tmp"
    with open(tmp, "w") as f:
        f.write(f"{server.server_address[1]}\n")
    os.rename(tmp, args.port_file)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())

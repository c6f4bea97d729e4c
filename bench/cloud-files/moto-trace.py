#!/usr/bin/env python3
"""moto_server with a line per request, for bench/cloud --trace: the time
moto started and finished answering (Unix seconds), the CPU time its
thread spent on it, the service and its action. The bench reads it to
break a run down by call and by phase; nothing here changes an answer.

usage: moto-trace.py TRACE_FILE [moto_server arguments]
"""
import io
import sys
import threading
import time
import urllib.parse

from moto import server
from moto.moto_server.werkzeug_app import DomainDispatcherApplication

out = open(sys.argv[1], "a", buffering=1)
lock = threading.Lock()
inner = DomainDispatcherApplication.__call__


def action_of(environ):
    n = int(environ.get("CONTENT_LENGTH") or 0)
    body = environ["wsgi.input"].read(n) if n > 0 else b""
    environ["wsgi.input"] = io.BytesIO(body)
    q = urllib.parse.parse_qs(body.decode("utf-8", "replace"))
    q.update(urllib.parse.parse_qs(environ.get("QUERY_STRING", "")))
    action = q.get("Action", ["-"])[0]
    if action == "RunInstances":
        action += "(%s)" % q.get("MaxCount", ["?"])[0]
    return action


def traced(self, environ, start_response):
    t0 = time.time()
    c0 = time.thread_time()
    action = action_of(environ)
    try:
        return inner(self, environ, start_response)
    finally:
        line = "%.6f %.6f %.6f %s\n" % (t0, time.time(),
                                         time.thread_time() - c0, action)
        with lock:
            out.write(line)


DomainDispatcherApplication.__call__ = traced
server.main(sys.argv[2:])

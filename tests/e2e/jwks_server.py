"""jwks_server: a loopback HTTP server that plays a client's jwks_uri.

Each path is scripted by the test:

    srv = JwksServer()                      # listens on 127.0.0.1:<random>
    url = srv.serve("/a/jwks", {"keys": [...]}, max_age=60)
    srv.junk("/b/jwks", b"<html>not json</html>")
    srv.slow("/c/jwks", delay=5, body={"keys": [...]})
    srv.hits("/a/jwks")                     # how many GETs that path saw
    srv.close()

Unknown paths answer 404.  serve() may be called again on the same path to
rotate keys.  Requests are served on threads so that a slow path never
blocks another test's path.
"""
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

__all__ = ["JwksServer"]


class _Handler(BaseHTTPRequestHandler):
    def log_message(self, fmt, *args):  # keep pytest output clean
        pass

    def do_GET(self):
        srv = self.server.owner
        with srv.lock:
            srv.counts[self.path] = srv.counts.get(self.path, 0) + 1
            script = srv.paths.get(self.path)
        if script is None:
            self.send_response(404)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        if script.get("delay"):
            time.sleep(script["delay"])
        body = script["body"]
        try:
            self.send_response(script.get("status", 200))
            self.send_header("Content-Type", script.get("type", "application/json"))
            if script.get("cache_control"):
                self.send_header("Cache-Control", script["cache_control"])
            for k, v in script.get("headers", {}).items():
                self.send_header(k, v)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server under test gave up (timeout, size cap)


class JwksServer:
    def __init__(self):
        self.paths = {}
        self.counts = {}
        self.lock = threading.Lock()
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self.httpd.daemon_threads = True
        self.httpd.owner = self
        self.port = self.httpd.server_address[1]
        self.base = f"http://127.0.0.1:{self.port}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def _set(self, path, **script):
        with self.lock:
            self.paths[path] = script
        return self.base + path

    def serve(self, path, jwks, max_age=None, **kw):
        cc = f"max-age={max_age}" if max_age is not None else None
        return self._set(path, body=json.dumps(jwks).encode(), cache_control=cc, **kw)

    def junk(self, path, body, **kw):
        return self._set(path, body=body, **kw)

    def slow(self, path, delay, body=b'{"keys": []}', **kw):
        if not isinstance(body, bytes):
            body = json.dumps(body).encode()
        return self._set(path, body=body, delay=delay, **kw)

    def hits(self, path):
        with self.lock:
            return self.counts.get(path, 0)

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()

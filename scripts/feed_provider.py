#!/usr/bin/env python3
"""A local events provider: answers GET with the sample XML documents in turn.

`make run` points PROVIDER_URL here so that a new user sees events in /search within a
minute. Each request gets the next document (1, 2, 3, 1, ...), with an ETag, and honours
If-None-Match with 304 so the poller's conditional requests can be seen working.
With --no-etag it sends no ETag (and never 304): the poller can then only tell that a
document did not change by hashing it, the case `make bench`'s same-document row measures.

Like the real provider it can misbehave, on request (`make chaos` does this): `PUT /_mode` with
the body `slow` (answers only after --slow-seconds, longer than PROVIDER_TIMEOUT), `broken`
(alternately a 500 and a document cut off in the middle) or `ok` switches it, from loopback only.
"""
import argparse
import hashlib
import http.server
import itertools
import pathlib
import threading
import time


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8090)
    parser.add_argument("--samples", required=True, help="folder of response_N.xml files")
    parser.add_argument("--no-etag", action="store_true", help="send no ETag and ignore If-None-Match")
    parser.add_argument("--slow-seconds", type=float, default=40, help="how long a `slow` answer waits")
    arguments = parser.parse_args()
    documents = [path.read_bytes() for path in sorted(pathlib.Path(arguments.samples).glob("*.xml"))]
    if not documents:
        raise SystemExit(f"no .xml samples in {arguments.samples}")
    turn = itertools.cycle(documents)
    lock = threading.Lock()
    mode = {"name": "ok", "broken_answers": 0}

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_PUT(self):
            wanted = self.rfile.read(int(self.headers.get("Content-Length") or 0)).decode().strip()
            if self.path != "/_mode" or wanted not in ("ok", "slow", "broken"):
                self.send_error(400, "PUT /_mode with a body of ok, slow or broken")
                return
            with lock:
                mode["name"] = wanted
            self.send_response(204)
            self.end_headers()

        def do_GET(self):
            with lock:
                body = next(turn)
                current = mode["name"]
                mode["broken_answers"] += current == "broken"
                cut_off = mode["broken_answers"] % 2 == 0
            if current == "slow":
                time.sleep(arguments.slow_seconds)
            elif current == "broken" and not cut_off:
                self.send_error(500, "provider failure (chaos)")
                return
            elif current == "broken":
                body = body[: len(body) // 2]
            etag = '"' + hashlib.sha256(body).hexdigest()[:32] + '"'
            if not arguments.no_etag and self.headers.get("If-None-Match") == etag:
                self.send_response(304)
                self.send_header("ETag", etag)
                self.end_headers()
                return
            self.send_response(200)
            self.send_header("Content-Type", "application/xml")
            self.send_header("Content-Length", str(len(body)))
            if not arguments.no_etag:
                self.send_header("ETag", etag)
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format, *args):
            pass

    server = http.server.ThreadingHTTPServer((arguments.host, arguments.port), Handler)
    print(f"feed provider on {arguments.host}:{arguments.port} serving {len(documents)} documents in turn", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()

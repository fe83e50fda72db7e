#!/usr/bin/env python3
"""A local events provider: answers GET with the sample XML documents in turn.

`make run` points PROVIDER_URL here so that a new user sees events in /search within a
minute. Each request gets the next document (1, 2, 3, 1, ...), with an ETag, and honours
If-None-Match with 304 so the poller's conditional requests can be seen working.
With --no-etag it sends no ETag (and never 304): the poller can then only tell that a
document did not change by hashing it, the case `make bench`'s same-document row measures.
"""
import argparse
import hashlib
import http.server
import itertools
import pathlib
import threading


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8090)
    parser.add_argument("--samples", required=True, help="folder of response_N.xml files")
    parser.add_argument("--no-etag", action="store_true", help="send no ETag and ignore If-None-Match")
    arguments = parser.parse_args()
    documents = [path.read_bytes() for path in sorted(pathlib.Path(arguments.samples).glob("*.xml"))]
    if not documents:
        raise SystemExit(f"no .xml samples in {arguments.samples}")
    turn = itertools.cycle(documents)
    lock = threading.Lock()

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            with lock:
                body = next(turn)
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

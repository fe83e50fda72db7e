#!/usr/bin/env python3
"""A provider without ETags (for `make bench`): answers every GET with the same file, in full.

The poller can then only tell that nothing changed by hashing what it downloaded, which is
the case the "same document every poll" benchmark row measures.
"""
import argparse
import http.server
import pathlib


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("document", help="the XML file served on every request")
    arguments = parser.parse_args()
    body = pathlib.Path(arguments.document).read_bytes()

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self):
            self.send_response(200)
            self.send_header("Content-Type", "application/xml")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format, *args):
            pass

    server = http.server.ThreadingHTTPServer((arguments.host, arguments.port), Handler)
    server.daemon_threads = True
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()

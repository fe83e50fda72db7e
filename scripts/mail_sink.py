#!/usr/bin/env python3
"""A local SMTP sink: accepts every mail and keeps it, as received, in its own .eml file.

The local run (scripts/servers.sh starts it) and the mail tests deliver to it, so a developer
can open the mails the services sent (invoice notices, export links) in a text editor or a
mail client. The SMTP side is aiosmtpd's, a maintained server: the client is checked against
real protocol handling (dot-stuffing, reply codes), not against code of our own.

Each message becomes <folder>/<UTC time>-<n>.eml, written to a temporary name and renamed,
so a reader never sees half a mail; the 250 reply goes out only once the file is in place.
Like a real server, it refuses mailboxes in the reserved `.invalid` top-level domain (RFC 2606),
which cannot exist: `...@refused.invalid` for good (550), `...@tempfail.invalid` for now (451).
That is how the tests see the client tell a permanent refusal from a transient one.

With --port 0 the system picks a free port; the first line printed names it either way
("listening on 127.0.0.1:PORT"), which is how a test that started the sink learns it.
"""
import argparse
import asyncio
import datetime
import itertools
import os
import pathlib
import signal
import ssl

from aiosmtpd.smtp import SMTP


class FolderHandler:
    """aiosmtpd handler: one file per accepted message."""

    def __init__(self, folder: pathlib.Path):
        self.folder = folder
        self.counter = itertools.count(1)

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        domain = address.rpartition("@")[2].lower()
        if domain == "tempfail.invalid":
            return "451 4.3.0 mailbox busy, try again later"
        if domain.endswith(".invalid") or domain == "invalid":
            return "550 5.1.1 no such mailbox"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        stamp = datetime.datetime.now(datetime.timezone.utc).strftime("%Y%m%dT%H%M%S.%fZ")
        name = f"{stamp}-{next(self.counter)}.eml"
        temporary = self.folder / f".{name}.tmp"  # hidden: `*.eml` never matches it
        # original_content: the bytes of the DATA section after dot-unstuffing, untouched
        # otherwise (no decoding, no added headers), i.e. the message as the client wrote it.
        with open(temporary, "wb") as file:
            file.write(envelope.original_content)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, self.folder / name)
        return f"250 OK stored as {name}"


async def serve(arguments) -> None:
    folder = pathlib.Path(arguments.folder)
    folder.mkdir(parents=True, exist_ok=True)
    handler = FolderHandler(folder)
    tls = None
    if arguments.tls_cert:
        # Implicit TLS (smtps://), for the client's certificate-verification test.
        tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        tls.load_cert_chain(arguments.tls_cert, arguments.tls_key)
    loop = asyncio.get_running_loop()
    # decode_data=False keeps the bytes as sent; no size limit of our own beyond aiosmtpd's.
    server = await loop.create_server(
        lambda: SMTP(handler, hostname="switchyard-mail-sink", decode_data=False, ident="switchyard mail sink"),
        host=arguments.host, port=arguments.port, ssl=tls)
    port = server.sockets[0].getsockname()[1]
    print(f"listening on {arguments.host}:{port}, mail in {folder}", flush=True)
    stop = asyncio.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    if arguments.exit_with_parent:
        loop.create_task(stop_when_orphaned(stop))
    async with server:
        await stop.wait()


async def stop_when_orphaned(stop: asyncio.Event) -> None:
    """A sink a test started must not outlive the test process (a crash, or a suite that
    keeps one for the whole run): left running, it would hold the test runner's output open
    and `swift test` would wait for it forever."""
    parent = os.getppid()
    while os.getppid() == parent:
        await asyncio.sleep(0.5)
    stop.set()


def main() -> None:
    # A sink started by a test process inherits its blocked signals (Foundation's Process keeps
    # the parent's mask): unblocked here, or SIGTERM would never stop it.
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGTERM, signal.SIGINT})
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=2525, help="0: any free port (printed)")
    parser.add_argument("--folder", required=True, help="where the .eml files go")
    parser.add_argument("--tls-cert", help="PEM certificate: serve implicit TLS (smtps)")
    parser.add_argument("--tls-key", help="PEM private key for --tls-cert")
    parser.add_argument("--exit-with-parent", action="store_true", help="stop when the process that started it ends")
    arguments = parser.parse_args()
    if bool(arguments.tls_cert) != bool(arguments.tls_key):
        parser.error("--tls-cert and --tls-key go together")
    asyncio.run(serve(arguments))


if __name__ == "__main__":
    main()

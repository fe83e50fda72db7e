#!/usr/bin/env python3
"""A local SMTP sink: accepts every mail and keeps it as a readable .eml file.

The notification service delivers to it in the local run and in tests, so a developer can
open the mails it sent (exports' links, invoice notices) in any text editor or mail client.
Standard library only; speaks enough SMTP (HELO/EHLO, MAIL, RCPT, DATA, RSET, NOOP, QUIT).
"""
import argparse
import asyncio
import datetime
import pathlib
import uuid


class Session:
    def __init__(self, folder: pathlib.Path):
        self.folder = folder
        self.reset()

    def reset(self):
        self.sender = None
        self.recipients = []

    def save(self, data: bytes) -> pathlib.Path:
        stamp = datetime.datetime.now(datetime.timezone.utc).strftime("%Y%m%dT%H%M%S.%fZ")
        path = self.folder / f"{stamp}-{uuid.uuid4().hex[:8]}.eml"
        envelope = f"X-Sink-From: {self.sender}\r\nX-Sink-To: {', '.join(self.recipients)}\r\n".encode()
        temporary = path.with_suffix(".tmp")
        temporary.write_bytes(envelope + data)
        temporary.rename(path)  # readers never see half a mail
        return path


async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, folder: pathlib.Path):
    session = Session(folder)

    async def reply(line: str):
        writer.write((line + "\r\n").encode())
        await writer.drain()

    await reply("220 switchyard-smtp-sink ready")
    try:
        while True:
            raw = await reader.readline()
            if not raw:
                break
            line = raw.decode("utf-8", "replace").rstrip("\r\n")
            verb = line[:4].upper()
            if verb in ("HELO", "EHLO"):
                await reply("250 switchyard-smtp-sink")
            elif verb == "MAIL":
                session.sender = line.split(":", 1)[1].strip() if ":" in line else ""
                await reply("250 OK")
            elif verb == "RCPT":
                session.recipients.append(line.split(":", 1)[1].strip() if ":" in line else "")
                await reply("250 OK")
            elif verb == "DATA":
                await reply("354 End data with <CR><LF>.<CR><LF>")
                lines = []
                while True:
                    chunk = await reader.readline()
                    if not chunk or chunk in (b".\r\n", b".\n"):
                        break
                    lines.append(chunk[1:] if chunk.startswith(b"..") else chunk)  # undo dot-stuffing
                path = session.save(b"".join(lines))
                session.reset()
                await reply(f"250 OK stored as {path.name}")
            elif verb == "RSET":
                session.reset()
                await reply("250 OK")
            elif verb == "NOOP":
                await reply("250 OK")
            elif verb == "QUIT":
                await reply("221 Bye")
                break
            else:
                await reply("502 Command not implemented")
    finally:
        writer.close()


async def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=2525)
    parser.add_argument("--dir", required=True, help="folder for the .eml files")
    arguments = parser.parse_args()
    folder = pathlib.Path(arguments.dir)
    folder.mkdir(parents=True, exist_ok=True)
    server = await asyncio.start_server(lambda r, w: handle(r, w, folder), arguments.host, arguments.port)
    print(f"smtp sink on {arguments.host}:{arguments.port}, mails in {folder}", flush=True)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        pass

#!/usr/bin/env python3
"""Writes the document fixtures of DocumentChecksTests (run once; the outputs are committed).

PDFs are assembled object by object with exact xref offsets, so that qpdf reads them without
recovery; PNGs are encoded with zlib and struct (filter 0 rows, real CRCs and Adler-32). The two
encrypted PDFs need the qpdf command (Debian `qpdf`), which encrypts the one-page PDF.
Deliberately broken files (garbage after the header, truncations, flipped bytes) are made by
the tests themselves from these valid ones.
"""
import os
import struct
import subprocess
import zlib

HERE = os.path.dirname(os.path.abspath(__file__))


def write(name, data):
    with open(os.path.join(HERE, name), "wb") as f:
        f.write(data)


# --- PDF -------------------------------------------------------------------------------------

def pdf(page_texts):
    """A PDF 1.4 file with one page per text (none: an empty page tree), Helvetica text."""
    objects = []  # bodies, object n at index n-1

    def add(body):
        objects.append(body)
        return len(objects)

    catalog = add(None)
    pages = add(None)
    font = add(b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>")
    kids = []
    for text in page_texts:
        content = f"BT /F1 24 Tf 72 720 Td ({text}) Tj ET".encode()
        packed = zlib.compress(content)
        stream = add(b"<< /Length %d /Filter /FlateDecode >>\nstream\n" % len(packed) + packed + b"\nendstream")
        kids.append(add(b"<< /Type /Page /Parent %d 0 R /MediaBox [0 0 612 792] "
                        b"/Resources << /Font << /F1 %d 0 R >> >> /Contents %d 0 R >>" % (pages, font, stream)))
    objects[catalog - 1] = b"<< /Type /Catalog /Pages %d 0 R >>" % pages
    objects[pages - 1] = (b"<< /Type /Pages /Kids [" + b" ".join(b"%d 0 R" % k for k in kids)
                          + b"] /Count %d >>" % len(kids))

    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n" % (len(objects) + 1)
    out += b"0000000000 65535 f \n"
    for offset in offsets:
        out += b"%010d 00000 n \n" % offset
    out += b"trailer\n<< /Size %d /Root %d 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, catalog, xref)
    return bytes(out)


write("one-page.pdf", pdf(["Invoice 1"]))
write("three-pages.pdf", pdf(["Invoice 1", "Invoice 1, page 2", "Invoice 1, page 3"]))
write("no-pages.pdf", pdf([]))

one_page = os.path.join(HERE, "one-page.pdf")
# Needs a password to open: a reader cannot show it, so the check rejects it.
subprocess.run(["qpdf", "--encrypt", "user-secret", "owner-secret", "256", "--", one_page,
                os.path.join(HERE, "password-protected.pdf")], check=True)
# Opens without a password (empty user password), only printing restricted: accepted.
subprocess.run(["qpdf", "--encrypt", "", "owner-secret", "256", "--print=none", "--", one_page,
                os.path.join(HERE, "owner-restricted.pdf")], check=True)


# --- PNG -------------------------------------------------------------------------------------

def chunk(kind, data):
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png(width, height, bit_depth, color_type, rows, interlace=0, extra_chunks=(), plte=None):
    """`rows`: the filtered scanlines (filter byte included), already in pass order if interlaced."""
    ihdr = struct.pack(">IIBBBBB", width, height, bit_depth, color_type, 0, 0, interlace)
    out = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr)
    if plte is not None:
        out += chunk(b"PLTE", plte)
    for kind, data in extra_chunks:
        out += chunk(kind, data)
    out += chunk(b"IDAT", zlib.compress(b"".join(rows), 9))
    return out + chunk(b"IEND", b"")


def rgb_pixel(x, y):
    return bytes(((x * 4) % 256, (y * 5) % 256, ((x + y) * 3) % 256))


# 64x48 RGB, 8 bits, a gradient (so IDAT is not trivially compressible) and a tEXt chunk.
W, H = 64, 48
rows = [b"\x00" + b"".join(rgb_pixel(x, y) for x in range(W)) for y in range(H)]
write("gradient-64x48.png", png(W, H, 8, 2, rows, extra_chunks=[(b"tEXt", b"Title\x00Invoice 1")]))

# 13x9 Adam7-interlaced RGB: the rows of each of the seven passes, each pass its own filtered image.
W, H = 13, 9
PASSES = [(0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2), (0, 1, 1, 2)]
rows = []
for x0, y0, dx, dy in PASSES:
    xs = range(x0, W, dx)
    for y in range(y0, H, dy):
        if len(xs):
            rows.append(b"\x00" + b"".join(rgb_pixel(x, y) for x in xs))
write("interlaced-13x9.png", png(W, H, 8, 2, rows, interlace=1))

# 10x7 palette image, 4 bits per pixel (two pixels a byte, odd width pads the last one).
W, H = 10, 7
palette = b"".join(bytes((i * 16, 255 - i * 16, 128)) for i in range(16))
rows = []
for y in range(H):
    indices = [(x + y) % 16 for x in range(W)] + [0]
    rows.append(b"\x00" + bytes((indices[i] << 4) | indices[i + 1] for i in range(0, W, 2)))
write("palette-10x7.png", png(W, H, 4, 3, rows, plte=palette))

# Claims 100000x100000 RGB (30 GB decoded) with a valid header; its IDAT holds one row only.
write("huge-100000x100000.png", png(100000, 100000, 8, 2, [b"\x00" + b"\x00" * 300000]))

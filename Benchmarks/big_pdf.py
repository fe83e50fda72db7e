#!/usr/bin/env python3
"""Writes a well-formed PDF of about SIZE MiB: one page showing one grey image whose samples are
the bulk of the file (uncompressed), so that qpdf accepts it and the invoice becomes available.
Usage: big_pdf.py MIB OUT"""
import os, sys

mib, out = int(sys.argv[1]), sys.argv[2]
side = int((mib * 1024 * 1024) ** 0.5)
samples = side * side
objects = [
    b"<< /Type /Catalog /Pages 2 0 R >>",
    b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
    b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << /XObject << /Im0 4 0 R >> >> /Contents 5 0 R >>",
    None,  # the image, streamed below
    b"<< /Length 31 >>\nstream\nq 612 0 0 792 0 0 cm /Im0 Do Q\nendstream",
]
with open(out, "wb") as pdf:
    pdf.write(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(pdf.tell())
        pdf.write(b"%d 0 obj\n" % number)
        if body is None:
            pdf.write(b"<< /Type /XObject /Subtype /Image /Width %d /Height %d /ColorSpace /DeviceGray /BitsPerComponent 8 /Length %d >>\nstream\n"
                      % (side, side, samples))
            chunk = os.urandom(1 << 20)
            left = samples
            while left:
                pdf.write(chunk[: min(left, len(chunk))])
                left -= min(left, len(chunk))
            pdf.write(b"\nendstream")
        else:
            pdf.write(body)
        pdf.write(b"\nendobj\n")
    xref = pdf.tell()
    pdf.write(b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1))
    for offset in offsets:
        pdf.write(b"%010d 00000 n \n" % offset)
    pdf.write(b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref))

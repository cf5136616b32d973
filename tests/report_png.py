#!/usr/bin/env python3
"""PNG checks for the report screenshot test (tests/test_report.c), with
the standard library only (zlib, struct).

  report_png.py check FILE.png WIDTH HEIGHT COLOR[,COLOR...]
      exit 0 when the image is WIDTH x HEIGHT, not blank (pixel variance),
      and every chart region found by its series colours is non-blank:
      for each #rrggbb colour, at least 200 pixels within a small distance
      of it, and the bounding box of those pixels holds varied pixels.
      Prints what it found; exit 1 with the reason otherwise.
  report_png.py crop FILE.png OUT.png X Y W H
      writes the region (for looking at a part of a tall screenshot).
"""
import struct
import sys
import zlib


def read_png(path):
    with open(path, "rb") as f:
        data = f.read()
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        raise ValueError("not a PNG file")
    pos, idat, w = 8, [], None
    while pos < len(data):
        n, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + n]
        pos += 12 + n
        if kind == b"IHDR":
            w, h, depth, ctype, _, _, interlace = struct.unpack(">IIBBBBB", body)
            if depth != 8 or ctype not in (2, 6) or interlace:
                raise ValueError("unsupported PNG: depth %d colour type %d interlace %d"
                                 % (depth, ctype, interlace))
            bpp = 3 if ctype == 2 else 4
        elif kind == b"IDAT":
            idat.append(body)
        elif kind == b"IEND":
            break
    if w is None:
        raise ValueError("no IHDR")
    raw = zlib.decompress(b"".join(idat))
    stride = w * bpp
    rows, prev = [], bytearray(stride)
    i = 0
    for _ in range(h):
        ft = raw[i]
        line = bytearray(raw[i + 1:i + 1 + stride])
        i += 1 + stride
        if ft == 1:
            for x in range(bpp, stride):
                line[x] = (line[x] + line[x - bpp]) & 255
        elif ft == 2:
            for x in range(stride):
                line[x] = (line[x] + prev[x]) & 255
        elif ft == 3:
            for x in range(stride):
                left = line[x - bpp] if x >= bpp else 0
                line[x] = (line[x] + ((left + prev[x]) >> 1)) & 255
        elif ft == 4:
            for x in range(stride):
                a = line[x - bpp] if x >= bpp else 0
                b = prev[x]
                c = prev[x - bpp] if x >= bpp else 0
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                pr = a if pa <= pb and pa <= pc else b if pb <= pc else c
                line[x] = (line[x] + pr) & 255
        rows.append(bytes(line))
        prev = line
    return w, h, bpp, rows


def pixel(rows, bpp, x, y):
    o = x * bpp
    r = rows[y]
    return r[o], r[o + 1], r[o + 2]


def write_png(path, w, h, rows_rgb):
    raw = b"".join(b"\x00" + r for r in rows_rgb)
    def chunk(kind, body):
        c = struct.pack(">I", len(body)) + kind + body
        return c + struct.pack(">I", zlib.crc32(kind + body) & 0xffffffff)
    with open(path, "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n")
        f.write(chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0)))
        f.write(chunk(b"IDAT", zlib.compress(raw, 6)))
        f.write(chunk(b"IEND", b""))


def check(path, want_w, want_h, colors):
    w, h, bpp, rows = read_png(path)
    if (w, h) != (want_w, want_h):
        print("size %dx%d, expected %dx%d" % (w, h, want_w, want_h))
        return 1
    # overall variance on a grid of samples
    samples = [sum(pixel(rows, bpp, x, y)) for y in range(0, h, 7) for x in range(0, w, 7)]
    mean = sum(samples) / len(samples)
    var = sum((s - mean) ** 2 for s in samples) / len(samples)
    print("image %dx%d, luminance variance %.0f" % (w, h, var))
    if var < 50:
        print("the page is blank")
        return 1
    want = []
    for c in colors:
        c = c.lstrip("#")
        want.append((int(c[0:2], 16), int(c[2:4], 16), int(c[4:6], 16)))
    found = [0] * len(want)
    box = [[w, h, -1, -1] for _ in want]
    for y in range(0, h, 2):
        r = rows[y]
        for x in range(0, w, 2):
            o = x * bpp
            p = (r[o], r[o + 1], r[o + 2])
            for k, c in enumerate(want):
                if abs(p[0] - c[0]) + abs(p[1] - c[1]) + abs(p[2] - c[2]) <= 30:
                    found[k] += 1
                    b = box[k]
                    b[0], b[1] = min(b[0], x), min(b[1], y)
                    b[2], b[3] = max(b[2], x), max(b[3], y)
    bad = 0
    for k, c in enumerate(colors):
        b = box[k]
        print("colour %s: %d pixels (every 2nd), box %s" % (c, found[k], b if found[k] else "-"))
        if found[k] < 50:
            print("chart series %s not drawn" % c)
            bad = 1
            continue
        # the region the series spans must not be flat
        vals = set()
        for y in range(b[1], b[3] + 1, 3):
            for x in range(b[0], b[2] + 1, 3):
                vals.add(pixel(rows, bpp, x, y))
        if len(vals) < 8:
            print("chart area of %s is blank (%d distinct colours)" % (c, len(vals)))
            bad = 1
    return bad


def main(argv):
    if len(argv) >= 6 and argv[1] == "check":
        return check(argv[2], int(argv[3]), int(argv[4]), argv[5].split(","))
    if len(argv) == 8 and argv[1] == "crop":
        w, h, bpp, rows = read_png(argv[2])
        x, y, cw, ch = (int(v) for v in argv[4:8])
        out = []
        for yy in range(y, min(h, y + ch)):
            line = bytearray()
            for xx in range(x, min(w, x + cw)):
                line += bytes(pixel(rows, bpp, xx, yy))
            out.append(bytes(line))
        write_png(argv[3], min(w, x + cw) - x, len(out), out)
        return 0
    print(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))

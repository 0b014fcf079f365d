"""Reading the pixels of a PNG (8-bit RGB or RGBA, not interlaced: what Chromium's
screenshots are) without an imaging library."""

from __future__ import annotations

import struct
import zlib
from collections import Counter

SIGNATURE = b"\x89PNG\r\n\x1a\n"
_CHANNELS = {2: 3, 6: 4}  # colour type -> bytes per pixel (RGB, RGBA)


def _paeth(left: int, up: int, up_left: int) -> int:
    guess = left + up - up_left
    pa, pb, pc = abs(guess - left), abs(guess - up), abs(guess - up_left)
    if pa <= pb and pa <= pc:
        return left
    return up if pb <= pc else up_left


def read_png(data: bytes) -> tuple[int, int, list[bytearray]]:
    """(width, height, rows): each row's bytes, `channels` per pixel."""
    assert data.startswith(SIGNATURE), "not a PNG"
    position, idat = len(SIGNATURE), b""
    width = height = depth = colour = interlace = 0
    while position < len(data):
        (length,) = struct.unpack(">I", data[position : position + 4])
        kind = data[position + 4 : position + 8]
        body = data[position + 8 : position + 8 + length]
        if kind == b"IHDR":
            width, height, depth, colour, _, _, interlace = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat += body
        position += 12 + length
    assert depth == 8 and colour in _CHANNELS and not interlace, (depth, colour, interlace)
    channels = _CHANNELS[colour]
    raw = zlib.decompress(idat)
    stride = width * channels
    rows: list[bytearray] = []
    previous = bytearray(stride)
    for y in range(height):
        start = y * (stride + 1)
        filter_type, row = raw[start], bytearray(raw[start + 1 : start + 1 + stride])
        for x in range(stride):
            left = row[x - channels] if x >= channels else 0
            up, up_left = previous[x], previous[x - channels] if x >= channels else 0
            if filter_type == 1:
                row[x] = (row[x] + left) & 0xFF
            elif filter_type == 2:
                row[x] = (row[x] + up) & 0xFF
            elif filter_type == 3:
                row[x] = (row[x] + (left + up) // 2) & 0xFF
            elif filter_type == 4:
                row[x] = (row[x] + _paeth(left, up, up_left)) & 0xFF
        rows.append(row)
        previous = row
    return width, height, [bytearray(r) for r in rows]


def colour_counts(data: bytes) -> Counter[str]:
    """How many pixels have each colour, as '#rrggbb' (alpha ignored)."""
    width, _, rows = read_png(data)
    channels = len(rows[0]) // width
    counts: Counter[str] = Counter()
    for row in rows:
        for x in range(0, len(row), channels):
            counts[f"#{row[x]:02X}{row[x + 1]:02X}{row[x + 2]:02X}"] += 1
    return counts

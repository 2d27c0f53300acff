"""Checks that a file is a valid 68-byte 1x1 fully transparent PNG, with Python's stdlib."""
import struct
import sys
import zlib

data = open(sys.argv[1], "rb").read()
assert len(data) == 68, f"{len(data)} bytes"
assert data[:8] == b"\x89PNG\r\n\x1a\n", "PNG signature"
pos, chunks = 8, []
while pos < len(data):
    (length,) = struct.unpack(">I", data[pos:pos + 4])
    kind, body = data[pos + 4:pos + 8], data[pos + 8:pos + 8 + length]
    (crc,) = struct.unpack(">I", data[pos + 8 + length:pos + 12 + length])
    assert crc == zlib.crc32(kind + body), f"CRC of {kind!r}"
    chunks.append((kind, body))
    pos += 12 + length
assert [k for k, _ in chunks] == [b"IHDR", b"IDAT", b"IEND"], chunks
width, height, depth, color, _, _, interlace = struct.unpack(">IIBBBBB", chunks[0][1])
assert (width, height, depth, interlace) == (1, 1, 8, 0)
assert color == 4, "grayscale with alpha"
raw = zlib.decompress(chunks[1][1])
assert raw == b"\x00\x00\x00", raw  # filter 0, gray 0, alpha 0: fully transparent
print("ok: 68-byte 1x1 transparent PNG")

#!/usr/bin/env python3
"""Writes the frame parser's seed inputs into Corpus/frame/ (run from Fuzz/; the output is committed).

An input is: one byte choosing maxMessageBytes (index into 0, 1, 2, 125, 126, 127, 300, 65536),
one byte seeding how the stream is cut, then the client's bytes (masked RFC 6455 frames)."""
import os
import struct

KEY = b"\x37\xfa\x21\x3d"


def frame(opcode, payload=b"", fin=True, rsv=0, masked=True, length=None):
    n = len(payload) if length is None else length
    head = bytes([(0x80 if fin else 0) | rsv | opcode])
    mask = 0x80 if masked else 0
    if n < 126:
        head += bytes([mask | n])
    elif n < 65536:
        head += bytes([mask | 126]) + struct.pack(">H", n)
    else:
        head += bytes([mask | 127]) + struct.pack(">Q", n)
    if not masked:
        return head + payload
    return head + KEY + bytes(b ^ KEY[i % 4] for i, b in enumerate(payload))


seeds = {
    "text": (7, 0, frame(1, b'{"event":"ping"}')),
    "fragmented-text-with-ping": (7, 1, frame(1, b'{"eve', fin=False) + frame(9, b"hi") + frame(0, b'nt":"x"}')),
    "binary-then-pong": (7, 2, frame(2, b"\x00\x01\x02") + frame(10)),
    "close-with-reason": (7, 3, frame(8, b"\x03\xe8bye")),
    "close-empty-and-one-byte": (7, 0, frame(8) + frame(8, b"\x03")),
    "extended-16": (7, 1, frame(1, b"a" * 200)),
    "extended-64-header-only": (7, 2, frame(1, length=70000)[:14]),
    "too-large-for-limit": (3, 3, frame(1, b"b" * 126)),
    "fragments-over-limit": (6, 1, frame(1, b"c" * 200, fin=False) + frame(0, b"d" * 200)),
    "unmasked": (7, 0, frame(1, b"x", masked=False)),
    "reserved-bits": (7, 0, frame(1, b"x", rsv=0x40)),
    "fragmented-ping": (7, 0, frame(9, b"p", fin=False)),
    "long-ping": (7, 1, frame(9, b"p" * 126)),
    "continuation-first": (7, 2, frame(0, b"x")),
    "new-message-mid-fragments": (7, 3, frame(1, b"a", fin=False) + frame(1, b"b")),
    "unknown-opcode": (7, 0, frame(3, b"?")),
    "huge-64-bit-length": (7, 1, bytes([0x81, 0xFF]) + b"\xff" * 8 + KEY),
    "many-small-frames": (7, 3, b"".join(frame(1, bytes([65 + i])) for i in range(20))),
    "empty-text-and-fragments": (5, 2, frame(1) + frame(1, b"", fin=False) + frame(0, b"", fin=False) + frame(0)),
}

os.makedirs("Corpus/frame", exist_ok=True)
for name, (limit, cut, stream) in seeds.items():
    with open(f"Corpus/frame/{name}", "wb") as out:
        out.write(bytes([limit, cut]) + stream)

"""Media bytes made from a seed, one chunk at a time: 100 MB costs one 64 KiB chunk of memory, and a test can
compute the digest of what it should have received without holding it either.

Chunk i is SHAKE-128("<seed>:<i>"); a short last chunk is a prefix of the full one (an XOF's property).
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterator

CHUNK_BYTES = 64 * 1024


def new_seed() -> str:
    return secrets.token_hex(8)


def seeded_chunks(seed: str, size: int) -> Iterator[bytes]:
    for index, offset in enumerate(range(0, size, CHUNK_BYTES)):
        yield hashlib.shake_128(f"{seed}:{index}".encode()).digest(min(CHUNK_BYTES, size - offset))


def content_chunks(seed: str, size: int, content: bytes | None) -> Iterator[bytes]:
    """The item's bytes: its explicit content if it has one, else the seeded stream."""
    if content is None:
        yield from seeded_chunks(seed, size)
        return
    for offset in range(0, len(content), CHUNK_BYTES):
        yield content[offset : offset + CHUNK_BYTES]


def content_sha256(seed: str, size: int, content: bytes | None = None) -> str:
    digest = hashlib.sha256()
    for chunk in content_chunks(seed, size, content):
        digest.update(chunk)
    return digest.hexdigest()

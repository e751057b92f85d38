"""Transparency-log arithmetic (RFC 9162 §2.1), shared by the checkpoint
signer, the witness, `log verify` and the export verifier.

    leaf       = UTF-8 of event_id '\\n' event_hash '\\n' correlation_id
    leaf hash  = SHA-256(0x00 || leaf)
    node hash  = SHA-256(0x01 || left || right)

The SQL side (sql/functions/400_transparency_log.sql) builds the same tree;
this module only checks proofs and recomputes roots from leaves.
"""
from __future__ import annotations

import base64
from hashlib import sha256
from typing import Iterable, Sequence

EMPTY_ROOT = sha256(b"").digest()


class ProofError(ValueError):
    """A proof that does not prove what it claims."""


def leaf_bytes(event_id: str, event_hash: str | None, correlation_id: str) -> bytes:
    return f"{event_id}\n{event_hash or ''}\n{correlation_id}".encode()


def leaf_hash(leaf: bytes) -> bytes:
    return sha256(b"\x00" + leaf).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return sha256(b"\x01" + left + right).digest()


def b64(h: bytes) -> str:
    return base64.b64encode(h).decode()


def unb64(s: str) -> bytes:
    return base64.b64decode(s, validate=True)


def bundle_entries(bundle: bytes) -> list[bytes]:
    """The entries of a C2SP tlog-tiles entry bundle (uint16 big-endian
    length, then the entry)."""
    out, pos = [], 0
    while pos < len(bundle):
        n = int.from_bytes(bundle[pos:pos + 2], "big")
        out.append(bundle[pos + 2:pos + 2 + n])
        pos += 2 + n
    return out


class RootBuilder:
    """Streaming MTH: feed leaf hashes in order; `root()` at any moment is the
    root of the tree of the leaves fed so far (O(log n) memory)."""

    __slots__ = ("size", "_stack")

    def __init__(self):
        self.size = 0
        self._stack: list[bytes] = []  # complete subtrees, largest first

    def add(self, h: bytes) -> None:
        self._push(h, 0)

    def extend(self, hashes: Sequence[bytes]) -> None:
        """Feed many leaf hashes at once: the range is cut into aligned
        power-of-two blocks, each reduced level by level in bulk (far fewer
        Python steps per leaf than `add` one at a time)."""
        i, n = 0, len(hashes)
        while i < n:
            size = self.size
            k = min((size & -size).bit_length() - 1 if size else 62, (n - i).bit_length() - 1)
            level = hashes[i:i + (1 << k)]
            while len(level) > 1:
                level = [sha256(b"\x01" + a + b).digest() for a, b in zip(level[::2], level[1::2])]
            self._push(level[0], k)
            i += 1 << k

    def _push(self, h: bytes, k: int) -> None:
        """Push the root of a complete subtree of 2**k leaves; the size is a
        multiple of 2**k, so its bits below k are zero."""
        stack = self._stack
        n = self.size >> k
        while n & 1:  # each trailing 1 bit closes a subtree with the one on top
            h = sha256(b"\x01" + stack.pop() + h).digest()
            n >>= 1
        stack.append(h)
        self.size += 1 << k

    def root(self) -> bytes:
        if not self._stack:
            return EMPTY_ROOT
        acc = self._stack[-1]
        for h in reversed(self._stack[:-1]):
            acc = node_hash(h, acc)
        return acc


def root_of(leaf_hashes: Iterable[bytes]) -> bytes:
    b = RootBuilder()
    for h in leaf_hashes:
        b.add(h)
    return b.root()


def verify_inclusion(leaf: bytes, index: int, size: int, proof: Sequence[bytes],
                     root: bytes) -> None:
    """RFC 9162 §2.1.3.2, with `leaf` the leaf hash. Raises ProofError."""
    if not 0 <= index < size:
        raise ProofError(f"leaf index {index} is outside a tree of size {size}")
    fn, sn, r = index, size - 1, leaf
    for p in proof:
        if sn == 0:
            raise ProofError("inclusion proof is too long")
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            if not fn & 1:
                while fn and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise ProofError("inclusion proof is too short")
    if r != root:
        raise ProofError(f"inclusion proof of leaf {index} does not lead to the root of size {size}")


def verify_consistency(first: int, second: int, proof: Sequence[bytes], first_root: bytes,
                       second_root: bytes) -> None:
    """RFC 9162 §2.1.4.2. Raises ProofError."""
    if not 0 <= first <= second:
        raise ProofError(f"sizes {first} and {second} are not in order")
    if first == second:
        if proof:
            raise ProofError("a proof between equal sizes must be empty")
        if first_root != second_root:
            raise ProofError(f"two different roots for tree size {first}")
        return
    if first == 0:
        if proof:
            raise ProofError("a proof from the empty tree must be empty")
        return
    path = list(proof)
    if first & (first - 1) == 0:  # a power of two: the old root is itself a node
        path.insert(0, first_root)
    if not path:
        raise ProofError("consistency proof is empty")
    fn, sn = first - 1, second - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            raise ProofError("consistency proof is too long")
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            if not fn & 1:
                while fn and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise ProofError("consistency proof is too short")
    if fr != first_root:
        raise ProofError(f"consistency proof does not reproduce the root of size {first}")
    if sr != second_root:
        raise ProofError(f"consistency proof does not reproduce the root of size {second}")

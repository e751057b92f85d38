"""C2SP signed notes with Ed25519: log checkpoints (c2sp.org/tlog-checkpoint),
their signatures (c2sp.org/signed-note) and witness cosignatures
(c2sp.org/tlog-cosignature, cosignature/v1).

    key ID        = SHA-256(name || 0x0A || type || public key)[:4]
                    type 0x01 for note signatures, 0x04 for cosignatures
    verifier key  = name + '+' + hex(key ID) + '+' + base64(type || public key)
    signer key    = 'PRIVATE+KEY+' + name + '+' + hex(key ID) + '+' + base64(type || seed)
    signature line: '— ' name ' ' base64(key ID || signature)   (U+2014)
"""
from __future__ import annotations

import base64
import os
import struct
import time
from dataclasses import dataclass
from hashlib import sha256
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

ED25519 = 0x01
COSIGNATURE_V1 = 0x04
DASH = "\u2014"


class NoteError(ValueError):
    """A note, key or checkpoint that is malformed or not signed as required."""


def key_id(name: str, alg: int, public: bytes) -> bytes:
    return sha256(name.encode() + b"\n" + bytes([alg]) + public).digest()[:4]


def _check_name(name: str) -> None:
    if not name or any(c.isspace() or c == "+" for c in name):
        raise NoteError(f"key name {name!r} must be non-empty without spaces or '+'")


@dataclass(frozen=True)
class Verifier:
    name: str
    alg: int
    public: bytes

    @property
    def id(self) -> bytes:
        return key_id(self.name, self.alg, self.public)

    def vkey(self) -> str:
        return f"{self.name}+{self.id.hex()}+{base64.b64encode(bytes([self.alg]) + self.public).decode()}"

    def check(self, message: bytes, signature: bytes) -> bool:
        try:
            Ed25519PublicKey.from_public_bytes(self.public).verify(signature, message)
            return True
        except InvalidSignature:
            return False

    @classmethod
    def parse(cls, vkey: str) -> "Verifier":
        parts = vkey.strip().split("+", 2)
        if len(parts) != 3:
            raise NoteError("a verifier key is name+keyid+base64key")
        name, hexid, b64 = parts
        _check_name(name)
        try:
            raw = base64.b64decode(b64, validate=True)
        except ValueError:
            raise NoteError("verifier key: bad base64") from None
        if len(raw) != 33 or raw[0] not in (ED25519, COSIGNATURE_V1):
            raise NoteError("verifier key: only Ed25519 keys (type 0x01 or 0x04) are supported")
        v = cls(name, raw[0], raw[1:])
        if v.id.hex() != hexid.lower():
            raise NoteError("verifier key: key ID does not match the name and key")
        return v


@dataclass(frozen=True)
class Signer:
    name: str
    alg: int
    seed: bytes

    @property
    def _key(self) -> Ed25519PrivateKey:
        return Ed25519PrivateKey.from_private_bytes(self.seed)

    @property
    def verifier(self) -> Verifier:
        pub = self._key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
        return Verifier(self.name, self.alg, pub)

    def sign(self, message: bytes) -> bytes:
        return self._key.sign(message)

    def skey(self) -> str:
        return (f"PRIVATE+KEY+{self.name}+{self.verifier.id.hex()}+"
                f"{base64.b64encode(bytes([self.alg]) + self.seed).decode()}")

    @classmethod
    def generate(cls, name: str, alg: int = ED25519) -> "Signer":
        _check_name(name)
        return cls(name, alg, os.urandom(32))

    @classmethod
    def parse(cls, skey: str) -> "Signer":
        parts = skey.strip().split("+", 4)
        if len(parts) != 5 or parts[:2] != ["PRIVATE", "KEY"]:
            raise NoteError("a signer key is PRIVATE+KEY+name+keyid+base64key")
        try:
            raw = base64.b64decode(parts[4], validate=True)
        except ValueError:
            raise NoteError("signer key: bad base64") from None
        if len(raw) != 33 or raw[0] not in (ED25519, COSIGNATURE_V1):
            raise NoteError("signer key: only Ed25519 keys are supported")
        s = cls(parts[2], raw[0], raw[1:])
        if s.verifier.id.hex() != parts[3].lower():
            raise NoteError("signer key: key ID does not match")
        return s


def load_or_create_signer(path: Path, name: str, alg: int = ED25519) -> Signer:
    """The key in `path`, or a new one written there with mode 0600."""
    if path.exists():
        return Signer.parse(path.read_text())
    signer = Signer.generate(name, alg)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(signer.skey() + "\n")
        f.flush()
        os.fsync(f.fileno())
    return signer


# --- signed notes -------------------------------------------------------------
@dataclass(frozen=True)
class Note:
    text: str                              # ends with a newline
    signatures: tuple[tuple[str, bytes], ...]  # (key name, key ID || signature)

    def render(self) -> str:
        lines = "".join(f"{DASH} {n} {base64.b64encode(s).decode()}\n" for n, s in self.signatures)
        return self.text + "\n" + lines

    def signed_by(self, v: Verifier) -> bytes | None:
        """The raw signature by `v` (after its key ID), or None."""
        for name, sig in self.signatures:
            if name == v.name and sig[:4] == v.id:
                return sig[4:]
        return None

    def verify(self, v: Verifier) -> None:
        sig = self.signed_by(v)
        if sig is None:
            raise NoteError(f"note carries no signature by {v.name}")
        if not v.check(self.text.encode(), sig):
            raise NoteError(f"signature by {v.name} does not verify")

    def with_signature(self, name: str, sig: bytes) -> "Note":
        kept = tuple(s for s in self.signatures if not (s[0] == name and s[1][:4] == sig[:4]))
        return Note(self.text, kept + ((name, sig),))

    @classmethod
    def parse(cls, raw: str) -> "Note":
        text, sep, sigs = raw.rpartition("\n\n")
        if not sep or not text:
            raise NoteError("not a signed note: no blank line before the signatures")
        out = []
        for line in sigs.split("\n"):
            if not line:
                continue
            parts = line.split(" ")
            if len(parts) != 3 or parts[0] != DASH:
                raise NoteError(f"malformed signature line: {line[:80]!r}")
            try:
                sig = base64.b64decode(parts[2], validate=True)
            except ValueError:
                raise NoteError("signature line: bad base64") from None
            if len(sig) < 5:
                raise NoteError("signature line too short")
            out.append((parts[1], sig))
        if not out:
            raise NoteError("signed note carries no signature")
        return cls(text + "\n", tuple(out))


def sign_note(text: str, signer: Signer) -> Note:
    v = signer.verifier
    return Note(text, ((signer.name, v.id + signer.sign(text.encode())),))


# --- checkpoints --------------------------------------------------------------
@dataclass(frozen=True)
class Checkpoint:
    origin: str
    size: int
    root: bytes
    note: Note

    @classmethod
    def body(cls, origin: str, size: int, root: bytes) -> str:
        return f"{origin}\n{size}\n{base64.b64encode(root).decode()}\n"

    @classmethod
    def parse(cls, raw: str, verifier: Verifier | None = None) -> "Checkpoint":
        note = Note.parse(raw)
        lines = note.text.split("\n")
        if len(lines) < 4 or not lines[0]:
            raise NoteError("checkpoint body needs origin, size and root lines")
        origin, size_s, root_s = lines[0], lines[1], lines[2]
        if not size_s.isdigit() or (size_s != "0" and size_s.startswith("0")):
            raise NoteError(f"checkpoint size {size_s!r} is not a decimal number")
        try:
            root = base64.b64decode(root_s, validate=True)
        except ValueError:
            raise NoteError("checkpoint root is not base64") from None
        if len(root) != 32:
            raise NoteError("checkpoint root is not a SHA-256 hash")
        if verifier is not None:
            if verifier.name != origin:
                raise NoteError(f"checkpoint origin {origin!r} is not the key's name {verifier.name!r}")
            note.verify(verifier)
        return cls(origin, int(size_s), root, note)


def sign_checkpoint(signer: Signer, size: int, root: bytes) -> Checkpoint:
    return Checkpoint(signer.name, size, root,
                      sign_note(Checkpoint.body(signer.name, size, root), signer))


# --- cosignatures (cosignature/v1) -------------------------------------------
def _cosigned_message(body: str, timestamp: int) -> bytes:
    return f"cosignature/v1\ntime {timestamp}\n".encode() + body.encode()


def cosign(cp: Checkpoint, witness: Signer, timestamp: int | None = None) -> Note:
    """The checkpoint's note with the witness's cosignature added."""
    if witness.alg != COSIGNATURE_V1:
        raise NoteError("a witness key must be a cosignature (type 0x04) key")
    ts = int(time.time()) if timestamp is None else timestamp
    sig = witness.sign(_cosigned_message(cp.note.text, ts))
    return cp.note.with_signature(witness.name, witness.verifier.id + struct.pack(">Q", ts) + sig)


def verify_cosignature(note: Note, v: Verifier) -> int:
    """Checks the cosignature by `v`; returns its timestamp."""
    raw = note.signed_by(v)
    if raw is None or len(raw) != 72:
        raise NoteError(f"note carries no cosignature by {v.name}")
    ts = struct.unpack(">Q", raw[:8])[0]
    if not v.check(_cosigned_message(note.text, ts), raw[8:]):
        raise NoteError(f"cosignature by {v.name} does not verify")
    return ts

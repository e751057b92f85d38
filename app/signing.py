"""The export signing key: SHA256withRSA (RSASSA-PKCS1-v1_5 over SHA-256).

Key material comes from DS_SIGNING_KEY / DS_SIGNING_CERT (PEM files). When
neither is configured, a self-signed RSA key and certificate are generated
once in <data_dir>/signing/ and reused on every start (and by every worker),
so exports stay verifiable against one certificate. A configured but
unusable pair stops the service instead of silently signing with another key.
"""
from __future__ import annotations

import base64
import contextlib
import datetime as dt
import fcntl
import hashlib
import logging
import os
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import Prehashed
from cryptography.x509.oid import NameOID

log = logging.getLogger("datastorage.signing")

ALGORITHM = "SHA256withRSA"
KEY_BITS = 3072
KEY_FILE = "export-signing-key.pem"
CERT_FILE = "export-signing-cert.pem"
VALIDITY = dt.timedelta(days=3650)


class SigningError(Exception):
    """Key material that cannot be used; the message is for the operator."""


def fingerprint(cert: x509.Certificate) -> str:
    """SHA-256 of the DER certificate, lowercase hex bytes joined by ':'."""
    return ":".join(f"{b:02x}" for b in cert.fingerprint(hashes.SHA256()))


def load_certificate(data: bytes) -> x509.Certificate:
    """A certificate from PEM or DER bytes."""
    try:
        if b"-----BEGIN" in data:
            return x509.load_pem_x509_certificate(data)
        return x509.load_der_x509_certificate(data)
    except ValueError as exc:
        raise SigningError(f"not an X.509 certificate: {exc}") from None


def verify(cert: x509.Certificate, signature: bytes, *, data: bytes | None = None,
           digest: bytes | None = None) -> bool:
    """Does `signature` (raw bytes) sign `data` (or its SHA-256 `digest`)?"""
    key = cert.public_key()
    if not isinstance(key, rsa.RSAPublicKey):
        return False
    try:
        if digest is not None:
            key.verify(signature, digest, padding.PKCS1v15(), Prehashed(hashes.SHA256()))
        else:
            key.verify(signature, data or b"", padding.PKCS1v15(), hashes.SHA256())
    except InvalidSignature:
        return False
    return True


class Signer:
    def __init__(self, key: rsa.RSAPrivateKey, cert: x509.Certificate, source: str):
        pub = cert.public_key()
        if not isinstance(pub, rsa.RSAPublicKey) or pub.public_numbers() != key.public_key().public_numbers():
            raise SigningError(f"{source}: the certificate does not belong to the private key")
        self.key = key
        self.cert = cert
        self.source = source
        self.fingerprint = fingerprint(cert)
        self.cert_pem = cert.public_bytes(serialization.Encoding.PEM).decode("ascii")
        self.cert_der_b64 = base64.b64encode(cert.public_bytes(serialization.Encoding.DER)).decode()

    def sign_digest(self, digest: bytes) -> str:
        """Base64 (standard alphabet, padded) signature of a SHA-256 digest."""
        sig = self.key.sign(digest, padding.PKCS1v15(), Prehashed(hashes.SHA256()))
        return base64.b64encode(sig).decode("ascii")

    def sign(self, data: bytes) -> str:
        return self.sign_digest(hashlib.sha256(data).digest())

    @classmethod
    def from_settings(cls, settings) -> "Signer":
        if settings.signing_key or settings.signing_cert:
            if not (settings.signing_key and settings.signing_cert):
                raise SigningError("DS_SIGNING_KEY and DS_SIGNING_CERT must be set together")
            signer = cls.from_files(Path(settings.signing_key), Path(settings.signing_cert))
            log.info("export signing certificate %s from %s", signer.fingerprint,
                     settings.signing_cert)
            return signer
        return cls.self_signed(Path(settings.data_dir) / "signing")

    @classmethod
    def from_files(cls, key_path: Path, cert_path: Path) -> "Signer":
        try:
            key_bytes, cert_bytes = key_path.read_bytes(), cert_path.read_bytes()
        except OSError as exc:
            raise SigningError(f"cannot read signing key material: {exc}") from None
        try:
            key = serialization.load_pem_private_key(key_bytes, password=None)
        except (ValueError, TypeError) as exc:
            raise SigningError(f"{key_path}: not an unencrypted PEM private key ({exc})") from None
        if not isinstance(key, rsa.RSAPrivateKey):
            raise SigningError(f"{key_path}: only RSA keys can sign {ALGORITHM}")
        try:
            cert = load_certificate(cert_bytes)
        except SigningError as exc:
            raise SigningError(f"{cert_path}: {exc}") from None
        return cls(key, cert, str(key_path))

    @classmethod
    def self_signed(cls, directory: Path) -> "Signer":
        """Load the generated pair, generating it first if there is none.
        A file lock makes concurrent workers agree on one pair."""
        directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        key_path, cert_path = directory / KEY_FILE, directory / CERT_FILE
        with _locked(directory / ".lock"):
            if key_path.exists() and cert_path.exists():
                signer = cls.from_files(key_path, cert_path)
                log.info("export signing certificate %s (self-signed, %s)", signer.fingerprint,
                         cert_path)
                return signer
            key, cert = generate()
            _write(key_path, key.private_bytes(serialization.Encoding.PEM,
                                               serialization.PrivateFormat.PKCS8,
                                               serialization.NoEncryption()), 0o600)
            _write(cert_path, cert.public_bytes(serialization.Encoding.PEM), 0o644)
        signer = cls(key, cert, str(key_path))
        log.warning("no DS_SIGNING_KEY/DS_SIGNING_CERT configured: generated a self-signed export "
                    "signing certificate %s (fingerprint %s); auditors must pin this certificate",
                    cert_path, signer.fingerprint)
        return signer


def generate(common_name: str = "data-storage-service") -> tuple[rsa.RSAPrivateKey, x509.Certificate]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=KEY_BITS)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name),
                      x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Kubernaut")])
    now = dt.datetime.now(dt.timezone.utc)
    cert = (x509.CertificateBuilder()
            .subject_name(name).issuer_name(name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + VALIDITY)
            .add_extension(x509.SubjectAlternativeName([
                x509.DNSName("data-storage-service"),
                x509.DNSName("data-storage-service.kubernaut-system.svc.cluster.local")]),
                critical=False)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=True,
                                         key_encipherment=False, data_encipherment=False,
                                         key_agreement=False, key_cert_sign=False,
                                         crl_sign=False, encipher_only=False,
                                         decipher_only=False), critical=True)
            .sign(key, hashes.SHA256()))
    return key, cert


@contextlib.contextmanager
def _locked(path: Path):
    with open(path, "a") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def _write(path: Path, data: bytes, mode: int) -> None:
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)

"""The processor's OpenDSR signing identity: an RSA key and its X.509 certificate.

OpenDSR has the processor sign every response and status callback (``X-OpenDSR-Signature``:
base64 of an RSA PKCS#1 v1.5 SHA-256 signature of the body) and publish the certificate that
verifies them (discovery's ``processor_certificate``, a URL). privacyops creates both in
``data_dir`` on first use: ``opendsr-key.pem`` (PKCS#8, mode 0600) and ``opendsr-cert.pem``
(self-signed for the domain of ``PRIVACYOPS_BASE_URL``, valid two years). A controller pins the
published certificate; to be trusted through a CA instead, put a CA-issued pair in those files.
"""

from __future__ import annotations

import base64
import os
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509.oid import NameOID

from privacyops.errors import ConfigurationError

__all__ = ["ProcessorIdentity", "load_processor_identity"]

KEY_FILE_NAME = "opendsr-key.pem"
CERT_FILE_NAME = "opendsr-cert.pem"
VALIDITY = timedelta(days=730)


class ProcessorIdentity:
    """The key that signs OpenDSR bodies and the certificate that verifies them."""

    def __init__(self, key: rsa.RSAPrivateKey, certificate: x509.Certificate) -> None:
        self._key = key
        self.certificate = certificate

    def __repr__(self) -> str:
        return f"ProcessorIdentity(subject={self.certificate.subject.rfc4514_string()!r})"

    @property
    def certificate_pem(self) -> bytes:
        return self.certificate.public_bytes(serialization.Encoding.PEM)

    def sign(self, body: bytes) -> str:
        """The ``X-OpenDSR-Signature`` of ``body``."""
        signature = self._key.sign(body, padding.PKCS1v15(), hashes.SHA256())
        return base64.b64encode(signature).decode()


_cache: dict[Path, ProcessorIdentity] = {}
_lock = threading.Lock()


def load_processor_identity(data_dir: Path, domain: str) -> ProcessorIdentity:
    """The identity kept in ``data_dir``; the key and certificate are created when absent.

    Raises:
        ConfigurationError: a file there is not an RSA key or a certificate of that key.
    """
    folder = data_dir.resolve()
    with _lock:
        found = _cache.get(folder)
        if found is None:
            found = _cache[folder] = _load(folder, domain)
        return found


def _load(folder: Path, domain: str) -> ProcessorIdentity:
    key_path, cert_path = folder / KEY_FILE_NAME, folder / CERT_FILE_NAME
    folder.mkdir(parents=True, exist_ok=True)
    if not key_path.exists():
        new = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        pem = new.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        try:
            fd = os.open(key_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:  # another process made it first: use theirs
            pass
        else:
            with os.fdopen(fd, "wb") as fh:
                fh.write(pem)
    try:
        key = serialization.load_pem_private_key(key_path.read_bytes(), password=None)
    except ValueError:
        raise ConfigurationError(f"{key_path} is not a PEM private key.") from None
    if not isinstance(key, rsa.RSAPrivateKey):
        raise ConfigurationError(f"{key_path} is not an RSA key (OpenDSR signs with RSA).")
    if not cert_path.exists():
        temporary = cert_path.with_suffix(f".{os.getpid()}.tmp")
        temporary.write_bytes(_self_signed(key, domain).public_bytes(serialization.Encoding.PEM))
        os.replace(temporary, cert_path)
    try:
        certificate = x509.load_pem_x509_certificate(cert_path.read_bytes())
    except ValueError:
        raise ConfigurationError(f"{cert_path} is not a PEM certificate.") from None
    spki = (serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    if certificate.public_key().public_bytes(*spki) != key.public_key().public_bytes(*spki):
        raise ConfigurationError(f"{cert_path} is not the certificate of {key_path}.")
    return ProcessorIdentity(key, certificate)


def _self_signed(key: rsa.RSAPrivateKey, domain: str) -> x509.Certificate:
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, domain)])
    now = datetime.now(UTC)
    return (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + VALIDITY)
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(domain)]), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )

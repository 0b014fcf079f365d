"""PKI and kubeconfigs of the local Kubernetes control plane.

Generated once into the kube-apiserver state directory and reused on every
start (clients keep working across restarts); a missing CA regenerates
everything, since old leaf certificates would no longer chain to it.
"""

from __future__ import annotations

import base64
import contextlib
import datetime
import fcntl
import ipaddress
import os
import ssl
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import yaml
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

# Long-lived: a dev cluster's state may be kept for years, and an expired
# certificate would fail far from its cause.
VALIDITY = datetime.timedelta(days=3650)

# Client identities (CN = user, O = groups). The controller-manager and
# scheduler names match the built-in RBAC bindings; admin and kwok are
# cluster admins (kwok patches the status of any node and pod).
# The real node's name (devstack's `node` component, off unless asked for).
REAL_NODE_NAME = "devstack-node-0"

CLIENTS: dict[str, tuple[str, tuple[str, ...]]] = {
    "admin": ("kubernetes-admin", ("system:masters",)),
    "kube-controller-manager": ("system:kube-controller-manager", ()),
    "kube-scheduler": ("system:kube-scheduler", ()),
    "kwok": ("system:kwok-controller", ("system:masters",)),
    # The kubelet of the real node: the Node authorizer and NodeRestriction know
    # it by this name and group, and let it touch only its own Node and Pods.
    "node": (f"system:node:{REAL_NODE_NAME}", ("system:nodes",)),
    # The real node's kube-proxy: the built-in binding system:node-proxier knows it.
    "kube-proxy": ("system:kube-proxy", ()),
    # The real node's CoreDNS: read access granted by the node component (node.py).
    "coredns": ("system:devstack:coredns", ()),
    # metrics-server, towards the apiserver and the kubelet: its RBAC is applied by
    # the metrics-server component (metrics_server.py).
    "metrics-server": ("system:devstack:metrics-server", ()),
    # The apiserver's identity towards kubelets (logs, exec, port-forward).
    "apiserver-kubelet-client": ("kube-apiserver-kubelet-client", ("system:masters",)),
}


@dataclass(frozen=True)
class Pki:
    """File locations of the control plane's keys and certificates."""

    dir: Path

    def cert(self, name: str) -> Path:
        return self.dir / f"{name}.crt"

    def key(self, name: str) -> Path:
        return self.dir / f"{name}.key"

    @property
    def ca_cert(self) -> Path:
        return self.cert("ca")

    @property
    def ca_key(self) -> Path:
        return self.key("ca")

    @property
    def sa_key(self) -> Path:
        """Private key that signs service-account tokens."""
        return self.dir / "sa.key"

    @property
    def sa_pub(self) -> Path:
        return self.dir / "sa.pub"

    def client_ssl_context(self, name: str) -> ssl.SSLContext:
        """TLS context that verifies the apiserver and presents client `name`'s cert."""
        ctx = ssl.create_default_context(cafile=str(self.ca_cert))
        ctx.load_cert_chain(str(self.cert(name)), str(self.key(name)))
        return ctx


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def _write(path: Path, data: bytes, mode: int) -> None:
    """Write atomically so a reader never sees half a key."""
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)
    tmp.replace(path)


def _new_key() -> ec.EllipticCurvePrivateKey:
    # P-256: fast to generate and accepted by every Kubernetes component.
    return ec.generate_private_key(ec.SECP256R1())


def _key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    )


def _name(common_name: str, orgs: Sequence[str] = ()) -> x509.Name:
    attrs = [x509.NameAttribute(NameOID.ORGANIZATION_NAME, org) for org in orgs]
    attrs.append(x509.NameAttribute(NameOID.COMMON_NAME, common_name))
    return x509.Name(attrs)


def _builder(
    subject: x509.Name, issuer: x509.Name, public_key: ec.EllipticCurvePublicKey
) -> x509.CertificateBuilder:
    now = datetime.datetime.now(datetime.UTC)
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(hours=1))
        .not_valid_after(now + VALIDITY)
    )


def _key_usage(*, ca: bool) -> x509.KeyUsage:
    """ECDSA keys sign; only a CA also signs certificates and CRLs."""
    return x509.KeyUsage(
        digital_signature=True,
        content_commitment=False,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=ca,
        crl_sign=ca,
        encipher_only=False,
        decipher_only=False,
    )


def _ca(path_cert: Path, path_key: Path, common_name: str) -> None:
    key = _new_key()
    name = _name(common_name)
    cert = (
        _builder(name, name, key.public_key())
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            _key_usage(ca=True),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    _write(path_key, _key_pem(key), 0o600)
    _write(path_cert, cert.public_bytes(serialization.Encoding.PEM), 0o644)


def _leaf(
    pki: Pki,
    name: str,
    *,
    ca: str,
    common_name: str,
    orgs: Sequence[str] = (),
    server: bool = False,
    dns_names: Sequence[str] = (),
    ip_addresses: Sequence[str] = (),
) -> None:
    """A certificate for `name` signed by CA `ca` (client, or server with SANs)."""
    ca_key = serialization.load_pem_private_key(pki.key(ca).read_bytes(), password=None)
    if not isinstance(ca_key, ec.EllipticCurvePrivateKey):
        raise TypeError(f"{pki.key(ca)} is not an EC key")
    ca_cert = x509.load_pem_x509_certificate(pki.cert(ca).read_bytes())
    key = _new_key()
    usage = ExtendedKeyUsageOID.SERVER_AUTH if server else ExtendedKeyUsageOID.CLIENT_AUTH
    builder = (
        _builder(_name(common_name, orgs), ca_cert.subject, key.public_key())
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            _key_usage(ca=False),
            critical=True,
        )
        .add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
            critical=False,
        )
    )
    if dns_names or ip_addresses:
        sans: list[x509.GeneralName] = [x509.DNSName(d) for d in dns_names]
        sans += [x509.IPAddress(ipaddress.ip_address(ip)) for ip in ip_addresses]
        builder = builder.add_extension(x509.SubjectAlternativeName(sans), critical=False)
    cert = builder.sign(ca_key, hashes.SHA256())
    _write(pki.key(name), _key_pem(key), 0o600)
    _write(pki.cert(name), cert.public_bytes(serialization.Encoding.PEM), 0o644)


def _has_sans(path: Path, dns_names: Sequence[str], ip_addresses: Sequence[str]) -> bool:
    """Whether the certificate exists and names exactly these SANs.

    A changed Service range moves the `kubernetes` Service's IP: the apiserver's
    certificate is then issued again, with the same CA, so clients keep trusting it.
    """
    if not path.exists():
        return False
    cert = x509.load_pem_x509_certificate(path.read_bytes())
    try:
        sans = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return False
    have_ips = {str(ip) for ip in sans.get_values_for_type(x509.IPAddress)}
    want_ips = {str(ipaddress.ip_address(ip)) for ip in ip_addresses}
    return set(sans.get_values_for_type(x509.DNSName)) == set(dns_names) and have_ips == want_ips


def ensure_pki(
    pki_dir: Path, *, apiserver_dns_names: Sequence[str], apiserver_ips: Sequence[str]
) -> Pki:
    """Create whatever part of the PKI is missing (idempotent, safe across processes)."""
    pki = Pki(pki_dir)
    pki_dir.mkdir(parents=True, exist_ok=True)
    with _locked(pki_dir / ".lock"):
        if not (pki.ca_cert.exists() and pki.ca_key.exists()):
            for old in pki_dir.glob("*.crt"):
                old.unlink()
            _ca(pki.ca_cert, pki.ca_key, "devstack-kubernetes-ca")
        if not (pki.cert("front-proxy-ca").exists() and pki.key("front-proxy-ca").exists()):
            pki.cert("front-proxy-client").unlink(missing_ok=True)
            _ca(pki.cert("front-proxy-ca"), pki.key("front-proxy-ca"), "devstack-front-proxy-ca")
        if not _has_sans(pki.cert("apiserver"), apiserver_dns_names, apiserver_ips):
            _leaf(
                pki,
                "apiserver",
                ca="ca",
                common_name="kube-apiserver",
                server=True,
                dns_names=apiserver_dns_names,
                ip_addresses=apiserver_ips,
            )
        # The aggregator's identity towards extension apiservers (metrics-server, ...).
        if not pki.cert("front-proxy-client").exists():
            _leaf(pki, "front-proxy-client", ca="front-proxy-ca", common_name="front-proxy-client")
        for client, (user, groups) in CLIENTS.items():
            if not pki.cert(client).exists():
                _leaf(pki, client, ca="ca", common_name=user, orgs=groups)
        if not (pki.sa_key.exists() and pki.sa_pub.exists()):
            sa = _new_key()
            _write(pki.sa_key, _key_pem(sa), 0o600)
            public = sa.public_key().public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
            )
            _write(pki.sa_pub, public, 0o644)
    return pki


def ensure_serving_cert(
    pki: Pki,
    name: str,
    *,
    common_name: str,
    dns_names: Sequence[str],
    ip_addresses: Sequence[str],
) -> None:
    """A server certificate `name` from the cluster CA with exactly these SANs: issued
    when missing or when the names changed (the key is then new too)."""
    with _locked(pki.dir / ".lock"):
        if not (pki.key(name).exists() and _has_sans(pki.cert(name), dns_names, ip_addresses)):
            _leaf(
                pki,
                name,
                ca="ca",
                common_name=common_name,
                server=True,
                dns_names=dns_names,
                ip_addresses=ip_addresses,
            )


def write_kubeconfig(path: Path, *, pki: Pki, client: str, server: str, cluster: str) -> None:
    """A kubeconfig with the CA and `client`'s certificate inlined (copyable anywhere)."""

    def b64(p: Path) -> str:
        return base64.b64encode(p.read_bytes()).decode()

    user = CLIENTS[client][0]
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [
            {
                "name": cluster,
                "cluster": {"server": server, "certificate-authority-data": b64(pki.ca_cert)},
            }
        ],
        "users": [
            {
                "name": user,
                "user": {
                    "client-certificate-data": b64(pki.cert(client)),
                    "client-key-data": b64(pki.key(client)),
                },
            }
        ],
        "contexts": [{"name": cluster, "context": {"cluster": cluster, "user": user}}],
        "current-context": cluster,
        "preferences": {},
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    _write(path, yaml.safe_dump(config, sort_keys=False).encode(), 0o600)

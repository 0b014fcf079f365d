"""The control plane's addresses and what happens to state made with other ones.

Configuration only (no process starts): the shared devstack's running apiserver is
checked by the tests that use it.
"""

from __future__ import annotations

import ipaddress
from pathlib import Path

from cryptography import x509

from devstack.component import Context
from devstack.components import kube_cluster
from devstack.components.kube import Etcd, KubeApiserver, KubeControllerManager, Kwok
from devstack.components.kube_certs import ensure_pki
from devstack.paths import Paths

TEST_NET = ipaddress.IPv4Network("198.18.0.0/15")  # RFC 2544: reserved for testing


def _ctx(tmp_path: Path) -> Context:
    return Context(paths=Paths(cache=tmp_path / "c", state=tmp_path / "s"))


def test_cluster_ranges_are_test_addresses_that_do_not_overlap() -> None:
    services = ipaddress.IPv4Network(kube_cluster.SERVICE_CIDR)
    kwok_pods = ipaddress.IPv4Network(kube_cluster.POD_CIDR)
    node_pods = ipaddress.IPv4Network(kube_cluster.NODE_POD_CIDR)
    for net in (services, kwok_pods, node_pods):
        assert net.subnet_of(TEST_NET), net
    assert not services.overlaps(kwok_pods) and not services.overlaps(node_pods)
    assert not kwok_pods.overlaps(node_pods)
    # The apiserver hands out the first address to `kubernetes`; DNS sits in the
    # range's static band (its first 256 addresses for a /16), which dynamic
    # allocation avoids while it can.
    assert ipaddress.ip_address(kube_cluster.KUBERNETES_SERVICE_IP) == services[1]
    dns = ipaddress.ip_address(kube_cluster.DNS_SERVICE_IP)
    assert dns in services and int(dns) - int(services[0]) < 256


def test_apiserver_and_controller_manager_get_the_service_range(tmp_path: Path) -> None:
    ctx = _ctx(tmp_path)
    flag = f"--service-cluster-ip-range={kube_cluster.SERVICE_CIDR}"
    for component in (KubeApiserver(ctx), KubeControllerManager(ctx)):
        [spec] = component.processes()
        assert flag in spec.argv, component.name
    [kwok] = Kwok(ctx).processes()
    assert f"--cidr={kube_cluster.POD_CIDR}" in kwok.argv
    every_arg = " ".join(
        arg
        for component in (Etcd(ctx), KubeApiserver(ctx), KubeControllerManager(ctx), Kwok(ctx))
        for spec in component.processes()
        for arg in spec.argv
    )
    assert "10.0.0." not in every_arg and "10.244." not in every_arg


def _apiserver_ips(pki_dir: Path) -> set[str]:
    cert = x509.load_pem_x509_certificate((pki_dir / "apiserver.crt").read_bytes())
    sans = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    return {str(ip) for ip in sans.get_values_for_type(x509.IPAddress)}


def test_the_apiserver_certificate_follows_the_kubernetes_service_ip(tmp_path: Path) -> None:
    """A PKI made for the old range gets a new apiserver certificate from the same CA;
    an unchanged one is left alone."""
    pki_dir = tmp_path / "pki"
    old = ensure_pki(pki_dir, apiserver_dns_names=["kubernetes"], apiserver_ips=["10.0.0.1"])
    ca = old.ca_cert.read_bytes()
    assert _apiserver_ips(pki_dir) == {"10.0.0.1"}
    ensure_pki(pki_dir, apiserver_dns_names=["kubernetes"], apiserver_ips=["198.19.0.1"])
    assert _apiserver_ips(pki_dir) == {"198.19.0.1"}
    assert old.ca_cert.read_bytes() == ca
    cert = old.cert("apiserver").read_bytes()
    ensure_pki(pki_dir, apiserver_dns_names=["kubernetes"], apiserver_ips=["198.19.0.1"])
    assert old.cert("apiserver").read_bytes() == cert


def test_the_devstack_pki_names_the_kubernetes_service_ip(tmp_path: Path) -> None:
    paths = Paths(cache=tmp_path / "c", state=tmp_path / "s")
    pki = kube_cluster.pki(paths)
    assert _apiserver_ips(pki.dir) == {kube_cluster.HOST, kube_cluster.KUBERNETES_SERVICE_IP}


def test_etcd_starts_empty_when_the_service_range_changed(tmp_path: Path) -> None:
    """The default ServiceCIDR and `kubernetes`' IP live in etcd and never move."""
    etcd = Etcd(_ctx(tmp_path))
    data = etcd.state_dir / "data"
    member = data / "member" / "snap" / "db"
    member.parent.mkdir(parents=True)
    member.write_bytes(b"made before ranges were recorded (10.0.0.0/24)")
    etcd.prepare()
    assert data.is_dir() and not any(data.iterdir())
    assert etcd.range_record.read_text().strip() == kube_cluster.SERVICE_CIDR
    assert "etcd starts from empty data" in etcd.log_file.read_text()

    member.parent.mkdir(parents=True)
    member.write_bytes(b"made with today's range")
    etcd.prepare()
    assert member.exists(), "data made with the same range is kept"

    etcd.range_record.write_text("10.0.0.0/24\n")
    etcd.prepare()
    assert not member.exists()

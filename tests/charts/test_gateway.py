"""charts/productstore's own gateway (gateway.enabled, ADR 0037): its nginx.conf routes as
devstack's gateway does, bad values fail with a message, its Pods are the services'
"gateway" caller, and the rendered configuration runs in devstack's real nginx in front
of devstack's running services.

The chart renders nginx.conf in Go templates (templates/_gateway.tpl); devstack renders
its own in Python (devstack/src/devstack/components/nginx_conf.py and services.py). The
tests here parse both and compare the routing, the headers and the gateway's own
answers, so a change to either that the other lacks fails.
"""

from __future__ import annotations

import contextlib
import grp
import json
import os
import pwd
import re
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from devstack.components.helm import Helm
from devstack.components.nginx import Nginx
from devstack.components.nginx_conf import HEADERS, GatewayLimits, render_config
from devstack.components.services import render_routes, render_upstream
from productstore_contracts.services import DESCRIPTORS
from tests.support.helm import HelmCli

REPO = Path(__file__).resolve().parents[2]
CHART = REPO / "charts" / "productstore"
RELEASE = "shop"
NAMESPACE = "store-gw"
PREFIX = f"{RELEASE}-productstore"
GATEWAY = f"{PREFIX}-gateway"
# devstack's locations the chart's gateway does not have: the merged OpenAPI document
# and Swagger UI are devstack's (each service serves its own /openapi.json).
DEVSTACK_ONLY = {"= /api/openapi.json", "= /api/docs", "/api/docs/"}
# Problems whose detail points at devstack's /api/docs/, which the chart's gateway lacks.
DOCS_DETAILS = {404, 405}

Manifest = dict[str, Any]


# --- nginx's configuration language, enough to compare two files --------------------------


@dataclass(frozen=True)
class Directive:
    name: str
    args: tuple[str, ...]
    block: tuple[Directive, ...] | None = None

    def children(self, name: str) -> list[Directive]:
        return [d for d in self.block or () if d.name == name]

    def child(self, name: str) -> Directive:
        (found,) = self.children(name)
        return found

    def simple(self) -> list[tuple[str, tuple[str, ...]]]:
        """The block's directives without blocks, as (name, args), sorted."""
        return sorted((d.name, d.args) for d in self.block or () if d.block is None)


_TOKEN = re.compile(
    r"""\s+|#[^\n]*|'((?:[^'\\]|\\.)*)'|"((?:[^"\\]|\\.)*)"|([{};])|([^\s{};'"]+)"""
)


def parse(text: str) -> tuple[Directive, ...]:
    tokens: list[tuple[str, str]] = []
    position = 0
    while position < len(text):
        match = _TOKEN.match(text, position)
        assert match, f"cannot tokenise at {text[position : position + 40]!r}"
        position = match.end()
        single, double, punct, word = match.groups()
        if punct is not None:
            tokens.append(("p", punct))
        elif single is not None or double is not None:
            tokens.append(("w", single if single is not None else double or ""))
        elif word is not None:
            tokens.append(("w", word))
    block, rest = _parse_block(tokens)
    assert not rest, "unbalanced braces"
    return block


def _parse_block(
    tokens: list[tuple[str, str]],
) -> tuple[tuple[Directive, ...], list[tuple[str, str]]]:
    out: list[Directive] = []
    while tokens:
        kind, value = tokens[0]
        if (kind, value) == ("p", "}"):
            return tuple(out), tokens[1:]
        words: list[str] = []
        while tokens and tokens[0][0] == "w":
            words.append(tokens.pop(0)[1])
        kind, value = tokens.pop(0)
        assert words, f"a directive without a name before {value!r}"
        if value == ";":
            out.append(Directive(words[0], tuple(words[1:])))
        elif value == "{":
            block, tokens = _parse_block(tokens)
            out.append(Directive(words[0], tuple(words[1:]), block))
        else:
            raise AssertionError(f"unexpected {value!r} after {words}")
    return tuple(out), []


def _http(conf: tuple[Directive, ...]) -> Directive:
    (http,) = [d for d in conf if d.name == "http"]
    return http


def _locations(server: Directive) -> dict[str, Directive]:
    return {" ".join(d.args): d for d in server.children("location")}


def _proxied(server: Directive) -> dict[str, str]:
    """location match -> the upstream it proxies to."""
    routes = {}
    for match, location in _locations(server).items():
        passes = location.children("proxy_pass")
        if passes:
            routes[match] = passes[0].args[0].removeprefix("http://")
    return routes


def _problem(location: Directive) -> tuple[int, dict[str, Any]]:
    (ret,) = location.children("return")
    status, body = ret.args
    assert body.endswith("\\n"), body
    return int(status), json.loads(body.removesuffix("\\n"))


# --- the two renderings ----------------------------------------------------------------


def devstack_config(prefixes: dict[str, tuple[str, ...]], limits: GatewayLimits) -> str:
    """devstack's gateway with the routes of ``prefixes`` (service -> its prefixes), its
    include files put in place as nginx reads them."""
    text = render_config(
        user="",
        prefix="/p",
        routes="/p/routes",
        upstreams="/p/upstreams",
        host="127.0.0.1",
        port=8080,
        limits=limits,
        openapi_file="/p/openapi/openapi.json",
    )
    ports = {d.name: d.port for d in DESCRIPTORS}
    text = text.replace("include /p/headers.conf;", HEADERS)
    text = text.replace(
        "include /p/upstreams/*.conf;",
        "".join(render_upstream(name, ports.get(name, 8199)) for name in sorted(prefixes)),
    )
    return text.replace(
        "include /p/routes/*.conf;",
        "".join(render_routes(name, prefixes[name]) for name in sorted(prefixes)),
    )


@pytest.fixture(scope="module")
def offline_helm(helm: Helm, tmp_path_factory: pytest.TempPathFactory) -> HelmCli:
    return HelmCli(helm, tmp_path_factory.mktemp("helm-home-gateway"))


def render(cli: HelmCli, *args: str) -> list[Manifest]:
    out = cli.run(
        "template",
        RELEASE,
        str(CHART),
        "--namespace",
        NAMESPACE,
        "--set",
        "gateway.enabled=true",
        *args,
    ).stdout
    return [doc for doc in yaml.safe_load_all(out) if doc]


def by_kind(docs: list[Manifest], kind: str) -> dict[str, Manifest]:
    return {d["metadata"]["name"]: d for d in docs if d["kind"] == kind}


def nginx_conf(docs: list[Manifest]) -> str:
    text = by_kind(docs, "ConfigMap")[GATEWAY]["data"]["nginx.conf"]
    assert isinstance(text, str)
    return text


# --- routing: the chart's equals devstack's ------------------------------------------------

DEFAULT_PREFIXES = {d.name: d.route_prefixes for d in DESCRIPTORS}
# The same services with prefixes of both kinds added (a bare one routes itself and what
# is below it, one with a trailing slash only what is below it).
CUSTOM_PREFIXES = {
    **DEFAULT_PREFIXES,
    "catalog": ("/api/products", "/api/categories", "/api/brands/"),
    "reviews": ("/api/reviews", "/api/ratings"),
}
CUSTOM_ARGS = [
    "--set",
    "services.catalog.paths.brands=/api/brands/",
    "--set",
    "services.reviews.paths.ratings=/api/ratings",
]


@pytest.mark.parametrize(
    ("prefixes", "args"),
    [
        pytest.param(DEFAULT_PREFIXES, [], id="descriptors"),
        pytest.param(CUSTOM_PREFIXES, CUSTOM_ARGS, id="added-paths"),
    ],
)
def test_the_charts_routing_is_devstacks(
    offline_helm: HelmCli, prefixes: dict[str, tuple[str, ...]], args: list[str]
) -> None:
    chart = _http(parse(nginx_conf(render(offline_helm, *args))))
    devstack = _http(parse(devstack_config(prefixes, GatewayLimits())))
    chart_server, devstack_server = chart.child("server"), devstack.child("server")

    # Every location that proxies, to the same service.
    assert _proxied(chart_server) == _proxied(devstack_server)
    assert "= /api/auth" not in _proxied(chart_server), "a trailing slash routes only below it"
    assert {"= /api/products", "/api/products/"} <= set(_proxied(chart_server))
    # ... with the same directives (proxy headers, keepalive, the request id hidden).
    chart_locations, devstack_locations = _locations(chart_server), _locations(devstack_server)
    for match in _proxied(chart_server):
        assert chart_locations[match].simple() == devstack_locations[match].simple(), match
    # No other location but the catch-all, the health check and the error pages.
    assert set(chart_locations) == set(devstack_locations) - DEVSTACK_ONLY

    # The server's headers (request id, security headers, CSP), proxy headers, rate
    # limit and error pages; the request id, trace and limit-key maps; the limits.
    assert _without(chart_server.simple(), "listen", "server_name") == _without(
        devstack_server.simple(), "listen", "server_name"
    )
    assert sorted(map(repr, chart.children("map"))) == sorted(map(repr, devstack.children("map")))
    kept = {
        "limit_req_zone",
        "limit_req_status",
        "limit_req_log_level",
        "client_max_body_size",
        "gzip",
        "gzip_types",
        "gzip_min_length",
        "gzip_proxied",
        "gzip_vary",
        "keepalive_timeout",
        "server_tokens",
        "log_format",
    }
    assert [d for d in chart.simple() if d[0] in kept] == [
        d for d in devstack.simple() if d[0] in kept
    ]
    # Upstreams with kept-alive connections, one per routed service.
    for directive in (chart, devstack):
        upstreams = {d.args[0]: d for d in directive.children("upstream")}
        assert set(upstreams) == {f"productstore_{name}" for name in prefixes}
        assert all(u.child("keepalive").args == ("32",) for u in upstreams.values())

    # The gateway's own answers: the same statuses, titles and bodies.
    for match in [m for m in chart_locations if m.startswith("@")] + ["/"]:
        chart_location, devstack_location = chart_locations[match], devstack_locations[match]
        assert _without(chart_location.simple(), "return") == _without(
            devstack_location.simple(), "return"
        ), match
        status, body = _problem(chart_location)
        devstack_status, devstack_body = _problem(devstack_location)
        assert status == devstack_status
        if status in DOCS_DETAILS:
            assert "/api/docs" not in body["detail"] and body["detail"]
            body, devstack_body = (
                {k: v for k, v in b.items() if k != "detail"} for b in (body, devstack_body)
            )
        assert body == devstack_body, match
    assert chart_locations["= /healthz"] == devstack_locations["= /healthz"]


def _without(directives: list[tuple[str, tuple[str, ...]]], *names: str) -> list[Any]:
    return [d for d in directives if d[0] not in names]


def test_the_upstreams_are_the_services_clusterip_services(offline_helm: HelmCli) -> None:
    docs = render(offline_helm, "--set", "services.catalog.port=8001")
    http = _http(parse(nginx_conf(docs)))
    servers = {u.args[0]: u.child("server").args[0] for u in http.children("upstream")}
    assert servers["productstore_catalog"] == (
        f"{PREFIX}-catalog.{NAMESPACE}.svc.cluster.local:8001"
    )
    assert servers["productstore_auth"] == f"{PREFIX}-auth.{NAMESPACE}.svc.cluster.local:8000"
    services = by_kind(docs, "Service")
    assert set(services) >= {f"{PREFIX}-catalog", f"{PREFIX}-auth", GATEWAY}
    # A disabled service has no route and no upstream.
    docs = render(offline_helm, "--set", "services.reviews.enabled=false")
    http = _http(parse(nginx_conf(docs)))
    assert "productstore_reviews" not in {u.args[0] for u in http.children("upstream")}
    assert not any("/api/reviews" in m for m in _proxied(http.child("server")))


def test_limits_reach_the_configuration(offline_helm: HelmCli) -> None:
    docs = render(
        offline_helm,
        "--set",
        "gateway.rate=7",
        "--set",
        "gateway.burst=3",
        "--set",
        "gateway.maxBody=512k",
    )
    chart = _http(parse(nginx_conf(docs)))
    devstack = _http(parse(devstack_config(DEFAULT_PREFIXES, GatewayLimits(7, 3, "512k"))))
    for name in ("limit_req_zone", "client_max_body_size"):
        assert chart.child(name) == devstack.child(name)
    assert chart.child("server").child("limit_req") == devstack.child("server").child("limit_req")
    for match in ("@gateway_rate_limited", "@gateway_too_large"):
        assert _problem(_locations(chart.child("server"))[match]) == _problem(
            _locations(devstack.child("server"))[match]
        )


# --- the Kubernetes objects ------------------------------------------------------------------


def test_the_gateway_objects(offline_helm: HelmCli) -> None:
    docs = render(
        offline_helm,
        "--set",
        "gateway.service.type=NodePort,gateway.service.nodePort=30080",
        "--set",
        "gateway.tolerations[0].key=productstore.dev/real-node,gateway.tolerations[0].operator=Exists",
        "--set",
        "gateway.nodeSelector.kubernetes\\.io/os=linux",
    )
    deployment = by_kind(docs, "Deployment")[GATEWAY]
    assert deployment["spec"]["strategy"]["rollingUpdate"]["maxUnavailable"] == 0
    pod = deployment["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    assert container["image"] == "ghcr.io/productstore/productstore-gateway:0.1.0"
    assert container["readinessProbe"]["httpGet"] == {"path": "/healthz", "port": "http"}
    assert container["ports"] == [{"name": "http", "containerPort": 8080, "protocol": "TCP"}]
    assert container["lifecycle"]["preStop"]["exec"]["command"] == ["/bin/sleep", "5"]
    assert pod["terminationGracePeriodSeconds"] == 35
    assert pod["tolerations"] == [{"key": "productstore.dev/real-node", "operator": "Exists"}]
    assert pod["nodeSelector"] == {"kubernetes.io/os": "linux"}
    mounts = {m["mountPath"]: m for m in container["volumeMounts"]}
    assert mounts["/etc/nginx/nginx.conf"]["subPath"] == "nginx.conf"
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    # The pods roll when the configuration changes (a subPath mount is never updated).
    annotations = deployment["spec"]["template"]["metadata"]["annotations"]
    other = by_kind(render(offline_helm, "--set", "gateway.rate=5"), "Deployment")[GATEWAY]
    assert other["spec"]["template"]["metadata"]["annotations"] != annotations
    service = by_kind(docs, "Service")[GATEWAY]
    assert service["spec"]["type"] == "NodePort"
    assert service["spec"]["ports"][0]["nodePort"] == 30080
    assert service["spec"]["selector"] == deployment["spec"]["selector"]["matchLabels"]
    assert by_kind(docs, "PodDisruptionBudget")[GATEWAY]["spec"]["minAvailable"] == 1
    # Nothing of the gateway without gateway.enabled.
    plain = offline_helm.run("template", RELEASE, str(CHART), "--namespace", NAMESPACE).stdout
    assert "gateway" not in {
        d["metadata"]["labels"].get("app.kubernetes.io/component")
        for d in yaml.safe_load_all(plain)
        if d
    }


def test_the_gateway_pods_are_the_services_gateway_caller(offline_helm: HelmCli) -> None:
    docs = render(offline_helm, "--set", "istio.enabled=true,networkPolicy.enabled=true")
    deployment = by_kind(docs, "Deployment")[GATEWAY]
    pod_labels = deployment["spec"]["template"]["metadata"]["labels"]
    account = deployment["spec"]["template"]["spec"]["serviceAccountName"]
    assert account == GATEWAY
    assert account in by_kind(docs, "ServiceAccount")

    def selects(selector: dict[str, str]) -> bool:
        return all(pod_labels.get(k) == v for k, v in selector.items())

    principal = f"cluster.local/ns/{NAMESPACE}/sa/{GATEWAY}"
    policies = by_kind(docs, "AuthorizationPolicy")
    network = by_kind(docs, "NetworkPolicy")
    for name in ("auth", "catalog", "orders", "reviews"):
        rules = policies[f"{PREFIX}-{name}"]["spec"]["rules"]
        principals = [
            p for r in rules for s in r["from"] for p in s["source"].get("principals", [])
        ]
        assert principal in principals, name
        # The service's own policy selects the service's pods (and not the gateway's) ...
        own = network[f"{PREFIX}-{name}"]["spec"]["podSelector"]["matchLabels"]
        service_pods = by_kind(docs, "Deployment")[f"{PREFIX}-{name}"]["spec"]["template"]
        assert own.items() <= service_pods["metadata"]["labels"].items(), name
        assert not selects(own), name
        # ... and admits the gateway's.
        sources = [f for r in network[f"{PREFIX}-{name}"]["spec"]["ingress"] for f in r["from"]]
        assert any(
            selects(f["podSelector"]["matchLabels"]) for f in sources if set(f) == {"podSelector"}
        ), name
    # ingress-nginx is no longer a caller: the store's gateway is.
    assert "ingress-nginx" not in json.dumps(policies) + json.dumps(network)
    # The entry point is outside the release-wide default deny and STRICT mTLS, with
    # policies of its own: open port, PERMISSIVE (plain HTTP from outside the mesh).
    deny = network[f"{PREFIX}-default-deny-ingress"]["spec"]["podSelector"]["matchLabels"]
    assert not selects(deny)
    assert selects(network[GATEWAY]["spec"]["podSelector"]["matchLabels"])
    assert network[GATEWAY]["spec"]["ingress"] == [{"ports": [{"port": "http", "protocol": "TCP"}]}]
    peer = by_kind(docs, "PeerAuthentication")
    assert not selects(peer[PREFIX]["spec"]["selector"]["matchLabels"])
    assert selects(peer[GATEWAY]["spec"]["selector"]["matchLabels"])
    assert peer[GATEWAY]["spec"]["mtls"] == {"mode": "PERMISSIVE"}


def test_the_ingress_sends_everything_to_the_gateway(offline_helm: HelmCli) -> None:
    docs = render(offline_helm, "--set", "ingress.enabled=true")
    (ingress,) = by_kind(docs, "Ingress").values()
    (rule,) = ingress["spec"]["rules"]
    assert rule["http"]["paths"] == [
        {
            "path": "/",
            "pathType": "Prefix",
            "backend": {"service": {"name": GATEWAY, "port": {"number": 80}}},
        }
    ]


BAD_VALUES = [
    pytest.param(
        ["--set", "gateway.service.nodePort=30080"],
        ["gateway.service.nodePort (30080) is set but gateway.service.type is ClusterIP"],
        id="node-port-with-cluster-ip",
    ),
    pytest.param(
        ["--set", "gateway.service.type=NodePort,gateway.service.nodePort=8080"],
        ["/gateway/service/nodePort"],
        id="node-port-out-of-range",
    ),
    pytest.param(
        ["--set", "gateway.service.type=LoadBalancer"],
        ["/gateway/service/type", "value must be one of"],
        id="load-balancer",
    ),
    pytest.param(
        ["--set", "gateway.maxBody=1 GB"],
        ["/gateway/maxBody", "does not match pattern"],
        id="max-body-not-a-size",
    ),
    pytest.param(
        ["--set", "gateway.rate=0"],
        ["/gateway/rate", "minimum"],
        id="rate-zero",
    ),
    pytest.param(
        # nginx itself refuses `burst=0` at start.
        ["--set", "gateway.burst=0"],
        ["/gateway/burst", "minimum"],
        id="burst-zero",
    ),
    pytest.param(
        ["--set", "gateway.upstreams.catalog=nowhere"],
        ["/gateway/upstreams/catalog", "does not match pattern"],
        id="upstream-without-port",
    ),
    pytest.param(
        ["--set", "services.catalog.paths.x=/api/x;evil"],
        ['services.catalog.paths.x: "/api/x;evil" is not a URL path the gateway can route'],
        id="path-nginx-would-misread",
    ),
    pytest.param(
        ["--set", "services.reviews.paths.clash=/api/products"],
        ['gateway: services catalog and reviews both route "= /api/products"'],
        id="two-services-one-path",
    ),
]


@pytest.mark.parametrize(("args", "messages"), BAD_VALUES)
def test_bad_gateway_values_fail_with_a_message(
    offline_helm: HelmCli, args: list[str], messages: list[str]
) -> None:
    result = offline_helm.run(
        "template", RELEASE, str(CHART), "--set", "gateway.enabled=true", *args, check=False
    )
    assert result.returncode != 0, f"accepted: {args}"
    for message in messages:
        assert message in result.stderr


# --- the rendered configuration in devstack's real nginx --------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class RunningGateway:
    url: str
    access_log: Path


@contextlib.contextmanager
def run_gateway(
    binary: Path, docs: list[Manifest], directory: Path, port: int
) -> Iterator[RunningGateway]:
    """The chart's nginx.conf in devstack's nginx, as the image runs it (`-p <dir>/`)."""
    conf = directory / "nginx.conf"
    conf.write_text(nginx_conf(docs))
    globals_ = "daemon off;"
    if os.geteuid() == 0:
        # As root nginx would switch its workers to nobody, who cannot enter pytest's
        # 0700 temporary folders; the image runs as uid 10001 and needs no user.
        user = pwd.getpwuid(os.geteuid()).pw_name
        globals_ += f" user {user} {grp.getgrgid(os.getegid()).gr_name};"
    argv = [str(binary), "-p", f"{directory}/", "-c", str(conf), "-e", "stderr", "-g", globals_]
    checked = subprocess.run([*argv, "-t"], capture_output=True, text=True, timeout=30, check=False)
    assert checked.returncode == 0, checked.stderr
    access_log = directory / "access.log"
    with access_log.open("wb") as out, (directory / "error.log").open("wb") as err:
        proc = subprocess.Popen(argv, stdout=out, stderr=err, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 15
        while True:
            try:
                if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert proc.poll() is None, (directory / "error.log").read_text()
            assert time.monotonic() < deadline, "the gateway did not answer /healthz"
            time.sleep(0.1)
        yield RunningGateway(url, access_log)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, 9)
            proc.wait(timeout=5)


def devstack_upstreams(*, down: str) -> list[str]:
    """--set arguments pointing every service at devstack's process, ``down`` at a closed port."""
    args = []
    for descriptor in DESCRIPTORS:
        port = free_port() if descriptor.name == down else descriptor.port
        args += ["--set", f"gateway.upstreams.{descriptor.name}=127.0.0.1:{port}"]
    return args


def _is_gateway_problem(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body: dict[str, Any] = response.json()
    assert body["status"] == status
    assert body["request_id"] == response.headers["x-request-id"]
    assert response.headers["x-content-type-options"] == "nosniff"
    return body


def test_the_rendered_configuration_routes_through_real_nginx(
    offline_helm: HelmCli,
    nginx: Nginx,
    auth_service: Any,
    catalog_service: Any,
    tmp_path: Path,
) -> None:
    port = free_port()
    docs = render(
        offline_helm,
        "--set",
        f"gateway.port={port}",
        "--set",
        "gateway.maxBody=1k",
        *devstack_upstreams(down="notifications"),
    )
    with (
        run_gateway(nginx.binary, docs, tmp_path, port) as gateway,
        httpx.Client(base_url=gateway.url, timeout=10) as client,
    ):
        # Routed to the catalog, with a request id made by the gateway.
        categories = client.get("/api/categories")
        assert categories.status_code == 200, categories.text
        assert isinstance(categories.json()["items"], list)
        generated = categories.headers["x-request-id"]
        assert re.fullmatch(r"[0-9a-f]{32}", generated)
        assert categories.headers.get_list("x-request-id") == [generated], "one id, the gateway's"
        assert categories.headers["x-frame-options"] == "DENY"
        assert "default-src 'none'" in categories.headers["content-security-policy"]
        # A client's well-formed id is kept; another is replaced.
        kept = client.get("/api/categories", headers={"X-Request-ID": "client-id:1@a"})
        assert kept.headers["x-request-id"] == "client-id:1@a"
        replaced = client.get("/api/categories", headers={"X-Request-ID": "no spaces <allowed>"})
        assert re.fullmatch(r"[0-9a-f]{32}", replaced.headers["x-request-id"])
        # Bare prefixes route themselves and what is below them; a trailing-slash prefix
        # (auth's /api/auth/) only what is below it.
        missing = client.get("/api/products/00000000-0000-0000-0000-000000000000")
        assert missing.status_code == 404
        assert "reason" in missing.json(), "the catalog answered: the gateway's carry none"
        jwks = client.get("/api/auth/.well-known/jwks.json")
        assert jwks.status_code == 200 and jwks.json()["keys"]
        for path in ("/api/productsfoo", "/api/authx", "/nothing-here"):
            body = _is_gateway_problem(client.get(path), 404)
            assert body["title"] == "Not Found"
        # nginx answers the bare path of a slash-ended proxied prefix with a redirect
        # to it, as devstack's gateway does (same locations).
        bare = client.get("/api/auth")
        assert bare.status_code == 301
        assert bare.headers["location"].endswith("/api/auth/")
        # The gateway's own limits and failures, as problem+json.
        too_large = client.post("/api/products", content=b"x" * 4096)
        assert "1k" in _is_gateway_problem(too_large, 413)["detail"]
        down = client.get("/api/notifications/inbox")
        assert _is_gateway_problem(down, 503)["title"] == "Service Unavailable"
    log = gateway.access_log.read_text()
    assert f"rid={generated}" in log
    assert "rid=client-id:1@a" in log


def test_the_rate_limit_answers_429_through_real_nginx(
    offline_helm: HelmCli, nginx: Nginx, catalog_service: Any, tmp_path: Path
) -> None:
    port = free_port()
    docs = render(
        offline_helm,
        "--set",
        f"gateway.port={port}",
        "--set",
        "gateway.rate=1,gateway.burst=1",
        *devstack_upstreams(down=""),
    )
    with (
        run_gateway(nginx.binary, docs, tmp_path, port) as gateway,
        httpx.Client(base_url=gateway.url, timeout=10) as client,
    ):
        answers = [client.get("/api/categories") for _ in range(5)]
        limited = [a for a in answers if a.status_code == 429]
        assert limited, [a.status_code for a in answers]
        _is_gateway_problem(limited[0], 429)
        assert limited[0].headers["retry-after"] == "1"
        # Health checks are never limited.
        assert all(client.get("/healthz").status_code == 200 for _ in range(5))

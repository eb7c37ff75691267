"""Connections: ports, raw tunnels, this machine, and where the proxy connects."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from mitmproxy import http, options
from mitmproxy.connection import Server
from mitmproxy.proxy import layer, mode_specs, server_hooks
from mitmproxy.proxy.context import Context
from mitmproxy.proxy.layers import TCPLayer
from mitmproxy.test import taddons, tflow

from addons.clients import ClientIdentify
from addons.connections import Connections, RefusedTunnel
from addons.core.model import CLIENT_KEY, VERDICT_KEY, Reason
from addons.core.settings import Settings
from addons.core.snapshot import Runtime
from addons.enforce import Enforce
from addons.infra.resolve import Resolver
from addons.policy_loader import PolicyLoader
from addons.settings import SchoolgateSettings
from tests.addons.conftest import options_for

NAMES = {"school.test": ["203.0.113.10"], "rebind.test": ["203.0.113.11", "127.0.0.1"],
         "bank.vn": ["203.0.113.20"], "router.test": ["10.77.0.1"]}
GATEWAY_LAN = "10.77.0.1"


async def lookup(host: str, port: int) -> list[str]:
    return NAMES.get(host, [])


@dataclass
class Setup:
    runtime: Runtime
    clients: ClientIdentify
    enforce: Enforce
    conns: Connections


@pytest.fixture
def setup(settings: Settings) -> Iterator[Setup]:
    runtime = Runtime()
    first = (SchoolgateSettings(runtime), PolicyLoader(runtime))
    clients, enforce = ClientIdentify(runtime), Enforce(runtime)
    conns = Connections(runtime, Resolver(lookup), own=frozenset({GATEWAY_LAN}))
    with taddons.context(*first, clients, enforce, conns) as tctx:
        tctx.configure(first[0], **options_for(settings))
        yield Setup(runtime, clients, enforce, conns)


def connect_flow(target: str, port: int, client: str = "127.0.0.7") -> http.HTTPFlow:
    f = tflow.tflow(req=http.Request.make("CONNECT", f"http://example.test:{port}/"))
    f.request.host, f.request.port = target, port
    f.client_conn.peername = (client, 40000)
    return f


async def test_connect_ports(setup: Setup) -> None:
    for port, refused in ((443, False), (80, False), (22, True), (1194, True), (53, True)):
        f = connect_flow("school.test", port)
        await setup.conns.http_connect(f)
        assert (f.response is not None) is refused, port
        if refused:
            assert f.response.status_code == 403 and f.metadata[VERDICT_KEY].reason is Reason.TUNNEL
    f = connect_flow("school.test", 22, client="127.0.0.20")  # staff
    await setup.conns.http_connect(f)
    assert f.response is None


async def test_connect_to_this_machine(setup: Setup) -> None:
    for target in ("localhost", "127.0.0.1", "rebind.test", "router.test", "::1"):
        f = connect_flow(target, 443)
        await setup.conns.http_connect(f)
        assert f.response is not None and f.metadata[VERDICT_KEY].reason is Reason.LOCAL, target
    f = connect_flow("school.test", 443)
    await setup.conns.http_connect(f)
    assert f.response is None


async def test_the_dashboard_stays_reachable(setup: Setup) -> None:
    setup.conns.exempt.add((GATEWAY_LAN, 8081))
    f = connect_flow(GATEWAY_LAN, 8081)
    f.request.port = 8081
    await setup.conns.http_connect(f)
    assert f.response is not None  # not a web port: still refused as a CONNECT
    plain = tflow.tflow(req=http.Request.make("GET", f"http://{GATEWAY_LAN}:8081/review"))
    plain.client_conn.peername = ("127.0.0.7", 40000)
    setup.clients.request(plain)
    setup.enforce.request(plain)
    if plain.response is None:  # ip_literals may already block it; otherwise the exemption holds
        await setup.conns.request(plain)
        assert plain.response is None


def next_layer_for(client_addr: str, port: int) -> layer.NextLayer:
    client = tflow.tclient_conn()
    client.peername = (client_addr, 40000)
    server = Server(address=("school.test", port))
    ctx = Context(client, options.Options())
    ctx.server = server
    nl = layer.NextLayer(ctx)
    nl.layer = TCPLayer(ctx)
    return nl


def test_raw_tunnels_are_replaced_by_a_refusal(setup: Setup) -> None:
    nl = next_layer_for("127.0.0.7", 443)
    setup.conns.next_layer(nl)
    assert isinstance(nl.layer, RefusedTunnel)
    assert nl.layer.flow is not None and nl.layer.flow.metadata[VERDICT_KEY].reason is Reason.TUNNEL
    assert nl.layer.flow.metadata[CLIENT_KEY].group == "grade-7"
    staff = next_layer_for("127.0.0.20", 443)
    setup.conns.next_layer(staff)
    assert type(staff.layer) is TCPLayer
    passthrough = next_layer_for("127.0.0.7", 443)
    passthrough.layer = TCPLayer(passthrough.context, ignore=True)  # TlsPolicy passed it through
    setup.conns.next_layer(passthrough)
    assert type(passthrough.layer) is TCPLayer


def hook_data(address: tuple[str, int], client_addr: str = "127.0.0.7", mode: str = "regular",
              sni: str | None = None) -> server_hooks.ServerConnectionHookData:
    client = tflow.tclient_conn()
    client.peername = (client_addr, 40000)
    client.proxy_mode = mode_specs.ProxyMode.parse(mode)
    client.sni = sni
    return server_hooks.ServerConnectionHookData(client=client, server=Server(address=address))


async def test_the_proxy_connects_where_the_name_was_checked(setup: Setup) -> None:
    data = hook_data(("school.test", 443))
    await setup.conns.server_connect(data)
    assert data.server.address == ("203.0.113.10", 443) and data.server.sni == "school.test"
    assert data.server.error is None
    for name in ("rebind.test", "router.test", "localhost"):
        data = hook_data((name, 443))
        await setup.conns.server_connect(data)
        assert data.server.error and "refused" in data.server.error, name


async def test_transparent_passthrough_goes_where_the_server_name_is(setup: Setup) -> None:
    # The device connects to a blocked server's address and names a bank.
    data = hook_data(("198.51.100.66", 443), mode="transparent", sni="bank.vn")
    await setup.conns.server_connect(data)
    assert data.server.address == ("203.0.113.20", 443)
    # Its own destination is kept when it is one of the name's addresses.
    data = hook_data(("203.0.113.20", 443), mode="transparent", sni="bank.vn")
    await setup.conns.server_connect(data)
    assert data.server.address == ("203.0.113.20", 443)


async def test_upstream_mode_leaves_names_to_the_upstream(setup: Setup) -> None:
    data = hook_data(("rebind.test", 443), mode="upstream:http://127.0.0.1:3128")
    await setup.conns.server_connect(data)
    assert data.server.address == ("rebind.test", 443) and data.server.error is None


async def test_requests_to_this_machine_get_the_block_page(setup: Setup) -> None:
    for url in ("http://rebind.test/", "http://localhost:8081/", "http://router.test/"):
        f = tflow.tflow(req=http.Request.make("GET", url))
        f.client_conn.peername = ("127.0.0.7", 40000)
        setup.clients.request(f)
        setup.enforce.request(f)
        assert f.response is None, url
        await setup.conns.request(f)
        assert f.response is not None and f.metadata[VERDICT_KEY].reason is Reason.LOCAL, url
    f = tflow.tflow(req=http.Request.make("GET", "http://nowhere.test/"))
    f.client_conn.peername = ("127.0.0.7", 40000)
    setup.clients.request(f)
    setup.enforce.request(f)
    await setup.conns.request(f)
    assert f.response is not None and f.response.status_code == 502  # a name that does not resolve


async def test_transparent_requests_connect_by_the_name_they_carry(setup: Setup) -> None:
    f = tflow.tflow(req=http.Request.make("GET", "http://198.51.100.66/", headers={"Host": "school.test"}))
    f.client_conn.peername = ("127.0.0.7", 40000)
    f.client_conn.proxy_mode = mode_specs.ProxyMode.parse("transparent")
    f.client_conn.sni, f.client_conn.tls = None, False
    f.request.headers["Host"] = "school.test"
    f.request.authority = ""  # origin form, as a device sends it when it does not know about a proxy
    setup.clients.request(f)
    setup.enforce.request(f)
    await setup.conns.request(f)
    assert f.response is None, f.metadata.get(VERDICT_KEY)
    assert f.request.host == "school.test"

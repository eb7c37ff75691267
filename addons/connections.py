"""Connections: what a connection is, before and beside its requests.

The `connection` checks of core.decide.CHECKS, for students and guests (staff
keep every port and protocol):

- `http_connect`: a CONNECT to a port other than 80/443 (or the group's
  `open_ports`) is refused with reason `tunnel`; a CONNECT target that is
  this machine (loopback, link-local, the gateway's own addresses, `localhost`
  however it is spelled) with reason `local`. The target's name is decided
  again with the TLS server name (addons/tls_policy.py) and with every request
  inside the tunnel (addons/enforce.py).
- `next_layer`: a tunnel whose bytes are neither HTTP nor TLS (SSH, OpenVPN,
  SOCKS, a VPN app's own protocol), in a CONNECT, on port 80 or 443 in
  transparent mode, or inside an intercepted TLS connection, is closed before
  anything is relayed, reason `tunnel`, unless the group opened that port; then
  its name is still decided. The closed tunnel is a `tcp_error` flow with the
  verdict, which IncidentLog and Metrics record.
- `request`: the name a request goes to is resolved once; if any address is
  the gateway itself, loopback or link-local the request is blocked (`local`),
  and the proxy connects to exactly the address it checked (`server_connect`).
  In transparent mode the connection goes to the address of the name the
  request carries (TLS server name or Host), not to the address the device
  chose: naming a bank while connecting to a blocked server's address reaches
  the bank.

With an upstream proxy (`mode=upstream:…`) names are resolved by the upstream,
so only names and literal addresses are checked here.
"""

from __future__ import annotations

import logging
from collections.abc import Container

from mitmproxy import connection, http
from mitmproxy import flow as mflow
from mitmproxy.proxy import commands, events, layer, server_hooks
from mitmproxy.proxy.context import Context
from mitmproxy.proxy.layers import TCPLayer
from mitmproxy.proxy.layers.tcp import TcpErrorHook
from mitmproxy.proxy.utils import expect

from addons.core.domains import HostError, ip_literal, normalise_host
from addons.core.layers import local_name, local_verdict, port_verdict, restricted, tunnel_verdict
from addons.core.model import BLOCKED_KEY, CLIENT_KEY, VERDICT_KEY, Action, ClientInfo, RequestView, Verdict
from addons.core.policy import Group
from addons.core.settings import Settings
from addons.core.snapshot import Runtime, identify
from addons.flowutil import BadName, block, explicit_mode, request_names, upstream_mode
from addons.infra.resolve import OwnAddresses, ResolveError, Resolver

logger = logging.getLogger(__name__)

class Connections:
    def __init__(self, runtime: Runtime, resolver: Resolver | None = None, own: Container[str] | None = None):
        self.runtime = runtime
        self.resolver = resolver or Resolver()
        self.own: Container[str] = own if own is not None else OwnAddresses()
        self.exempt: set[tuple[str, int]] = set()  # the dashboard's own address: children reach its forms
        self.refused = runtime.stats.connections_refused  # exported as schoolgate_connections_refused

    def running(self) -> None:
        settings: Settings | None = self.runtime.settings
        if settings is not None and settings.dashboard_url:
            from urllib.parse import urlsplit

            parts = urlsplit(settings.dashboard_url)
            if parts.hostname:
                try:
                    port = parts.port or (443 if parts.scheme == "https" else 80)
                    self.exempt.add((normalise_host(parts.hostname), port))
                except (HostError, ValueError):
                    pass

    # -- who ------------------------------------------------------------------------------
    def _group(self, client: connection.Client) -> Group | None:
        snap = self.runtime.snapshot
        if snap is None or client.peername is None:
            return None
        info = identify(snap, self.runtime, client.peername[0], client.id)
        return snap.policy.groups.get(info.group)

    # -- CONNECT --------------------------------------------------------------------------
    async def http_connect(self, flow: http.HTTPFlow) -> None:
        if flow.response is not None:
            return  # already answered (a failed proxy sign-in)
        group = self._group(flow.client_conn)
        if group is None or not restricted(group):
            return
        try:
            host = normalise_host(flow.request.host)
        except HostError:
            flow.response = http.Response.make(400, b"Bad CONNECT target.\n", {"Content-Type": "text/plain"})
            return
        port = flow.request.port
        verdict = port_verdict(group, port)
        if verdict is None and (host, port) not in self.exempt:
            addresses: tuple[str, ...] = (host,) if ip_literal(host) else ()
            if not addresses and not local_name(host) and not upstream_mode(flow.client_conn):
                try:
                    addresses = await self.resolver.resolve(host, port)
                except ResolveError:
                    addresses = ()  # decided by name now; the connection itself fails later
            verdict = local_verdict(group, host, addresses, self.own)
        if verdict is not None:
            self._refuse_connect(flow, verdict, host)

    def _refuse_connect(self, flow: http.HTTPFlow, verdict: Verdict, host: str) -> None:
        self.refused[verdict.reason.value] = self.refused.get(verdict.reason.value, 0) + 1
        flow.metadata[CLIENT_KEY] = flow.metadata.get(CLIENT_KEY) or self._client_info(flow.client_conn, verdict)
        block(flow, verdict)
        logger.debug("CONNECT to %s refused (%s)", host, verdict.reason.value)

    def _client_info(self, client: connection.Client, verdict: Verdict) -> ClientInfo:
        return ClientInfo(client.peername[0] if client.peername else "", verdict.group)

    # -- raw tunnels ----------------------------------------------------------------------
    def next_layer(self, nextlayer: layer.NextLayer) -> None:
        """mitmproxy's NextLayer (earlier in the chain) chose a layer; a raw TCP relay of
        bytes that are neither HTTP nor TLS is cut here unless the group opened the port."""
        chosen = nextlayer.layer
        if not isinstance(chosen, TCPLayer) or chosen.flow is None:
            return  # not a raw relay (or a passthrough that TlsPolicy chose, which has no flow)
        context = nextlayer.context
        group = self._group(context.client)
        if group is None or not restricted(group):
            return
        address = context.server.address
        port = address[1] if address else 0
        verdict = tunnel_verdict(group, port)
        if verdict is None and address:
            verdict = self._name_verdict(group, address[0], port, context.client)
        if verdict is not None:
            self.refused["tunnel"] += 1
            nextlayer.layer = RefusedTunnel(context, verdict, self._client_info(context.client, verdict))

    def _name_verdict(self, group: Group, host: str, port: int, client: connection.Client) -> Verdict | None:
        snap = self.runtime.snapshot
        if snap is None:
            return None
        try:
            name = normalise_host(host)
        except HostError:
            return None
        verdict = snap.decide(RequestView(name, "/", "tcp", port), group, None, self.runtime.overrides)
        return verdict if verdict.action is Action.BLOCK else None

    # -- where a request goes ---------------------------------------------------------------
    async def request(self, flow: http.HTTPFlow) -> None:
        if flow.response or flow.error or not flow.live:
            return
        verdict: Verdict | None = flow.metadata.get(VERDICT_KEY)
        client: ClientInfo | None = flow.metadata.get(CLIENT_KEY)
        snap = self.runtime.snapshot
        if verdict is None or verdict.action is not Action.ALLOW or client is None or snap is None:
            return
        group = snap.policy.groups.get(client.group)
        if group is None or not restricted(group):
            return
        req = flow.request
        if not explicit_mode(flow.client_conn):
            try:
                first = request_names(flow)[0]
            except BadName:
                return  # Enforce already refused it
            if first.layer != "destination" and first.host != req.host:
                req.data.host = first.host  # connect to the name's own address, checked below
        try:
            host = normalise_host(req.host)
        except HostError:
            return  # Enforce already decided this name
        if (host, req.port) in self.exempt:
            return
        addresses: tuple[str, ...] = (host,) if ip_literal(host) else ()
        if not addresses and not local_name(host) and not upstream_mode(flow.client_conn):
            try:
                addresses = await self.resolver.resolve(host, req.port)
            except ResolveError as e:
                flow.response = http.Response.make(502, f"{e}\n".encode(), {"Content-Type": "text/plain"})
                return
        local = local_verdict(group, host, addresses, self.own)
        if local is not None:
            self.refused["local"] += 1
            block(flow, local)

    async def server_connect(self, data: server_hooks.ServerConnectionHookData) -> None:
        """Connect where the name was checked; check names nobody decided yet (a tunnel's)."""
        server, client = data.server, data.client
        if server.via is not None or server.address is None or upstream_mode(client):
            return
        group = self._group(client)
        if group is None or not restricted(group):
            return
        host, port = server.address
        try:
            name = normalise_host(host)
        except HostError:
            server.error = f"not a host name: {host!r}"
            return
        if not explicit_mode(client) and ip_literal(name) is not None and client.sni:
            try:
                name = normalise_host(client.sni)  # passed-through TLS: go where the server name is
            except HostError:
                pass
        if (name, port) in self.exempt:
            return
        if ip_literal(name) is not None or local_name(name):
            addresses: tuple[str, ...] = (name,)
        else:
            try:
                addresses = await self.resolver.resolve(name, port)
            except ResolveError as e:
                server.error = str(e)
                return
        if local_verdict(group, name, addresses, self.own) is not None:
            self.refused["local"] += 1
            server.error = f"{name} leads to this gateway, loopback or link-local: refused"
            return
        if not explicit_mode(client) and host in addresses:
            return  # the device's own destination is one of the name's addresses
        if server.sni is None and ip_literal(name) is None:
            server.sni = name
        server.address = (addresses[0], port)



class RefusedTunnel(TCPLayer):
    """A raw TCP relay that relays nothing: the client's connection is closed at once,
    and the flow goes to the `tcp_error` hooks with its verdict."""

    def __init__(self, context: Context, verdict: Verdict, client: ClientInfo):
        super().__init__(context)
        assert self.flow is not None
        self.flow.metadata[VERDICT_KEY] = verdict
        self.flow.metadata[BLOCKED_KEY] = True
        self.flow.metadata[CLIENT_KEY] = client

    @expect(events.Start)
    def start(self, _: events.Event) -> layer.CommandGenerator[None]:
        assert self.flow is not None
        verdict: Verdict = self.flow.metadata[VERDICT_KEY]
        self.flow.error = mflow.Error(f"refused by schoolgate: {verdict.reason.value}")
        self.flow.live = False
        yield TcpErrorHook(self.flow)
        yield commands.CloseConnection(self.context.client)
        self._handle_event = self.done

    _handle_event = start

"""TlsPolicy: per-group TLS mode, decided on the TLS ClientHello.

- `tls: intercept` (default): HTTPS is decrypted and decided request by request.
- `tls: selective`: HTTPS is decrypted only when the policy needs the content
  (a blocked site, safe search, URL rules, page scanning: core.inspection); the
  rest passes through unread, still filtered by name.
- `tls: sni` (guests, devices without the school's CA): only the server name is
  decided; an allowed site passes through unread, a blocked one is refused at the
  handshake (the browser shows a connection error, never a certificate warning).
- Hosts in blocklists/passthrough.txt (banks, health, government, pinned apps)
  are never decrypted for anyone, and are still filtered by name.

Every name of the connection is decided (core.layers): the CONNECT target and
the server name (SNI), or the destination address when there is neither. A
connection is passed through only when every name allows it, and as a
passthrough host only when every name is one: `CONNECT blocked:443` with a
bank's server name is decided on both and blocked.

mitmproxy offers no public way to refuse a handshake; we answer it with a TLS
context that has no certificate, through the public `tls_start_client` hook, so
OpenSSL sends a handshake-failure alert. tests/e2e/test_gateway.py fails if a
mitmproxy upgrade changes that.
"""

from __future__ import annotations

import logging

from mitmproxy import tls
from OpenSSL import SSL

from addons.core.decide import BLOCKED, decide_ask
from addons.core.domains import HostError, normalise_host
from addons.core.inspection import inspection_reason
from addons.core.layers import Name, distinct, strictest
from addons.core.model import Action, RequestView
from addons.core.snapshot import Runtime, identify
from addons.flowutil import explicit_mode

logger = logging.getLogger(__name__)


def refusing_connection() -> SSL.Connection:
    conn = SSL.Connection(SSL.Context(SSL.TLS_SERVER_METHOD))
    conn.set_accept_state()
    return conn


class TlsPolicy:
    def __init__(self, runtime: Runtime):
        self.runtime = runtime
        self._refuse: set[str] = set()
        self.refused = 0
        self.passed = 0

    def tls_clienthello(self, data: tls.ClientHelloData) -> None:
        snap = self.runtime.snapshot
        client = data.context.client
        if snap is None or client.peername is None:
            return  # no policy yet: intercept, and the request is decided (fail closed) later
        info = identify(snap, self.runtime, client.peername[0], client.id)
        group = snap.policy.groups.get(info.group)
        if group is None:
            return
        try:
            names = hello_names(data)
        except HostError:
            return  # intercept: the request is decided, and a name that does not parse blocks it
        if not names:
            return
        mode = group.content.tls
        passthrough = all(snap.is_passthrough(n.host) for n in names)
        if mode == "intercept" and not passthrough:
            return
        asks = [snap.ask(RequestView(n.host, "/", "https", 443), group, None, self.runtime.overrides) for n in names]
        decided = [decide_ask(a) for a in asks]
        verdict = strictest(list(zip(names, decided, strict=True)))
        if mode == "selective" and not passthrough:
            reason = BLOCKED if verdict.action is Action.BLOCK else next(
                (r for a, v in zip(asks, decided, strict=True) if (r := inspection_reason(a, v)) is not None), None)
            counts = self.runtime.stats.tls_selective
            counts[reason or "passthrough"] = counts.get(reason or "passthrough", 0) + 1
            if reason is None:
                data.ignore_connection = True
                self.passed += 1
            return
        if verdict.action is Action.BLOCK:
            self._refuse.add(client.id)
            self.refused += 1
            self.runtime.stats.tls_refused += 1
            logger.debug("TLS refused (%s) for group %s", verdict.reason.value, group.id)
        else:
            data.ignore_connection = True
            self.passed += 1

    def tls_start_client(self, data: tls.TlsData) -> None:
        if data.context.client.id in self._refuse:
            self._refuse.discard(data.context.client.id)
            data.ssl_conn = refusing_connection()


def hello_names(data: tls.ClientHelloData) -> list[Name]:
    """The names of a TLS connection before it is decrypted: the CONNECT target (explicit
    proxy), the server name (SNI), and the destination address when there is neither."""
    names = []
    context = data.context
    address = context.server.address
    explicit = explicit_mode(context.client)
    if explicit and address:
        names.append(Name("connect", normalise_host(address[0])))
    if data.client_hello.sni:
        names.append(Name("sni", normalise_host(data.client_hello.sni)))
    if not names and address:
        names.append(Name("destination", normalise_host(address[0])))
    return distinct(names)

from mitmproxy import connection, tls
from mitmproxy.proxy import context
from mitmproxy.test import tflow

from addons.tls_policy import TlsPolicy, refusing_connection
from tests.addons.conftest import Chain


class FakeHello:
    def __init__(self, sni: str):
        self.sni = sni


def hello(client: str, sni: str, options: object) -> tls.ClientHelloData:
    conn = tflow.tclient_conn()
    conn.peername = (client, 40000)
    ctx = context.Context(conn, options)  # type: ignore[arg-type]
    ctx.server = connection.Server(address=(sni, 443))
    return tls.ClientHelloData(ctx, FakeHello(sni))  # type: ignore[arg-type]


def test_sni_mode_and_passthrough(chain: Chain) -> None:
    p = (chain.runtime.settings.policies_path / "guest.yaml")
    p.write_text(p.read_text().replace("    safe_search: true", "    tls: sni\n    safe_search: true"))
    import asyncio

    asyncio.run(chain.loader.check_for_changes())
    policy = TlsPolicy(chain.runtime)
    allowed = hello("127.0.0.30", "school.test", chain.tctx.options)
    policy.tls_clienthello(allowed)
    assert allowed.ignore_connection  # passes through unread
    blocked = hello("127.0.0.30", "bet.test", chain.tctx.options)
    policy.tls_clienthello(blocked)
    assert not blocked.ignore_connection and policy.refused == 1
    data = tls.TlsData(blocked.context.client, blocked.context)
    policy.tls_start_client(data)
    assert data.ssl_conn is not None  # a context without a certificate: the handshake fails
    student = hello("127.0.0.7", "bet.test", chain.tctx.options)
    policy.tls_clienthello(student)
    assert not student.ignore_connection and policy.refused == 1  # intercepted: the block page explains
    bank = hello("127.0.0.7", "www.vietcombank.com.vn", chain.tctx.options)
    policy.tls_clienthello(bank)
    assert bank.ignore_connection  # never decrypted for anyone
    assert refusing_connection() is not None


def test_selective_mode_reads_only_what_the_policy_needs(chain: Chain) -> None:
    import asyncio

    p = chain.runtime.settings.policies_path / "lower-secondary.yaml"
    text = p.read_text().replace("    safe_search: true", "    tls: selective\n    safe_search: true", 1)
    # Games allowed all day, so that the answer does not depend on the time the test runs.
    p.write_text(text.replace("games: {block_during: school-day}", "games: allow", 1))
    asyncio.run(chain.loader.check_for_changes())
    policy = TlsPolicy(chain.runtime)
    decided = {}
    for host in ("games.test", "bet.test", "www.google.com", "news.test", "unknown-site.test",
                 "www.vietcombank.com.vn"):
        data = hello("127.0.0.7", host, chain.tctx.options)
        policy.tls_clienthello(data)
        decided[host] = data.ignore_connection
    assert decided == {"games.test": True, "bet.test": False, "www.google.com": False, "news.test": False,
                       "unknown-site.test": False, "www.vietcombank.com.vn": True}
    assert chain.runtime.stats.tls_selective == {"passthrough": 1, "blocked": 1, "safe_search": 1,
                                                 "path_rules": 1, "scanning": 1}
    # Grade 3 (primary) still intercepts everything.
    data = hello("127.0.0.3", "unknown-site.test", chain.tctx.options)
    policy.tls_clienthello(data)
    assert not data.ignore_connection and sum(chain.runtime.stats.tls_selective.values()) == 5

"""SchoolgateSettings: declares the schoolgate_* options and publishes Settings."""

from __future__ import annotations

import logging
import os
from typing import Any

from mitmproxy import ctx, exceptions
from mitmproxy.utils import human

from addons.core.errors import Collector
from addons.core.settings import SETTINGS, Settings, validate
from addons.core.snapshot import Runtime

logger = logging.getLogger(__name__)


def settings_from_options(options: Any) -> Settings:
    """Read every setting from mitmproxy's options; raise OptionsError listing all problems."""
    values = {s.name: getattr(options, s.option_name) for s in SETTINGS}
    if values["listen_port"] is None:  # mitmproxy's "default port" (8080 in regular mode)
        values["listen_port"] = 8080
    errors = Collector()
    settings = validate(values, "--set/options", {}, errors)
    if errors.errors:
        raise exceptions.OptionsError("\n".join(str(e) for e in errors.errors))
    return settings


def limit_held_bodies(options: Any, cap: int) -> None:
    """No body is held in memory beyond `cap` bytes, whatever its framing: mitmproxy
    streams a larger one (Content-Length over the cap at once; chunked and HTTP/2
    bodies as soon as they pass it). A smaller stream_large_bodies set by hand stays."""
    if "stream_large_bodies" not in options:
        return  # no proxy server in this master (a test's)
    current = human.parse_size(options.stream_large_bodies)
    if current is None or current > cap:
        options.update(stream_large_bodies=str(cap))


class SchoolgateSettings:
    def __init__(self, runtime: Runtime):
        self.runtime = runtime

    def load(self, loader: Any) -> None:
        for s in SETTINGS:
            if s.option is not None:
                continue  # one of mitmproxy's own options (listen_host, listen_port)
            # mitmproxy options are str, int or bool; other types travel as text
            # and are checked by core.settings.validate.
            if s.type in (str, int, bool):
                loader.add_option(s.option_name, s.type, s.default, s.help, choices=s.choices)
            else:
                loader.add_option(s.option_name, str, str(s.default), s.help, choices=s.choices)

    def configure(self, updated: set[str]) -> None:
        if any(name.startswith("schoolgate_") or name in ("listen_host", "listen_port") for name in updated):
            self.runtime.settings = settings_from_options(ctx.options)
            limit_held_bodies(ctx.options, self.runtime.settings.hold_max_bytes)

    def running(self) -> None:
        settings: Settings = self.runtime.settings
        proxy = ctx.master.addons.get("proxyserver")
        addrs = proxy.listen_addrs() if proxy else []
        where = ", ".join(f"{a[0]}:{a[1]}" for a in addrs) or f"{settings.listen_host}:{settings.listen_port}"
        ca = os.path.expanduser(ctx.options.confdir)
        role = self.runtime.role
        if role is not None and role.follower:
            logger.info("Proxy worker %d of %d serving http://%s", role.index + 1, role.count, where)
            return
        logger.info("schoolgate proxy listening at http://%s", where)
        if role is not None:
            logger.info("%d proxy worker processes share this address (setting workers).", role.count)
        logger.info("CA certificate: %s/mitmproxy-ca-cert.pem (install it on the devices as a trusted root "
                    "to filter HTTPS pages)", ca)
        logger.info("Point a browser's HTTP and HTTPS proxy at %s, or try: "
                    "curl -x http://%s -H 'Accept: text/html' http://pornhub.com/", where, where)

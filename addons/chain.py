"""Chain: the schoolgate addons behind one mitmproxy addon.

mitmproxy calls every event on every addon in its chain: for each addon it
enters an error-catching context, starts a coroutine and looks the hook up,
whether or not the addon has one. A request goes through about ten events, so
twenty separate schoolgate addons cost hundreds of such calls per request, a
measurable share of the proxy's time (docs/performance.md). Chain is one addon
that has exactly the hooks its parts have and calls them in the parts' order,
with mitmproxy's error handling: an exception in one part is logged and the
next part still runs; OptionsError and AddonHalt go through as they do in
mitmproxy.
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Callable, Sequence
from typing import Any

import mitmproxy.addonmanager  # noqa: F401  (these modules define the hooks in hooks.all_hooks)
import mitmproxy.log  # noqa: F401
import mitmproxy.proxy.layers  # noqa: F401
import mitmproxy.proxy.server_hooks  # noqa: F401
from mitmproxy import exceptions, hooks, http

from addons.flowutil import body_may_stream, may_carry_body

logger = logging.getLogger(__name__)

PASS_THROUGH = (exceptions.AddonHalt, exceptions.OptionsError)


def _log(part: Any, name: str, e: Exception) -> None:
    logger.error(f"Addon error: {e} (in {type(part).__name__}.{name})", exc_info=e)


def _sync(name: str, calls: list[tuple[Any, Callable[..., Any]]]) -> Callable[..., None]:
    def hook(*args: Any) -> None:
        for part, func in calls:
            try:
                result = func(*args)
                if result is not None:
                    if inspect.iscoroutine(result):
                        result.close()
                    raise TypeError("a hook that is not `async def` must return None")
            except PASS_THROUGH:
                raise
            except Exception as e:
                _log(part, name, e)

    return hook


def _async(name: str, calls: list[tuple[Any, Callable[..., Any]]]) -> Callable[..., Any]:
    async def hook(*args: Any) -> None:
        for part, func in calls:
            try:
                result = func(*args)
                if result is not None and inspect.isawaitable(result):
                    await result
            except PASS_THROUGH:
                raise
            except Exception as e:
                _log(part, name, e)

    return hook


EARLY_KEY = "schoolgate.decided_early"  # the request phase ran at `requestheaders` (see Chain)


def _early(headers_calls: list[tuple[Any, Callable[..., Any]]], request_calls: list[tuple[Any, Callable[..., Any]]]
           ) -> tuple[Callable[..., Any], Callable[..., Any]]:
    """`requestheaders` and `request` for requests whose body mitmproxy may stream.

    mitmproxy calls `request` once the whole body is in, but a body it streams (one
    over stream_large_bodies, addons/settings.py) has reached the server by then. So
    for such requests every part's `request` hook runs at `requestheaders` instead:
    the request is decided before anything is sent. Allowed, it is streamed at once
    (never buffered); blocked, it is killed when it may carry a body (which could
    not be held to send the block page after it), or answered as usual (an HTTP/2
    GET, which sends no Content-Length). Other requests keep the usual order."""
    is_async = any(inspect.iscoroutinefunction(f) for _, f in (*headers_calls, *request_calls))
    wrap = _async if is_async else _sync
    run_headers = wrap("requestheaders", headers_calls)
    run_request = wrap("request", request_calls)

    def early(flow: http.HTTPFlow) -> bool:
        if flow.response is not None or flow.error or not body_may_stream(flow):
            return False
        flow.metadata[EARLY_KEY] = True
        return True

    def settle(flow: http.HTTPFlow) -> None:
        if flow.response is not None:
            if may_carry_body(flow):
                flow.kill()  # the body could be any size: nothing of it goes anywhere
            # else (an HTTP/2 GET): the answer is sent as usual, the block page included
        elif flow.live and not flow.error:
            flow.request.stream = True

    if not is_async:
        def requestheaders_sync(flow: http.HTTPFlow) -> None:
            run_headers(flow)
            if early(flow):
                run_request(flow)
                settle(flow)

        def request_sync(flow: http.HTTPFlow) -> None:
            if not flow.metadata.get(EARLY_KEY):
                run_request(flow)

        return requestheaders_sync, request_sync

    async def requestheaders(flow: http.HTTPFlow) -> None:
        await run_headers(flow)
        if early(flow):
            await run_request(flow)
            settle(flow)

    async def request(flow: http.HTTPFlow) -> None:
        if not flow.metadata.get(EARLY_KEY):
            await run_request(flow)

    return requestheaders, request


class Chain:
    def __init__(self, parts: Sequence[Any]):
        self.parts = list(parts)
        for name in hooks.all_hooks:
            calls = [(p, getattr(p, name)) for p in self.parts if callable(getattr(p, name, None))]
            if not calls:
                continue  # mitmproxy finds no such hook here, as for a part without it
            is_async = any(inspect.iscoroutinefunction(func) for _, func in calls)
            # An instance attribute: mitmproxy's getattr finds it without a method lookup.
            setattr(self, name, (_async if is_async else _sync)(name, calls))
        requests = [(p, p.request) for p in self.parts if callable(getattr(p, "request", None))]
        if requests:
            headers = [(p, p.requestheaders) for p in self.parts if callable(getattr(p, "requestheaders", None))]
            self.requestheaders, self.request = _early(headers, requests)

    def __repr__(self) -> str:
        return f"Chain({', '.join(type(p).__name__ for p in self.parts)})"

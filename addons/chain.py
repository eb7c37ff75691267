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
from mitmproxy import exceptions, hooks

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

    def __repr__(self) -> str:
        return f"Chain({', '.join(type(p).__name__ for p in self.parts)})"

"""PolicyLoader: loads policies/ and blocklists/ into the runtime snapshot, and
reloads them when they change, keeping the last good version on a bad edit.

The leader (or the only) proxy process validates the files and saves what it
accepted (`data/policy-accepted.json`). The other proxy workers load that, not the
files, so every worker runs the same policy even when a teacher saves twice in a
second; and a worker (re)started while a file on disk is broken starts with the
accepted policy instead of refusing to run."""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import multiprocessing
import time
from pathlib import Path
from typing import Any

from mitmproxy import exceptions

from addons.core.categories import Categories
from addons.core.errors import ConfigError, ConfigErrors
from addons.core.settings import Settings
from addons.core.snapshot import Runtime
from addons.infra.files import signature as file_signature
from addons.infra.files import tree_signature
from addons.infra.loader import (
    Accepted,
    IndexJob,
    IndexNotBuilt,
    ListFile,
    LoadResult,
    accepted_path,
    build_index,
    build_index_file,
    ensure_data_dir,
    load_snapshot,
    read_accepted,
    save_accepted,
)
from addons.infra.sources import copies_signature
from addons.infra.tasks import cancel, spawn

logger = logging.getLogger(__name__)

RELOAD_OPTIONS = {"schoolgate_policies_dir", "schoolgate_blocklists_dir", "schoolgate_data_dir",
                  "schoolgate_timezone", "schoolgate_max_list_errors"}


def cannot_start(error: ConfigErrors) -> exceptions.OptionsError:
    return exceptions.OptionsError("schoolgate cannot start: the policy or lists have errors:\n" + str(error))


def _signature(settings: Settings) -> str:
    return tree_signature([settings.policies_path, settings.blocklists_path]) + copies_signature(settings)


def build_in_child_process(files: list[ListFile], categories: Categories, max_errors: int,
                           path: Path) -> list[ConfigError]:
    """Compile a changed list index in a separate process: compiling never holds the GIL
    while requests are being decided, and the memory it takes goes back to the system
    when the process ends (in the proxy it stayed as heap; bench/soak.py showed the
    leader growing by several MB at each list refresh)."""
    ctx = multiprocessing.get_context("spawn")
    with concurrent.futures.ProcessPoolExecutor(max_workers=1, mp_context=ctx) as pool:
        return pool.submit(build_index_file, files, categories, max_errors, path).result()


class PolicyLoader:
    def __init__(self, runtime: Runtime):
        self.runtime = runtime
        self._task: asyncio.Task[Any] | None = None
        self._build: asyncio.Task[Any] | None = None  # a changed list index compiling
        self._failed_index: tuple[Path, str] | None = None  # (index, why) that did not compile
        self._checking = asyncio.Lock()
        self._signature = ""
        self._index_key = ""  # the list index the published snapshot maps
        self.reload_failures = 0
        self.last_error: str | None = None

    def configure(self, updated: set[str]) -> None:
        if self.runtime.snapshot is not None and not (updated & RELOAD_OPTIONS):
            return
        settings: Settings = self.runtime.settings
        try:
            ensure_data_dir(settings)
        except OSError as e:
            raise exceptions.OptionsError(
                f"Cannot create the data directory {settings.data_path}: {e.strerror or e}. "
                "Fix: set data_dir to a writable directory."
            ) from e
        if self.runtime.follower:
            self._follow(start=True)
            return
        signature = _signature(settings)
        try:
            result = load_snapshot(settings)
        except ConfigErrors as e:
            result = self._start_with_accepted(e)
            self._publish(result, signature, save=False)
            self._refused(signature, str(e))
            return
        self._publish(result, signature)

    def _start_with_accepted(self, error: ConfigErrors) -> LoadResult:
        """A file on disk is broken at start: run the last accepted policy, if there is one."""
        settings: Settings = self.runtime.settings
        accepted = read_accepted(settings)
        try:
            if accepted is None:
                raise error
            result = load_snapshot(settings, texts=accepted.texts, index_key=accepted.index_key)
        except ConfigErrors:
            raise cannot_start(error) from error
        logger.error("The policy on disk has errors, so schoolgate starts with the last policy that loaded "
                     "(%s, from %s). Fix the file; it is loaded within seconds of the fix:\n%s", accepted.version,
                     time.strftime("%Y-%m-%d %H:%M", time.localtime(accepted.loaded_at)), error)
        return result

    def _refused(self, signature: str, error: str) -> None:
        self._signature = signature  # report a broken edit once, not every second
        self.reload_failures += 1
        self.runtime.stats.reload_failures += 1
        self.last_error = error

    def _publish(self, result: LoadResult, signature: str, save: bool = True) -> None:
        for w in result.warnings:
            logger.warning("%s", w)
        self.runtime.snapshot = result.snapshot
        self.runtime.stats.policy_loaded_at = time.time()
        self._signature = signature
        self._index_key = result.index_key
        self.last_error = None
        if save and not self.runtime.follower:
            try:
                save_accepted(self.runtime.settings, result, self.runtime.stats.policy_loaded_at)
            except OSError as e:
                logger.warning("Could not save the accepted policy for the other workers: %s", e)
        info = result.snapshot.info
        logger.info(
            "Policy %s loaded: %d groups, %d client ranges, %d categories, %d listed domains, %d URLs.",
            result.snapshot.version, info["groups"], info["clients"], info["categories"],
            info["domains"], info["urls"],
        )

    def _follow(self, start: bool = False) -> bool:
        """A follower: load the leader's accepted policy if it changed. True if published."""
        settings: Settings = self.runtime.settings
        path = accepted_path(settings)
        signature = file_signature(path)
        if not start and signature == self._signature:
            return False
        accepted: Accepted | None = read_accepted(settings)
        try:
            result = load_snapshot(settings, texts=accepted.texts if accepted else None,
                                   index_key=accepted.index_key if accepted else None)
        except ConfigErrors as e:
            if start:
                raise cannot_start(e) from e
            self._signature = signature
            self.last_error = str(e)
            logger.error("Could not load the policy the leader accepted; the previous policy stays active:\n%s", e)
            return False
        self._publish(result, signature)
        return True

    def running(self) -> None:
        self._task = spawn(self._watch(), name="schoolgate policy watcher")

    async def done(self) -> None:
        await cancel(self._task)
        await cancel(self._build)

    async def _watch(self) -> None:
        while True:
            settings: Settings = self.runtime.settings
            await asyncio.sleep(settings.reload_interval)
            await self.check_for_changes()

    async def check_for_changes(self) -> bool:
        """Reload if any file changed. True if a new snapshot was published.

        When the lists changed, their index compiles in the background (seconds for
        big lists) and the policy is loaded at once with the lists in force: a
        teacher's edit never waits for a list update. `lists_settled` waits for it."""
        if self.runtime.follower:
            return await asyncio.to_thread(self._follow)
        async with self._checking:
            return await self._check()

    async def lists_settled(self) -> bool:
        """Wait for a list index being compiled and the reload after it. True if one was."""
        if self._build is None:
            return False
        await asyncio.shield(self._build)
        return True

    async def _check(self) -> bool:
        settings: Settings = self.runtime.settings
        signature = await asyncio.to_thread(_signature, settings)
        if signature == self._signature:
            return False
        list_error = None
        try:
            try:
                result = await asyncio.to_thread(load_snapshot, settings, defer_build=True)
            except IndexNotBuilt as pending:
                failed = self._failed_index
                if failed is not None and failed[0] == pending.job.path:
                    list_error = failed[1]  # reported when it failed; the lists in force stay
                elif self._build is None:
                    self._build = spawn(self._compile(pending.job), name="schoolgate list index")
                # Until it is compiled: the changed policy with the lists in force.
                result = await asyncio.to_thread(load_snapshot, settings, index_key=self._index_key)
        except ConfigErrors as e:
            self._refused(signature, str(e))
            logger.error("Policy change refused; the previous policy stays active:\n%s", e)
            return False
        except Exception as e:  # an unexpected failure must not stop the watcher
            self._refused(signature, repr(e))
            logger.exception("Policy reload failed; the previous policy stays active.")
            return False
        current = self.runtime.snapshot
        published = current is None or result.snapshot.version != current.version
        if published:
            self._publish(result, signature)
        else:
            self._signature = signature  # only the lists changed: published when compiled
        self.last_error = list_error
        return published

    async def _compile(self, job: IndexJob) -> None:
        t0 = time.monotonic()
        try:
            problems = await asyncio.to_thread(build_index, job, build_in_child_process)
        except Exception as e:  # noqa: BLE001 - reported like a refused list
            problems = [ConfigError("blocklists", None, f"the list index could not be built: {e!r}",
                                    "check that the data directory is writable and has free space")]
        errors = [p for p in problems if not p.warning]
        if errors:
            why = str(ConfigErrors(errors))
            self._failed_index = (job.path, why)
            self.reload_failures += 1
            self.runtime.stats.reload_failures += 1
            logger.error("List change refused; the lists in force stay:\n%s", why)
        else:
            for w in problems:
                logger.warning("%s", w)
            logger.info("List index compiled in %.1f s.", time.monotonic() - t0)
        async with self._checking:
            self._build = None
            self._signature = ""  # load what was compiled (or go on with the lists in force)
            await self._check()

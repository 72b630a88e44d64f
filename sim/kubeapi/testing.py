"""Starting and stopping an emulator from tests and tools.

Owns the public start/stop API (:func:`start_emulator`, :class:`RunningEmulator`). Must never
bind anything but the requested host (127.0.0.1 by default).
"""

from __future__ import annotations

import copy
import functools
import pathlib
import shutil
import tempfile
from collections.abc import Iterable, Sequence
from typing import Any

import attrs
import yaml
from aiohttp import web

from sim.kubeapi import kubeconfig as kubeconfig_file
from sim.kubeapi.app import Emulator, EmulatorOptions
from sim.kubeapi.errors import ApiError
from sim.kubeapi.faults import Faults

JsonObj = dict[str, Any]
# libyaml when present: upstream CRDs are large and the pure-Python parser is slow.
_LOADER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


@functools.lru_cache(maxsize=128)
def _crd_documents(path: str, mtime_ns: int) -> tuple[JsonObj, ...]:
    """The CRDs of one YAML file, parsed once per process and version of the file: most tests
    start an emulator with the same CRDs, and parsing them dominated their set-up time."""
    del mtime_ns  # part of the cache key only
    text = pathlib.Path(path).read_text()
    return tuple(
        doc
        for doc in yaml.load_all(text, Loader=_LOADER)
        if isinstance(doc, dict) and doc.get("kind") == "CustomResourceDefinition"
    )


def _yaml_files(paths: Iterable[pathlib.Path]) -> list[pathlib.Path]:
    files: list[pathlib.Path] = []
    for path in paths:
        if path.is_dir():
            files.extend(sorted(p for p in path.rglob("*") if p.suffix in (".yaml", ".yml")))
        else:
            files.append(path)
    return files


@attrs.define
class RunningEmulator:
    """A served emulator: its URL, a kubeconfig for it and its fault-injection handle."""

    url: str
    kubeconfig: pathlib.Path
    faults: Faults
    emulator: Emulator = attrs.field(repr=False)
    _runner: web.AppRunner = attrs.field(repr=False, alias="runner")
    _owned_dir: pathlib.Path | None = attrs.field(default=None, repr=False, alias="owned_dir")

    async def close(self) -> None:
        await self._runner.cleanup()
        if self._owned_dir is not None:
            shutil.rmtree(self._owned_dir, ignore_errors=True)
            self._owned_dir = None

    async def apply_crd_files(self, *paths: pathlib.Path) -> None:
        """Create or replace every CustomResourceDefinition found in YAML files or dirs."""
        ops = self.emulator.ops
        rt = self.emulator.registry.get("apiextensions.k8s.io", "v1", "customresourcedefinitions")
        assert rt is not None
        for file in _yaml_files(paths):
            for parsed in _crd_documents(str(file), file.stat().st_mtime_ns):
                # The cache is shared by every emulator of the process: hand out copies.
                doc = copy.deepcopy(parsed)
                name = doc["metadata"]["name"]
                existing = ops.store.get(rt.key, "", name)
                if existing is None:
                    ops.create(rt, "", doc)
                else:
                    body = {
                        **doc,
                        "metadata": {
                            **doc["metadata"],
                            "resourceVersion": existing["metadata"]["resourceVersion"],
                        },
                    }
                    ops.update(rt, "", name, body)

    async def create(self, api_path: str, body: JsonObj) -> JsonObj:
        """Create an object in-process (test setup helper); ``api_path`` is its collection path,
        e.g. ``/api/v1/namespaces/default/configmaps``."""
        emulator = self.emulator
        parts = [p for p in api_path.split("/") if p]
        if parts[:2] == ["api", "v1"]:
            group, version, rest = "", "v1", parts[2:]
        else:
            group, version, rest = parts[1], parts[2], parts[3:]
        namespace = ""
        if len(rest) == 3 and rest[0] == "namespaces":
            namespace, rest = rest[1], rest[2:]
        rt = emulator.registry.get(group, version, rest[0])
        if rt is None:
            raise ApiError(404, "NotFound", f"no resource at {api_path}")
        return emulator.ops.create(rt, namespace, body).obj


async def start_emulator(
    *,
    crd_dirs: Sequence[pathlib.Path] = (),
    history: int = 1000,
    host: str = "127.0.0.1",
    port: int = 0,
    kubeconfig_path: pathlib.Path | None = None,
    bookmark_interval: float = 1.0,
    watch_buffer: int = 10_000,
) -> RunningEmulator:
    """Serve a fresh emulator on ``host:port`` (0 picks a free port) and write a kubeconfig.

    ``history``: events kept for watches from a resourceVersion (older ones get 410);
    ``bookmark_interval``: seconds between BOOKMARKs on idle watches that allow them;
    ``watch_buffer``: events queued per watch before a too-slow watch is dropped.
    """
    emulator = Emulator(
        EmulatorOptions(
            history=history, bookmark_interval=bookmark_interval, watch_buffer=watch_buffer
        )
    )
    runner = web.AppRunner(emulator.app(), access_log=None, shutdown_timeout=1.0)
    await runner.setup()
    site = web.TCPSite(runner, host, port)
    await site.start()
    server = site._server
    assert server is not None
    sockets = getattr(server, "sockets", None) or []
    bound_port = sockets[0].getsockname()[1]
    url = f"http://{host}:{bound_port}"
    emulator.server_address = f"{host}:{bound_port}"
    owned_dir = None
    if kubeconfig_path is None:
        owned_dir = pathlib.Path(tempfile.mkdtemp(prefix="kubeapi-"))
        kubeconfig_path = owned_dir / "kubeconfig"
    kubeconfig_file.write(kubeconfig_path, url)
    running = RunningEmulator(
        url=url,
        kubeconfig=kubeconfig_path,
        faults=emulator.faults,
        emulator=emulator,
        runner=runner,
        owned_dir=owned_dir,
    )
    if crd_dirs:
        await running.apply_crd_files(*crd_dirs)
    return running

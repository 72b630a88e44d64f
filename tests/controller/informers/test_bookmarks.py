"""A watch resumes from the last BOOKMARK's resourceVersion (issue 13, Kubernetes-side faults:
"bookmark resource versions are not used when resuming a watch", ``informers/reflector.py``
~276).

The informer watches a namespace where nothing happens while objects change elsewhere, so its
watch carries only bookmarks. Then the connection drops and the server's history is compacted
up to now: resumed from the bookmark's version the watch goes on; resumed from the version of
the last list (the bookmark ignored), it gets 410 Gone and has to relist everything.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest

from controller.informers import Informer, InformerOptions, ReflectorOptions
from controller.informers.backoff import BackoffOptions
from controller.kube.client import connect
from controller.kube.resources import CONFIG_MAPS
from tests.controller.informers.helpers import (
    EventLog,
    create_config_map,
    ensure_namespace,
    wait_for,
)

FAST = ReflectorOptions(backoff=BackoffOptions(initial=0.05, maximum=0.2))


@pytest.fixture
async def api(kubeapi):
    client = await connect(kubeconfig=str(kubeapi.kubeconfig))
    yield client
    await client.close()


async def test_watch_resumes_from_the_last_bookmark(kubeapi, api):
    await ensure_namespace(api, "quiet")
    await create_config_map(api, "quiet", "only", {"v": "1"})

    # Every watch request's resourceVersion, as sent to the server.
    watched_from: list[int] = []
    send = api.rest_client.request

    async def recording(method: str, url: str, *args: Any, **kwargs: Any) -> Any:
        query = dict(parse_qsl(urlsplit(url).query))
        if method == "GET" and query.get("watch") == "true":
            watched_from.append(int(query["resourceVersion"]))
        return await send(method, url, *args, **kwargs)

    api.rest_client.request = recording
    informer = Informer(
        api, CONFIG_MAPS, options=InformerOptions(namespaces=("quiet",), reflector=FAST)
    )
    informer.add_handler(EventLog())
    informer.start()
    try:
        assert await informer.wait_synced(10)
        reflector = informer.reflectors[0]
        await wait_for(lambda: reflector.watches == 1, what="the first watch")
        listed_at = watched_from[0]

        # Changes elsewhere move the server's resourceVersion; the quiet watch sees none of
        # them, only the bookmarks that follow.
        for index in range(3):
            await kubeapi.create(
                "/api/v1/namespaces/default/configmaps", {"metadata": {"name": f"busy-{index}"}}
            )
        moved_to = int(kubeapi.emulator.store.rv)
        assert moved_to > listed_at
        handlers = kubeapi.emulator.handlers
        sent = handlers.bookmarks_sent
        # Two bookmarks after the changes: the first one was written whole before the second.
        await wait_for(lambda: handlers.bookmarks_sent >= sent + 2, what="two bookmarks")

        kubeapi.faults.close_watches()
        kubeapi.faults.expire_history()
        await wait_for(lambda: reflector.watches >= 2 or reflector.lists >= 2,
                       what="the watch to be resumed")
        resumed_from = watched_from[1]
        assert resumed_from >= moved_to, (
            f"resumed from {resumed_from}, the last list's version {listed_at}, not from the "
            f"bookmarks' {moved_to}"
        )
        assert reflector.expirations == 0
        assert reflector.lists == 1
    finally:
        await informer.stop()

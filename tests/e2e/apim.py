"""The suite's view of APIM: read-backs through APIM's own HTTP API, as a console user would.

Owns the handful of GETs the journeys check after the operator has acted (the v1 API entity
for v2 APIs, the Automation API state for v4 APIs and applications) and the simulator's
request log (``/_sim/requests``), which says what the operator sent. Reads only: the journeys
change APIM through custom resources, never directly. Credentials are the simulator's
defaults (``admin``/``admin``) and are never logged.
"""

from __future__ import annotations

from typing import Any, Final

import aiohttp
import attrs

Obj = dict[str, Any]

ORG: Final = "DEFAULT"
ENV: Final = "DEFAULT"
USER: Final = "admin"
PASSWORD: Final = "admin"  # the simulator's default account, not a secret
V1: Final = f"/management/organizations/{ORG}/environments/{ENV}"
AUTOMATION: Final = f"/automation/organizations/{ORG}/environments/{ENV}"


@attrs.define
class Apim:
    """An APIM base URL and an HTTP session. Close it with :meth:`close`."""

    url: str
    session: aiohttp.ClientSession

    @classmethod
    def connect(cls, url: str) -> Apim:
        session = aiohttp.ClientSession(
            headers={"Authorization": aiohttp.encode_basic_auth(USER, PASSWORD)},
            timeout=aiohttp.ClientTimeout(total=10),
        )
        return cls(url=url.rstrip("/"), session=session)

    async def close(self) -> None:
        await self.session.close()

    async def _get(self, path: str) -> Obj | None:
        """The JSON body of a 200, or None for a 404; anything else fails the test."""
        async with self.session.get(self.url + path) as response:
            if response.status == 404:
                return None
            text = await response.text()
            assert response.status == 200, f"GET {path}: HTTP {response.status}: {text[:300]}"
            body: Obj = await response.json(content_type=None)
            return body

    async def v2_api(self, api_id: str) -> Obj | None:
        """A v2 API as the v1 Management API returns it (snake_case), or None."""
        return await self._get(f"{V1}/apis/{api_id}")

    async def v4_api(self, hrid: str) -> Obj | None:
        """A v4 API's Automation API state, or None."""
        return await self._get(f"{AUTOMATION}/apis/{hrid}")

    async def application(self, hrid: str) -> Obj | None:
        """An application's Automation API state, or None."""
        return await self._get(f"{AUTOMATION}/applications/{hrid}")

    async def request_mark(self) -> int:
        """The simulator's request-log position now (see :meth:`writes_since`)."""
        found = await self._get("/_sim/requests?since=999999999999")
        assert found is not None, "the APIM under test has no /_sim/requests: not the simulator"
        mark: int = found["mark"]
        return mark

    async def writes_since(self, mark: int) -> list[str]:
        """``METHOD path`` of every request other than a GET that APIM received after
        ``mark``; the suite itself only reads, so these all come from the operator."""
        found = await self._get(f"/_sim/requests?since={mark}")
        assert found is not None, "the APIM under test has no /_sim/requests: not the simulator"
        return [f"{r['method']} {r['path']}" for r in found["requests"] if r["method"] != "GET"]

"""Next-generation portal objects through the Automation API (APIM 4.12+, links 4.13).

Owns the addresses of portals (``{AUTO}/portals``), of what lives under a portal
(``{AUTO}/portals/{portal}/listings|documentations|links``) and of API documentation pages
(``{AUTO}/apis/{api}/documentations``), their upserts (with dry run), deletes (404 is success,
``docs/behavior/apim-calls.md#deletes``) and read-back. Always addressed by HRID: these objects
never had a UUID mode.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final, Literal

import attrs

from controller.apim.automation import AutomationState
from controller.apim.client import ApimClient
from controller.apim.urls import join_path, segment

PortalChild = Literal["listings", "documentations", "links"]
CHILDREN: Final[tuple[PortalChild, ...]] = ("listings", "documentations", "links")


PortalObjectState = AutomationState
"""What APIM answers for a portal, a listing, a page or a link."""


@attrs.frozen
class Parent:
    """Where an object lives: the environment (a portal), a portal, or an API."""

    collection: str
    """``portals`` for a portal, else the parent's collection (``portals`` or ``apis``)."""
    hrid: str | None = None
    child: PortalChild | None = None

    @classmethod
    def environment(cls) -> Parent:
        return cls("portals")

    @classmethod
    def portal(cls, portal_hrid: str, child: PortalChild) -> Parent:
        return cls("portals", portal_hrid, child)

    @classmethod
    def api(cls, api_hrid: str) -> Parent:
        return cls("apis", api_hrid, "documentations")

    @property
    def path(self) -> str:
        """``portals``, ``portals/{portal}/{child}`` or ``apis/{api}/documentations``."""
        if self.hrid is None or self.child is None:
            return self.collection
        return f"{self.collection}/{self.hrid}/{self.child}"

    @classmethod
    def parse(cls, path: str) -> Parent:
        """The parent ``path`` names; raises ``ValueError`` for anything else."""
        parts = path.split("/")
        if parts == ["portals"]:
            return cls.environment()
        if len(parts) == 3 and parts[0] == "portals" and parts[2] in CHILDREN and parts[1]:
            child: PortalChild = parts[2]
            return cls.portal(parts[1], child)
        if len(parts) == 3 and parts[0] == "apis" and parts[2] == "documentations" and parts[1]:
            return cls.api(parts[1])
        raise ValueError(f"not a portal object parent: {path!r}")

    def url(self, client: ApimClient, *object_hrid: str) -> str:
        path = [self.collection]
        if self.hrid is not None and self.child is not None:
            path += [segment(self.hrid), self.child]
        return join_path(client.urls.automation, *path, *(segment(h) for h in object_hrid))


async def upsert(
    client: ApimClient, parent: Parent, body: Mapping[str, Any], *, dry_run: bool = False
) -> PortalObjectState:
    """``PUT {AUTO}/portals``, ``…/portals/{p}/{child}`` or ``…/apis/{a}/documentations``."""
    answer = await client.put_json(parent.url(client), dict(body), params={"dryRun": dry_run})
    return PortalObjectState.from_json(answer)


async def delete(client: ApimClient, parent: Parent, hrid: str) -> bool:
    """``DELETE`` of one object by HRID; False when already gone (its parent included)."""
    return await client.delete(parent.url(client, hrid), missing_ok=True)


async def get(client: ApimClient, parent: Parent, hrid: str) -> PortalObjectState:
    """``GET`` of one object by HRID (read-back)."""
    return PortalObjectState.from_json(await client.get_json(parent.url(client, hrid)))

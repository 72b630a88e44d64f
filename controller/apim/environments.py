"""The environment probe: ``GET {V2}``, used to check a ManagementContext's reachability and
credentials. Owns nothing else.
"""

from __future__ import annotations

import attrs

from controller.apim.client import ApimClient
from controller.apim.results import as_object, text_field


@attrs.frozen
class Environment:
    id: str
    name: str


async def get_environment(client: ApimClient) -> Environment:
    """The context's environment. Raises ``ApimError``: 401 bad credentials, 400 unknown org/env
    (message ``Invalid organization or environment``), no status when APIM is unreachable.
    """
    body = as_object(await client.get_json(client.urls.v2))
    return Environment(id=text_field(body, "id"), name=text_field(body, "name"))

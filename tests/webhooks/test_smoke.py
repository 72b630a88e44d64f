"""First contact: the operator registers its configurations and a bad object is refused."""

from __future__ import annotations

import pytest

from tests.integration.harness import v4_api
from tests.webhooks.stack import Stack

pytestmark = pytest.mark.asyncio(loop_scope="module")


async def test_a_started_api_without_plans_is_refused(operator: Stack) -> None:
    result = await operator.apply(v4_api("no-plans", context_ref="ctx", plans={}))
    assert result.refused
    assert ("cannot apply API [no-plans]. Its state is set to STARTED, but the API has no "
            "plans. APIs must have at least one plan in order to be deployed.") in result.err

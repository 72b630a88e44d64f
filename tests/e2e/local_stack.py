"""The local system under test: emulator, APIM simulator and operator as subprocesses
(or, for ``E2E_TARGET=real``, the test API server in place of the emulator).

Owns turning ``examples.stack`` (the process helper shared with ``make demo`` and the
benchmarks) into a :class:`~tests.e2e.target.Target`, and the operator's log for failure
reports. Everything listens on 127.0.0.1 only. It must never import the operator or the
simulators: they run as separate processes, like in a cluster.
"""

from __future__ import annotations

import pathlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import attrs

from examples.stack import OperatorOptions, Stack, StackOptions
from tests.e2e.target import Target, timeout_from
from tests.e2e.testenv import TestEnv


@attrs.define
class LocalStack:
    """A running local stack and the target that points at it."""

    stack: Stack
    target: Target
    operator_options: OperatorOptions

    async def restart_operator(self) -> tuple[int | None, str]:
        """Stop the operator (SIGTERM, graceful) and start a new one; its exit code and the
        new process's metrics URL (ports are picked afresh)."""
        exit_code = await self.stack.stop_operator()
        running = await self.stack.start_operator(self.operator_options)
        return exit_code, running.metrics_url

    def log_tails(self, lines: int = 60) -> str:
        """The last lines of every process's log, operator first, for a failure report."""
        parts = []
        for process in self.stack.processes():
            parts.append(f"----- {process.name} ({process.log_path}) -----\n"
                         f"{process.log_tail(lines)}")
        return "\n".join(parts)


@asynccontextmanager
async def local_stack(
    work_dir: pathlib.Path, testenv: TestEnv | None = None
) -> AsyncIterator[LocalStack]:
    """Start the three processes (the operator once its caches are synced); stop them on exit.

    With ``testenv``, the test API server (already running, CRDs and RBAC installed) replaces
    the emulator: the tests use its admin kubeconfig, the operator its own identity's."""
    if testenv is None:
        options = StackOptions(work_dir=work_dir, start_timeout=60.0)
    else:
        options = StackOptions(work_dir=work_dir, start_timeout=60.0,
                               kubeconfig=testenv.admin_kubeconfig,
                               operator_kubeconfig=testenv.operator_kubeconfig)
    async with Stack(options) as stack:
        # Console logs make a failure report readable; debug shows every reconcile decision.
        operator_options = OperatorOptions(
            logs_format="console", logs_level="debug", ready_timeout=60.0,
            # Unbuffered, so a failure report shows the very last lines.
            # ENABLE_INGRESS as the shipped configuration sets it.
            extra_env={"PYTHONUNBUFFERED": "1", "ENABLE_INGRESS": "true"},
        )
        running = await stack.start_operator(operator_options)
        target = Target(
            kubeconfig=str(stack.kubeconfig),
            apim_url=stack.apim_url,
            apim_url_for_operator=stack.apim_url,
            metrics_url=running.metrics_url,
            timeout=timeout_from(default=20.0),
            external=False,
        )
        yield LocalStack(stack=stack, target=target, operator_options=operator_options)

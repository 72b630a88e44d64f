"""Fixtures shared by every test package.

The emulator and the simulator publish their fixtures as pytest plugins so that any test
(emulator contract tests, operator integration tests, e2e) can ask for ``kubeapi`` or ``apim``.
"""

pytest_plugins = ["sim.kubeapi.pytest_plugin", "sim.apim.pytest_plugin"]

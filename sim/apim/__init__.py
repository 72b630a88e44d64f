"""APIM simulator: an in-memory Gravitee APIM Management API (v1, v2, Automation) over HTTP.

Test and demo infrastructure only; the operator (``controller``) never imports it. Start one with
:func:`sim.apim.testing.start_simulator`, the ``apim``/``apim_tls`` pytest fixtures
(:mod:`sim.apim.pytest_plugin`) or ``python -m sim.apim --port 0``.
"""

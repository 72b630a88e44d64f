"""``python -m examples.run_operator``: the production entry point with loopback-only servers.

``python -m controller`` binds its probe and metrics servers on all interfaces (as a pod must);
demos, benchmarks and tests must listen on 127.0.0.1 only, so this wrapper runs the very same
``controller.__main__.main`` with ``bind_host="127.0.0.1"``. It must never change anything else.
"""

from __future__ import annotations

import sys

from controller.__main__ import main
from controller.manager import ManagerOptions

if __name__ == "__main__":
    sys.exit(main(options=ManagerOptions(bind_host="127.0.0.1")))

"""``python -m tests.deploy.operator_app``: the real operator, bound to loopback for tests.

Exactly ``python -m controller`` (settings from the environment, the real controller wiring),
except that the probe and metrics servers listen on 127.0.0.1 instead of every interface.
"""

from __future__ import annotations

import sys

from controller.__main__ import main
from controller.manager import ManagerOptions

if __name__ == "__main__":
    sys.exit(main(options=ManagerOptions(bind_host="127.0.0.1")))

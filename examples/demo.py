"""`make demo`: not available until the reconcilers exist (issue 6)."""

import sys


def main() -> int:
    print("make demo: not yet available — the reconcilers are still being built.")
    print("Today: `make test` runs the Kubernetes API emulator's contract suite and the runtime tests.")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""``python -m cluster.local up``: see ``cluster.local.cli``."""

from cluster.local.cli import main

if __name__ == "__main__":
    main()

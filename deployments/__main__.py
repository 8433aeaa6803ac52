"""``python -m deployments up``: see ``deployments.cli``."""

from deployments.cli import main

if __name__ == "__main__":
    main()

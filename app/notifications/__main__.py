import sys

from app.notifications.cli import main

sys.exit(main())

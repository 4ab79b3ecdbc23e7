"""`python -m demo --port PORT`: see demo/cli.py."""

import sys

from demo.cli import main

sys.exit(main())

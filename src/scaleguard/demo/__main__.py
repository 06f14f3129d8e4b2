"""``python -m scaleguard.demo``: build the demo workspace and walk through it."""

import sys

from scaleguard.demo import main

sys.exit(main())

"""python -m alliance: the same as `python -m bot`."""

import sys

from alliance.main import main

sys.exit(main())

"""``python -m minidl``: see :mod:`minidl.cli`."""
import sys

from .cli import main

sys.exit(main())

"""``python -m fastnn.bench`` is ``python -m fastnn bench``."""
import sys

from .cli import main

sys.exit(main(prog="python -m fastnn.bench"))

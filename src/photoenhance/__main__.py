"""``python -m photoenhance`` = the ``photoenhance`` command."""

from photoenhance.cli import main

main()

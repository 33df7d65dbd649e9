"""``python -m photoenhance`` = the ``photoenhance`` command."""

from photoenhance.cli import main

if __name__ == "__main__":  # not when a spawned DDP rank re-imports the main module
    main()

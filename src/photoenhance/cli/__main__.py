"""``python -m photoenhance.cli`` = the ``photoenhance`` command."""

from photoenhance.cli import main

if __name__ == "__main__":
    main()

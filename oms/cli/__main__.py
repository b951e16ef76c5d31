"""``python -m oms.cli ...`` is the ``oms`` command."""

from oms.cli import main

if __name__ == "__main__":
    main()

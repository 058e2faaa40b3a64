"""`python -m sectorwatch.cli`."""

from sectorwatch.cli import main

main()

"""`python -m pipeline` is the `callqa` command."""

from pipeline.cli import main

main()

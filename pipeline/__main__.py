"""`python -m pipeline` is `ektp`."""

from pipeline.cli import main

main()

"""``python -m duban`` runs the command line."""

from duban.cli.main import main

main()

"""``python -m isegoria`` runs the command line."""

from isegoria.cli import main

main()

"""``python -m voicecnn`` runs the command-line interface."""

from voicecnn.cli import main

if __name__ == "__main__":
    main()

"""``python -m privacyops`` runs the CLI (tests use it to run the real command in a process)."""

from privacyops.cli import main

if __name__ == "__main__":
    main()

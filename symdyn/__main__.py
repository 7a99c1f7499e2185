"""``python -m symdyn``: the same command line as the ``symdyn`` script."""

from .cli import run

if __name__ == "__main__":
    run()

"""`make bench` / `python -m bench` (see bench/harness.py).

Nothing is imported outside the guard: the load generators are spawned processes, which import
this module again as `__mp_main__`, and they need none of the harness.
"""

if __name__ == "__main__":
    import sys

    from bench.harness import main

    sys.exit(main())

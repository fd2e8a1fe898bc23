"""Development stack: embedded PostgreSQL and Redis plus the `make run` supervisor.

Used by `make run`, the test suite and benchmarks so that a machine with only
Python and make can run the whole system. The application packages never
import this package.
"""

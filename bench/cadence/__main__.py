"""`python -m bench.cadence --leads N`: one cadence tick over N active cadences (PostgreSQL, RQ)."""

from bench.cadence.run import main

raise SystemExit(main())

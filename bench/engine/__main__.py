"""`python -m bench.engine --mode embedded|production (--rate R --seconds S | --burst N --within W)`."""

from bench.engine.runner import main

raise SystemExit(main())

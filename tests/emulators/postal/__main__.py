from tests.emulators.postal.cli import main

raise SystemExit(main())

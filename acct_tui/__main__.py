from acct_tui.cli import main

raise SystemExit(main())

from vrdiplomacy.cli import main

raise SystemExit(main())

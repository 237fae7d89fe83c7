"""The meeting's verifiable record: append-only, hash-chained entries signed by the secretariat's
node (:mod:`.entry`), kept in SQLite (:mod:`.store`), checked (:mod:`.verify`), turned into
minutes (:mod:`.minutes`); :mod:`.observe` decides what a node writes down."""

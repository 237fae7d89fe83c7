"""Joint text: a shared draft that delegations edit at once, merged by a CRDT (pycrdt / Yjs)."""

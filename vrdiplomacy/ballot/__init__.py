"""The secret ballot and votes: see vrdiplomacy/ballot/protocol.py."""

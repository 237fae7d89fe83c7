"""The scene as plain data: no GL here. The renderer is the only code that calls GL."""

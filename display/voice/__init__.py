"""Voice clips of the board: the built-in set and a center's own recordings."""

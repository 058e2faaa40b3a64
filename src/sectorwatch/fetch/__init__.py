"""Everything that talks HTTP: the only client, its pacing, robots.txt and decoding."""

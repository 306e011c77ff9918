"""IR-to-IR passes: each a small function from Function to Function."""

"""Returns as files (issue 16): layouts, reading, checking, storing and merging the units' forms."""

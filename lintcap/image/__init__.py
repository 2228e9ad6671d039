"""Image loading and measurements."""

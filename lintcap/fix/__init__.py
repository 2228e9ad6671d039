"""Fixes: edits to caption text, applied to a fixed point and written atomically."""

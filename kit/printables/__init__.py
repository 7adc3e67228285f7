"""printables."""

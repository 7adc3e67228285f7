"""House Meeting Kit: self-serve tools for local, face-to-face meetings."""

__version__ = "0.1.0"

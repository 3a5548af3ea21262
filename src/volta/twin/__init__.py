"""The digital twin: latest value of every signal of every vehicle."""

from volta.twin.state import Changes, Listener, Twin, TwinValue

__all__ = ["Changes", "Listener", "Twin", "TwinValue"]

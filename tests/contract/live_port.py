"""The live-state port is ``hotline.ports.LiveStore``; this name stays for the contract suite."""
from hotline.ports import LiveStore

__all__ = ["LiveStore"]

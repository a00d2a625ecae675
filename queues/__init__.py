"""queues: the hotline's lines as data (``queues.yaml``), loaded into ``acd.QueuePolicy``."""

from queues.config import QueueConfigError, default_queues_path, load_queues, parse_queues

__all__ = ["QueueConfigError", "default_queues_path", "load_queues", "parse_queues"]

"""Sheepdog: a self-hosted chat-ops bot that makes sure no lead and no customer message strays."""

__version__ = "0.1.0"

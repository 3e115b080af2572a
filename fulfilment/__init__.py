"""fulfilment: batch order fulfilment for TikTok Shop live sessions."""

__version__ = "0.1.0"

"""brandmon: real-time brand monitoring on Kafka. This package holds what connectors and streams
share: the message contract, configuration, runtime settings, the embedded broker and the CLI."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("brandmon")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0"

"""Connectors: they only produce mentions to Kafka."""

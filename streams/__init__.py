"""The stream worker: Faust agents that consume raw mentions and derive scored mentions and counts."""

"""The sponsor scavenger hunt: stations, rotating booth codes, badge-scan stamps, completion per day."""

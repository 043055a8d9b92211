"""The staff area: a home page that links to each feature's staff pages."""

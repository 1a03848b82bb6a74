"""The domain: plain Python, no Reflex imports. Every rule lives here once."""
